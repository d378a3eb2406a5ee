"""The retention page's chart builders (charts/retention.py) and its gating of survival curves,
without a database or a server."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from callbacks.retention import gated_curve
from charts.attendance import heatmap
from charts.retention import (
    FUTURE,
    HIDDEN,
    PARTIAL,
    PARTIAL_TRACE,
    SHOWN,
    at_risk_table,
    cohort_heatmap,
    completion_bars,
    rgba,
    survival_figure,
)
from dashboard.access import Scope
from dashboard.gate import Gate
from dashboard.stats import kaplan_meier

# Twelve men: lapses at 1..8 weeks, four still coming (censored) at 10 weeks.
CURVE = kaplan_meier([1, 2, 3, 4, 5, 6, 7, 8, 10, 10, 10, 10], [True] * 8 + [False] * 4, "A")


def test_rgba():
    assert rgba("#0072B2", 0.15) == "rgba(0,114,178,0.15)"


@pytest.mark.parametrize("bands, traces", [(True, 3), (False, 1)])
def test_survival_figure_draws_a_line_and_its_band(bands, traces):
    fig = survival_figure([CURVE], "network", bands).to_plotly_json()
    assert len(fig["data"]) == traces
    line = fig["data"][-1]
    assert line["name"] == "A (n=12)"
    assert list(line["y"]) == pytest.approx(CURVE.survival)
    assert [list(d[:2]) for d in line["customdata"]] == [["network", "A"]] * len(CURVE.times)
    if bands:
        assert fig["data"][1]["fill"] == "tonexty"
        assert list(fig["data"][0]["y"]) == pytest.approx(CURVE.ci_high)
    assert list(fig["layout"]["xaxis"]["tickvals"]) == [0, 4]


def test_gated_curve_stops_where_fewer_than_k_are_followed():
    leadership = gated_curve(Gate(Scope(role="leadership"), 5), CURVE)
    # At risk: 12 at 0 weeks, then 12, 11, ..., 5 (at 8 weeks), then 4 at 10 weeks.
    assert min(leadership.at_risk) >= 5
    kept = len(leadership.times)
    assert CURVE.at_risk[kept] < 5 and kept < len(CURVE.times)
    # Protected: the points rounded to whole percent, the count of men cell-key protected.
    assert leadership.survival == [round(v, 2) for v in CURVE.survival[:kept]]
    assert leadership.ci_low == [round(v, 2) for v in CURVE.ci_low[:kept]]
    assert leadership.ci_high == [round(v, 2) for v in CURVE.ci_high[:kept]]
    assert abs(leadership.n - CURVE.n) <= 2
    assert leadership.durations == [] and leadership.events == []
    admin = gated_curve(Gate(Scope(role="admin"), 5), CURVE)
    assert admin.times == CURVE.times and admin.survival == CURVE.survival
    assert admin.ci_low == CURVE.ci_low and admin.n == CURVE.n


def test_gated_curve_of_too_few_men_is_withheld():
    few = kaplan_meier([1, 2, 3, 4], [True] * 4, "B")
    assert gated_curve(Gate(Scope(role="leadership"), 5), few) is None
    assert gated_curve(Gate(Scope(role="admin"), 5), few).survival == few.survival


def test_at_risk_table_shows_the_cells_it_is_given():
    frame = pd.DataFrame([{"curve": "A", "w0": "12", "w4": "<5"}])
    head, body = at_risk_table(frame, (0, 4)).children
    assert [th.children for th in head.children.children] == ["Weeks", "0", "4"]
    (row,) = body.children
    assert row.children[0].children[-1] == "A"
    assert [cell.children for cell in row.children[1:]] == ["12", "<5"]


def test_cohort_heatmap_blank_for_future_dash_for_hidden():
    fig = cohort_heatmap(
        ["2025-04 · 12 men", "2025-05 · <5 men"],
        [0, 1],
        [[1.0, 0.5], [None, None]],
        [[SHOWN, SHOWN], [HIDDEN, FUTURE]],
        quarter=False,
        hidden_hover="hidden: fewer than 5 men",
    ).to_plotly_json()
    trace = fig["data"][0]
    assert [list(row) for row in trace["z"]] == [[1.0, 0.5], [None, None]]
    assert [list(row) for row in trace["text"]] == [["100%", "50%"], ["–", ""]]
    assert trace["customdata"][1] == ["hidden: fewer than 5 men", "not reached yet"]
    assert fig["layout"]["xaxis"]["title"]["text"].startswith("Months since joining")


def test_cohort_heatmap_marks_exactly_the_periods_not_over():
    """Data ending mid-June: cohort April's +2 and May's +1 are June, so far; April's +1 and
    May's +0 are complete; May's +2 (July) is not reached."""
    fig = cohort_heatmap(
        ["2025-04 · 20 men", "2025-05 · 10 men"],
        [0, 1, 2],
        [[1.0, 0.5, 0.1], [1.0, 0.3, None]],
        [[SHOWN, SHOWN, PARTIAL], [SHOWN, PARTIAL, FUTURE]],
        quarter=False,
        hidden_hover="hidden: fewer than 5 men",
    ).to_plotly_json()
    complete, so_far = fig["data"]
    # The complete cells keep their colour and text; the partial ones are drawn only by the
    # faded "so far" layer, with "so far" in the cell and in the hover.
    assert [list(row) for row in complete["z"]] == [[1.0, 0.5, None], [1.0, None, None]]
    assert [list(row) for row in complete["text"]] == [["100%", "50%", ""], ["100%", "", ""]]
    assert so_far["name"] == PARTIAL_TRACE
    assert [list(row) for row in so_far["z"]] == [[None, None, 0.1], [None, 0.3, None]]
    assert so_far["text"][0][2] == "10%<br>so far" and so_far["text"][1][1] == "30%<br>so far"
    assert so_far["customdata"][1][1] == "30% so far — this month is not over"
    assert so_far["text"][0][1] == "" and so_far["customdata"][0][1] == ""
    assert complete["customdata"][0][2] == "10% so far — this month is not over"
    assert complete["customdata"][0][1] == "50% of the cohort came at least once"
    assert complete["customdata"][1][2] == "not reached yet"
    # Faded: every colour of the "so far" scale is lighter than the same stop of the main one.
    for (_, main), (_, light) in zip(complete["colorscale"], so_far["colorscale"], strict=True):
        assert int(light[1:3], 16) > int(main[1:3], 16)
    # A dotted outline around exactly the two partial cells (row, column centred on n).
    outlines = {(shape["y0"] + 0.5, shape["x0"] + 0.5) for shape in fig["layout"]["shapes"]}
    assert outlines == {(0, 2), (1, 1)}
    assert all(shape["line"]["dash"] == "dot" for shape in fig["layout"]["shapes"])


def test_cohort_heatmap_without_a_partial_period_has_no_so_far_layer():
    fig = cohort_heatmap(
        ["2025-Q1 · 20 men"],
        [0, 1],
        [[1.0, 0.4]],
        [[SHOWN, SHOWN]],
        quarter=True,
        hidden_hover="hidden",
    ).to_plotly_json()
    assert len(fig["data"]) == 1 and not fig["layout"].get("shapes")
    assert "so far" not in " ".join(fig["data"][0]["customdata"][0])


def test_completion_bars_draw_no_bar_for_a_withheld_rate():
    fig = completion_bars(
        ["A (n=12)", "B (n=<5)"],
        [0.75, None],
        ["75%", "hidden: fewer than 5 men"],
        ["75% of 16 places completed", "hidden: fewer than 5 men"],
        ["#0072B2", "#E69F00"],
    ).to_plotly_json()
    bar = fig["data"][0]
    assert list(bar["x"]) == [0.75, 0] and list(bar["y"]) == ["A (n=12)", "B (n=<5)"]
    assert list(bar["text"]) == ["75%", "hidden: fewer than 5 men"]
    assert list(bar["customdata"])[0] == "75% of 16 places completed"


def test_the_charts_written_as_dicts_pass_plotlys_checks():
    # The attendance heatmap, the cohort heatmap and the survival curves are plain dicts taken
    # as they are (charts.style.figure_of): here plotly checks every property, so a misspelt
    # one fails rather than being drawn as nothing.
    weeks = pd.date_range("2025-04-07", periods=10, freq="7D")
    frame = pd.DataFrame(
        {
            "group": ["A"] * 10 + ["B"] * 5,
            "week": list(weeks) + list(weeks[::2]),
            "present": [7.0, np.nan, np.nan] + [8.0] * 7 + [6.0, 5.0, np.nan, 9.0, 12.0],
            "cancelled": [False, True] + [False] * 10 + [True, False, False],
            "hidden": [False, False, True] + [False] * 12,
        }
    )
    lapsed = kaplan_meier([2, 3, 5, 9, 30, 80], [True] * 4 + [False] * 2, "Edmonton")
    figures = [
        heatmap(frame, ["B", "A", "C"], weeks, "fewer than 5 present (hidden)"),
        cohort_heatmap(
            ["2025-04 · 20 men", "2025-05 · 10 men", "2025-06 · <5 men"],
            [0, 1, 2],
            [[1.0, 0.5, 0.1], [1.0, 0.3, None], [None, None, None]],
            [[SHOWN, SHOWN, PARTIAL], [SHOWN, PARTIAL, FUTURE], [HIDDEN, FUTURE, FUTURE]],
            quarter=False,
            hidden_hover="hidden: fewer than 5 men",
        ),
        survival_figure([CURVE, lapsed], "network", True),
        survival_figure([CURVE, lapsed], "group", False),
    ]
    for fig in figures:
        checked = go.Figure(fig.to_plotly_json())  # raises ValueError on a bad property
        # Plotly's checks drop an empty object (the heatmap's y axis title): it draws nothing.
        assert _pruned(json.loads(pio.to_json(checked))) == _pruned(json.loads(pio.to_json(fig)))


def _pruned(value):
    """A figure's JSON without its empty objects."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v != {}}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value
