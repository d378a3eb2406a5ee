"""`python -m dashboard export`: every table a page shows, hand-checked on small data, equal
to what the page's callback shows, hidden as the gate hides it, bad input one line, exit 2."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import select

from dashboard import catalogue
from dashboard.cli import main
from dashboard.export import TABLES
from dashboard.models import AuditEvent
from tests.factories import Builder

JAN = ["--from", "2025-01-01", "--to", "2025-03-31"]
# The columns each table has (JSON names), written out by hand.
COLUMNS = {
    "groups": [
        "network",
        "group",
        "program_type",
        "sessions_held",
        "cancelled",
        "men_reached",
        "attendance",
        "average_attendance",
        "attendance_rate",
        "excused",
        "excused_rate",
        "capacity",
        "capacity_use",
    ],
    "rates": ["network", "group", "men_reached", "attendance_rate", "excused_rate"],
    "heatmap": ["network", "group", "week", "present_men", "week_cancelled"],
    "trend": [
        "period",
        "network",
        "sessions_held",
        "attendance",
        "men_reached",
        "average_attendance",
    ],
    "dosage": ["dosage_range", "dosage_men"],
    "at-risk-members": [
        "member_code",
        "network",
        "group",
        "last_present",
        "weeks_since",
        "sessions_present",
    ],
    "growth": ["network", "group", "attendance", "attendance_before", "change"],
    "completion": ["network", "completion_base", "completion_enrolments", "completion_rate"],
    "retention": [
        "network",
        "retention_base",
        "retention_4w",
        "retention_12w",
        "retention_26w",
        "retention_52w",
    ],
    "numbers-at-risk": [
        "network",
        "at_risk_0w",
        "at_risk_4w",
        "at_risk_12w",
        "at_risk_26w",
        "at_risk_52w",
    ],
    "cohorts": ["cohort", "cohort_size", "months_after", "cohort_share", "so_far"],
    "survey-networks": ["network", *catalogue.SURVEY_KEYS],
    "survey-groups": ["network", "group", *catalogue.SURVEY_KEYS],
    "items": ["item", "item_text", "side", "item_answers", "below", "at", "above"],
    "scores": ["score_from", "score_to", "matched_pairs", "baseline", "later"],
}

# UCLA-3 (three items answered 1-3, summed; lower is better): Calgary's six men from
# 9,9,8,8,7,7 to 5,6,5,6,5,6 (changes -4,-3,-3,-2,-2,-1: mean -2.5); Edmonton's two from 6,6
# to 6,5 (0,-1: mean -0.5); all eight: mean -2.0.
UCLA = {
    "CGY-000000": ([3, 3, 3], [2, 2, 1]),
    "CGY-000001": ([3, 3, 3], [2, 2, 2]),
    "CGY-000002": ([3, 3, 2], [2, 2, 1]),
    "CGY-000003": ([3, 3, 2], [2, 2, 2]),
    "CGY-000004": ([3, 2, 2], [2, 2, 1]),
    "CGY-000005": ([3, 2, 2], [2, 2, 2]),
    "EDM-000000": ([2, 2, 2], [2, 2, 2]),
    "EDM-000001": ([2, 2, 2], [2, 2, 1]),
}


@pytest.fixture
def small(session):
    """Calgary Peer: six men on 6 Jan, then one present, one absent, one excused on 13 Jan, a
    cancelled session on 20 Jan. Edmonton Peer: two men on 7 Jan, one of them on 14 Jan (the
    other absent). Calgary Well-Being (10 sessions, 8 Jan - 12 Mar): five places ended
    15 Mar; three men came to all ten sessions, one to seven, one to six. Every man answered
    UCLA-3 at baseline (2 Jan) and exit (20 Mar)."""
    b = Builder(session)
    b.network("Calgary")
    b.network("Edmonton")
    b.group("Calgary Peer", "Calgary", capacity=10)
    b.group("Edmonton Peer", "Edmonton", capacity=10)
    b.group("Calgary Well-Being", "Calgary", program="wellbeing-10", capacity=12)
    calgary = [f"CGY-00000{i}" for i in range(6)]
    edmonton = ["EDM-000000", "EDM-000001"]
    for code in calgary:
        b.member(code, "Calgary")
        b.enroll(code, "Calgary Peer", "2025-01-01")
    for code in edmonton:
        b.member(code, "Edmonton")
        b.enroll(code, "Edmonton Peer", "2025-01-01")
    b.session("Calgary Peer", "2025-01-06", {code: "present" for code in calgary})
    b.session(
        "Calgary Peer",
        "2025-01-13",
        {"CGY-000000": "present", "CGY-000001": "absent", "CGY-000002": "excused"},
    )
    b.session("Calgary Peer", "2025-01-20", cancelled=True)
    b.session("Edmonton Peer", "2025-01-07", {code: "present" for code in edmonton})
    b.session("Edmonton Peer", "2025-01-14", {"EDM-000000": "present", "EDM-000001": "absent"})
    wellbeing = calgary[:5]
    for code in wellbeing:
        b.enroll(code, "Calgary Well-Being", "2025-01-01", "2025-03-15", status="completed")
    attended = {"CGY-000003": 7, "CGY-000004": 6}
    for week in range(10):
        date = dt.date(2025, 1, 8) + dt.timedelta(weeks=week)
        marks = {
            code: "present" if week < attended.get(code, 10) else "absent" for code in wellbeing
        }
        b.session("Calgary Well-Being", date.isoformat(), marks)
    for code, (baseline, later) in UCLA.items():
        b.survey(code, "ucla-3", "2025-01-02", "baseline", baseline)
        b.survey(code, "ucla-3", "2025-03-20", "exit", later)
    b.done()


def export(args, database_url, capsys, monkeypatch):
    """(exit code, standard output, standard error) of `python -m dashboard export ...`."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    # The app's secret (small_app): it keys the protected figures, as in a deployment where
    # the command line runs with the app's settings.
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    code = main(["export", *args])
    out, err = capsys.readouterr()
    return code, out, err


def as_json(args, database_url, capsys, monkeypatch) -> dict:
    code, out, err = export([*args, "--format", "json"], database_url, capsys, monkeypatch)
    assert code == 0, err
    return json.loads(out)


def as_csv(args, database_url, capsys, monkeypatch) -> list[list[str]]:
    code, out, err = export([*args, "--format", "csv"], database_url, capsys, monkeypatch)
    assert code == 0, err
    return list(csv.reader(io.StringIO(out)))


def by(rows: list[dict], *keys: str) -> dict:
    return {tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]: row for row in rows}


def test_group_table_hand_worked(small, database_url, capsys, monkeypatch):
    """Calgary Peer: 2 held, 1 cancelled, 6 men, 7 presents of 9 recorded (rate 78%), 1
    excused (11%), 3.5 per session of 10 places (35%). Edmonton Peer: 3 of 4 (75%)."""
    result = as_json(["groups", *JAN], database_url, capsys, monkeypatch)
    assert [c["name"] for c in result["columns"]] == COLUMNS["groups"]
    assert result["figures"] == "exact" and result["hidden"] == []
    rows = by(result["rows"], "group")
    assert rows["Calgary Peer"] == {
        "network": "Calgary",
        "group": "Calgary Peer",
        "program_type": "Peer support (open)",
        "sessions_held": 2,
        "cancelled": 1,
        "men_reached": 6,
        "attendance": 7,
        "average_attendance": 3.5,
        "attendance_rate": 0.78,
        "excused": 1,
        "excused_rate": 0.11,
        "capacity": 10,
        "capacity_use": 0.35,
    }
    edmonton = rows["Edmonton Peer"]
    assert (edmonton["men_reached"], edmonton["attendance"], edmonton["attendance_rate"]) == (
        2,
        3,
        0.75,
    )
    # Ten sessions, 43 presents of 50 marks (3 x 10 + 7 + 6).
    wellbeing = rows["Calgary Well-Being"]
    assert (wellbeing["sessions_held"], wellbeing["attendance"]) == (10, 43)
    assert wellbeing["attendance_rate"] == 0.86


def test_rates_in_csv_rounded_to_the_catalogue_digits(small, database_url, capsys, monkeypatch):
    table = as_csv(["rates", *JAN, "--program", "peer-support"], database_url, capsys, monkeypatch)
    assert table == [
        ["Network", "Group", "Men reached", "Attendance rate", "Excused rate"],
        ["Calgary", "Calgary Peer", "6", "0.78", "0.11"],  # 7/9 and 1/9
        ["Edmonton", "Edmonton Peer", "2", "0.75", "0.0"],
    ]


def test_heatmap_hand_worked_and_suppressed(small, database_url, capsys, monkeypatch):
    args = ["heatmap", *JAN, "--group", "Calgary Peer", "--group", "Edmonton Peer"]
    exact = as_csv(args, database_url, capsys, monkeypatch)
    assert exact == [
        ["Network", "Group", "Week (Monday)", "Men present", "Cancelled"],
        ["Calgary", "Calgary Peer", "2025-01-06", "6", "False"],
        ["Calgary", "Calgary Peer", "2025-01-13", "1", "False"],
        ["Calgary", "Calgary Peer", "2025-01-20", "", "True"],
        ["Edmonton", "Edmonton Peer", "2025-01-06", "2", "False"],
        ["Edmonton", "Edmonton Peer", "2025-01-13", "1", "False"],
    ]
    # Edmonton Peer reached 2 men: its row goes; Calgary's one man of 13 Jan reads <5.
    suppressed = as_csv([*args, "--suppress"], database_url, capsys, monkeypatch)
    assert suppressed[1:] == [
        ["Calgary", "Calgary Peer", "2025-01-06", "6", "False"],
        ["Calgary", "Calgary Peer", "2025-01-13", "<5", "False"],
        ["Calgary", "Calgary Peer", "2025-01-20", "", "True"],
    ]


def test_dosage_and_completion_hand_worked(small, database_url, capsys, monkeypatch):
    """Five places of the 10-session program ended 15 Mar: three men came 10 times, one 7
    (70%: completed), one 6 (not): 4 of 5 completed."""
    dosage = as_json(["dosage", *JAN], database_url, capsys, monkeypatch)
    men = {row["dosage_range"]: row["dosage_men"] for row in dosage["rows"]}
    assert men == {
        **{f"{10 * i}–{10 * i + 9}%": 0 for i in range(9)},
        "60–69%": 1,
        "70–79%": 1,
        "90–100%": 3,
    }
    per_group = as_json(["completion", *JAN, "--by", "group"], database_url, capsys, monkeypatch)
    assert per_group["rows"] == [
        {
            "group": "Calgary Well-Being",
            "completion_base": 5,
            "completion_enrolments": 5,
            "completion_rate": 0.8,
        }
    ]
    completion = as_json(["completion", *JAN], database_url, capsys, monkeypatch)
    assert completion["rows"] == [
        {
            "network": "Calgary",
            "completion_base": 5,
            "completion_enrolments": 5,
            "completion_rate": 0.8,
        }
    ]


def test_members_at_risk_only_with_exact_figures(users, database_url, capsys, monkeypatch):
    """On 12 Mar (the data's end) the active window runs from 16 Jan: CGY-000004 last came
    12 Feb (4 weeks before; 4 sessions in the window), CGY-000003 on 19 Feb (3 weeks; 5)."""
    result = as_json(["at-risk-members", *JAN], database_url, capsys, monkeypatch)
    assert result["rows"] == [
        {
            "member_code": "CGY-000004",
            "network": "Calgary",
            "group": "Calgary Well-Being",
            "last_present": "2025-02-12",
            "weeks_since": 4,
            "sessions_present": 4,
        },
        {
            "member_code": "CGY-000003",
            "network": "Calgary",
            "group": "Calgary Well-Being",
            "last_present": "2025-02-19",
            "weeks_since": 3,
            "sessions_present": 5,
        },
    ]
    mine = as_json(
        ["at-risk-members", *JAN, "--user", "coord-edmonton"], database_url, capsys, monkeypatch
    )
    assert mine["rows"] == []  # Calgary's men are not his
    for who in (["--suppress"], ["--user", "leader-one"]):
        code, out, err = export(["at-risk-members", *JAN, *who], database_url, capsys, monkeypatch)
        assert code == 1 and out == ""
        assert err.count("\n") == 1 and "member-level rows" in err


def test_growth_hand_worked(users, database_url, capsys, monkeypatch):
    """January to March 2025 is a fiscal quarter: it is compared with October to December
    2024, when nothing was held (0 presents then)."""
    result = as_json(["growth", *JAN], database_url, capsys, monkeypatch)
    assert [
        (r["group"], r["attendance"], r["attendance_before"], r["change"]) for r in result["rows"]
    ] == [
        ("Calgary Peer", 7, 0, 7),
        ("Calgary Well-Being", 43, 0, 43),
        ("Edmonton Peer", 3, 0, 3),
    ]
    assert result["note"] == "Compared with 01 Oct 2024 – 31 Dec 2024."
    # Edmonton Peer's 2 men: hidden, so left out (and counted), as /planning does.
    suppressed = as_json(["growth", *JAN, "--suppress"], database_url, capsys, monkeypatch)
    assert [r["group"] for r in suppressed["rows"]] == ["Calgary Peer", "Calgary Well-Being"]
    assert "1 group(s) left out: fewer than 5 men" in suppressed["note"]
    code, _, err = export(
        ["growth", *JAN, "--user", "coord-edmonton"], database_url, capsys, monkeypatch
    )
    assert (code, err) == (1, "error: a coordinator does not see /planning\n")


def test_retention_and_cohorts_hand_worked(small, database_url, capsys, monkeypatch):
    """The data end 12 Mar (the last session held). Calgary's six new men: CGY-000005 came
    once (6 Jan) and lapsed at 0 weeks; the other five are still coming (censored at 5-9
    weeks): retention at 4 weeks 5/6; nobody followed 12 weeks. Edmonton's two lapsed."""
    result = as_json(["retention", *JAN], database_url, capsys, monkeypatch)
    rows = by(result["rows"], "network")
    assert rows["Calgary"] == {
        "network": "Calgary",
        "retention_base": 6,
        "retention_4w": 0.83,
        "retention_12w": None,
        "retention_26w": None,
        "retention_52w": None,
    }
    assert rows["Edmonton"]["retention_base"] == 2
    assert result["hidden"] == []  # empty points: nobody followed that long, not hidden
    at_risk = as_json(["numbers-at-risk", *JAN], database_url, capsys, monkeypatch)
    assert by(at_risk["rows"], "network")["Calgary"] == {
        "network": "Calgary",
        "at_risk_0w": 6,
        "at_risk_4w": 5,
        "at_risk_12w": 0,
        "at_risk_26w": 0,
        "at_risk_52w": 0,
    }
    # January's eight men: 5 came in February, 3 in March (so far: the data end 12 Mar).
    cohorts = as_json(["cohorts", *JAN], database_url, capsys, monkeypatch)
    assert cohorts["rows"] == [
        {
            "cohort": "2025-01",
            "cohort_size": 8,
            "months_after": 0,
            "cohort_share": 1.0,
            "so_far": False,
        },
        {
            "cohort": "2025-01",
            "cohort_size": 8,
            "months_after": 1,
            "cohort_share": 0.62,
            "so_far": False,
        },
        {
            "cohort": "2025-01",
            "cohort_size": 8,
            "months_after": 2,
            "cohort_share": 0.38,
            "so_far": True,
        },
    ]
    suppressed = as_json(["cohorts", *JAN, "--suppress"], database_url, capsys, monkeypatch)
    assert [row["cohort_share"] for row in suppressed["rows"]] == [1.0, 0.62, None]
    assert suppressed["hidden"] == [{"row": 2, "column": "cohort_share"}]


def test_survey_change_hand_worked(small, database_url, capsys, monkeypatch):
    """UCLA-3: Calgary's changes -4,-3,-3,-2,-2,-1 (mean -2.5, SD 1.049, 95% CI -2.5 -+
    2.571 x 0.428 = -3.60 .. -1.40, d_z -2.38). Reliable change against the SD of all eight
    baselines (1.195, alpha 0.72): more than 1.75 points, so 5 of 6 Calgary men, none in
    Edmonton, 5 of 8 overall."""
    args = ["survey-networks", *JAN, "--instrument", "ucla-3"]
    rows = by(as_json(args, database_url, capsys, monkeypatch)["rows"], "network")
    calgary = rows["Calgary"]
    assert (calgary["matched_pairs"], calgary["mean_change"]) == (6, -2.5)
    assert (calgary["ci_low"], calgary["ci_high"], calgary["d_z"]) == (-3.6, -1.4, -2.38)
    assert (calgary["share_improved"], calgary["share_unchanged"]) == (0.83, 0.17)
    assert (rows["Edmonton"]["mean_change"], rows["Edmonton"]["share_unchanged"]) == (-0.5, 1.0)
    assert (rows["All"]["matched_pairs"], rows["All"]["mean_change"]) == (8, -2.0)
    assert rows["All"]["share_improved"] == 0.62  # 5/8, whole percent
    groups = as_json(
        ["survey-groups", *JAN, "--instrument", "ucla-3"], database_url, capsys, monkeypatch
    )
    pairs = {row["group"]: row["matched_pairs"] for row in groups["rows"]}
    assert pairs == {"Calgary Peer": 6, "Calgary Well-Being": 5, "Edmonton Peer": 2}
    items = as_json(["items", *JAN, "--instrument", "ucla-3"], database_url, capsys, monkeypatch)
    first = by(items["rows"], "item", "side")[(1, "baseline")]
    # Item 1 at baseline: six men answered 3 (above the middle, 2), two answered 2.
    assert (first["item_answers"], first["below"], first["at"], first["above"]) == (
        8,
        0.0,
        0.25,
        0.75,
    )


def test_suppress_hides_exactly_what_the_gate_hides(small, database_url, capsys, monkeypatch):
    """--suppress: Edmonton Peer's 2 men read <5 and every figure resting on them is empty;
    in the survey table the networks add up to All, so hiding Edmonton's 2 pairs hides
    Calgary's 6 too (else 8 - 6 gives Edmonton back)."""
    table = as_csv(["groups", *JAN, "--suppress"], database_url, capsys, monkeypatch)
    edmonton = next(row for row in table if row[1] == "Edmonton Peer")
    assert edmonton == ["Edmonton", "Edmonton Peer", "Peer support (open)", "2", "0", "<5"] + [
        ""
    ] * 5 + [
        "10",
        "",
    ]
    calgary = next(row for row in table if row[1] == "Calgary Peer")
    assert calgary[5:9] == ["6", "7", "3.5", "0.78"]

    from dashboard import metrics
    from dashboard.access import Scope
    from dashboard.db import get_engine
    from dashboard.filters import Filters
    from dashboard.gate import Gate

    gate = Gate(Scope(role="leadership", username="cli"), 5, exact_values=True)
    with get_engine(database_url).connect() as conn:
        raw = metrics.group_table(
            conn, Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31))
        )
    expected = gate.table(raw)
    result = as_json(["groups", *JAN, "--suppress"], database_url, capsys, monkeypatch)
    hidden = {(h["row"], h["column"]) for h in result["hidden"]}
    assert hidden == {
        (i, column)
        for i in range(len(raw))
        for column in COLUMNS["groups"]
        if column in expected.hidden.columns and bool(expected.hidden.loc[i, column])
    }
    assert all(result["rows"][i][column] is None for i, column in hidden)

    surveys = as_json(
        ["survey-networks", *JAN, "--instrument", "ucla-3", "--suppress"],
        database_url,
        capsys,
        monkeypatch,
    )
    rows = by(surveys["rows"], "network")
    assert rows["All"]["matched_pairs"] == 8 and rows["All"]["mean_change"] == -2.0
    for network in ("Calgary", "Edmonton"):
        assert all(rows[network][key] is None for key in catalogue.SURVEY_KEYS)


@pytest.mark.parametrize("name", list(TABLES))
def test_every_table_exports_with_its_columns(name, small, database_url, capsys, monkeypatch):
    args = [name, *JAN, "--instrument", "ucla-3"]
    result = as_json(args, database_url, capsys, monkeypatch)
    assert [c["name"] for c in result["columns"]] == COLUMNS[name]
    assert result["rows"], f"{name}: no rows for the small data"
    assert all(list(row) == COLUMNS[name] for row in result["rows"])
    header, *rows = as_csv(args, database_url, capsys, monkeypatch)
    assert header == [c["label"] for c in result["columns"]]
    assert len(rows) == len(result["rows"])
    # A figure's column is headed by its catalogue label and carries its definition.
    for column in result["columns"]:
        if column["name"] in catalogue.FIGURES:
            assert column["label"] == catalogue.label(column["name"])
            assert column["definition"] == catalogue.definition(column["name"])


def test_the_list_of_tables_is_complete():
    assert set(TABLES) == set(COLUMNS)


USERS = {
    "admin-one": ("admin", []),
    "leader-one": ("leadership", []),
    "coord-edmonton": ("coordinator", ["Edmonton"]),
    "funder-one": ("funder", []),
}


@pytest.fixture
def users(small, engine):
    from dashboard.db import session_scope
    from dashboard.users import create_user
    from tests.conftest import TEST_PASSWORD

    with session_scope(engine) as session:
        for name, (role, networks) in USERS.items():
            create_user(session, name, role, networks, TEST_PASSWORD)


@pytest.fixture
def small_app(users, database_url):
    """The app on the small data, for the pages' callbacks."""
    from dashboard.app_factory import create_app
    from dashboard.settings import Settings

    settings = Settings(database_url=database_url, secret_key="test-secret", demo_mode=False)
    return create_app(settings, prepare=False)


def signed_in(app, username: str):
    from tests.conftest import login

    client = app.server.test_client()
    assert login(client, username).status_code == 302
    return client


SEARCH = "?from=2025-01-01&to=2025-03-31"


@pytest.mark.parametrize("username", ["admin-one", "leader-one", "coord-edmonton"])
def test_group_table_equals_the_attendance_page(
    username, small_app, database_url, capsys, monkeypatch
):
    """The export of `groups` holds what the page's per-group table holds, for each role:
    exact for the admin, Edmonton's groups only for its coordinator, protected (perturbed,
    rounded, <5) for leadership."""
    from dashboard.export import GROUP_COLUMNS, value
    from tests.dash_calls import run_callback

    client = signed_in(small_app, username)
    page = run_callback(
        client, small_app, "attendance-table.rowData", [("attendance-url", "search", SEARCH)]
    )["attendance-table"]["rowData"]
    result = as_json(["groups", *JAN, "--user", username], database_url, capsys, monkeypatch)
    assert [row["group"] for row in result["rows"]] == [row["group"] for row in page]
    hidden = {(h["row"], h["column"]) for h in result["hidden"]}
    for i, (exported, shown) in enumerate(zip(result["rows"], page, strict=True)):
        for column in GROUP_COLUMNS:
            if shown[column.name] == "<5":
                assert exported[column.name] is None and (i, column.name) in hidden
            else:
                assert exported[column.name] == value(column, shown[column.name]), column.name
    groups = {row["group"] for row in result["rows"]}
    if username == "coord-edmonton":
        assert groups == {"Edmonton Peer"}
        assert result["rows"][0]["men_reached"] == 2  # his own network: exact
    else:
        assert groups == {"Calgary Peer", "Calgary Well-Being", "Edmonton Peer"}
    if username == "leader-one":
        assert result["figures"] == "protected as for leadership"
        edmonton = by(result["rows"], "group")["Edmonton Peer"]
        assert edmonton["men_reached"] is None and edmonton["attendance_rate"] is None


def test_retention_table_equals_the_retention_page(small_app, database_url, capsys, monkeypatch):
    """Leadership's retention table on /retention and in the export: the same new members and
    points, the same cells hidden, the same points not given."""
    from callbacks.retention import NOT_FOLLOWED
    from tests.dash_calls import run_callback

    client = signed_in(small_app, "leader-one")
    page = run_callback(
        client,
        small_app,
        "retention-table.rowData",
        [("retention-url", "search", SEARCH), ("retention-by", "value", "network")],
    )["retention-table"]["rowData"]
    result = as_json(["retention", *JAN, "--user", "leader-one"], database_url, capsys, monkeypatch)
    hidden = {(h["row"], h["column"]) for h in result["hidden"]}
    assert [row["network"] for row in result["rows"]] == [row["curve"] for row in page]
    points = {f"w{w}": f"retention_{w}w" for w in (4, 12, 26, 52)}
    for i, (exported, shown) in enumerate(zip(result["rows"], page, strict=True)):
        n = exported["retention_base"]
        assert shown["n"] == ("<5" if n is None else catalogue.format_value("retention_base", n))
        for column, key in points.items():
            if (i, key) in hidden:
                assert shown[column].startswith("— hidden")
            elif exported[key] is None:
                assert shown[column] == NOT_FOLLOWED
            else:
                assert shown[column] == catalogue.format_value(key, exported[key])
    calgary, edmonton = result["rows"]
    assert calgary["retention_4w"] == 0.83  # 5 of 6, rounded for leadership
    assert edmonton["retention_base"] is None and (1, "retention_base") in hidden


def test_scope_of_a_user(users, database_url, capsys, monkeypatch):
    code, _, err = export(
        ["groups", *JAN, "--user", "coord-edmonton", "--network", "Calgary"],
        database_url,
        capsys,
        monkeypatch,
    )
    assert code == 1 and err == "error: coord-edmonton may not see network Calgary\n"
    code, out, err = export(
        ["groups", *JAN, "--user", "funder-one"], database_url, capsys, monkeypatch
    )
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "funders receive published releases only" in err
    # Leadership needs SURVEY_MIN_PAIRS (10) pairs, as /surveys does: 8 are too few.
    survey = as_json(
        ["survey-networks", *JAN, "--instrument", "ucla-3", "--user", "leader-one"],
        database_url,
        capsys,
        monkeypatch,
    )
    assert survey["rows"] == [] and survey["note"] == "Hidden: fewer than 10 matched pairs."
    code, _, err = export(["groups", *JAN, "--user", "nobody"], database_url, capsys, monkeypatch)
    assert (code, err) == (1, "error: no user 'nobody'\n")


def test_export_is_audited_and_written_to_a_file(
    users, engine, database_url, capsys, monkeypatch, tmp_path
):
    target = tmp_path / "rates.csv"
    args = ["rates", *JAN, "--user", "leader-one", "--output", str(target)]
    code, out, err = export(args, database_url, capsys, monkeypatch)
    assert code == 0 and out == ""
    assert "wrote" in err and "protected as for leadership" in err
    lines = target.read_text().splitlines()
    assert lines[0] == "Network,Group,Men reached,Attendance rate,Excused rate"
    assert lines[-1] == "Edmonton,Edmonton Peer,<5,,"
    from dashboard.db import session_scope

    with session_scope(engine) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
        assert [(e.username, e.detail) for e in events] == [
            (
                "leader-one",
                "rates (csv) ?from=2025-01-01&to=2025-03-31; protected as for leadership",
            )
        ]


def test_unknown_table_and_bad_date_exit_2(small, database_url, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    for args, message in (
        (["attendance-grid", *JAN], "invalid choice: 'attendance-grid' (choose from"),
        (["groups", "--from", "2025-02-30", "--to", "2025-03-31"], "not a date"),
        (["groups", "--from", "01/02/2025", "--to", "2025-03-31"], "not a date"),
        (["groups", *JAN, "--program", "no-such-program"], "unknown program type"),
    ):
        with pytest.raises(SystemExit) as exit_:
            main(["export", *args])
        assert exit_.value.code == 2
        _, err = capsys.readouterr()
        assert err.count("\n") == 1 and message in err, err
    # The message lists every table.
    with pytest.raises(SystemExit):
        main(["export", "nope", *JAN])
    err = capsys.readouterr().err
    assert all(f"'{name}'" in err for name in TABLES)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--network", "Red Deer"], "unknown network Red Deer; known: Calgary, Edmonton"),
        (["--group", "Nowhere"], "unknown group Nowhere"),
        (["--instrument", "phq-9"], "unknown instrument 'phq-9'"),
    ],
)
def test_unknown_names_are_one_line(args, message, small, database_url, capsys, monkeypatch):
    code, out, err = export(["survey-networks", *JAN, *args], database_url, capsys, monkeypatch)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_the_real_command_line(small, database_url):
    """As a script runs it: CSV on standard output; an unknown table exits 2 on one line."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "dashboard", "export", *args],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            env={**os.environ, "DATABASE_URL": database_url},
            timeout=120,
        )

    done = run("completion", *JAN, "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Network,Men ending a fixed-length group,Places ended,Completion rate",
        "Calgary,5,5,0.8",
    ]
    wrong = run("attendance", *JAN)
    assert wrong.returncode == 2
    assert len(wrong.stderr.strip().splitlines()) == 1 and "Traceback" not in wrong.stderr


@pytest.mark.parametrize("name", list(TABLES))
def test_a_period_without_data_gives_the_header_only(
    name, small, database_url, capsys, monkeypatch
):
    table = as_csv(
        [name, "--from", "2010-01-01", "--to", "2010-12-31", "--instrument", "ucla-3"],
        database_url,
        capsys,
        monkeypatch,
    )
    assert len(table) == 1 and len(table[0]) == len(COLUMNS[name])
