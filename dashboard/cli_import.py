"""The command line's import commands (SPEC §5): import a file, list imports, undo one.

Registered by dashboard.cli_extra: `register(sub)` adds the subparsers and `COMMANDS` maps
each command to its function(args, settings).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dashboard.cli_common import CliError, _engine
from dashboard.importing import KIND_ALIASES, KINDS
from dashboard.settings import Settings

# Written in the audit log and the import history when --user is not given.
DEFAULT_USER = "cli"


def _positive_int(text: str) -> int:
    """A whole number above zero; a batch number may be written #12."""
    try:
        value = int(text.lstrip("#"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above zero: {text!r}")
    return value


def _kind(text: str) -> str:
    name = text.strip().lower()
    kind = KIND_ALIASES.get(name, name)
    if kind not in KINDS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a kind of import; choose one of: {', '.join(KINDS)}"
        )
    return kind


def register(sub) -> None:
    """Add `import`, `import-history` and `undo-import` to the command line."""
    imp = sub.add_parser(
        "import",
        help="check a CSV or XLSX file and import it (all or nothing)",
        description="Check every row of the file; import it only when no row has an error. "
        "Prints each problem with its row and column. Exit status 0 when the file is "
        "good, 1 otherwise. Kinds, in the order a new network loads them: "
        + ", ".join(KINDS)
        + ".",
    )
    imp.add_argument("kind", type=_kind, metavar="{" + ",".join(KINDS) + "}")
    imp.add_argument("file", help="the CSV or XLSX file")
    imp.add_argument("--dry-run", action="store_true", help="check only: write nothing")
    imp.add_argument(
        "--add-new-members",
        action="store_true",
        help="attendance: create members whose code is not known yet",
    )
    imp.add_argument(
        "--enroll-missing",
        action="store_true",
        help="attendance: enroll members marked at a group they are not enrolled in",
    )
    imp.add_argument(
        "--user",
        default=DEFAULT_USER,
        help=f"name written in the audit log (default {DEFAULT_USER})",
    )

    history = sub.add_parser("import-history", help="list the latest imports, newest first")
    history.add_argument("--limit", type=_positive_int, default=20)

    undo = sub.add_parser(
        "undo-import",
        help="reverse an import batch (refused when later imports used its rows)",
    )
    undo.add_argument("batch_id", type=_positive_int, metavar="BATCH_ID")
    undo.add_argument(
        "--user",
        default=DEFAULT_USER,
        help=f"name written in the audit log (default {DEFAULT_USER})",
    )


def read_file(name: str) -> tuple[str, bytes]:
    """The file's base name and bytes; CliError (one line) when it can't be read."""
    path = Path(name)
    try:
        return path.name, path.read_bytes()
    except FileNotFoundError:
        raise CliError(f"cannot read {name}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"cannot read {name}: it is a folder, not a file") from None
    except OSError as exc:
        raise CliError(f"cannot read {name}: {exc.strerror or exc}") from None


def cmd_import(args, settings: Settings) -> int:
    """Check (and unless --dry-run, write) one file; print the report; 0 when it is good."""
    from dashboard.importing import run_import

    filename, content = read_file(args.file)
    engine = _engine(settings)
    report = run_import(
        engine,
        args.kind,
        filename,
        content,
        username=getattr(args, "user", None) or DEFAULT_USER,
        dry_run=bool(getattr(args, "dry_run", False)),
        add_new_members=bool(getattr(args, "add_new_members", False)),
        enroll_missing=bool(getattr(args, "enroll_missing", False)),
        max_rows=settings.import_max_rows,
        max_columns=settings.import_max_columns,
    )
    print(report.as_text())
    return 0 if report.ok else 1


def cmd_import_history(args, settings: Settings) -> int:
    """Print the latest import batches, newest first."""
    from dashboard.importing import import_history

    rows = import_history(_engine(settings), limit=getattr(args, "limit", 20))
    if not rows:
        print("no imports yet")
        return 0
    for row in rows:
        state = "undone" if row["undone"] else ("can undo" if row["can_undo"] else "in use")
        print(
            f"#{row['id']:<5} {row['at']}  {row['username'] or '-':<14} {row['kind']:<10} "
            f"{row['filename']!r}: added {row['rows_added']}, updated {row['rows_updated']} "
            f"({', '.join(row['networks']) or 'no network'}; {state})"
        )
    return 0


def cmd_undo_import(args, settings: Settings) -> int:
    """Reverse one import batch; a refusal is a one-line error naming the reason."""
    from dashboard.importing import ImportError_, undo_import

    engine = _engine(settings)
    try:
        undo_import(engine, args.batch_id, getattr(args, "user", None) or DEFAULT_USER)
    except ImportError_ as exc:
        raise CliError(str(exc)) from None
    print(f"undid import batch {args.batch_id}")
    return 0


COMMANDS = {
    "import": cmd_import,
    "import-history": cmd_import_history,
    "undo-import": cmd_undo_import,
}
