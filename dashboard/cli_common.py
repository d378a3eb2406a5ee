"""What every command module shares: the one-line error, the checked database engine and the
selection (period and filters) of the commands that print figures."""

from __future__ import annotations

import argparse
import datetime as dt

from dashboard.filters import Filters
from dashboard.models import AGE_BANDS, PROGRAM_TYPES
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


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in the form YYYY-MM-DD: {text!r}") from None


def _program(text: str) -> str:
    """A program type the dashboard knows (exit 2 and the known ones otherwise)."""
    if text not in PROGRAM_TYPES:
        raise argparse.ArgumentTypeError(
            f"unknown program type {text!r}; known: {', '.join(PROGRAM_TYPES)}"
        )
    return text


def add_filter_arguments(parser) -> None:
    """The period and the filter bar's choices, as `summary` and `export` take them."""
    parser.add_argument("--from", dest="start", type=_date, required=True, help="YYYY-MM-DD")
    parser.add_argument("--to", dest="end", type=_date, required=True, help="YYYY-MM-DD")
    parser.add_argument("--network", action="append", default=[], help="repeat for several")
    parser.add_argument("--group", action="append", default=[], help="repeat for several")
    parser.add_argument(
        "--program",
        action="append",
        default=[],
        type=_program,
        help=f"one of {', '.join(PROGRAM_TYPES)}",
    )
    parser.add_argument("--age", action="append", default=[], help=f"one of {', '.join(AGE_BANDS)}")
    parser.add_argument("--community", action="append", default=[])


def selection(conn, args, grain: str = "month") -> Filters:
    """The Filters of the command's arguments; CliError for a name the database doesn't hold."""
    from dashboard import queries

    if args.start > args.end:
        raise CliError(f"--from {args.start} is after --to {args.end}")
    known = queries.network_names(conn)
    if unknown := [n for n in args.network if n not in known]:
        raise CliError(f"unknown network {', '.join(unknown)}; known: {', '.join(known)}")
    groups = {g["name"] for g in queries.group_options(conn)}
    if missing := [g for g in args.group if g not in groups]:
        raise CliError(f"unknown group {', '.join(missing)}")
    for option, values, allowed in (
        ("program", args.program, PROGRAM_TYPES),
        ("age band", getattr(args, "age", []), AGE_BANDS),
        ("community", getattr(args, "community", []), queries.community_names(conn)),
    ):
        if wrong := [v for v in values if v not in allowed]:
            raise CliError(f"unknown {option} {', '.join(wrong)}; known: {', '.join(allowed)}")
    try:
        return Filters(
            start=args.start,
            end=args.end,
            networks=tuple(args.network),
            groups=tuple(args.group),
            program_types=tuple(args.program),
            age_bands=tuple(getattr(args, "age", [])),
            communities=tuple(getattr(args, "community", [])),
            grain=grain,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
