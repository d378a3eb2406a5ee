"""Importing groups, rosters, sessions, attendance and surveys from CSV or XLSX (SPEC §5).

Reading a file
    CSV in UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-1252; delimiter comma,
    semicolon or tab (whichever the header line has most of). XLSX: the first (active) sheet,
    formulas not evaluated. A file whose bytes are not text (a binary renamed .csv) or an
    old .xls is refused. The header is the first non-blank row; blank rows are skipped;
    row numbers in reports are the spreadsheet's (header = row 1). Headers match ignoring
    case and spaces ("Member Code" == "member_code", "Item 1" == "item_1"); a column the
    kind doesn't use is ignored with a warning. Limits: `max_rows` data rows and
    `max_columns` columns (defaults 50,000 and 60); blank rows count toward `max_rows`, and
    an XLSX whose sheet declares more rows, or which unpacks to more than 64 MB, is refused
    before it is read; a cell may hold at most 2,000 characters.

Cells
    A cell starting with = + or @, or with - and a letter, would run as a formula in a
    spreadsheet and is refused (error), whatever its column; so is a cell with a line break
    (usually an unclosed quote). Member codes are upper-cased
    with spaces removed and must match models.MEMBER_CODE_PATTERN. Choices (status, wave,
    program type, age band, communities) match ignoring case, spaces, '_' and dash kinds;
    weekdays are names (Tuesday, Tue), never numbers. Communities are separated by ; or ,.

Dates
    Accepted: ISO 2025-03-04 (also 2025/03/04, 2025.03.04, 20250304, and an ISO date
    with a time, e.g. 2025-03-04 00:00:00); month names in any order that keeps the year
    last or first: 4 March 2025, 4 Mar 2025, 4-Mar-2025, March 4, 2025, Mar 4 2025,
    2025 March 4; Excel date cells. Numeric day/month forms (03/04/2025, 3-4-2025,
    25.03.2025) are accepted only when a single reading is a real date: 25/03/2025 is
    25 March (25 can't be a month), 03/25/2025 is 25 March too, 04/04/2025 is the same
    either way; 03/04/2025 is refused as ambiguous (day and month could be swapped).
    Two-digit years and numbers (Excel serials) are refused. A date after `today` is an
    error for session, attendance and survey dates and for enrolled_from (group dates and
    enrolled_to may be in the future). Session and attendance dates must fall within the
    group's life (start_date .. end_date); an enrollment may start before the group does
    (sign-up) but not after it ended, and may not end before it started or after it ended.

Empty cells
    A row describes its own row completely: an empty optional cell takes the default (no end
    date, no capacity, 120 minutes for a group, the group's usual length for a session, not
    cancelled, enrollment still open) and so also clears a stored value on re-import. A
    member's age band and communities are shared by all his rows and files: there an empty
    cell means "not given" and never erases what is stored. In an attendance file, an empty
    duration_minutes keeps an existing session's length.

Writing
    All or nothing: every row is checked first; a file with any error writes nothing.
    Natural keys: group by name; member by code; enrollment by (member, group,
    enrolled_from); session by (group, date); attendance by (session, member); survey
    response by (member, instrument, date, wave). A row with a known key updates the stored
    row (the previous values are kept for undo); importing the same file again changes
    nothing and records no batch. A write is one ImportBatch plus an AuditEvent "import".
    Survey scores are computed by dashboard.instruments.score_response, never read.
    Imports and undos run one at a time: each takes the database's write lock (an advisory
    lock on PostgreSQL, BEGIN IMMEDIATE on SQLite) before it reads anything, so imports
    started together end as if run one after the other.

Undo
    A batch can be undone unless a later batch, not itself undone, touched the same rows
    (updated or added one of its rows, or added rows that use a row it added, e.g.
    attendance at a session it created); then undo refuses and names those batches.

Scope
    With `allowed_networks` (network names), rows for any other network are errors: the
    group's network (groups, roster, sessions, attendance), the roster's network, and the
    member's home network (surveys). A member code of a man outside those networks (neither
    his home network nor an enrollment there) reads as unknown, with the same message as a
    made-up code, so an import never tells whether another network's code exists.

Home network
    A man's home network is the network of his earliest enrollment (SPEC §5), stored or in
    the file, whatever the order of the rows; on a tie of dates, the network first by name.
    An import that adds an earlier enrollment in another network moves him there (his survey
    pairs follow; published releases do not change), recorded as an update that undo
    reverts. Members created by attendance imports (`add_new_members`) get the group's
    network as home network; with `enroll_missing`, that enrollment counts like any other.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from dashboard.db import lock_for_writing, refresh_statistics, session_scope
from dashboard.importing.reading import escape_spreadsheet_cell, read_table
from dashboard.importing.report import ImportError_, ImportReport, Problem
from dashboard.importing.validate import COLUMNS, VALIDATORS, Context, parse_rows, preview
from dashboard.importing.write import Writer, check_undo, finish, history, undo_batch, write_plan
from dashboard.instruments import INSTRUMENTS
from dashboard.models import ImportBatch

KINDS = ["groups", "roster", "sessions", "attendance", "surveys"]
KIND_ALIASES = {
    "group": "groups",
    "members": "roster",
    "enrollments": "roster",
    "session": "sessions",
    "survey": "surveys",
    "survey-responses": "surveys",
}

__all__ = [
    "KINDS",
    "ImportError_",
    "ImportReport",
    "Problem",
    "escape_spreadsheet_cell",
    "import_history",
    "run_import",
    "template",
    "undo_import",
]


def run_import(
    engine: Engine,
    kind: str,
    filename: str,
    content: bytes,
    *,
    username: str | None = None,
    dry_run: bool = False,
    add_new_members: bool = False,
    enroll_missing: bool = False,
    allowed_networks: set[str] | None = None,
    max_rows: int = 50000,
    max_columns: int = 60,
    today: dt.date | None = None,
) -> ImportReport:
    """Check a file and, when it has no errors and this is not a dry run, write it."""
    name = str(kind or "").strip().lower()
    kind = KIND_ALIASES.get(name, name)
    report = ImportReport(kind=kind, filename=filename, dry_run=dry_run)
    if kind not in KINDS:
        report.error(
            None,
            None,
            name,
            f"{name!r} is not a kind of import.",
            f"choose one of: {', '.join(KINDS)}",
        )
        return report
    table = read_table(filename, content, report, max_rows=max_rows, max_columns=max_columns)
    if table is None:
        return report
    report.rows = len(table.rows)
    if not table.rows:
        report.error(
            None,
            None,
            None,
            "The file has a header row but no data rows.",
            "add the rows below the header (see the template)",
        )
        return report
    rows = parse_rows(kind, table, report)
    if rows is None:
        report.sort()
        return report
    report.preview = preview(rows)
    try:
        with session_scope(engine) as session:
            if not dry_run:
                lock_for_writing(session)
            ctx = Context(
                session,
                report,
                today=today or dt.date.today(),
                allowed_networks=allowed_networks,
                add_new_members=add_new_members,
                enroll_missing=enroll_missing,
            )
            plan = VALIDATORS[kind](ctx, rows)
            if report.ok:
                writer = Writer(session)
                write_plan(writer, plan)
                report.added, report.updated = writer.counts()
                report.rows_added = sum(report.added.values())
                report.rows_updated = sum(report.updated.values())
                if dry_run or not (report.rows_added or report.rows_updated):
                    session.rollback()
                else:
                    batch = finish(
                        writer,
                        kind=kind,
                        filename=filename,
                        checksum=hashlib.sha256(content).hexdigest(),
                        username=username,
                        networks=ctx.touched_networks,
                        rows=report.rows,
                    )
                    report.batch_id = batch.id
    except (IntegrityError, OperationalError) as exc:
        report.rows_added = report.rows_updated = 0
        report.added, report.updated, report.batch_id = {}, {}, None
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
        report.error(
            None,
            None,
            None,
            f"The database refused the import, nothing was written ({reason}).",
            "someone may have changed the same data at the same time: import the file again",
        )
    if report.batch_id is not None:
        refresh_statistics(engine)
    report.sort()
    return report


def undo_import(
    engine: Engine,
    batch_id: int,
    username: str | None = None,
    *,
    allowed_networks: set[str] | None = None,
) -> None:
    """Reverse an import batch; ImportError_ (a ValueError) says why when it can't."""
    with session_scope(engine) as session:
        lock_for_writing(session)
        batch = session.get(ImportBatch, batch_id)
        check_undo(session, batch, batch_id, allowed_networks)
        undo_batch(session, batch, username)
    refresh_statistics(engine)


def import_history(
    engine: Engine, limit: int = 50, allowed_networks: set[str] | None = None
) -> list[dict]:
    """The latest import batches, newest first: id, at (UTC), username, kind, filename,
    checksum, rows_added, rows_updated, undone, networks, can_undo."""
    with session_scope(engine) as session:
        return history(session, limit, allowed_networks)


EXAMPLE_GROUP = "Calgary Tuesday Well-Being"
EXAMPLES = {
    "groups": {
        "network": "Calgary",
        "group": EXAMPLE_GROUP,
        "program_type": "wellbeing-10",
        "start_date": "2025-04-01",
        "end_date": "2025-06-03",
        "weekday": "Tuesday",
        "capacity": "12",
        "session_minutes": "120",
    },
    "roster": {
        "member_code": "CGY-000123",
        "network": "Calgary",
        "group": EXAMPLE_GROUP,
        "enrolled_from": "2025-04-01",
        "enrolled_to": "",
        "status": "active",
        "age_band": "35-44",
        "communities": "Indigenous;newcomer",
    },
    "sessions": {
        "group": EXAMPLE_GROUP,
        "date": "2025-04-01",
        "duration_minutes": "120",
        "cancelled": "false",
    },
    "attendance": {
        "date": "2025-04-01",
        "group": EXAMPLE_GROUP,
        "member_code": "CGY-000123",
        "status": "present",
        "duration_minutes": "",
    },
    "surveys": {
        "member_code": "CGY-000123",
        "date": "2025-04-01",
        "instrument": "swemwbs",
        "wave": "baseline",
        "item_1": "4",
        "item_2": "3",
        "item_3": "3",
        "item_4": "4",
        "item_5": "4",
        "item_6": "3",
        "item_7": "4",
    },
}


def template(kind: str) -> bytes:
    """A CSV template (UTF-8): the header row and one example row."""
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not a kind of import; choose one of: {', '.join(KINDS)}")
    headers = [name for name, _, _ in COLUMNS[kind]]
    if kind == "surveys":
        headers += [f"item_{i}" for i in range(1, max(len(i["items"]) for i in INSTRUMENTS) + 1)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerow([EXAMPLES[kind].get(h, "") for h in headers])
    return out.getvalue().encode("utf-8")
