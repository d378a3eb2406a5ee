"""Releases for funders (SPEC §2 release, §4): prepared as a funder sees the summary,
published by leadership or admin, frozen against later imports, superseded with both kept."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from dashboard import releases, report
from dashboard.access import Scope
from dashboard.cli import main
from dashboard.db import session_scope
from dashboard.filters import Filters
from dashboard.models import AuditEvent, Release
from dashboard.settings import Settings
from dashboard.users import create_user
from tests.conftest import TEST_PASSWORD
from tests.factories import Builder

LEADERSHIP = Scope(role="leadership", username="lead")
ADMIN = Scope(role="admin", username="steward")
FUNDER = Scope(role="funder", username="fund")
SETTINGS = Settings(secret_key="x", demo_mode=False)
CALGARY = [f"CGY-{i:06d}" for i in range(1, 9)]  # 8 men: shown
EDMONTON = [f"EDM-{i:06d}" for i in range(1, 4)]  # 3 men: hidden for a funder


@pytest.fixture
def world(engine):
    """Two networks in FY2025-26: eight men in Calgary, three in Edmonton."""
    with session_scope(engine) as session:
        w = Builder(session)
        w.network("Calgary")
        w.network("Edmonton")
        w.group("Bow circle", "Calgary", start="2025-04-01")
        w.group("River circle", "Edmonton", start="2025-04-01")
        for code in CALGARY:
            w.member(code, "Calgary")
            w.enroll(code, "Bow circle", "2025-04-01")
        for code in EDMONTON:
            w.member(code, "Edmonton")
            w.enroll(code, "River circle", "2025-04-01")
        for week in range(6):
            day = (dt.date(2025, 5, 5) + dt.timedelta(weeks=week)).isoformat()
            w.session("Bow circle", day, {code: "present" for code in CALGARY})
            w.session("River circle", day, {code: "present" for code in EDMONTON})
        w.done()
        create_user(session, "lead", "leadership", [], TEST_PASSWORD)
        create_user(session, "fund", "funder", [], TEST_PASSWORD)
        create_user(session, "coord", "coordinator", ["Calgary"], TEST_PASSWORD)
    return engine


def men_reached(figures: dict, column: str) -> str:
    return report.cell(figures, "outputs", column, "men_reached")[0]


@pytest.mark.parametrize(
    ("fiscal_year", "quarter", "label"),
    [
        ("FY2025-26", None, "FY2025-26"),
        ("fy2025-26", "Q1", "FY2025-26-Q1"),
        ("FY2025-26", "3", "FY2025-26-Q3"),
        ("FY2025-26 Q2", None, "FY2025-26-Q2"),
        ("FY2025-26-Q4", None, "FY2025-26-Q4"),
    ],
)
def test_period_labels(fiscal_year, quarter, label):
    assert releases.period_of(fiscal_year, quarter) == label


@pytest.mark.parametrize(
    ("fiscal_year", "quarter", "message"),
    [
        ("2025", None, "not a period like FY2025-26"),
        ("FY2025-27", None, "must span two consecutive years"),
        ("FY2025-26", "Q5", "not a fiscal quarter"),
        ("FY2025-26-Q1", "Q2", "give the quarter once"),
    ],
)
def test_bad_periods_are_refused(fiscal_year, quarter, message):
    with pytest.raises(releases.ReleaseError, match=message):
        releases.period_of(fiscal_year, quarter)


def test_a_draft_holds_what_a_funder_would_see(world):
    draft = releases.prepare(world, "FY2025-26", (), LEADERSHIP, SETTINGS)
    assert draft["status"] == "draft" and draft["prepared_by"] == "lead"
    assert draft["breakdown"] == {
        "networks": ["Calgary", "Edmonton"],
        "combined": True,
        "program_types": [],
    }
    funder_view = report.impact_figures(
        world,
        Scope(role="funder"),
        Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31)),
        SETTINGS,
    )
    frozen = draft["figures"]
    for column in ("Calgary", "Edmonton", "Combined"):
        assert men_reached(frozen, column) == men_reached(funder_view, column)
    assert men_reached(frozen, "Edmonton") == "<5"  # 3 men: protected
    assert frozen["suppressed"] is True
    # Exactly the dict the summary renders (dates and all), once frozen and thawed.
    assert releases.freeze(frozen) == releases.freeze(
        {**funder_view, "generated": frozen["generated"]}
    )


def test_only_leadership_and_admin_prepare_and_publish(world):
    for scope in (FUNDER, Scope(role="coordinator", networks=("Calgary",), username="coord")):
        with pytest.raises(releases.ReleaseRefused):
            releases.prepare(world, "FY2025-26", (), scope, SETTINGS)
    draft = releases.prepare(world, "FY2025-26", (), ADMIN, SETTINGS)
    for user in (FUNDER, "fund", "coord"):
        with pytest.raises(releases.ReleaseRefused):
            releases.publish(world, draft["id"], user)
    with pytest.raises(releases.ReleaseError, match="no active user"):
        releases.publish(world, draft["id"], "nobody")
    # A funder never reads a draft, nor learns that it exists.
    with pytest.raises(releases.ReleaseError, match=f"no release #{draft['id']}"):
        releases.get(world, draft["id"], FUNDER)
    assert releases.list_releases(world, FUNDER) == []
    published = releases.publish(world, draft["id"], "lead")
    assert published["status"] == "published" and published["published_by"] == "lead"
    assert releases.get(world, draft["id"], FUNDER)["status"] == "published"
    with pytest.raises(releases.ReleaseError, match="already published"):
        releases.publish(world, draft["id"], "lead")


def test_publishing_is_audited(world):
    draft = releases.prepare(world, "FY2025-26-Q1", (), LEADERSHIP, SETTINGS)
    releases.publish(world, draft["id"], LEADERSHIP)
    with session_scope(world) as session:
        events = {
            e.action: e
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action.startswith("release-"))
            )
        }
    assert events["release-prepare"].username == "lead"
    assert events["release-publish"].detail == f"release #{draft['id']} FY2025-26-Q1"


def add_men_and_attendance(engine, codes, day="2025-09-01"):
    """New Edmonton men, and one River circle session they all attend."""
    from dashboard.models import Group, Member, Network

    with session_scope(engine) as session:
        w = Builder(session)
        w.networks["Edmonton"] = session.scalar(select(Network).where(Network.name == "Edmonton"))
        w.groups["River circle"] = session.scalar(select(Group).where(Group.name == "River circle"))
        for code in EDMONTON:
            w.members[code] = session.scalar(select(Member).where(Member.code == code))
        for code in codes:
            w.member(code, "Edmonton")
        w.session("River circle", day, {code: "present" for code in w.members})
        w.done()


def test_new_data_later_changes_nothing_published_and_a_correction_supersedes(world):
    first = releases.publish(
        world, releases.prepare(world, "FY2025-26", (), LEADERSHIP, SETTINGS)["id"], "lead"
    )
    before = releases.get(world, first["id"], FUNDER)
    # Three more Edmonton men attend: six now, shown to funders from the next release on.
    add_men_and_attendance(world, [f"EDM-{i:06d}" for i in range(4, 7)])
    after = releases.get(world, first["id"], FUNDER)
    assert after["figures"] == before["figures"]  # the release is frozen
    assert men_reached(after["figures"], "Edmonton") == "<5"

    second = releases.prepare(world, "FY2025-26", (), ADMIN, SETTINGS)
    live = report.impact_figures(
        world,
        Scope(role="funder"),
        Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31)),
        SETTINGS,
    )
    # Six Edmonton men now: shown, protected as a funder receives it (not exact: cell keys).
    assert men_reached(second["figures"], "Edmonton") == men_reached(live, "Edmonton") != "<5"
    assert releases.predecessor_of_draft(world, second)["id"] == first["id"]
    published = releases.publish(world, second["id"], ADMIN)
    assert published["supersedes_id"] == first["id"]
    old = releases.get(world, first["id"], FUNDER)
    assert old["status"] == "superseded" and old["superseded_by_id"] == second["id"]
    assert old["figures"] == before["figures"]  # kept as it was
    assert [r["id"] for r in releases.published(world, FUNDER)] == [second["id"], first["id"]]
    assert releases.latest(world, FUNDER)["id"] == second["id"]

    new = releases.get(world, second["id"], FUNDER)["figures"]
    changes = releases.difference(old["figures"], new)
    men = {
        (c["column"], c["old"], c["new"])
        for c in changes
        if c["figure"] == "Men reached" and c["period"] == "FY2025-26"
    }
    assert ("Edmonton", "<5", men_reached(new, "Edmonton")) in men
    assert men == {
        (column, men_reached(old["figures"], column), men_reached(new, column))
        for column in ("Calgary", "Edmonton", "Combined")
        if men_reached(old["figures"], column) != men_reached(new, column)
    }
    assert all(c["old"] != c["new"] for c in changes)
    assert releases.difference(old["figures"], old["figures"]) == []


def test_another_breakdown_or_period_is_not_superseded(world):
    year = releases.publish(
        world, releases.prepare(world, "FY2025-26", (), LEADERSHIP, SETTINGS)["id"], "lead"
    )
    shed = releases.prepare(world, "FY2025-26", ("peer-support",), LEADERSHIP, SETTINGS)
    assert shed["breakdown"]["program_types"] == ["peer-support"]
    # The selection names the program as users know it, not by its code.
    assert "program types: Peer support (open)" in shed["figures"]["selection"]
    assert releases.describe(shed).startswith(f"#{shed['id']} FY2025-26 · Peer support (open)")
    releases.publish(world, shed["id"], "lead")
    quarter = releases.prepare(world, "FY2025-26-Q1", (), LEADERSHIP, SETTINGS)
    releases.publish(world, quarter["id"], "lead")
    statuses = {r["id"]: r["status"] for r in releases.list_releases(world, LEADERSHIP)}
    assert statuses == {
        year["id"]: "published",
        shed["id"]: "published",
        quarter["id"]: "published",
    }
    with pytest.raises(releases.ReleaseError, match="unknown program type"):
        releases.prepare(world, "FY2025-26", ("knitting",), LEADERSHIP, SETTINGS)


def test_a_published_release_row_keeps_its_json(world):
    release = releases.publish(
        world, releases.prepare(world, "FY2025-26", (), LEADERSHIP, SETTINGS)["id"], "lead"
    )
    with session_scope(world) as session:
        stored = session.get(Release, release["id"]).figures
    assert json.loads(json.dumps(stored)) == stored  # plain JSON, no dates or numpy inside
    assert releases.freeze(releases.thaw(stored)) == stored
    # Nothing may rewrite it, not even code that tries.
    with pytest.raises(releases.ReleaseError, match="frozen: its figures cannot change"):
        with session_scope(world) as session:
            session.get(Release, release["id"]).figures = {"sections": []}
    with session_scope(world) as session:
        assert session.get(Release, release["id"]).figures == stored


# --- The command line ---


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def cli_env(world, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "x")
    return world


def test_cli_round_trip(cli_env, capsys, tmp_path):
    code, out, err = run(capsys, "release", "prepare", "--period", "FY2025-26", "--by", "lead")
    assert code == 0, err
    first = int(out.split("#", 1)[1].split(" ", 1)[0])
    code, out, _ = run(capsys, "release", "list")
    assert out.startswith(f"#{first} FY2025-26 · draft prepared") and out.endswith("by lead\n")
    code, out, err = run(capsys, "release", "publish", str(first), "--by", "lead")
    assert (code, out) == (0, f"published release #{first} (FY2025-26)\n"), err
    code, out, _ = run(capsys, "release", "show", str(first), "--format", "json")
    shown = json.loads(out)
    with session_scope(cli_env) as session:
        stored = session.get(Release, first).figures
    assert shown["figures"] == stored and shown["status"] == "published"

    # Import more attendance: the published release stays as it was.
    attendance = tmp_path / "attendance.csv"
    attendance.write_text(
        "date,group,member_code,status\n"
        + "".join(f"2025-09-08,Bow circle,{c},present\n" for c in CALGARY)
    )
    code, _, err = run(capsys, "import", "attendance", str(attendance))
    assert code == 0, err
    code, out, _ = run(capsys, "release", "show", str(first), "--format", "json")
    assert json.loads(out) == shown

    code, out, _ = run(capsys, "release", "prepare", "--period", "FY2025-26")
    second = int(out.split("#", 1)[1].split(" ", 1)[0])
    code, out, _ = run(capsys, "release", "publish", f"#{second}", "--by", "lead")
    assert out == f"published release #{second} (FY2025-26); it supersedes #{first}\n"
    code, out, _ = run(capsys, "release", "list", "--period", "FY2025-26")
    lines = out.splitlines()
    assert lines[0].startswith(f"#{second} FY2025-26 · published") and "supersedes" in lines[0]
    assert lines[1].endswith("· superseded")
    code, out, _ = run(capsys, "release", "show", str(second))
    assert "Men reached" in out and "Edmonton" in out and "<5" in out

    # report impact --release: the latest published release of the period.
    target = tmp_path / "release.csv"
    code, out, err = run(
        capsys, "report", "impact", "--period", "FY2025-26", "--release", "--out", str(target)
    )
    assert code == 0, err
    assert f"release #{second}" in out
    assert target.read_bytes() == report.to_csv(releases.get(cli_env, second, FUNDER)["figures"])
    code, out, err = run(capsys, "report", "impact", "--release", str(first), "--out", str(target))
    assert code == 0, err
    assert target.read_bytes() == report.to_csv(releases.get(cli_env, first, FUNDER)["figures"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["release", "prepare", "--period", "2025"], "not a period like FY2025-26"),
        (
            ["release", "prepare", "--period", "FY2025-26", "--quarter", "Q7"],
            "not a fiscal quarter",
        ),
        (
            ["release", "prepare", "--period", "FY2025-26", "--program-type", "knitting"],
            "unknown program type knitting",
        ),
        (
            ["release", "prepare", "--period", "FY2025-26", "--by", "fund"],
            "only leadership and admin users may prepare releases",
        ),
        (["release", "publish", "99999", "--by", "lead"], "no release #99999"),
        (["release", "publish", "1", "--by", "nobody"], "no active user 'nobody'"),
        (["release", "show", "99999"], "no release #99999"),
        (["release", "show", "abc"], "not a release number: 'abc'"),
        (
            ["report", "impact", "--period", "FY2024-25", "--release", "--out", "x.pdf"],
            "no published release for FY2024-25",
        ),
        (["report", "impact", "--release", "--out", "x.txt"], "--out must end in"),
    ],
)
def test_cli_errors_are_one_line(cli_env, capsys, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_or_exit(capsys, args)
    assert code in (1, 2)
    assert err.count("\n") == 1 and message in err, err


def run_or_exit(capsys, args):
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err
