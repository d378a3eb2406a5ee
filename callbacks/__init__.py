"""Callbacks: one module per page (plus the shell); each has register(app)."""

from callbacks import (
    admin,
    attendance,
    data,
    impact,
    overview,
    planning,
    retention,
    shell,
    surveys,
)


def register_all(app) -> None:
    for module in (shell, overview, attendance, retention, surveys, impact, planning, data, admin):
        module.register(app)
