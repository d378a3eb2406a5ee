"""Importers (SPEC §5): good files in order, a corpus of bad files, re-import, undo, scope."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from dashboard.db import data_version, session_scope
from dashboard.importing import (
    KINDS,
    ImportError_,
    escape_spreadsheet_cell,
    import_history,
    run_import,
    template,
    undo_import,
)
from dashboard.importing.reading import CellError, normalise_header, parse_date
from dashboard.importing.validate import COLUMNS
from dashboard.models import (
    Attendance,
    AuditEvent,
    Base,
    Enrollment,
    Group,
    GroupSession,
    ImportBatch,
    Member,
    MemberCommunity,
    Network,
    SurveyResponse,
)

FILES = Path(__file__).parent / "import_files"
TODAY = dt.date(2025, 9, 1)
WB, PEER, EDM = "Calgary Tuesday Well-Being", "Calgary Peer Circle", "Edmonton Café Fathers"
GOOD = [
    ("groups", "good_groups_cp1252.csv"),
    ("roster", "good_roster_utf8bom_semicolon.csv"),
    ("sessions", "good_sessions.csv"),
    ("attendance", "good_attendance.csv"),
    ("surveys", "good_surveys.csv"),
]
BOOKKEEPING = {"import_batch", "audit_event", "data_version"}


def table_fingerprint(engine, skip: set[str] = frozenset()) -> dict[str, tuple[int, str]]:
    """Row count and a sha256 of every row, per table, in primary-key order."""
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            out[table.name] = (len(rows), digest)
    return out


def data_fingerprint(engine):
    return table_fingerprint(engine, skip=BOOKKEEPING)


def imp(engine, kind, source, **options):
    """run_import on a file of the corpus (a name) or on bytes, dated TODAY."""
    if isinstance(source, str):
        name, content = source, (FILES / source).read_bytes()
    else:
        name, content = f"{kind}.csv", source
    options.setdefault("today", TODAY)
    return run_import(engine, kind, name, content, username="tester", **options)


def count(engine, model) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.fixture
def networks(engine):
    with session_scope(engine) as s:
        s.add_all([Network(name="Calgary"), Network(name="Edmonton")])
    return engine


@pytest.fixture
def loaded(networks):
    """The five good files imported in order."""
    for kind, name in GOOD:
        report = imp(networks, kind, name)
        assert report.ok, report.as_text()
        assert report.batch_id is not None
    return networks


# ---------------------------------------------------------------- good files


def test_good_files_in_order(networks):
    version = _version(networks)
    reports = [imp(networks, kind, name) for kind, name in GOOD]
    assert all(r.ok for r in reports), "\n".join(r.as_text() for r in reports)
    assert [r.rows for r in reports] == [3, 5, 4, 8, 5]
    assert not any(r.problems for r in reports), [r.as_text() for r in reports]
    assert reports[1].added == {"member": 4, "enrollment": 5}
    assert reports[3].added == {"session": 3, "attendance": 8}
    with session_scope(networks) as s:
        groups = {g.name: g for g in s.scalars(select(Group))}
        assert set(groups) == {WB, PEER, EDM}  # the Windows-1252 é read right
        assert (
            groups[PEER].program_type,
            groups[PEER].start_date,
            groups[PEER].weekday,
            groups[PEER].capacity,
            groups[PEER].session_minutes,
        ) == ("peer-support", dt.date(2024, 1, 8), 0, None, 90)
        assert (groups[EDM].start_date, groups[EDM].session_minutes, groups[EDM].weekday) == (
            dt.date(2024, 9, 5),
            120,
            3,
        )
        members = {m.code: m for m in s.scalars(select(Member))}
        assert set(members) == {"CGY-0001", "CGY-0002", "CGY-0003", "EDM-0001"}
        assert members["CGY-0002"].age_band == "25-34"
        assert members["EDM-0001"].home_network_id == groups[EDM].network_id
        communities = set(
            s.execute(
                select(Member.code, MemberCommunity.community).join(
                    Member, Member.id == MemberCommunity.member_id
                )
            )
        )
        assert communities == {
            ("CGY-0001", "Indigenous"),
            ("CGY-0001", "newcomer"),
            ("EDM-0001", "Black"),
        }
        withdrawn = s.scalars(select(Enrollment).where(Enrollment.status == "withdrawn")).one()
        assert (withdrawn.enrolled_from, withdrawn.enrolled_to) == (
            dt.date(2025, 4, 1),
            dt.date(2025, 5, 6),
        )
        sessions = {
            (g.name, x.date): x
            for x, g in s.execute(
                select(GroupSession, Group).join(Group, Group.id == GroupSession.group_id)
            )
        }
        assert len(sessions) == 7
        assert sessions[(WB, dt.date(2025, 4, 15))].cancelled is True
        # Created by the attendance file: the row's length, else the group's usual length.
        assert sessions[(WB, dt.date(2025, 4, 22))].duration_minutes == 100
        assert sessions[(PEER, dt.date(2025, 4, 14))].duration_minutes == 90
        assert sessions[(EDM, dt.date(2025, 4, 10))].duration_minutes == 120
        assert count(networks, Attendance) == 8
        one = members["CGY-0001"]
        assert (one.first_present, one.last_present, one.first_group_id) == (
            dt.date(2025, 4, 1),
            dt.date(2025, 4, 22),
            groups[WB].id,
        )
        assert members["CGY-0002"].first_present is None
        scores = {
            (r.instrument_id, r.wave, r.date): r.score for r in s.scalars(select(SurveyResponse))
        }
        assert scores == {
            ("swemwbs", "baseline", dt.date(2025, 4, 1)): 19.25,
            ("swemwbs", "exit", dt.date(2025, 6, 3)): 25.03,
            ("ucla-3", "baseline", dt.date(2025, 4, 1)): 8.0,
            ("healthy-relationships", "baseline", dt.date(2025, 4, 7)): 4.0,
            ("swemwbs", "baseline", dt.date(2025, 4, 10)): 26.02,  # one item missing
        }
        batches = s.scalars(select(ImportBatch).order_by(ImportBatch.id)).all()
        assert [b.kind for b in batches] == KINDS
        assert batches[0].checksum == hashlib.sha256((FILES / GOOD[0][1]).read_bytes()).hexdigest()
        assert batches[0].username == "tester" and batches[0].rows_added == 3
        assert (
            s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import")
            )
            == 5
        )
    assert _version(networks) == version + 5


def _version(engine) -> int:
    with session_scope(engine) as s:
        return data_version(s)


def test_same_files_again_change_nothing(loaded):
    before = table_fingerprint(loaded)
    for kind, name in GOOD:
        report = imp(loaded, kind, name)
        assert report.ok and report.batch_id is None
        assert (report.rows_added, report.rows_updated) == (0, 0)
        assert "Nothing to change" in report.as_text()
    assert table_fingerprint(loaded) == before


def test_xlsx_surveys(loaded):
    book = Workbook()
    sheet = book.active
    sheet.append(["Member Code", "Date", "Instrument", "Wave", "Item 1", "Item 2", "Item 3"])
    sheet.append(["CGY-0003", dt.datetime(2025, 5, 5), "ucla-3", "mid", 1, 2.0, 1])
    sheet.append([])
    sheet.append(["cgy-0001", "5 May 2025", "UCLA-3", "follow up", 2, 2, None])
    content = _xlsx_bytes(book)
    report = run_import(loaded, "surveys", "surveys.xlsx", content, today=TODAY)
    assert report.ok and report.added == {"survey_response": 2}, report.as_text()
    assert [p["row"] for p in report.preview] == [2, 4]
    with session_scope(loaded) as s:
        waves = {
            r.wave: (r.answers, r.score)
            for r in s.scalars(
                select(SurveyResponse).where(SurveyResponse.date == dt.date(2025, 5, 5))
            )
        }
    assert waves == {"mid": ([1, 2, 1], 4.0), "follow-up": ([2, 2, None], None)}
    # A response with too many items missing is stored unscored, with a warning.
    assert [(p.row, p.severity) for p in report.problems] == [(4, "warning")]


def _xlsx_bytes(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_formula_and_rows_are_reported_with_sheet_row(loaded):
    book = Workbook()
    sheet = book.active
    sheet.append(["date", "group", "member_code", "status"])
    sheet.append([dt.date(2025, 4, 1), WB, "CGY-0001", "present"])
    sheet.append([None, None, None, None])
    sheet.append([dt.date(2025, 4, 1), WB, '=CONCAT("CGY","-0002")', "present"])
    sheet.append([45748, WB, "CGY-0002", "present"])  # a date typed as a plain number
    before = table_fingerprint(loaded)
    report = run_import(loaded, "attendance", "a.xlsx", _xlsx_bytes(book), today=TODAY)
    assert _errors(report) >= {(4, "member_code"), (5, "date")}
    assert table_fingerprint(loaded) == before


# ---------------------------------------------------------------- bad files


BAD_FILES = [
    ("attendance", "empty.csv", {}, [(None, None)]),
    ("attendance", "headers_only.csv", {}, [(None, None)]),
    ("attendance", "binary_renamed.csv", {}, [(None, None)]),
    ("attendance", "formula_injection.csv", {}, [(3, "member_code"), (4, "status"), (5, "status")]),
    ("attendance", "ambiguous_date.csv", {}, [(2, "date")]),
    ("attendance", "not_a_date.csv", {}, [(3, "date"), (4, "date"), (5, "date")]),
    ("attendance", "unknown_group.csv", {}, [(3, "group")]),
    ("groups", "unknown_network.csv", {}, [(3, "network")]),
    ("roster", "bad_member_code.csv", {}, [(2, "member_code"), (3, "member_code")]),
    ("attendance", "future_date.csv", {}, [(3, "date")]),
    ("sessions", "outside_group_life.csv", {}, [(2, "date"), (4, "date")]),
    ("attendance", "bad_status.csv", {}, [(2, "status")]),
    ("attendance", "blank_lines_bad_status.csv", {}, [(5, "status")]),
    ("groups", "unclosed_quote.csv", {}, [(2, "group"), (2, "program_type"), (2, "start_date")]),
    (
        "roster",
        "bad_roster_values.csv",
        {},
        [(2, "status"), (2, "age_band"), (2, "communities"), (3, "network"), (3, "enrolled_to")],
    ),
    ("roster", "wrong_network_for_group.csv", {}, [(2, "network")]),
    ("surveys", "bad_wave.csv", {}, [(2, "wave")]),
    ("surveys", "answer_out_of_range.csv", {}, [(2, "item_3"), (3, "item_7")]),
    ("surveys", "unknown_instrument.csv", {}, [(2, "instrument")]),
    ("surveys", "extra_items.csv", {}, [(3, "item_4")]),
    ("surveys", "no_item_columns.csv", {}, [(1, "item_1")]),
    ("attendance", "duplicate_row.csv", {}, [(4, "member_code")]),
    ("surveys", "unknown_member_survey.csv", {}, [(3, "member_code")]),
    ("attendance", "unknown_member_attendance.csv", {}, [(3, "member_code"), (4, "member_code")]),
    ("attendance", "missing_column.csv", {}, [(1, "status")]),
    ("attendance", "cancelled_session.csv", {}, [(2, "date")]),
    ("attendance", "edmonton_attendance.csv", {"allowed_networks": {"Calgary"}}, [(2, "group")]),
    ("groups", "mixed_networks_groups.csv", {"allowed_networks": {"Calgary"}}, [(3, "network")]),
    ("payments", "good_attendance.csv", {}, [(None, None)]),
]


def _errors(report) -> set[tuple]:
    return {(p.row, p.column) for p in report.problems if p.severity == "error"}


@pytest.mark.parametrize(
    ("kind", "name", "options", "expected"), BAD_FILES, ids=[f"{k}-{n}" for k, n, _, _ in BAD_FILES]
)
def test_bad_file_is_reported_and_writes_nothing(loaded, kind, name, options, expected):
    before = table_fingerprint(loaded)
    report = imp(loaded, kind, name, **options)
    assert not report.ok
    assert _errors(report) == set(expected), report.as_text()
    assert (report.rows_added, report.rows_updated, report.batch_id) == (0, 0, None)
    for problem in report.problems:
        assert problem.message and problem.fix
    assert report.as_text().endswith("Nothing was written: fix the errors and import again.")
    assert table_fingerprint(loaded) == before


def test_problem_text_names_row_column_value_and_fix(loaded):
    report = imp(loaded, "attendance", "ambiguous_date.csv")
    assert report.as_text().splitlines()[0] == (
        "row 2, column date: '03/04/2025' is ambiguous (day and month could be swapped). "
        "Fix: write it as 2025-03-04 (4 March) or 2025-04-03 (3 April), as YYYY-MM-DD."
    )
    problem = report.problems[0]
    assert (problem.value, problem.severity) == ("03/04/2025", "error")


def test_scope_message(loaded):
    report = imp(loaded, "attendance", "edmonton_attendance.csv", allowed_networks={"Calgary"})
    assert "you can import only for Calgary" in report.problems[0].message
    assert "or ask an Edmonton coordinator or an admin" in report.problems[0].fix
    report = imp(
        loaded,
        "surveys",
        b"member_code,date,instrument,wave,item_1,item_2,item_3\n"
        b"EDM-0001,2025-05-01,ucla-3,mid,1,1,1\n",
        allowed_networks={"Calgary"},
    )
    assert _errors(report) == {(2, "member_code")}
    assert report.problems[0].message == "No member of Calgary has the code 'EDM-0001'."
    ok = imp(loaded, "attendance", "edmonton_attendance.csv", allowed_networks={"Edmonton"})
    assert ok.ok and ok.added == {"session": 1, "attendance": 1}


@pytest.mark.parametrize(
    ("kind", "header", "tail"),
    [
        (
            "surveys",
            "member_code,date,instrument,wave,item_1,item_2,item_3",
            ",2025-05-01,ucla-3,mid,1,1,1",
        ),
        ("attendance", "date,group,member_code,status", None),
    ],
)
def test_member_codes_of_other_networks_read_as_unknown(loaded, kind, header, tail):
    """Finding 9: a Calgary coordinator can't tell an Edmonton code from a made-up one."""

    def problems(code: str, allowed: set[str] | None = None) -> list[tuple]:
        line = f"2025-05-06,{WB},{code},present" if tail is None else code + tail
        report = imp(loaded, kind, f"{header}\n{line}\n".encode(), allowed_networks=allowed)
        return [(p.row, p.column, p.message.replace(code, "X"), p.fix) for p in report.problems]

    existing, made_up = problems("EDM-0001", {"Calgary"}), problems("EDM-9999", {"Calgary"})
    assert existing == made_up
    assert existing[0][:3] == (2, "member_code", "No member of Calgary has the code 'X'.")
    # An admin (every network) still gets the precise message.
    assert problems("EDM-9999")[0][2] == "No member has the code 'X'."


def test_too_many_rows_and_columns(networks):
    before = table_fingerprint(networks)
    line = f"2025-04-01,{WB},CGY-0001,present\n"
    huge = ("date,group,member_code,status\n" + line * 50001).encode()
    report = imp(networks, "attendance", huge)
    assert [(p.row, p.column) for p in report.problems] == [(50002, None)]
    assert "50000" in report.problems[0].message
    small = imp(
        networks, "attendance", ("date,group,member_code,status\n" + line * 3).encode(), max_rows=2
    )
    assert _errors(small) == {(4, None)}
    wide = (",".join(f"c{i}" for i in range(61)) + "\n" + "x," * 60 + "x\n").encode()
    assert _errors(imp(networks, "attendance", wide)) == {(1, None)}
    assert table_fingerprint(networks) == before


def test_old_xls_and_fake_xlsx_are_refused(networks):
    xls = imp(networks, "groups", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert ".xls" in xls.problems[0].message
    fake = run_import(networks, "groups", "g.xlsx", b"network,group\n", today=TODAY)
    assert not fake.ok and "not an Excel workbook" in fake.problems[0].message


# ---------------------------------------------------------------- warnings and options


def test_member_not_enrolled_is_a_warning_or_enrolled(loaded):
    report = imp(loaded, "attendance", "not_enrolled.csv", dry_run=True)
    assert report.ok
    assert [(p.row, p.column, p.severity) for p in report.problems] == [
        (3, "member_code", "warning")
    ]
    assert report.added == {"attendance": 2}
    enrolled = imp(loaded, "attendance", "not_enrolled.csv", enroll_missing=True)
    assert enrolled.ok and enrolled.added == {"enrollment": 1, "attendance": 2}
    assert not enrolled.problems
    with session_scope(loaded) as s:
        new = s.scalars(
            select(Enrollment)
            .join(Group, Group.id == Enrollment.group_id)
            .where(Group.name == PEER)
            .order_by(Enrollment.id.desc())
        ).first()
        assert (new.enrolled_from, new.enrolled_to, new.status) == (
            dt.date(2025, 4, 7),
            None,
            "active",
        )


def test_add_new_members(loaded):
    report = imp(loaded, "attendance", "unknown_member_attendance.csv", add_new_members=True)
    assert report.ok, report.as_text()
    assert report.added == {"member": 1, "enrollment": 1, "attendance": 2}
    with session_scope(loaded) as s:
        member = s.scalars(select(Member).where(Member.code == "CGY-0042")).one()
        calgary = s.scalars(select(Network).where(Network.name == "Calgary")).one()
        assert member.home_network_id == calgary.id
        assert (member.first_present, member.last_present) == (
            dt.date(2025, 4, 8),
            dt.date(2025, 4, 22),
        )
        enrollment = s.scalars(select(Enrollment).where(Enrollment.member_id == member.id)).one()
        assert enrollment.enrolled_from == dt.date(2025, 4, 8)


def test_dry_run_writes_nothing(networks):
    before = table_fingerprint(networks)
    report = imp(networks, "groups", GOOD[0][1], dry_run=True)
    assert report.ok and report.dry_run and report.batch_id is None
    assert report.rows_added == 3 and "Dry run" in report.as_text()
    assert len(report.preview) == 3 and report.preview[0]["group"] == WB
    assert table_fingerprint(networks) == before


# ---------------------------------------------------------------- updates and undo


def test_corrected_rows_update_and_undo_restores(loaded):
    before = data_fingerprint(loaded)
    attendance = (
        (FILES / "good_attendance.csv")
        .read_text()
        .replace(
            "2025-04-01,Calgary Tuesday Well-Being,CGY-0002,absent",
            "2025-04-01,Calgary Tuesday Well-Being,CGY-0002,present",
        )
    )
    report = imp(loaded, "attendance", attendance.encode())
    assert report.updated == {"attendance": 1} and not report.added
    with session_scope(loaded) as s:
        two = s.scalars(select(Member).where(Member.code == "CGY-0002")).one()
        assert two.first_present == dt.date(2025, 4, 1)
    undo_import(loaded, report.batch_id, "tester")
    assert data_fingerprint(loaded) == before
    with session_scope(loaded) as s:
        assert s.scalars(select(ImportBatch).where(ImportBatch.id == report.batch_id)).one().undone
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "import-undo")
            )
            == 1
        )


def test_roster_and_survey_corrections(loaded):
    before = data_fingerprint(loaded)
    roster = (
        (FILES / "good_roster_utf8bom_semicolon.csv")
        .read_bytes()
        .replace(b"withdrawn;25-34;", b"withdrawn;35-44;Latino")
        .replace(b"2025-05-06", b"2025-05-13")
    )
    report = imp(loaded, "roster", roster)
    assert report.updated == {"member": 1, "enrollment": 1}, report.as_text()
    surveys = (
        (FILES / "good_surveys.csv")
        .read_bytes()
        .replace(b"exit,4,4,4,4,4,4,4", b"exit,5,5,5,5,5,5,5")
    )
    report2 = imp(loaded, "surveys", surveys)
    assert report2.updated == {"survey_response": 1}
    with session_scope(loaded) as s:
        two = s.scalars(select(Member).where(Member.code == "CGY-0002")).one()
        assert two.age_band == "35-44"
        assert s.scalars(
            select(MemberCommunity.community).where(MemberCommunity.member_id == two.id)
        ).all() == ["Latino"]
        exit_ = s.scalars(select(SurveyResponse).where(SurveyResponse.wave == "exit")).one()
        assert (exit_.answers, exit_.score) == ([5] * 7, 35.0)
    # An empty age band or communities cell never erases what is stored.
    blank = roster.replace(b"withdrawn;35-44;Latino", b"withdrawn;;")
    assert imp(loaded, "roster", blank).batch_id is None
    undo_import(loaded, report2.batch_id)
    undo_import(loaded, report.batch_id)
    assert data_fingerprint(loaded) == before


def test_undo_refuses_when_later_batches_use_the_rows(loaded):
    history = import_history(loaded)
    assert [h["kind"] for h in history] == list(reversed(KINDS))
    assert [h["can_undo"] for h in history] == [True, True, False, False, False]
    sessions_batch = history[2]["id"]
    before = table_fingerprint(loaded)
    with pytest.raises(ImportError_, match=rf"batch {history[1]['id']} \(attendance"):
        undo_import(loaded, sessions_batch)
    with pytest.raises(ValueError, match="no import batch"):
        undo_import(loaded, 999999)
    with pytest.raises(ImportError_, match="only imports for Calgary"):
        undo_import(loaded, history[-1]["id"], allowed_networks={"Calgary"})
    assert table_fingerprint(loaded) == before
    calgary = import_history(loaded, allowed_networks={"Calgary"})
    assert [h["id"] for h in calgary] == [sessions_batch]  # the only Calgary-only file
    # Newest first, every batch can be undone, and then the database is back to empty.
    for item in history:
        undo_import(loaded, item["id"], "tester")
    with pytest.raises(ImportError_, match="already undone"):
        undo_import(loaded, history[0]["id"])
    for model in (
        Group,
        Member,
        MemberCommunity,
        Enrollment,
        GroupSession,
        Attendance,
        SurveyResponse,
    ):
        assert count(loaded, model) == 0, model
    assert all(h["undone"] and not h["can_undo"] for h in import_history(loaded))
    # And the files import again as they did the first time.
    for kind, name in GOOD:
        assert imp(loaded, kind, name).ok


def test_undo_of_a_batch_nobody_used_later(loaded):
    report = imp(loaded, "attendance", "edmonton_attendance.csv")
    later = imp(
        loaded,
        "surveys",
        b"member_code,date,instrument,wave,item_1,item_2,item_3\n"
        b"CGY-0003,2025-05-01,ucla-3,mid,1,1,1\n",
    )
    before = data_fingerprint(loaded)
    undo_import(loaded, report.batch_id)  # not the latest, but untouched by the later one
    after = data_fingerprint(loaded)
    assert after["survey_response"] == before["survey_response"]
    assert after["attendance"][0] == before["attendance"][0] - 1
    assert later.ok and count(loaded, SurveyResponse) == 6
    # Undo of an update is not blocked by later rows that merely use the updated row.
    groups = (FILES / GOOD[0][1]).read_bytes().replace(b",12,120", b",14,120")
    capacity = imp(loaded, "groups", groups)
    assert capacity.updated == {"group": 1}
    sessions = imp(loaded, "sessions", f"group,date\n{WB},2025-05-06\n".encode())
    assert sessions.added == {"session": 1}
    undo_import(loaded, capacity.batch_id)
    with session_scope(loaded) as s:
        assert s.scalars(select(Group.capacity).where(Group.name == WB)).one() == 12
        assert count(loaded, GroupSession) == 8


# ---------------------------------------------------------------- pieces


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-04", "2025-03-04"),
        ("2025/03/04", "2025-03-04"),
        ("2025.3.4", "2025-03-04"),
        ("20250304", "2025-03-04"),
        ("2025-03-04 00:00:00", "2025-03-04"),
        ("2025-03-04T10:30", "2025-03-04"),
        ("4 March 2025", "2025-03-04"),
        ("4 Mar 2025", "2025-03-04"),
        ("4-Mar-2025", "2025-03-04"),
        ("4th March 2025", "2025-03-04"),
        ("March 4, 2025", "2025-03-04"),
        ("Mar. 4 2025", "2025-03-04"),
        ("Sept 4, 2025", "2025-09-04"),
        ("2025 March 4", "2025-03-04"),
        ("25/03/2025", "2025-03-25"),
        ("03/25/2025", "2025-03-25"),
        ("25.03.2025", "2025-03-25"),
        ("04/04/2025", "2025-04-04"),
        (dt.date(2025, 3, 4), "2025-03-04"),
        (dt.datetime(2025, 3, 4, 9), "2025-03-04"),
    ],
)
def test_dates_accepted(text, expected):
    assert parse_date(text).isoformat() == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("03/04/2025", "ambiguous"),
        ("1-2-2025", "ambiguous"),
        ("31/04/2025", "not a real date"),
        ("2025-02-30", "not a real date"),
        ("4/3/25", "two-digit year"),
        ("4 Mar 25", "two-digit year"),
        ("45720", "not a date"),
        (45720, "a number"),
        ("Smarch 4, 2025", "not a date"),
        ("next Tuesday", "not a date"),
    ],
)
def test_dates_refused(text, reason):
    with pytest.raises(CellError, match=reason) as caught:
        parse_date(text)
    assert "YYYY-MM-DD" in caught.value.fix


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Member Code", "member_code"),
        (" member_code ", "member_code"),
        ("MEMBER  CODE", "member_code"),
        ("Item 1", "item_1"),
        ("item1", "item_1"),
        ("ITEM_07", "item_7"),
        ("\ufeffdate", "date"),
        ("Enrolled-From", "enrolled_from"),
    ],
)
def test_headers_match_ignoring_case_and_spaces(header, expected):
    assert normalise_header(header) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+cmd", "'+cmd"),
        ("-A1", "'-A1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("-5", "-5"),
        ("+1.5", "+1.5"),
        ("CGY-0001", "CGY-0001"),
        ("65+", "65+"),
        ("", ""),
        (None, None),
        (-5, -5),
        (2.5, 2.5),
        (dt.date(2025, 1, 1), dt.date(2025, 1, 1)),
    ],
)
def test_escape_spreadsheet_cell(value, expected):
    assert escape_spreadsheet_cell(value) == expected


def test_templates_have_every_column_and_import_in_order(networks):
    for kind in KINDS:
        header, example = template(kind).decode().splitlines()
        columns = header.split(",")
        assert columns[: len(COLUMNS[kind])] == [name for name, _, _ in COLUMNS[kind]]
        report = imp(networks, kind, template(kind))
        assert report.ok and not report.problems and report.rows_added, report.as_text()
    with pytest.raises(ValueError):
        template("payments")


def test_utf16_tab_separated_csv(loaded):
    text = (FILES / "good_sessions.csv").read_text().replace(",", "\t")
    report = imp(loaded, "sessions", text.encode("utf-16"))
    assert report.ok and report.batch_id is None, report.as_text()  # same rows as loaded


# ---------------------------------------------------------------- home network (SPEC §5)

HEADER = b"member_code,network,group,enrolled_from,enrolled_to,status\n"
IN_EDMONTON = "MAN-0001,Edmonton,Edmonton Café Fathers,2024-09-05,,active\n".encode()
IN_CALGARY = b"MAN-0001,Calgary,Calgary Peer Circle,2025-01-06,,active\n"


def home_network(engine, code: str = "MAN-0001") -> str:
    with session_scope(engine) as s:
        query = select(Network.name).join(Member, Member.home_network_id == Network.id)
        return s.scalar(query.where(Member.code == code))


@pytest.fixture
def groups(networks):
    assert imp(networks, "groups", "good_groups_cp1252.csv").ok
    return networks


@pytest.mark.parametrize(
    "rows", [IN_EDMONTON + IN_CALGARY, IN_CALGARY + IN_EDMONTON], ids=["earliest-first", "last"]
)
def test_home_network_is_the_earliest_enrollment_whatever_the_row_order(groups, rows):
    assert imp(groups, "roster", HEADER + rows).ok
    assert home_network(groups) == "Edmonton"  # enrolled there 2024-09-05, Calgary 2025-01-06


@pytest.mark.parametrize("calgary_first", [True, False])
def test_home_network_on_a_tie_is_the_network_first_by_name(groups, calgary_first):
    same_day = b"MAN-0001,Calgary,Calgary Peer Circle,2024-09-05,,active\n"
    rows = same_day + IN_EDMONTON if calgary_first else IN_EDMONTON + same_day
    assert imp(groups, "roster", HEADER + rows).ok
    assert home_network(groups) == "Calgary"


def test_a_later_import_of_an_earlier_enrollment_moves_the_home_network(groups):
    assert imp(groups, "roster", HEADER + IN_CALGARY).ok
    assert home_network(groups) == "Calgary"
    # A later file (say, Edmonton's roster) shows he enrolled there first: he moves.
    report = imp(groups, "roster", HEADER + IN_EDMONTON)
    assert report.ok and report.batch_id is not None
    assert home_network(groups) == "Edmonton"
    assert imp(groups, "roster", HEADER + IN_EDMONTON).batch_id is None  # nothing changes
    # A later enrollment elsewhere does not move him.
    later = b"MAN-0001,Calgary,Calgary Tuesday Well-Being,2025-04-01,,active\n"
    assert imp(groups, "roster", HEADER + later).ok
    assert home_network(groups) == "Edmonton"
    # Undo of the later-enrollment batch, then of the Edmonton batch: back to Calgary.
    with session_scope(groups) as s:
        batches = s.scalars(select(ImportBatch.id).order_by(ImportBatch.id.desc())).all()
    undo_import(groups, batches[0], username="tester")
    assert home_network(groups) == "Edmonton"
    undo_import(groups, batches[1], username="tester")
    assert home_network(groups) == "Calgary"


def test_an_unused_column_reads_an_attendance_import(loaded):
    report = imp(
        loaded,
        "attendance",
        b"date,group,member_code,status,notes\n2025-04-17,Edmonton Caf\xc3\xa9 Fathers,EDM-0001,"
        b"present,hi\n",
        dry_run=True,
    )
    warning = next(p for p in report.problems if p.column == "notes")
    assert (
        warning.message == "The column 'notes' is not used by an attendance import and was ignored."
    )
