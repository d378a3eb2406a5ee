"""Placeholder until the page lands in this session."""


def register(app) -> None:
    return None
