"""Commands a new deployment needs: networks, import templates and backups.

Registered by dashboard.cli_extra: `register(sub)` adds the subparsers and `COMMANDS` maps
each command to its function(args, settings).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from dashboard.cli_common import CliError, _engine
from dashboard.importing import KIND_ALIASES, KINDS
from dashboard.settings import Settings

CLI_USER = "cli"  # written in the audit log as who made the change


def register(sub) -> None:
    """Add `create-network`, `rename-network`, `template` and `backup` to the command line."""
    create = sub.add_parser(
        "create-network",
        help="add a network (nothing happens when it exists already)",
    )
    create.add_argument("name", help="e.g. Calgary; quote a name with spaces")

    rename = sub.add_parser("rename-network", help="rename a network; its data stays with it")
    rename.add_argument("old")
    rename.add_argument("new")

    template = sub.add_parser(
        "template",
        help="write an import file template: the header row and one example row",
    )
    template.add_argument("kind", choices=sorted({*KINDS, *KIND_ALIASES}), metavar="KIND")
    template.add_argument("--out", required=True, help="the CSV file to write")

    backup = sub.add_parser(
        "backup",
        help="copy the database to a file (SQLite: a .db copy; PostgreSQL: pg_dump)",
        description="SQLite: a consistent copy made with SQLite's backup API, safe while the "
        "app runs. PostgreSQL: runs pg_dump (plain SQL; custom format when FILE ends in "
        ".dump, for pg_restore). An existing FILE is never overwritten.",
    )
    backup.add_argument("file")


def cmd_create_network(args, settings: Settings) -> int:
    """Add a network, or say it exists (exit 0 either way)."""
    from dashboard.db import session_scope
    from dashboard.networks import NetworkError, create_network

    engine = _engine(settings)
    try:
        with session_scope(engine) as session:
            network, created = create_network(session, args.name, by=CLI_USER)
            name = network.name
    except NetworkError as exc:
        raise CliError(str(exc)) from None
    print(f"created network {name}" if created else f"network {name} exists already: no change")
    return 0


def cmd_rename_network(args, settings: Settings) -> int:
    from dashboard.db import session_scope
    from dashboard.networks import NetworkError, rename_network

    engine = _engine(settings)
    try:
        with session_scope(engine) as session:
            changed = rename_network(session, args.old, args.new, by=CLI_USER)
    except NetworkError as exc:
        raise CliError(str(exc)) from None
    print(f"renamed {args.old} to {args.new}" if changed else "same name: no change")
    return 0


def cmd_template(args, settings: Settings) -> int:
    """Write the template the /data page offers for this kind."""
    from dashboard.importing import template

    out = Path(args.out)
    try:
        out.write_bytes(template(args.kind))
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"wrote {out}: fill in one row per line, then `python -m dashboard import` it")
    return 0


def backup_sqlite(database: str, out: Path) -> None:
    """A consistent copy, even while other processes write (SQLite's online backup API)."""
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    target = sqlite3.connect(out)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()


def backup_postgresql(url, out: Path) -> None:
    """pg_dump of the database; its password goes by the environment, not the command line."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise CliError("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    command = [pg_dump, "--no-owner", f"--file={out}", f"--dbname={url.database}"]
    if out.suffix == ".dump":
        command.append("--format=custom")
    for option, value in (("--host", url.host), ("--port", url.port), ("--username", url.username)):
        if value:
            command.append(f"{option}={value}")
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        out.unlink(missing_ok=True)
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise CliError(f"pg_dump failed: {reason}")


def cmd_backup(args, settings: Settings) -> int:
    out = Path(args.file)
    if out.exists():
        raise CliError(f"{out} exists already: choose a new file name")
    engine = _engine(settings)
    if engine.dialect.name == "sqlite":
        backup_sqlite(engine.url.database, out)
    elif engine.dialect.name == "postgresql":
        backup_postgresql(engine.url, out)
    else:
        raise CliError(f"no backup for {engine.dialect.name}: use its own tools")
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    return 0


COMMANDS = {
    "create-network": cmd_create_network,
    "rename-network": cmd_rename_network,
    "template": cmd_template,
    "backup": cmd_backup,
}
