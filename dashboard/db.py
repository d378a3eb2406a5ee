"""The one module that owns the database: engine, sessions, schema upgrades."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dashboard.models import DataVersion

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class DatabaseError(RuntimeError):
    """The database cannot be reached or used."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL, shared by the process."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    return engine


# Threads that run the parts of views (`concurrently`), shared by the process's requests: at
# most this many parts at once (the PostgreSQL pool holds 5 + 5 connections; a request's own
# connection and the background warming's come on top).
MAX_CONCURRENT = 4
_parts: ThreadPoolExecutor | None = None
_in_part = threading.local()


def _part_threads() -> ThreadPoolExecutor:
    """The process's threads for parts, started on first use (so never in gunicorn's master
    before it forks: threads do not survive a fork)."""
    global _parts
    if _parts is None:
        _parts = ThreadPoolExecutor(max_workers=MAX_CONCURRENT, thread_name_prefix="part")
    return _parts


def _forget_part_threads() -> None:
    global _parts
    _parts = None


os.register_at_fork(after_in_child=_forget_part_threads)


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection that only reads (a view's figures): its independent parts may run
    `concurrently` on connections of their own."""
    with engine.connect() as conn:
        yield conn.execution_options(concurrent_reads=True)


def concurrently(conn: Connection, *calls: tuple[Callable, ...]) -> list:
    """[function(connection, *args) for each (function, *args)], the calls at the same time.

    The independent parts of one view (its outputs, survey pairs, men followed): the first on
    `conn` in this thread, the others each on a connection of its own in the process's part
    threads, so the database works on them in parallel (Python waits outside its lock
    meanwhile). Only for a connection opened by `reading`; in turn on `conn` for any other
    (it may hold rows that others cannot see yet), for SQLite in memory (one connection), and
    inside a part (a part never waits for another part: the threads cannot all be waiting)."""
    url = conn.engine.url
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    reads_only = conn.get_execution_options().get("concurrent_reads", False)
    if len(calls) < 2 or in_memory or not reads_only or getattr(_in_part, "yes", False):
        return [function(conn, *args) for function, *args in calls]

    def run(function: Callable, *args) -> object:
        _in_part.yes = True
        try:
            with conn.engine.connect() as own:
                return function(own, *args)
        finally:
            _in_part.yes = False

    (first, *first_args), *others = calls
    started = [_part_threads().submit(run, *call) for call in others]
    try:
        here = first(conn, *first_args)
    finally:  # an error here still waits for the parts: they hold connections
        wait(started)
    return [here, *(future.result() for future in started)]


def check_connection(engine: Engine) -> None:
    """Raise DatabaseError with a one-line reason when the database doesn't answer."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any driver error means "can't connect"
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise DatabaseError(
            f"cannot connect to {engine.url.render_as_string()}: {reason}"
        ) from None


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def init_db(engine: Engine) -> str:
    """Create the schema or upgrade it to the newest revision; load the instruments."""
    from alembic import command

    from dashboard.instruments import load_instruments

    check_connection(engine)
    url = engine.url.render_as_string(hide_password=False)
    config = alembic_config(url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # Batch migrations recreate tables; with foreign keys on, dropping the old table
            # would cascade-delete its children's rows. (A no-op inside a transaction, so it
            # runs before sqlite3 opens one.)
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        conn.commit()
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    with session_scope(engine) as session:
        load_instruments(session)
        if session.get(DataVersion, 1) is None:
            session.add(DataVersion(id=1, version=0))
    return "upgraded"


def is_initialised(engine: Engine) -> bool:
    try:
        return inspect(engine).has_table("alembic_version")
    except OperationalError:
        return False


def data_version(session: Session) -> int:
    """The counter every write moves; caches are keyed on it."""
    return session.scalar(select(DataVersion.version).where(DataVersion.id == 1)) or 0


def bump_data_version(session: Session) -> None:
    session.execute(
        update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version + 1)
    )


# Rows ANALYZE reads per index on SQLite: approximate statistics in about a second at 30x
# (a full ANALYZE reads every row of the 2.8 M-row attendance table).
SQLITE_ANALYSIS_LIMIT = 1000


def refresh_statistics(engine: Engine) -> None:
    """After a bulk write (seeding, an import or its undo), committed: refresh the planner's
    statistics, so queries are planned on the data as it is, not on empty tables
    (PostgreSQL's autovacuum would catch up only later)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


# Any fixed 64-bit number works; this one is "imports" in ASCII, so it is easy to spot in
# pg_locks.
IMPORT_LOCK_KEY = 0x696D706F727473


def lock_for_writing(session: Session, key: int = IMPORT_LOCK_KEY) -> None:
    """Wait until no other transaction holds this write lock, then hold it until commit or
    rollback, so a read-decide-write transaction decides from the others' committed rows.

    Call it first in the transaction, before anything is read."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif connection.dialect.name == "sqlite":
        # SQLite has one writer at a time: taking the write lock up front (instead of at the
        # first UPDATE) is what makes the earlier reads current.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
