"""Commands that come with later capabilities: imports and reports."""

from __future__ import annotations

COMMANDS: dict = {}


def register(sub) -> None:
    """Add the import and report commands to the command line's subparsers."""
