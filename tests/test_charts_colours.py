"""Colours with one meaning (issue 12, item 7): Calgary blue and Edmonton orange appear only
on what is drawn for a network; statuses, survey items and heatmaps have colours of their own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from callbacks import surveys as page
from charts import attendance, overview, retention, surveys
from charts.style import (
    ITEM_COLORS,
    NETWORK_COLORS,
    SEQUENTIAL_SCALE,
    SERIES_COLORS,
    STATUS_COLORS,
)
from dashboard import metrics
from dashboard.stats import kaplan_meier
from tests.test_charts_surveys import ADMIN, SPEC, TABLES, make_tables, man

NETWORKS = ("Calgary", "Edmonton")
NETWORK_HEX = {NETWORK_COLORS[n].lower() for n in NETWORKS}


def rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))


NETWORK_RGB = {rgb(h) for h in NETWORK_HEX}


def colours_in(value) -> set[str]:
    """Every colour written anywhere in a piece of a figure, as lowercase hex or rgb(a)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for item in value.values():
            found |= colours_in(item)
    elif isinstance(value, list | tuple | np.ndarray):
        for item in value:
            found |= colours_in(item)
    elif isinstance(value, str) and (value.startswith("#") or value.startswith("rgb")):
        found.add(value.lower())
    return found


def is_network_colour(colour: str) -> bool:
    if colour.startswith("#"):
        return colour in NETWORK_HEX
    parts = colour[colour.index("(") + 1 : colour.index(")")].split(",")
    return tuple(int(float(p)) for p in parts[:3]) in NETWORK_RGB


def assert_network_colours_only_on_networks(fig) -> None:
    figure = fig.to_plotly_json()
    for trace in figure["data"]:
        used = {c for c in colours_in(trace) if is_network_colour(c)}
        if used:
            name = str(trace.get("name") or trace.get("legendgroup") or "")
            assert name.startswith(NETWORKS), (trace.get("type"), name, used)
    layout = {k: v for k, v in figure["layout"].items() if k != "template"}
    assert not {c for c in colours_in(layout) if is_network_colour(c)}


def test_the_palettes_share_no_colour_with_the_networks():
    others = [
        *SERIES_COLORS,
        *STATUS_COLORS.values(),
        *ITEM_COLORS.values(),
        *(c for _, c in SEQUENTIAL_SCALE),
    ]
    assert not {c.lower() for c in others} & NETWORK_HEX
    assert len(set(STATUS_COLORS.values())) == 3 and len(set(ITEM_COLORS.values())) == 2


def months(keys: list[str]) -> pd.DataFrame:
    periods = pd.date_range("2025-04-01", "2025-09-01", freq="MS")
    return pd.DataFrame(
        [{"key": k, "period": p, "attendance": 10 + i} for k in keys for i, p in enumerate(periods)]
    )


def test_group_lines_never_take_a_networks_colour():
    groups = [f"Group {i}" for i in range(12)]
    frame = months(groups)
    fig = attendance.trend(frame, groups, "group", "month")
    assert_network_colours_only_on_networks(fig)
    assert fig.data[0].line.color == SERIES_COLORS[0]
    assert_network_colours_only_on_networks(overview.trend(frame, "month", 180))
    curve = kaplan_meier([1, 2, 3, 5, 8], [True] * 5, "Calgary Peer")
    assert_network_colours_only_on_networks(retention.survival_figure([curve], "group", True))


def test_network_lines_keep_their_colours():
    fig = overview.trend(months(["Calgary", "Edmonton"]), "month", 180)
    assert [t.line.color for t in fig.data] == [
        NETWORK_COLORS["Calgary"],
        NETWORK_COLORS["Edmonton"],
    ]
    assert_network_colours_only_on_networks(fig)
    curve = kaplan_meier([1, 2, 3, 5, 8], [True] * 5, "Edmonton")
    fig = retention.survival_figure([curve], "network", True)
    assert fig.data[-1].line.color == NETWORK_COLORS["Edmonton"]
    assert_network_colours_only_on_networks(fig)


def test_statuses_have_their_own_colours():
    frame = pd.DataFrame(
        {
            "group": ["Calgary Peer", "Edmonton Circle"],
            "attendance_rate": [0.7, 0.5],
            "excused_rate": [0.1, 0.2],
            "note": ["", ""],
        }
    )
    fig = attendance.rates(frame)
    colours = {t.name: t.marker.color for t in fig.data}
    assert colours == {
        "Present": STATUS_COLORS["present"],
        "Excused": STATUS_COLORS["excused"],
        "Absent": STATUS_COLORS["absent"],
    }
    assert_network_colours_only_on_networks(fig)
    dosage = attendance.dosage([3, None, 8] + [1] * 7, ["3", "<5", "8"] + ["1"] * 7, 0.7)
    assert dosage.data[0].marker.color[0] == STATUS_COLORS["present"]
    assert_network_colours_only_on_networks(dosage)


def test_heatmaps_use_the_sequential_scale():
    weeks = pd.date_range("2025-04-07", periods=3, freq="W-MON")
    frame = pd.DataFrame(
        {
            "group": ["Calgary Peer"] * 3,
            "week": weeks,
            "present": [6, np.nan, 9],
            "cancelled": [False, True, False],
            "hidden": [False, False, False],
        }
    )
    fig = attendance.heatmap(frame, ["Calgary Peer"], weeks, "hidden")
    assert [list(stop) for stop in fig.data[0].colorscale] == SEQUENTIAL_SCALE
    assert_network_colours_only_on_networks(fig)
    cohort = retention.cohort_heatmap(
        ["2025-04 · 20 men"],
        [0, 1],
        [[1.0, 0.4]],
        [[retention.SHOWN, retention.PARTIAL]],
        quarter=False,
        hidden_hover="hidden",
    )
    assert [list(stop) for stop in cohort.data[0].colorscale] == SEQUENTIAL_SCALE
    assert_network_colours_only_on_networks(cohort)


def test_survey_items_and_distributions_have_their_own_colours():
    tables = make_tables([man("Calgary", "G1", 1 + i % 5, 5 - i % 3) for i in range(12)])
    shares = ADMIN.table(metrics.item_shares(tables["pairs"], SPEC), columns=page.ITEM_COLUMNS)
    fig = surveys.item_figure(shares.frame, SPEC)
    named = {t.name.split(" ")[0]: t.marker.color for t in fig.data}
    assert named["Below"] == ITEM_COLORS["below"] and named["Above"] == ITEM_COLORS["above"]
    assert_network_colours_only_on_networks(fig)
    scores = ADMIN.table(
        metrics.score_distribution(tables["pairs"], SPEC), columns=page.SCORE_COLUMNS
    )
    fig = surveys.distribution_figure(scores.frame, {"mean_baseline": 9.5, "mean_later": 11}, SPEC)
    assert_network_colours_only_on_networks(fig)
    fig = surveys.reliable_figure(surveys.reliable_rows(page.rows_by(ADMIN, TABLES)))
    assert_network_colours_only_on_networks(fig)


@pytest.mark.parametrize("role_gate", [ADMIN])
def test_forest_markers_are_coloured_by_their_network(role_gate):
    rows = surveys.forest_rows(page.rows_by(role_gate, TABLES)).rows
    fig = surveys.forest_figure(rows, True)
    # A marker's colour is its row's network: network colours on network rows only.
    for trace in fig.data:
        colours = trace.marker.color
        if colours is None or isinstance(colours, str):
            continue
        for colour, label in zip(colours, trace.y, strict=True):
            if colour.lower() in NETWORK_HEX:
                network = next(n for n in NETWORKS if NETWORK_COLORS[n] == colour)
                row = next(r for r in rows if surveys.forest_label(r) == label)
                assert row["network"] == network
