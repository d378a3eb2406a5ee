"""Targets: fiscal periods, storing them, actual against target with a projection (by hand
on a small dataset), who may set them, and the /planning page's callbacks."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete

from callbacks.planning import gate_columns
from dashboard import metrics
from dashboard.access import Scope
from dashboard.db import get_engine, session_scope
from dashboard.filters import Filters
from dashboard.gate import Gate
from dashboard.models import Target
from dashboard.targets import (
    COMBINED,
    TargetError,
    actual_vs_target,
    delete_target,
    list_targets,
    network_actuals,
    parse_period,
    period_label,
    previous_period,
    project,
    set_target,
    status,
)
from tests.dash_calls import callback_body, callback_outputs, dash_call, run_callback
from tests.factories import Builder

d = dt.date.fromisoformat


# --- Fiscal periods ---


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("FY2025-26", "2025-04-01", "2026-03-31"),
        ("fy2025-26-q1", "2025-04-01", "2025-06-30"),
        ("FY2025-26-Q2", "2025-07-01", "2025-09-30"),
        ("FY2025-26-Q3", "2025-10-01", "2025-12-31"),
        ("FY2025-26-Q4", "2026-01-01", "2026-03-31"),
        ("FY1999-00", "1999-04-01", "2000-03-31"),
    ],
)
def test_parse_period(label, start, end):
    assert parse_period(label) == (d(start), d(end))
    assert period_label(d(start), d(end)) == label.upper()


@pytest.mark.parametrize(
    "label", ["2025", "FY2025", "FY2025-27", "FY2025-26-Q5", "FY2025-26Q1", ""]
)
def test_bad_periods_are_refused(label):
    with pytest.raises(ValueError):
        parse_period(label)


def test_previous_periods():
    assert previous_period(*parse_period("FY2025-26")) == parse_period("FY2024-25")
    assert previous_period(*parse_period("FY2025-26-Q1")) == parse_period("FY2024-25-Q4")
    assert previous_period(*parse_period("FY2025-26-Q4")) == parse_period("FY2025-26-Q3")
    assert previous_period(d("2025-05-01"), d("2025-05-31")) == (d("2025-03-31"), d("2025-04-30"))
    assert period_label(d("2025-05-01"), d("2025-05-31")) is None


def test_projection_at_the_current_pace():
    start, end = parse_period("FY2025-26")  # 365 days
    # 61 days gone (1 April - 31 May): 30 men so far -> 30 x 365 / 61.
    assert project(30, "count", start, end, d("2025-05-31")) == pytest.approx(30 * 365 / 61)
    assert project(30, "count", start, end, d("2026-06-01")) == 30  # the period is over
    assert project(30, "count", start, end, d("2025-03-31")) is None  # not started
    assert project(0.6, "rate", start, end, d("2025-05-31")) is None  # rates: no pace
    assert project(None, "count", start, end, d("2025-05-31")) is None  # hidden stays hidden
    assert status(30, 180, 100, "count", 61) == "on track"
    assert status(30, 90, 100, "count", 61) == "behind"
    assert status(120, 700, 100, "count", 61) == "met"
    assert status(0.5, None, 0.6, "rate", 61) == "below target"
    assert status(None, None, 10, "count", 61) == "hidden"
    assert status(0, None, 10, "count", 0) == "not started"


# --- Storing targets ---


@pytest.fixture
def networks(session):
    b = Builder(session)
    b.network("Calgary")
    b.network("Edmonton")
    b.done()
    return b


def test_set_edit_and_delete_targets(networks, session):
    set_target(session, None, "men_reached", "fy2025-26", 900)
    set_target(session, COMBINED, "men_reached", "FY2025-26", 950)  # the same, edited
    set_target(session, "Calgary", "men_reached", "FY2025-26", 500)
    set_target(session, "Calgary", "completion_rate", "FY2025-26-Q1", 0.65)
    session.commit()
    rows = list_targets(session, "FY2025-26")
    assert [(r["network"], r["metric"], r["period"], r["value"]) for r in rows] == [
        ("Combined", "men_reached", "FY2025-26", 950.0),
        ("Calgary", "men_reached", "FY2025-26", 500.0),
        ("Calgary", "completion_rate", "FY2025-26-Q1", 0.65),
    ]
    assert list_targets(session, "FY2024-25") == []
    assert delete_target(session, COMBINED, "men_reached", "FY2025-26") is True
    assert delete_target(session, COMBINED, "men_reached", "FY2025-26") is False
    assert len(list_targets(session)) == 2


@pytest.mark.parametrize(
    ("network", "metric", "period", "value", "message"),
    [
        ("Calgary", "happiness", "FY2025-26", 1, "unknown metric 'happiness'"),
        ("Calgary", "men_reached", "2025", 1, "not a period like FY2025-26"),
        ("Calgary", "men_reached", "FY2025-26", -1, "zero or more"),
        ("Calgary", "men_reached", "FY2025-26", "lots", "must be a number"),
        ("Calgary", "retention_12w", "FY2025-26", 60, "between 0 and 100%"),
        ("Red Deer", "men_reached", "FY2025-26", 1, "unknown network 'Red Deer'"),
    ],
)
def test_bad_targets_are_refused(networks, session, network, metric, period, value, message):
    with pytest.raises(TargetError, match=message):
        set_target(session, network, metric, period, value)


# --- Actual against target, by hand ---


@pytest.fixture
def spring(session):
    """FY2025-26 so far: Calgary 6 men in 3 sessions (April-May), Edmonton 2 men."""
    b = Builder(session)
    b.network("Calgary")
    b.network("Edmonton")
    b.group("Calgary Peer", "Calgary", minutes=120)
    b.group("Edmonton Peer", "Edmonton")
    cgy = [f"CGY-{i:06d}" for i in range(1, 7)]
    for code in cgy:
        b.member(code, "Calgary")
    b.member("EDM-000001", "Edmonton")
    b.member("EDM-000002", "Edmonton")
    b.session("Calgary Peer", "2025-04-07", {c: "present" for c in cgy})
    b.session("Calgary Peer", "2025-04-14", {c: "present" for c in cgy[:5]})
    b.session("Calgary Peer", "2025-05-05", {c: "present" for c in cgy[:3]})
    b.session("Edmonton Peer", "2025-04-08", {"EDM-000001": "present", "EDM-000002": "present"})
    set_target(session, "Calgary", "men_reached", "FY2025-26", 20)
    set_target(session, None, "sessions_held", "FY2025-26-Q1", 10)
    set_target(session, "Calgary", "attendance_hours", "FY2025-26", 100)
    set_target(session, "Calgary", "completion_rate", "FY2025-26", 0.6)
    set_target(session, "Edmonton", "men_reached", "FY2025-26-Q2", 10)
    b.done()


def actuals(engine, periods, role="admin"):
    """Each period's actuals per network and combined, through the gate of `role`."""
    gate = Gate(Scope(role=role), 5)
    with engine.connect() as conn:
        return {
            period: gate_columns(
                gate, network_actuals(conn, Filters(*parse_period(period)), 0.7, 8)
            )
            for period in periods
        }


def test_actual_vs_target_by_hand(spring, engine, session):
    targets = list_targets(session, "FY2025-26")
    today = d("2025-05-31")  # 61 days into the year, 61 of Q1's 91
    frame = actual_vs_target(targets, actuals(engine, {t["period"] for t in targets}), today)
    rows = {(r["network"], r["metric"], r["period"]): r for r in frame.to_dict("records")}
    men = rows[("Calgary", "men_reached", "FY2025-26")]
    assert men["actual"] == 6
    assert men["projection"] == pytest.approx(6 * 365 / 61)  # 35.9
    assert men["reached"] == pytest.approx(6 / 20)
    assert men["projected"] == pytest.approx(6 * 365 / 61 / 20)
    assert men["status"] == "on track"
    sessions = rows[("Combined", "sessions_held", "FY2025-26-Q1")]
    assert sessions["actual"] == 4
    assert sessions["projection"] == pytest.approx(4 * 91 / 61)  # 5.97 of 10
    assert sessions["status"] == "behind"
    hours = rows[("Calgary", "attendance_hours", "FY2025-26")]
    assert hours["actual"] == 14 * 2  # 6 + 5 + 3 presents of 2 hours
    assert hours["projection"] == pytest.approx(28 * 365 / 61)
    assert hours["status"] == "on track"  # 28 of 100 so far, 167 at this pace
    rate = rows[("Calgary", "completion_rate", "FY2025-26")]
    assert rate["projection"] is None and rate["actual"] is None  # no 10-session programs
    later = rows[("Edmonton", "men_reached", "FY2025-26-Q2")]
    assert later["status"] == "not started" and later["actual"] is None


def test_actual_vs_target_as_leadership_sees_it(spring, engine, session):
    targets = list_targets(session, "FY2025-26")
    periods = {t["period"] for t in targets}
    frame = actual_vs_target(targets, actuals(engine, periods, role="leadership"), d("2025-05-31"))
    rows = {(r["network"], r["metric"], r["period"]): r for r in frame.to_dict("records")}
    # Edmonton's 2 men are hidden; Calgary's 6 too, or 8 - 6 would give Edmonton away.
    men = rows[("Calgary", "men_reached", "FY2025-26")]
    assert men["actual"] is None and men["projection"] is None and men["status"] == "hidden"
    assert rows[("Combined", "sessions_held", "FY2025-26-Q1")]["actual"] == 4  # not men
    year = actuals(engine, ["FY2025-26"], role="leadership")["FY2025-26"]
    assert year["Edmonton"]["men_reached"] is None and year["Calgary"]["men_reached"] is None
    # The total of 8 men is shown, as a protected count (cell key: within 2 of the exact 8).
    assert abs(year["Combined"]["men_reached"] - 8) <= 2
    # What rests on a hidden count is hidden with it; sessions are not about men.
    assert year["Calgary"]["attendance_hours"] is None and year["Calgary"]["sessions_held"] == 3
    # The admin sees every figure exactly.
    exact = actuals(engine, ["FY2025-26"])["FY2025-26"]
    assert (exact["Calgary"]["men_reached"], exact["Edmonton"]["men_reached"]) == (6, 2)


def test_target_figures_come_from_the_catalogue():
    from dashboard import catalogue
    from dashboard.targets import METRICS, metric_kind
    from layouts.planning import TREND_METRICS, figure_options

    assert all(key in catalogue.FIGURES for key in (*METRICS, *TREND_METRICS))
    assert {key: metric_kind(key) for key in METRICS} == {
        "men_reached": "count",
        "new_members": "count",
        "sessions_held": "count",
        "attendance_hours": "count",
        "retention_12w": "rate",
        "completion_rate": "rate",
    }
    assert figure_options(["completion_rate"]) == [
        {"label": catalogue.label("completion_rate"), "value": "completion_rate"}
    ]


# --- The page, through the guarded endpoint ---


@pytest.fixture
def no_targets(demo_url):
    """The demo database is shared by the run: leave it without targets."""
    engine = get_engine(demo_url)
    with session_scope(engine) as session:
        session.execute(delete(Target))
    yield engine
    with session_scope(engine) as session:
        session.execute(delete(Target))


def save(client, app, network, metric, period, value, version=0):
    return run_callback(
        client,
        app,
        "planning-target-message.children",
        [
            ("planning-target-save", "n_clicks", 1),
            ("planning-target-delete", "n_clicks", None),
            ("planning-targets-grid", "cellValueChanged", None),
        ],
        [
            ("planning-target-network", "value", network),
            ("planning-target-metric", "value", metric),
            ("planning-target-period", "value", period),
            ("planning-target-value", "value", value),
            ("planning-version", "data", version),
        ],
    )


def grid(client, app, fiscal_year="FY2025-26"):
    out = run_callback(
        client,
        app,
        "planning-targets-grid.rowData",
        [
            ("planning-fy", "value", fiscal_year),
            ("planning-version", "data", 1),
            ("nav-present", "data", False),
        ],
    )
    return out


def test_leadership_sets_and_edits_a_target_and_sees_actual(
    no_targets, demo_app, demo_url, client_for
):
    client = client_for("leadership")
    out = save(client, demo_app, "Calgary", "men_reached", "FY2025-26", 900)
    assert out["planning-target-message"]["children"] == (
        "Saved: Men reached target 900 for Calgary, FY2025-26."
    )
    assert out["planning-version"]["data"] == 1
    out = save(client, demo_app, COMBINED, "completion_rate", "FY2025-26", 65, 1)
    assert out["planning-target-message"]["children"] == (
        "Saved: Completion rate target 65% for Combined, FY2025-26."
    )
    view = grid(client, demo_app)
    rows = {(r["network"], r["metric"]): r for r in view["planning-targets-grid"]["rowData"]}
    from dashboard.access import Scope
    from dashboard.gate import Gate

    with get_engine(demo_url).connect() as conn:
        exact = metrics.outputs(
            conn, Filters(start=d("2025-04-01"), end=d("2026-03-31"), networks=("Calgary",))
        )
    # A network's column, like every count leadership reads, is the cell-key protected count.
    expected = Gate(Scope(role="leadership"), 5).record(exact)[0]["men_reached"]
    men = rows[("Calgary", "men_reached")]
    assert (men["target"], men["actual"]) == (900, expected)
    assert men["projection"] == expected  # the year is over: the pace is the actual
    assert men["status"] == ("met" if expected >= 900 else "behind")
    rate = rows[("Combined", "completion_rate")]
    assert rate["target"] == 65.0 and rate["unit"] == "%" and rate["projection"] is None
    editable = [c for c in view["planning-targets-grid"]["columnDefs"] if c.get("editable")]
    assert [c["field"] for c in editable] == ["target"]
    assert view["planning-actual-chart"]["figure"]["data"]

    # An edit in the grid changes the stored target.
    outputs = callback_outputs(demo_app, "planning-target-message.children")
    body = callback_body(
        outputs,
        [
            ("planning-target-save", "n_clicks", None),
            ("planning-target-delete", "n_clicks", None),
            (
                "planning-targets-grid",
                "cellValueChanged",
                [
                    {
                        "rowIndex": 0,
                        "colId": "target",
                        "oldValue": 900,
                        "value": 1000,
                        "data": {**men, "target": 1000},
                    }
                ],
            ),
        ],
        [
            ("planning-target-network", "value", None),
            ("planning-target-metric", "value", None),
            ("planning-target-period", "value", None),
            ("planning-target-value", "value", None),
            ("planning-version", "data", 2),
        ],
    )
    body["changedPropIds"] = ["planning-targets-grid.cellValueChanged"]
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    assert response.get_json()["response"]["planning-target-message"]["children"] == (
        "Saved: Men reached target 1,000 for Calgary, FY2025-26."
    )
    with session_scope(no_targets) as session:
        values = {(t["network"], t["metric"]): t["value"] for t in list_targets(session)}
    assert values == {("Calgary", "men_reached"): 1000.0, ("Combined", "completion_rate"): 0.65}


def test_bad_target_is_refused_with_a_message(no_targets, demo_app, client_for):
    out = save(client_for("admin"), demo_app, "Calgary", "retention_12w", "FY2025-26", 140)
    assert out["planning-target-message"]["children"].startswith("Not saved:")
    assert "planning-version" not in out


@pytest.mark.parametrize("user", ["funder", "coord-calgary", "coord-edmonton"])
def test_only_leadership_and_admin_reach_targets(no_targets, demo_app, client_for, user):
    outputs = callback_outputs(demo_app, "planning-target-message.children")
    body_inputs = [
        ("planning-target-save", "n_clicks", 1),
        ("planning-target-delete", "n_clicks", None),
        ("planning-targets-grid", "cellValueChanged", None),
    ]
    state = [
        ("planning-target-network", "value", "Calgary"),
        ("planning-target-metric", "value", "men_reached"),
        ("planning-target-period", "value", "FY2025-26"),
        ("planning-target-value", "value", 5),
        ("planning-version", "data", 0),
    ]
    assert dash_call(client_for(user), outputs, body_inputs, state).status_code == 403
    with session_scope(no_targets) as session:
        assert list_targets(session) == []


def test_the_callback_checks_the_role_itself(no_targets, demo_app, monkeypatch):
    """Even past the guard, the save refuses a role other than leadership or admin."""
    import callbacks.planning as planning

    monkeypatch.setattr(planning, "current_scope", lambda: Scope(role="funder", username="f"))
    with demo_app.server.test_request_context():
        message, version = planning.write_target(
            1, None, None, "Calgary", "men_reached", "FY2025-26", 5, 0
        )
    assert message == "Only leadership and admin can set targets."
    with session_scope(no_targets) as session:
        assert list_targets(session) == []


def test_trends_and_group_charts(demo_app, client_for):
    client = client_for("leadership")
    trend = run_callback(
        client,
        demo_app,
        "planning-trend.figure",
        [
            ("planning-fy", "value", "FY2025-26"),
            ("planning-trend-metric", "value", "men_reached"),
            ("nav-present", "data", False),
        ],
    )["planning-trend"]["figure"]
    names = [t["name"] for t in trend["data"]]
    assert names == ["Calgary", "Edmonton", "Combined"]
    assert list(trend["data"][0]["x"]) == [
        "FY2021-22",
        "FY2022-23",
        "FY2023-24",
        "FY2024-25",
        "FY2025-26",
    ]
    for output in (
        "planning-capacity.figure",
        "planning-growth.figure",
        "planning-retention.figure",
    ):
        out = run_callback(
            client,
            demo_app,
            output,
            [("planning-fy", "value", "FY2025-26"), ("nav-present", "data", True)],
        )
        figure = out[output.split(".")[0]]["figure"]
        assert figure["data"], output
        assert figure["layout"]["font"]["size"] == 20  # presentation mode: large type
    growth = run_callback(
        client,
        demo_app,
        "planning-growth.figure",
        [("planning-fy", "value", "FY2025-26"), ("nav-present", "data", False)],
    )["planning-growth"]["figure"]
    changes = list(growth["data"][0]["x"])
    assert 0 < len(changes) <= 10 and changes == sorted(changes, reverse=True)
    retention = run_callback(
        client,
        demo_app,
        "planning-retention.figure",
        [("planning-fy", "value", "FY2025-26"), ("nav-present", "data", False)],
    )
    shares = list(retention["planning-retention"]["figure"]["data"][0]["x"])
    assert shares == sorted(shares) and len(shares) <= 5
    note = retention["planning-retention-note"]["children"]
    assert note.startswith("Groups with at least 5 new men followed to 12 weeks: ")
    # The same minimum for the admin (exact figures): a share of 1 or 2 men ranks nothing.
    admin = run_callback(
        client_for("admin"),
        demo_app,
        "planning-retention.figure",
        [("planning-fy", "value", "FY2025-26"), ("nav-present", "data", False)],
    )
    assert admin["planning-retention-note"]["children"] == note
    # The same groups; leadership's shares are rounded to whole percents (SPEC §4).
    exact_shares = admin["planning-retention"]["figure"]["data"][0]["x"]
    assert [round(x) for x in exact_shares] == [round(x) for x in shares]
    assert all(abs(x - round(x)) < 1e-6 for x in shares)  # whole percents
    texts = admin["planning-retention"]["figure"]["data"][0]["text"]
    assert all(int(text.split(" of ")[1].split()[0]) >= 5 for text in texts)


def test_fiscal_years(demo_app, client_for):
    client = client_for("leadership")
    out = run_callback(client, demo_app, "planning-fy.options", [("url", "pathname", "/planning")])
    assert out["planning-fy"]["value"] == "FY2025-26"  # the year the data reaches
    labels = [o["value"] for o in out["planning-fy"]["options"]]
    assert "FY2025-26" in labels and labels == sorted(labels, reverse=True)


# --- In a browser ---


def test_leadership_sets_a_target_and_sees_actual_against_it(
    no_targets, dash_duo, demo_app, demo_url
):
    from selenium.webdriver.common.by import By

    from tests.browser import console_errors, sign_in

    dash_duo.start_server(demo_app, navigate=False)
    sign_in(dash_duo, "leadership", "/planning")
    dash_duo.wait_for_contains_text("#planning-fy", "FY2025-26", timeout=15)
    dash_duo.wait_for_contains_text("#planning-target-period", "FY2025-26", timeout=10)
    box = dash_duo.find_element("#planning-target-value")
    box.send_keys("1500")
    dash_duo.find_element("#planning-target-save").click()
    dash_duo.wait_for_contains_text(
        "#planning-target-message",
        "Saved: Men reached target 1,500 for Combined, FY2025-26.",
        timeout=10,
    )
    from dashboard.access import Scope
    from dashboard.gate import Gate

    with get_engine(demo_url).connect() as conn:
        exact = metrics.outputs(conn, Filters(start=d("2025-04-01"), end=d("2026-03-31")))
    # Leadership reads the cell-key protected count of the same men.
    actual = Gate(Scope(role="leadership"), 5).record(exact)[0]["men_reached"]
    dash_duo.wait_for_contains_text("#planning-targets-grid", f"{actual:,}", timeout=15)
    grid_text = dash_duo.find_element("#planning-targets-grid").text
    assert "Men reached" in grid_text and "1,500" in grid_text
    bars = dash_duo.driver.find_elements(By.CSS_SELECTOR, "#planning-actual-chart .bars path")
    assert bars
    assert console_errors(dash_duo) == []
