"""The command line: `python -m dashboard COMMAND`. Every command is registered here."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys
import time

from dashboard.cli_common import CliError, _engine  # noqa: F401 - the commands' shared parts
from dashboard.settings import Settings


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + traceback
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _program(text: str) -> str:
    """A program type the dashboard knows (exit 2 and the known ones otherwise)."""
    from dashboard.models import PROGRAM_TYPES

    if text not in PROGRAM_TYPES:
        raise argparse.ArgumentTypeError(
            f"unknown program type {text!r}; known: {', '.join(PROGRAM_TYPES)}"
        )
    return text


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in the form YYYY-MM-DD: {text!r}") from None


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above zero: {text!r}")
        return value

    return parse


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def build_parser() -> Parser:
    parser = Parser(
        prog="python -m dashboard",
        description="Network Dashboard: database, demo data, users, imports, figures and reports.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    sub.add_parser("init-db", help="create the schema or upgrade it to the newest revision")

    seed = sub.add_parser("seed-demo", help="generate synthetic demo data (same seed, same data)")
    seed.add_argument("--seed", type=_int, default=42)
    seed.add_argument(
        "--scale",
        type=_positive(float),
        default=1.0,
        help="1 = about 40 groups, 3,000 men, 5 years",
    )
    seed.add_argument(
        "--end", type=_date, default=None, help="last day of the data (default today)"
    )
    seed.add_argument(
        "--accounts", action="store_true", help="also create the demo accounts listed in the README"
    )

    summary = sub.add_parser("summary", help="print the SPEC §3 figures for a period")
    summary.add_argument("--from", dest="start", type=_date, required=True)
    summary.add_argument("--to", dest="end", type=_date, required=True)
    summary.add_argument("--network", action="append", default=[])
    summary.add_argument("--group", action="append", default=[])
    summary.add_argument("--program", action="append", default=[], type=_program)
    summary.add_argument(
        "--suppress", action="store_true", help="apply small-cell suppression (SPEC §4)"
    )
    summary.add_argument("--format", choices=["json", "text"], default="json")

    create = sub.add_parser("create-user", help="create a user (password from a prompt or stdin)")
    create.add_argument("name")
    create.add_argument(
        "--role", required=True, choices=["coordinator", "leadership", "funder", "admin"]
    )
    create.add_argument("--network", action="append", default=[])

    deactivate = sub.add_parser("deactivate-user", help="deactivate a user; sessions end")
    deactivate.add_argument("name")

    from dashboard.cli_extra import register

    register(sub)
    return parser


def cmd_init_db(args, settings: Settings) -> int:
    from dashboard.db import init_db

    engine = _engine(settings, create=True)
    init_db(engine)
    print(f"database ready at {engine.url.render_as_string()}")
    return 0


def cmd_seed_demo(args, settings: Settings) -> int:
    from dashboard.demo import seed_demo

    engine = _engine(settings, create=True)
    started = time.perf_counter()
    try:
        counts = seed_demo(
            engine,
            seed=args.seed,
            scale=args.scale,
            end=args.end,
            progress=lambda msg: print(msg, file=sys.stderr),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.accounts:
        from dashboard.demo_accounts import create_demo_accounts

        create_demo_accounts(engine)
    seconds = time.perf_counter() - started
    for table, count in counts.items():
        print(f"{table:>16}: {count:,}")
    print(f"seeded in {seconds:.1f} s")
    return 0


def cmd_summary(args, settings: Settings) -> int:
    from dashboard import metrics, queries
    from dashboard.access import Scope
    from dashboard.filters import Filters
    from dashboard.gate import Gate

    if args.start > args.end:
        raise CliError(f"--from {args.start} is after --to {args.end}")
    engine = _engine(settings)
    with engine.connect() as conn:
        known = queries.network_names(conn)
        unknown = [n for n in args.network if n not in known]
        if unknown:
            raise CliError(f"unknown network {', '.join(unknown)}; known: {', '.join(known)}")
        groups = {g["name"] for g in queries.group_options(conn)}
        if missing := [g for g in args.group if g not in groups]:
            raise CliError(f"unknown group {', '.join(missing)}")
        filters = Filters(
            start=args.start,
            end=args.end,
            networks=tuple(args.network),
            groups=tuple(args.group),
            program_types=tuple(args.program),
        )
        figures = metrics.summary(conn, filters, settings.active_window_weeks)
    if args.suppress:
        # SPEC §5: exact values with k applied (no perturbation, rounding or minimum pairs),
        # hidden as the gate hides them for a user who does not see exact figures.
        scope = Scope(role="leadership", username="cli")
        gate = Gate(scope, settings.suppression_threshold, exact_values=True)
        figures = gate.summary(figures)
    figures.pop("retention_base", None)
    for survey in figures["surveys"].values():
        survey.pop("mean_baseline", None)
        survey.pop("mean_later", None)
    result = {
        "from": args.start.isoformat(),
        "to": args.end.isoformat(),
        "networks": args.network or "all",
        **figures,
    }
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            if key != "surveys":
                print(f"{key:>20}: {value}")
        for instrument, survey in result["surveys"].items():
            print(f"{instrument}: " + ", ".join(f"{k}={v}" for k, v in survey.items()))
    return 0


def read_password(prompt: str = "Password: ") -> str:
    """From the terminal (asked twice) or one line of standard input; never an argument."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise CliError("the two passwords differ")
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise CliError("no password on standard input")
    return line


def cmd_create_user(args, settings: Settings) -> int:
    from dashboard.db import session_scope
    from dashboard.users import UserError, create_user

    engine = _engine(settings)
    password = read_password()
    try:
        with session_scope(engine) as session:
            create_user(session, args.name, args.role, args.network, password, by="cli")
    except UserError as exc:
        raise CliError(str(exc)) from None
    print(f"created {args.name} ({args.role})")
    return 0


def cmd_deactivate_user(args, settings: Settings) -> int:
    from dashboard.db import session_scope
    from dashboard.users import UserError, set_active

    engine = _engine(settings)
    try:
        with session_scope(engine) as session:
            set_active(session, args.name, False, by="cli")
    except UserError as exc:
        raise CliError(str(exc)) from None
    print(f"deactivated {args.name}")
    return 0


COMMANDS = {
    "init-db": cmd_init_db,
    "seed-demo": cmd_seed_demo,
    "summary": cmd_summary,
    "create-user": cmd_create_user,
    "deactivate-user": cmd_deactivate_user,
}


def main(argv: list[str] | None = None) -> int:
    from dashboard.cli_extra import COMMANDS as EXTRA
    from dashboard.settings import SettingsError

    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return {**COMMANDS, **EXTRA}[args.command](args, settings)
    except (CliError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the promise is one line, never a traceback
        print(
            f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            file=sys.stderr,
        )
        return 1
