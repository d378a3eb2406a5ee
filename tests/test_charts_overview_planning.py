"""The overview's and planning's chart builders: pure functions of gated figures."""

from __future__ import annotations

import pandas as pd

from charts import attendance, overview, planning
from charts.style import NO_SESSIONS


def test_trend_draws_a_line_per_network_with_hidden_points_as_gaps():
    frame = pd.DataFrame(
        {
            "period": pd.to_datetime(["2025-04-01", "2025-05-01", "2025-04-01", "2025-05-01"]),
            "key": ["Edmonton", "Edmonton", "Calgary", "Calgary"],
            "attendance": [40, None, 120, 130],  # Edmonton's May hidden by the gate
        }
    )
    fig = overview.trend(frame, "month", 61)
    assert [trace.name for trace in fig.data] == ["Calgary", "Edmonton"]
    assert list(fig.data[0].y) == [120, 130]
    edmonton = list(fig.data[1].y)
    assert edmonton[0] == 40 and pd.isna(edmonton[1])
    assert list(fig.data[1].customdata) == ["Edmonton", "Edmonton"]
    assert fig.layout.yaxis.title.text == "Attendance (presents)"
    assert fig.layout.xaxis.tickformat == "%b %Y" and fig.layout.xaxis.dtick == "M1"


def test_a_fiscal_years_month_axis_labels_all_twelve_months():
    months = pd.date_range("2025-04-01", "2026-03-01", freq="MS")
    frame = pd.DataFrame({"period": months, "key": "Calgary", "attendance": range(12)})
    fig = overview.trend(frame, "month", 365)
    axis = fig.layout.xaxis
    assert axis.tickmode == "array"
    assert list(axis.ticktext)[0] == "Apr 2025" and list(axis.ticktext)[-1] == "Mar 2026"
    assert len(axis.tickvals) == 12 and axis.tickvals[-1] == "2026-03-01"
    quarters = frame[frame["period"].dt.month.isin([4, 7, 10, 1])]
    axis = overview.trend(quarters, "quarter", 365).layout.xaxis
    assert list(axis.ticktext) == ["Q2 2025", "Q3 2025", "Q4 2025", "Q1 2026"]


def test_attendance_trend_labels_every_month_too():
    months = pd.date_range("2025-04-01", "2026-03-01", freq="MS")
    frame = pd.DataFrame({"period": months, "key": "Calgary", "attendance": range(12)})
    axis = attendance.trend(frame, ["Calgary"], "network", "month").layout.xaxis
    assert list(axis.ticktext)[-1] == "Mar 2026" and len(axis.tickvals) == 12


def test_trend_of_nothing_says_so():
    fig = overview.trend(pd.DataFrame(columns=["period", "key", "attendance"]), "month", 30)
    assert fig.layout.annotations[0].text == NO_SESSIONS


def test_year_on_year_shows_rates_in_percent_and_hidden_values_as_a_dash():
    ticks = ["FY2024-25", "FY2025-26 (so far)"]
    series = {"Calgary": [0.5, None], "Edmonton": [0.625, 0.75], "Combined": [0.55, 0.7]}
    fig = planning.year_on_year("completion_rate", ticks, series, "Combined", False)
    assert [(trace.type, trace.name) for trace in fig.data] == [
        ("bar", "Calgary"),
        ("bar", "Edmonton"),
        ("scatter", "Combined"),
    ]
    assert list(fig.data[0].y) == [50.0, None]
    assert list(fig.data[0].text) == ["50%", "—"]
    assert list(fig.data[1].text) == ["62%", "75%"]
    assert fig.layout.yaxis.title.text == "Completion rate (%)"
    counts = planning.year_on_year(
        "men_reached", ticks, {"Combined": [1234, None]}, "Combined", True
    )
    assert list(counts.data[0].y) == [1234, None]
    assert list(counts.data[0].text) == ["1,234", "—"]
    assert counts.layout.yaxis.title.text == "Men reached"
    assert counts.layout.font.size == 20  # presentation mode


def test_actual_chart_says_why_an_actual_is_missing():
    rows = [
        {
            "figure": "Men reached",
            "network": "Calgary",
            "period": "FY2025-26",
            "target": 100,
            "actual": None,
            "reached": None,
            "projected": None,
            "status": "hidden",
            "unit": "",
        },
        {
            "figure": "Completion rate",
            "network": "Combined",
            "period": "FY2025-26",
            "target": 60.0,
            "actual": 45.0,
            "reached": 75.0,
            "projected": None,
            "status": "below target",
            "unit": "%",
        },
    ]
    fig = planning.actual_chart(rows, False, "hidden: fewer than 7 men")
    assert list(fig.data[0].text) == ["hidden: fewer than 7 men", "45% of 60% (75%)"]
    assert list(fig.data[0].x) == [0, 75.0]
    assert len(fig.data) == 1  # nothing projected


def test_weakest_retention_names_the_men_it_rests_on():
    weakest = pd.DataFrame(
        {"group": ["A", "B"], "retention_base": [6, 9], "retention_12w": [0.5, 2 / 3]}
    )
    fig = planning.weakest_retention(weakest, ["#0072B2", "#E69F00"], False)
    assert list(fig.data[0].text) == ["50% of 6 new men", "67% of 9 new men"]
    assert list(fig.data[0].x) == [50.0, 2 / 3 * 100]


def test_growth_shows_a_change_that_rounds_to_zero_without_a_sign_or_red():
    shown = pd.DataFrame(
        {
            "group": ["Up", "Same", "Down a little"],
            "attendance": [120, 80, 499],
            "attendance_before": [100, 80, 500],
            "change": [20, 0, -1],
        }
    )
    fig = planning.growth(shown, False)
    assert list(fig.data[0].text) == ["100 → 120 (+20%)", "80 → 80 (0%)", "500 → 499 (0%)"]
    assert list(fig.data[0].marker.color) == [planning.GOOD, planning.NEUTRAL, planning.BAD]


def test_the_axis_says_partial_only_when_an_edge_bucket_is_partial():
    import datetime as dt

    from callbacks.overview import partial_buckets
    from dashboard.filters import Filters

    fy = Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31))
    assert partial_buckets(fy, dt.date(2026, 11, 30)) is False  # the data cover the year
    assert partial_buckets(fy, dt.date(2026, 3, 14)) is True  # the data stop mid-March
    assert partial_buckets(Filters(start=dt.date(2025, 4, 3), end=dt.date(2026, 3, 31)), None)
    quarters = Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31), grain="quarter")
    assert partial_buckets(quarters, dt.date(2026, 6, 1)) is False
    frame = pd.DataFrame(
        {"period": pd.to_datetime(["2025-04-01"]), "key": ["Calgary"], "attendance": [3]}
    )
    assert overview.trend(frame, "month", 365, False).layout.xaxis.title.text == "Month starting"
    assert overview.trend(frame, "month", 365).layout.xaxis.title.text == (
        "Month starting<br><span style='font-size:0.8em'>(the first and last may be partial)</span>"
    )
