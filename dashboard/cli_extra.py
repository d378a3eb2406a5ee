"""Commands that come with later capabilities: imports and reports."""

from __future__ import annotations

import sys
from pathlib import Path

REPORT_FORMATS = (".pdf", ".csv", ".xlsx")


def register(sub) -> None:
    """Add the import and report commands to the command line's subparsers."""
    register_import(sub)
    register_report(sub)
    register_deploy(sub)
    register_export(sub)
    register_warm(sub)
    from dashboard.cli_release import register as register_release

    register_release(sub, COMMANDS)


def register_import(sub) -> None:
    """`import KIND FILE`, `undo-import`, `import-history` (dashboard/cli_import.py)."""
    from dashboard.cli_import import COMMANDS as IMPORT_COMMANDS
    from dashboard.cli_import import register

    register(sub)
    COMMANDS.update(IMPORT_COMMANDS)


def register_deploy(sub) -> None:
    """`create-network`, `rename-network`, `template`, `backup` (dashboard/cli_deploy.py)."""
    from dashboard.cli_deploy import COMMANDS as DEPLOY_COMMANDS
    from dashboard.cli_deploy import register

    register(sub)
    COMMANDS.update(DEPLOY_COMMANDS)


def register_export(sub) -> None:
    """`export TABLE --from --to [filters] --format csv|json` (dashboard/cli_export.py)."""
    from dashboard.cli_export import COMMANDS as EXPORT_COMMANDS
    from dashboard.cli_export import register

    register(sub)
    COMMANDS.update(EXPORT_COMMANDS)


def register_warm(sub) -> None:
    """`warm`: compute each role's default views into the shared cache (dashboard/warm.py)."""
    warm = sub.add_parser(
        "warm",
        help="compute each role's default view of each page into the shared cache (REDIS_URL)",
        description="Warm the cache the app's workers share (REDIS_URL), e.g. after an import "
        "on the command line: each distinct scope (role and networks) of the active accounts, "
        "funders aside, gets its default view of /, /attendance, /retention, /surveys and "
        "/impact computed. Nothing is audited as a query.",
    )
    warm.add_argument(
        "--user",
        action="append",
        default=None,
        help="only this account's scope (repeatable); default every scope",
    )


def cmd_warm(args, settings) -> int:
    """Warm the configured cache now, in this process, and claim the data version so the
    servers do not warm it again."""
    import dataclasses
    import datetime as dt

    from dashboard.app_factory import create_app
    from dashboard.cli_common import CliError, _engine
    from dashboard.ops import redis_answers
    from dashboard.warm import claim, warm

    if not settings.redis_url:
        raise CliError(
            "REDIS_URL is not set: without a shared cache each server process keeps its own "
            "and warms it itself after an import (WARM_CACHE)"
        )
    if not redis_answers(settings.redis_url):
        raise CliError("the Redis at REDIS_URL does not answer: nothing would be kept")
    _engine(settings)  # a clear error when the database is missing or has no schema
    app = create_app(dataclasses.replace(settings, warm_cache=False), prepare=False)
    service = app.server.extensions["dashboard"]
    if args.user is None:  # every scope: the servers need not warm this version again today
        claim(service.cache, service.read_version(), dt.date.today())
    report = warm(app.server, usernames=args.user)
    if not report.scopes:
        raise CliError("no active account to warm as (funders are left out)")
    print(
        f"warmed {report.views} views of {', '.join(report.scopes)} in {report.seconds:.1f} s "
        f"(data version {report.version})"
    )
    for failure in report.failed:
        print(f"failed: {failure}", file=sys.stderr)
    return 1 if report.failed else 0


def register_report(sub) -> None:
    """`report impact --period FY2025-26 --network all --out report.pdf [--no-suppress]`."""
    report = sub.add_parser(
        "report",
        help="write a report (the impact summary) as PDF, CSV or XLSX",
        description="Write the impact summary of /impact without a browser. It is suppressed "
        "as funders see it (SPEC §4) unless --no-suppress is given.",
    )
    report.add_argument("kind", choices=["impact"], help="which report")
    report.add_argument(
        "--period",
        required=True,
        help="fiscal year or quarter: FY2025-26 or FY2025-26-Q1 (Q1 = Apr-Jun)",
    )
    report.add_argument(
        "--network",
        default="all",
        help="all (default: networks side by side and combined) or one name",
    )
    report.add_argument(
        "--out",
        required=True,
        help="file to write; its ending chooses the format: .pdf, .csv, .xlsx",
    )
    report.add_argument(
        "--no-suppress",
        dest="suppress",
        action="store_false",
        help="exact figures, for internal use only (default: small cells "
        "suppressed, as for funders)",
    )


def cmd_report(args, settings) -> int:
    """Write the impact summary, the same one /impact shows and downloads."""
    from dashboard import audit, queries, report
    from dashboard.access import FULL_SCOPE, Scope
    from dashboard.cli_common import CliError, _engine
    from dashboard.db import session_scope
    from dashboard.filters import Filters
    from dashboard.targets import normalise_period, parse_period

    out = Path(args.out)
    if out.suffix.lower() not in REPORT_FORMATS:
        raise CliError(f"--out must end in {', '.join(REPORT_FORMATS)}: {args.out!r}")
    try:
        period = normalise_period(args.period)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    start, end = parse_period(period)
    engine = _engine(settings)
    with engine.connect() as conn:
        known = queries.network_names(conn)
    if args.network.lower() == "all":
        networks: tuple[str, ...] = ()
    elif args.network in known:
        networks = (args.network,)
    else:
        raise CliError(f"unknown network {args.network!r}; use all or one of {', '.join(known)}")
    # Suppressed exactly as a funder's download; --no-suppress as an admin sees it.
    scope = Scope(role="funder", username="cli") if args.suppress else FULL_SCOPE
    if out.suffix.lower() == ".pdf":
        report.warm_up_charts()  # Chromium starts while the figures are computed
    figures = report.impact_figures(
        engine, scope, Filters(start=start, end=end, networks=networks), settings
    )
    writer = {".pdf": report.write_pdf, ".csv": report.to_csv, ".xlsx": report.to_xlsx}[
        out.suffix.lower()
    ]
    content = writer(figures)
    try:
        out.write_bytes(content)
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror}") from None
    with session_scope(engine) as session:
        audit.record(
            session,
            "export",
            "cli",
            f"impact summary {period} ({out.suffix[1:]}); {figures['selection']}; "
            f"{'suppressed' if args.suppress else 'exact figures'}",
        )
    print(
        f"wrote {out} ({len(content):,} bytes; "
        f"{'suppressed' if args.suppress else 'NOT suppressed: internal use only'})"
    )
    return 0


COMMANDS: dict = {"report": cmd_report, "warm": cmd_warm}
