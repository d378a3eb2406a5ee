"""`python -m dashboard release prepare|publish|list|show`, and `report impact --release`.

Releases are the funders' impact summaries (dashboard/releases.py): scripted here so an admin
can prepare a year's release, check it and publish it without a browser.
"""

from __future__ import annotations

import json
from pathlib import Path

REPORT_FORMATS = (".pdf", ".csv", ".xlsx")  # as dashboard.cli_extra's (no import cycle)


def register(sub, commands: dict) -> None:
    """Add `release` to the command line, and `--release` to `report impact`."""
    release = sub.add_parser(
        "release",
        help="prepare, publish, list and show funder releases of the impact summary",
        description="A release is the impact summary of one fiscal year or quarter, computed "
        "as a funder sees it (protected counts, SPEC §4), stored as a draft, then published "
        "and frozen. Publishing a new release of the same period supersedes the old one.",
    )
    actions = release.add_subparsers(dest="release_action", required=True)
    prepare = actions.add_parser("prepare", help="compute a draft release and store it")
    prepare.add_argument("--period", required=True, help="fiscal year, e.g. FY2025-26")
    prepare.add_argument("--quarter", help="Q1 (Apr-Jun) to Q4 (Jan-Mar); default the year")
    prepare.add_argument(
        "--program-type",
        dest="program_types",
        action="append",
        default=[],
        help="only groups of this program type (repeat for several); default all",
    )
    prepare.add_argument(
        "--by", help="the leadership or admin user preparing it (default: cli, as admin)"
    )
    publish = actions.add_parser("publish", help="publish a draft release to funders")
    publish.add_argument("id", type=_release_id)
    publish.add_argument("--by", required=True, help="the leadership or admin user publishing")
    listing = actions.add_parser("list", help="every release, newest first")
    listing.add_argument("--period", help="only this fiscal year or quarter")
    show = actions.add_parser("show", help="one release's figures")
    show.add_argument("id", type=_release_id)
    show.add_argument("--format", choices=["text", "json"], default="text")
    commands["release"] = cmd_release

    report = sub.choices.get("report")
    if report is not None:
        for action in report._actions:  # --release names its period itself
            if action.dest == "period":
                action.required = False
        report.add_argument(
            "--release",
            nargs="?",
            const="latest",
            help="write a published release instead of live figures: its number, or (no "
            "value) the latest published release of --period",
        )
        commands["report"] = _report_with_release(commands["report"])


def _release_id(text: str) -> int:
    import argparse

    try:
        value = int(text.lstrip("#"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a release number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a release number: {text!r}")
    return value


def cmd_release(args, settings) -> int:
    from dashboard.cli_common import CliError, _engine
    from dashboard.releases import ReleaseError, ReleaseRefused

    engine = _engine(settings)
    try:
        return ACTIONS[args.release_action](engine, args, settings)
    except (ReleaseError, ReleaseRefused) as exc:
        raise CliError(str(exc)) from None


def _prepare(engine, args, settings) -> int:
    from dashboard import releases

    period = releases.period_of(args.period, args.quarter)
    user = args.by or releases.CLI_SCOPE
    release = releases.prepare(engine, period, args.program_types, user, settings)
    print(
        f"prepared draft release #{release['id']} ({release['period']}); check it with "
        f"`release show {release['id']}`, then `release publish {release['id']} --by USER`"
    )
    return 0


def _publish(engine, args, settings) -> int:
    from dashboard import releases

    release = releases.publish(engine, args.id, args.by)
    line = f"published release #{release['id']} ({release['period']})"
    if release["supersedes_id"]:
        line += f"; it supersedes #{release['supersedes_id']}"
    print(line)
    return 0


def _list(engine, args, settings) -> int:
    from dashboard import releases

    period = releases.period_of(args.period) if args.period else None
    found = releases.list_releases(engine, releases.CLI_SCOPE, period)
    if not found:
        print("no releases" + (f" for {period}" if period else ""))
    for item in found:
        extra = f" (supersedes #{item['supersedes_id']})" if item["supersedes_id"] else ""
        print(releases.describe(item) + extra)
    return 0


def _show(engine, args, settings) -> int:
    from dashboard import releases, report

    release = releases.get(engine, args.id, releases.CLI_SCOPE)
    if args.format == "json":
        stored = {**release, "figures": releases.freeze(release["figures"])}
        print(json.dumps(releases.freeze(stored), indent=2))
        return 0
    print(releases.describe(release))
    print(release["figures"]["selection"])
    rows = report.figure_rows(release["figures"])
    rows = rows[rows["period"] == release["figures"]["period"]["label"]]
    for row in rows.itertuples(index=False):
        print(f"{row.section:>32} | {row.figure:<28} | {row.network:<10} | {row.shown}")
    return 0


ACTIONS = {"prepare": _prepare, "publish": _publish, "list": _list, "show": _show}


def _report_with_release(live_report):
    """`report impact --release [ID]` writes a published release; without it, as before."""

    def cmd_report(args, settings) -> int:
        if not getattr(args, "release", None):
            return live_report(args, settings)
        return write_release(args, settings)

    return cmd_report


def write_release(args, settings) -> int:
    """Write a published release (a number, or the latest of --period) as PDF, CSV or XLSX."""
    from dashboard import audit, releases, report
    from dashboard.cli_common import CliError, _engine
    from dashboard.db import session_scope

    out = Path(args.out)
    if out.suffix.lower() not in REPORT_FORMATS:
        raise CliError(f"--out must end in {', '.join(REPORT_FORMATS)}: {args.out!r}")
    if not args.suppress:
        raise CliError("a release is protected as funders see it: drop --no-suppress")
    engine = _engine(settings)
    try:
        period = releases.period_of(args.period) if args.period else None
        if args.release == "latest":
            release = releases.latest(engine, releases.CLI_SCOPE, period)
            if release is None:
                raise CliError(f"no published release for {period}: see `release list`")
        else:
            release = releases.get(engine, _release_id(args.release), releases.CLI_SCOPE)
    except (releases.ReleaseError, ValueError) as exc:
        raise CliError(str(exc).removeprefix("argument ")) from None
    if release["status"] == releases.DRAFT:
        raise CliError(f"release #{release['id']} is a draft: publish it first")
    writer = {".pdf": report.write_pdf, ".csv": report.to_csv, ".xlsx": report.to_xlsx}
    content = writer[out.suffix.lower()](release["figures"])
    try:
        out.write_bytes(content)
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror}") from None
    with session_scope(engine) as session:
        audit.record(
            session,
            "export",
            "cli",
            f"release #{release['id']} {release['period']} ({out.suffix[1:]})",
        )
    print(f"wrote {out} (release #{release['id']}, {release['period']}, {release['status']})")
    return 0
