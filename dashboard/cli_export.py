"""`python -m dashboard export TABLE --from DATE --to DATE [filters] --format csv|json`: any
table a page shows, for scripts (dashboard/export.py builds them)."""

from __future__ import annotations

import sys
from pathlib import Path

from dashboard.cli_common import CliError, _engine, add_filter_arguments, selection
from dashboard.export import BY, DEFAULT_INSTRUMENT, TABLES


def register(sub) -> None:
    """Add `export` to the command line's subparsers."""
    listing = "; ".join(f"{name}: {entry.description}" for name, entry in TABLES.items())
    export = sub.add_parser(
        "export",
        help="write a table a page shows as CSV or JSON",
        description="Write a table of the pages for a period and filters, with the catalogue's "
        "labels. Exact figures by default (as an admin sees them); --suppress hides small "
        "cells by the threshold rule (as `summary --suppress`); --user NAME gives the table "
        f"exactly as that user's page does (his networks; protected for leadership). "
        f"Tables: {listing}.",
    )
    export.add_argument(
        "table", choices=list(TABLES), metavar="TABLE", help="one of the tables below"
    )
    add_filter_arguments(export)
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--output", help="file to write (default: standard output)")
    export.add_argument(
        "--by", choices=BY, default="network", help="trend, completion, retention: rows per"
    )
    export.add_argument(
        "--grain",
        choices=["week", "month", "quarter"],
        default="month",
        help="trend: time buckets; cohorts: month or quarter",
    )
    export.add_argument(
        "--instrument", default=DEFAULT_INSTRUMENT, help="survey tables: the instrument id"
    )
    who = export.add_mutually_exclusive_group()
    who.add_argument("--user", help="as this user receives it (his scope and privacy rules)")
    who.add_argument(
        "--suppress",
        action="store_true",
        help="hide counts of fewer than k men and what rests on them (SPEC §4, exact values)",
    )


def _recipient(engine, args, settings):
    """(the scope queries run with, the gate of whoever receives the table, who it is)."""
    from dashboard.access import FULL_SCOPE, Scope
    from dashboard.db import session_scope
    from dashboard.gate import Gate
    from dashboard.users import UserError, get_user, network_names_of

    if args.suppress:
        # As `summary --suppress`: exact values with k applied, for a user who does not
        # see exact figures.
        gate = Gate(
            Scope(role="leadership", username="cli"),
            settings.suppression_threshold,
            exact_values=True,
        )
        return FULL_SCOPE, gate, "cli"
    if not args.user:
        return FULL_SCOPE, Gate(FULL_SCOPE, settings.suppression_threshold), "cli"
    with session_scope(engine) as session:
        try:
            user = get_user(session, args.user)
        except UserError as exc:
            raise CliError(str(exc)) from None
        if not user.active:
            raise CliError(f"user {args.user!r} is deactivated")
        scope = Scope(
            role=user.role, networks=network_names_of(session, user), username=user.username
        )
    page = TABLES[args.table].page
    if not scope.can_open(page):
        raise CliError(
            f"a {scope.role} does not see {page}"
            + (
                ": funders receive published releases only (SPEC §4)"
                if scope.role == "funder"
                else ""
            )
        )
    if refused := [n for n in args.network if not scope.may_see_network(n)]:
        raise CliError(f"{args.user} may not see network {', '.join(refused)}")
    return scope, Gate.for_user(scope, settings), scope.username


def cmd_export(args, settings) -> int:
    """Build the table as its page does and write it; audited."""
    from dashboard import audit
    from dashboard.db import session_scope
    from dashboard.export import Request, UnknownInstrument, to_csv, to_json
    from dashboard.gate import MemberRowsRefused
    from dashboard.service import DataService

    engine = _engine(settings)
    with engine.connect() as conn:
        filters = selection(conn, args, grain=args.grain)
    scope, gate, who = _recipient(engine, args, settings)
    service = DataService(engine, settings)
    request = Request(service, scope, gate, filters, args.by, args.instrument)
    try:
        table = TABLES[args.table].build(request)
    except UnknownInstrument as exc:
        raise CliError(str(exc)) from None
    except MemberRowsRefused:
        raise CliError(
            f"{args.table} holds member-level rows: only coordinators (own networks) and "
            "admins receive them, never with --suppress (SPEC §4)"
        ) from None
    figures = (
        f"suppressed below {gate.k} (exact values)"
        if args.suppress
        else "exact"
        if gate.exact
        else f"protected as for {scope.role}"
    )
    if args.format == "csv":
        content = to_csv(table, gate.k)
    else:
        header = {
            "from": filters.start.isoformat(),
            "to": filters.end.isoformat(),
            "filters": filters.to_query(),
            "user": who,
            "figures": figures,
        }
        content = to_json(table, header, settings)
    if args.output:
        try:
            Path(args.output).write_text(content, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror}") from None
    else:
        sys.stdout.write(content)
    with session_scope(engine) as session:
        audit.record(
            session,
            "export",
            who,
            f"{args.table} ({args.format}) ?{filters.to_query()}; {figures}",
        )
    if args.output:
        print(f"wrote {args.output} ({len(table.rows)} rows; {figures})", file=sys.stderr)
    if table.note:
        print(table.note, file=sys.stderr)
    return 0


COMMANDS: dict = {"export": cmd_export}
