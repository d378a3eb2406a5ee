"""Survey charts: pure builders from gated figures to plotly figures (no data access).

Every builder takes what the privacy gate let through: a hidden figure arrives as None and is
drawn as a gap, labelled "hidden" or "—"; nothing here decides what is hidden. A row of the
forest and reliable-change charts is a dict: `key` (its name), `kind` ('all', 'network',
'group'), `network`, `hidden` (the gate hid its matched pairs), `pairs` (the pairs as the
gate shows them, e.g. "24" or "<5") and the survey figures of `catalogue.SURVEY_KEYS`.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.style import (
    ITEM_COLORS,
    axis_suffix,
    color_for,
    figure_of,
    styled_layout,
    subplots_layout,
)
from dashboard.catalogue import format_value, label
from dashboard.wording import signed

# Okabe-Ito bluish green and vermillion; neither is a network's colour (charts/style.py).
IMPROVED, WORSE, NEUTRAL = "#009E73", "#D55E00", "#BBBBBB"
BASELINE_COLOUR, LATER_COLOUR = "#999999", "#009E73"
BELOW_COLOUR, ABOVE_COLOUR = ITEM_COLORS["below"], ITEM_COLORS["above"]
SHARE_KEYS = ("share_improved", "share_unchanged", "share_worse")
SHARE_COLOURS = {"share_improved": IMPROVED, "share_unchanged": NEUTRAL, "share_worse": WORSE}
# Readability, not privacy: a group's row in the forest plot needs this many pairs (fewer
# make an interval too wide to read), and a forest of hundreds of rows can't be read.
MIN_GROUP_PAIRS = 5
MAX_FOREST_GROUPS = 30


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _vline(x: float, line: dict) -> dict:
    """fig.add_vline's shape, as a dict (figure_of): the full height of the plot at x."""
    return dict(type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain", line=line)


# --- Labels -------------------------------------------------------------------------------


def pairs_label(row: dict) -> str:
    """'n=24'; for a row the gate hid 'n <5, hidden' (its pairs hidden too) or 'n=7, hidden'."""
    if not row["hidden"]:
        return f"n={row['pairs']}"
    return f"n{' ' if row['matched_pairs'] is None else '='}{row['pairs']}, hidden"


def forest_label(row: dict) -> str:
    # Full group names: they are unique, a shortened one might not be.
    return f"{row['key']} · {pairs_label(row)}"


def estimate_text(row: dict) -> str:
    if row["hidden"]:
        return "hidden"
    if row["mean_change"] is None:
        return "—"
    if row["ci_low"] is None:
        return f"{signed(row['mean_change'], 1)} (one pair)"
    # The short form beside the forest's rows: +1.2, -0.4 or 0.0 (never '-0.0').
    low, high = signed(row["ci_low"], 1), signed(row["ci_high"], 1)
    return f"{signed(row['mean_change'], 1)} ({low} to {high})"


def ci_text(row: dict) -> str:
    if row["ci_low"] is None:
        return "no interval (a single pair)"
    low, high = format_value("ci_low", row["ci_low"]), format_value("ci_high", row["ci_high"])
    text = f"95% CI {low} to {high}"
    if row.get("d_z") is not None:
        text += f"; effect size d<sub>z</sub> {format_value('d_z', row['d_z'])}"
    return text


# --- Forest plot: mean change with its 95% CI ---------------------------------------------


@dataclass
class ForestRows:
    """The rows the forest plot draws, and what was left out (for the note)."""

    rows: list[dict]
    few: int  # groups with too few pairs to read (not hidden)
    hidden_groups: int  # groups the gate hid
    more_groups: int  # readable groups beyond MAX_FOREST_GROUPS


def forest_rows(
    every: list[dict], min_pairs: int = MIN_GROUP_PAIRS, max_groups: int = MAX_FOREST_GROUPS
) -> ForestRows:
    """'All', each network, then the groups with enough pairs, the largest first."""
    readable = [
        r
        for r in every
        if r["kind"] != "group"
        or (r["matched_pairs"] is not None and r["matched_pairs"] >= min_pairs)
    ]
    left_groups = [r for r in every if r["kind"] == "group" and r not in readable]
    few = sum(1 for r in left_groups if not r["hidden"])
    groups = [r for r in readable if r["kind"] == "group"]
    shown_groups = sorted(groups, key=lambda r: -r["matched_pairs"])[:max_groups]
    rows = [r for r in readable if r["kind"] != "group" or r in shown_groups]
    return ForestRows(rows, few, len(left_groups) - few, len(groups) - len(shown_groups))


def forest_figure(rows: list[dict], higher_is_better: bool) -> go.Figure:
    """One marker with its CI per row; hidden rows keep their place, labelled, undrawn."""
    labels = [forest_label(r) for r in rows]
    data = []
    for kind, size in (("all", 14), ("network", 13), ("group", 9)):
        part = [
            (text, r)
            for text, r in zip(labels, rows, strict=True)
            if r["kind"] == kind and r["mean_change"] is not None
        ]
        if not part:
            continue
        plus = [
            (r["ci_high"] - r["mean_change"]) if r["ci_high"] is not None else 0 for _, r in part
        ]
        minus = [
            (r["mean_change"] - r["ci_low"]) if r["ci_low"] is not None else 0 for _, r in part
        ]
        data.append(
            dict(
                type="scatter",
                x=[r["mean_change"] for _, r in part],
                y=[text for text, _ in part],
                mode="markers",
                marker=dict(
                    color=[color_for(r["network"], 0) for _, r in part],
                    size=size,
                    symbol="diamond" if kind == "all" else "circle",
                    line=dict(color="white", width=1),
                ),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=plus,
                    arrayminus=minus,
                    color="#555555",
                    thickness=2,
                    width=4,
                ),
                showlegend=False,
                customdata=[[ci_text(r)] for _, r in part],
                hovertemplate="%{y}<br>mean change %{x:+.2f}<br>%{customdata[0]}<extra></extra>",
            )
        )
    # Every row keeps its place on the axis, hidden ones too (their label says why).
    data.append(
        dict(
            type="scatter",
            x=[None] * len(labels),
            y=labels,
            mode="markers",
            showlegend=False,
            hoverinfo="skip",
        )
    )
    ends = [0.0] + [
        v for r in rows for v in (r["ci_low"], r["ci_high"], r["mean_change"]) if v is not None
    ]
    pad = (max(ends) - min(ends)) * 0.08 or 1
    better = "higher" if higher_is_better else "lower"
    layout = dict(
        xaxis=dict(
            range=[min(ends) - pad, max(ends) + pad],
            zeroline=False,
            title=dict(text=f"Mean change (later − baseline); {better} is better"),
        ),
        yaxis=dict(
            categoryorder="array",
            categoryarray=list(labels),
            autorange="reversed",
            type="category",
            automargin=True,
        ),
        shapes=[_vline(0, dict(color="#333333", width=1))],
    )
    if rows:  # plotly leaves out an empty list of annotations
        layout["annotations"] = [
            dict(
                x=1.01,
                xref="paper",
                y=text,
                yref="y",
                text=estimate_text(row),
                showarrow=False,
                xanchor="left",
                font=dict(size=12),
            )
            for text, row in zip(labels, rows, strict=True)
        ]
    styled_layout(layout, height=max(240, 90 + 30 * len(labels)))
    layout["margin"]["r"] = 150
    return figure_of(data, layout)


def forest_note(view: ForestRows, k: int, needed: int) -> str:
    """k: counts below it are hidden; needed: the pairs a change needs to be shown."""
    notes = []
    if any(r["kind"] == "group" for r in view.rows):
        notes.append(
            "A man enrolled in two groups counts in both; groups need not add up to their network."
        )
    if view.more_groups:
        notes.append(
            f"The {MAX_FOREST_GROUPS} groups with the most matched pairs are shown; "
            f"{view.more_groups} more have enough pairs (narrow the filters to see them)."
        )
    if view.few:
        notes.append(
            f"{view.few} group(s) with fewer than {MIN_GROUP_PAIRS} matched pairs are left out: "
            "their intervals are too wide to read."
        )
    if view.hidden_groups:
        notes.append(
            f"{view.hidden_groups} group(s) are hidden: fewer than {needed} matched pairs, or "
            "hidden with them so that no small group can be worked out by subtraction."
        )
    if any(r["hidden"] for r in view.rows):
        notes.append(
            f"Hidden: rows resting on fewer than {needed} matched pairs (a count below {k} "
            f"shows as <{k}; and, where one alone would be hidden, the next smallest, so no "
            "figure can be worked out by subtraction)."
        )
    return " ".join(notes)


# --- Reliable change ----------------------------------------------------------------------


def reliable_rows(rows: list[dict]) -> list[dict]:
    """The networks, then 'All' (just 'All' when there is one network)."""
    rows = [r for r in rows if r["kind"] in ("all", "network")]
    return [*rows[1:], rows[0]] if len(rows) > 2 else rows[:1]


def reliable_figure(rows: list[dict]) -> go.Figure:
    """Stacked shares reliably improved / unchanged / worse, one bar per row."""
    labels = []
    for row in rows:
        reason = ""
        if row["hidden"]:
            reason = " (hidden)"
        elif row["share_improved"] is None:
            reason = " (too few to judge)"
        labels.append(f"{row['key']} · {pairs_label(row)}{reason}")
    data = []
    for key in SHARE_KEYS:
        name, colour = label(key), SHARE_COLOURS[key]
        values = [row[key] for row in rows]
        data.append(
            dict(
                type="bar",
                x=[v if v is not None else 0 for v in values],
                y=labels,
                orientation="h",
                name=name,
                marker=dict(color=colour),
                text=[
                    format_value(key, v, "") if v is not None and v >= 0.06 else "" for v in values
                ],
                textposition="inside",
                insidetextanchor="middle",
                textfont=dict(color="black" if colour == NEUTRAL else "white"),
                customdata=[format_value(key, v) for v in values],
                hovertemplate=f"%{{y}}<br>{name}: %{{customdata}}<extra></extra>",
            )
        )
    layout = dict(
        barmode="stack",
        legend=dict(traceorder="normal"),
        xaxis=dict(tickformat=".0%", range=[0, 1], title=dict(text="Share of matched pairs")),
        yaxis=dict(autorange="reversed", automargin=True, type="category"),
    )
    styled_layout(layout, height=max(220, 110 + 48 * len(labels)))
    return figure_of(data, layout)


def reliable_note(rows: list[dict], alpha: float, needed: int) -> str:
    note = (
        f"Reliable: the change is more than 1.96 × the standard error of a difference "
        f"(alpha {alpha:.2f}); the instrument's direction is applied."
    )
    if any(r["hidden"] for r in rows):
        note += f" Hidden: fewer than {needed} matched pairs."
    return note


# --- Score distributions ------------------------------------------------------------------


def distribution_figure(table: pd.DataFrame, means: dict, spec: dict) -> go.Figure:
    """Overlaid histograms of baseline and later scores.

    table: the gated `metrics.score_distribution` (bin_low, bin_high, baseline, later shares);
    means: {"mean_baseline": ..., "mean_later": ...} as the gate let them through."""
    edges = np.append(table["bin_low"].to_numpy(float), float(table["bin_high"].iloc[-1]))
    centres = (edges[:-1] + edges[1:]) / 2
    width = float(edges[1] - edges[0])
    ranges = [
        f"{a:.1f}–{b:.1f}" if width < 1 or spec.get("conversion") else f"{(a + b) / 2:.0f}"
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    data = [
        dict(
            type="bar",
            x=centres.tolist(),
            y=[None if _missing(v) else float(v) for v in table[side]],
            name=name,
            marker=dict(color=colour),
            customdata=list(ranges),
            hovertemplate=f"{name}: %{{y:.0%}} of the men scored %{{customdata}}<extra></extra>",
        )
        for side, name, colour in (
            ("baseline", "Baseline", BASELINE_COLOUR),
            ("later", "Later", LATER_COLOUR),
        )
    ]
    sides = (("mean_baseline", "Baseline", BASELINE_COLOUR), ("mean_later", "Later", LATER_COLOUR))
    shown = [(key, name, colour) for key, name, colour in sides if means.get(key) is not None]
    layout = dict(
        barmode="group",
        bargap=0.15,
        xaxis=dict(title=dict(text="Score"), range=[float(edges[0]), float(edges[-1])]),
        yaxis=dict(title=dict(text="Share of matched men"), tickformat=".0%", rangemode="tozero"),
    )
    if shown:  # plotly leaves out empty lists of shapes and annotations
        layout["shapes"] = [
            _vline(float(means[key]), dict(color=colour, width=2, dash="dash"))
            for key, _, colour in shown
        ]
        layout["annotations"] = [
            dict(
                x=float(means[key]),
                y=1.0 - 0.09 * index,
                yref="paper",
                showarrow=False,
                text=f"{name} mean {format_value(key, float(means[key]))}",
                xanchor="left",
                xshift=4,
                font=dict(size=12, color="#333333"),
                bgcolor="rgba(255,255,255,.8)",
            )
            for index, (key, name, _) in enumerate(shown)
        ]
    styled_layout(layout, height=360)
    return figure_of(data, layout)


def distribution_note(low: float, high: float, higher_is_better: bool) -> str:
    """low, high: the instrument's score range (`metrics.score_range`)."""
    better = "higher" if higher_is_better else "lower"
    return f"Scores run from {low:g} to {high:g}; {better} is better."


# --- Answers per item ---------------------------------------------------------------------


def item_label(number: int, wording: str, reverse: bool) -> str:
    text = "<br>".join(textwrap.wrap(f"{number}. {wording}", 38))
    return text + ("<br><i>reverse-scored</i>" if reverse else "")


def item_figure(table: pd.DataFrame, spec: dict) -> go.Figure:
    """Diverging bars per item: answers below the midpoint to the left, above to the right,
    the midpoint split across 0; baseline and later side by side.

    table: the gated `metrics.item_shares` (item, side, below, at, above; hidden ones None)."""
    reverse = set(spec.get("reverse_items") or [])
    labels = [item_label(i, w, i in reverse) for i, w in enumerate(spec["items"], start=1)]
    low, high = spec["min_answer"], spec["max_answer"]
    mid = (low + high) / 2
    has_mid = float(mid).is_integer()
    below_text = (
        f"Below the middle ({low}–{int(np.ceil(mid)) - 1})"
        if np.ceil(mid) - 1 > low
        else f"Below the middle ({low})"
    )
    above_text = (
        f"Above the middle ({int(np.floor(mid)) + 1}–{high})"
        if np.floor(mid) + 1 < high
        else f"Above the middle ({high})"
    )
    layout = subplots_layout(
        1, 2, ["Baseline", "Later"], shared_yaxes=True, horizontal_spacing=0.06
    )
    data = []
    for col, side in ((1, "baseline"), (2, "later")):
        part = table[table["side"] == side].set_index("item").reindex(range(1, len(labels) + 1))
        below = [None if _missing(v) else float(v) for v in part["below"]]
        at = [None if _missing(v) else float(v) for v in part["at"]]
        above = [None if _missing(v) else float(v) for v in part["above"]]
        half = [None if a is None else a / 2 for a in at]
        middle = "At the middle" + (f" ({int(mid)})" if has_mid else "")
        # Bars nearest 0 first: half the middle answers on each side, then the rest.
        series = [
            (middle, half, NEUTRAL, -1, True, 2),
            (below_text, below, BELOW_COLOUR, -1, True, 1),
            (middle, half, NEUTRAL, 1, False, 2),
            (above_text, above, ABOVE_COLOUR, 1, True, 3),
        ]
        for name, values, colour, sign, legend, rank in series:
            if not has_mid and colour == NEUTRAL:
                continue
            full = at if colour == NEUTRAL else values
            axes = axis_suffix(1, col, 2)
            data.append(
                dict(
                    type="bar",
                    x=[None if v is None else sign * v for v in values],
                    y=labels,
                    orientation="h",
                    name=name,
                    marker=dict(color=colour),
                    legendgroup=name,
                    legendrank=rank,
                    showlegend=legend and col == 1,
                    text=[
                        format_value("item_share", v, "")
                        if v is not None and v >= 0.1 and colour != NEUTRAL
                        else ""
                        for v in values
                    ],
                    textposition="inside",
                    insidetextanchor="middle",
                    textangle=0,
                    # Dark text reads on the grey and on both item colours.
                    textfont=dict(color="black"),
                    customdata=[format_value("item_share", v) for v in full],
                    hovertemplate=f"{side.title()} · {name}: %{{customdata}}<extra></extra>",
                    xaxis=f"x{axes}",
                    yaxis=f"y{axes}",
                )
            )
    ticks = [-0.5, 0, 0.5]
    for axes in ("", "2"):
        layout[f"xaxis{axes}"].update(
            range=[-1, 1],
            tickvals=list(ticks),
            ticktext=[f"{abs(t):.0%}" for t in ticks],
            zeroline=True,
            zerolinecolor="#333333",
            zerolinewidth=1,
        )
        layout[f"yaxis{axes}"].update(autorange="reversed", automargin=True, type="category")
    layout["barmode"] = "relative"
    styled_layout(layout, height=max(320, 120 + 62 * len(labels)))
    layout["legend"].update(y=-0.08, yanchor="top", orientation="h", x=0)
    layout["margin"].update(t=40, b=30)
    return figure_of(data, layout)


def item_note(spec: dict, any_hidden: bool, needed: int) -> str:
    notes = []
    if not spec["higher_is_better"]:
        notes.append(f"Lower answers mean less {spec['construct']}, which is better.")
    if spec.get("reverse_items"):
        notes.append(
            "Answers are shown as given: for a reverse-scored item a lower answer is better."
        )
    if any_hidden:
        notes.append(f"Hidden: items answered by fewer than {needed} of the matched men.")
    return " ".join(notes)
