"""Holding under attack and faults (issue 11): concurrent imports, Redis outages, resource
limits, sign-in throttling, web hygiene and bad input."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from dashboard.db import session_scope
from dashboard.importing import run_import, undo_import
from dashboard.models import Attendance, Network

TODAY = dt.date(2025, 9, 1)
GROUP = "Calgary Tuesday Well-Being"
TUESDAYS = [dt.date(2025, 4, 1) + dt.timedelta(weeks=w) for w in range(5)]
CODES = [f"CGY-{i:04d}" for i in range(1, 81)]


def _import(engine, kind: str, text: str):
    report = run_import(engine, kind, f"{kind}.csv", text.encode(), username="t", today=TODAY)
    assert report.ok, report.as_text()
    return report


def _attendance(status: str) -> str:
    rows = [f"{day},{GROUP},{code},{status}" for day in TUESDAYS for code in CODES]
    return "date,group,member_code,status\n" + "\n".join(rows) + "\n"


def _statuses(engine) -> set[str]:
    with session_scope(engine) as s:
        return set(s.scalars(select(Attendance.status)))


@pytest.fixture
def attended(engine):
    """One group, 80 members, 400 attendance rows, all absent."""
    with session_scope(engine) as s:
        s.add(Network(name="Calgary"))
    _import(
        engine,
        "groups",
        f"network,group,program_type,start_date\nCalgary,{GROUP},wellbeing-10,2025-04-01\n",
    )
    roster = "member_code,network,group,enrolled_from,status\n" + "".join(
        f"{code},Calgary,{GROUP},2025-04-01,active\n" for code in CODES
    )
    _import(engine, "roster", roster)
    _import(engine, "attendance", _attendance("absent"))
    return engine


def test_concurrent_imports_end_as_one_after_the_other(attended):
    files = {"present": _attendance("present"), "excused": _attendance("excused")}
    start = threading.Barrier(len(files))
    reports = {}

    def run(status: str) -> None:
        start.wait()
        reports[status] = run_import(
            attended, "attendance", f"{status}.csv", files[status].encode(), today=TODAY
        )

    threads = [threading.Thread(target=run, args=(status,)) for status in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.ok for r in reports.values()), [r.as_text() for r in reports.values()]
    first, second = sorted(reports, key=lambda status: reports[status].batch_id)
    assert _statuses(attended) == {second}
    # The second import saw the first's committed rows, so it changed all 400 of them.
    assert reports[second].rows_updated == len(TUESDAYS) * len(CODES)
    undo_import(attended, reports[second].batch_id, "t")
    assert _statuses(attended) == {first}
    undo_import(attended, reports[first].batch_id, "t")
    assert _statuses(attended) == {"absent"}
