"""What every command module shares: the one-line error and the checked database engine."""

from __future__ import annotations

from dashboard.settings import Settings


class CliError(Exception):
    """Ends the command with a one-line message and exit status 1."""


def _engine(settings: Settings, create: bool = False):
    from dashboard.db import DatabaseError, check_connection, get_engine, init_db, is_initialised

    try:
        engine = get_engine(settings.database_url)
    except Exception as exc:  # noqa: BLE001 - a malformed URL
        raise CliError(f"bad DATABASE_URL: {exc}") from None
    try:
        check_connection(engine)
    except DatabaseError as exc:
        raise CliError(str(exc)) from None
    if not is_initialised(engine):
        if not create:
            raise CliError("the database has no schema yet: run `python -m dashboard init-db`")
        init_db(engine)
    return engine
