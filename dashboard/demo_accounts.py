"""Demo mode's accounts: one per role and one coordinator per network (listed in README)."""

from __future__ import annotations

from sqlalchemy import select

from dashboard.db import session_scope
from dashboard.models import Network, User
from dashboard.users import create_user

DEMO_PASSWORD = "demo-password"


def demo_accounts(networks: list[str]) -> list[tuple[str, str, list[str]]]:
    """(username, role, networks) of every demo account."""
    accounts = [("admin", "admin", []), ("leadership", "leadership", []), ("funder", "funder", [])]
    accounts += [(f"coord-{name.lower()}", "coordinator", [name]) for name in networks]
    return accounts


def create_demo_accounts(engine) -> list[str]:
    """Create the demo accounts that don't exist yet; return the names created."""
    created = []
    with session_scope(engine) as session:
        networks = list(session.scalars(select(Network.name).order_by(Network.name)))
        existing = set(session.scalars(select(User.username)))
        for username, role, scope in demo_accounts(networks):
            if username not in existing:
                create_user(session, username, role, scope, DEMO_PASSWORD, by="demo")
                created.append(username)
    return created
