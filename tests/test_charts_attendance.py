"""The attendance chart builders (charts/attendance.py): pure, from gated tables, no database."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from charts import attendance as charts


def _nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_trend_leaves_a_gap_for_a_hidden_point():
    frame = pd.DataFrame(
        {
            "key": ["Calgary"] * 3,
            "period": pd.to_datetime(["2025-04-07", "2025-04-14", "2025-04-21"]),
            "attendance": [12, None, 9],
        }
    )
    fig = charts.trend(frame, ["Calgary"], "network", "week")
    (line,) = fig.data
    assert list(line.y) == [12, None, 9]
    assert list(line.x) == ["2025-04-07", "2025-04-14", "2025-04-21"]
    assert line.connectgaps is False


def test_heatmap_draws_counts_cancelled_and_hidden_cells_apart():
    weeks = pd.date_range("2025-04-07", periods=3, freq="7D")
    frame = pd.DataFrame(
        {
            "group": ["A", "A", "A", "B"],
            "week": [weeks[0], weeks[1], weeks[2], weeks[0]],
            "present": [7.0, np.nan, np.nan, 6.0],
            "cancelled": [False, True, False, False],
            "hidden": [False, False, True, False],
        }
    )
    fig = charts.heatmap(frame, ["A", "B"], weeks, "fewer than 5 present (hidden)")
    present, cancelled, hidden = fig.data
    z = np.asarray(present.z, dtype=float)
    assert z[0, 0] == 7 and z[1, 0] == 6
    # The hidden week and the cancelled week carry no count; B's missing weeks are blank.
    assert np.isnan(z[0, 1]) and np.isnan(z[0, 2]) and np.isnan(z[1, 1:]).all()
    assert np.asarray(cancelled.text)[0, 1] == "✕"
    assert np.nansum(np.asarray(hidden.z, dtype=float)) == 1
    assert "fewer than 5 present (hidden)" in hidden.hovertemplate


def test_heatmap_has_no_hidden_layer_when_nothing_is_hidden():
    weeks = pd.date_range("2025-04-07", periods=1, freq="7D")
    frame = pd.DataFrame(
        {"group": ["A"], "week": weeks, "present": [3.0], "cancelled": [False], "hidden": [False]}
    )
    assert len(charts.heatmap(frame, ["A"], weeks, "hidden").data) == 2


def test_rates_stack_to_one_and_note_rows_without_a_rate():
    frame = pd.DataFrame(
        {
            "group": ["A", "B", "C"],
            "attendance_rate": [0.5, None, 0.8],
            "excused_rate": [0.2, None, 0.1],
            "note": ["", "hidden: fewer than 5 men", ""],
        }
    )
    fig = charts.rates(frame)
    present, excused, absent, notes = fig.data
    assert list(present.y) == ["C", "A"]  # highest rate first
    for p, e, a in zip(present.x, excused.x, absent.x, strict=True):
        assert math.isclose(p + e + a, 1.0)
    assert list(notes.y) == ["B"] and list(notes.text) == ["hidden: fewer than 5 men"]
    assert list(fig.layout.yaxis.categoryarray) == ["C", "A", "B"]


def test_dosage_greys_hidden_bins_and_shows_their_text():
    men = [None, 0, 6, 8, None, 12, 20, 30, 10, 5]
    texts = ["<5", "0", "6", "8", "<5", "12", "20", "30", "10", "5"]
    fig = charts.dosage(men, texts, 0.7)
    (bars,) = fig.data
    assert list(bars.y) == [0, 0, 6, 8, 0, 12, 20, 30, 10, 5]
    assert list(bars.text) == texts
    assert bars.marker.color[0] == charts.HIDDEN and bars.marker.color[2] == charts.PRESENT
    assert fig.layout.shapes[0].x0 == 0.7


def test_completion_shows_rate_of_enrolments_and_notes_hidden_groups():
    frame = pd.DataFrame(
        {
            "network": ["Calgary", "Calgary", "Edmonton"],
            "group": ["A", "B", "C"],
            "completion_base": [11, None, 6],
            "completion_enrolments": [12, None, 6],
            "completion_rate": [0.75, None, 0.5],
        }
    )
    fig = charts.completion(frame, "hidden: fewer than 5 men")
    calgary, edmonton, notes = fig.data
    assert list(calgary.y) == ["A"] and list(calgary.text) == ["75% of 12"]
    assert list(calgary.hovertext) == ["11 men"]
    assert list(edmonton.text) == ["50% of 6"]
    assert list(notes.y) == ["B"] and not any(_nan(v) for v in notes.x)
