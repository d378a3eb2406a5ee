"""Surveys callbacks: the matched-pairs badge, mean change per network and group (forest
plot), reliable change shares, score distributions and item answers. Each chart has its own
callback; the data service caches the metric results they share."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State
from plotly.subplots import make_subplots

from callbacks.shell import url_filters
from charts.style import SERIES_COLORS, color_for, empty_figure, styled
from dashboard import metrics
from dashboard.auth import current_scope
from dashboard.privacy import SURVEY_DERIVED, shown_count, suppress_record
from dashboard.service import current_service
from layouts.surveys import DEFAULT_INSTRUMENT

NO_PAIRS = "No matched pairs for these filters"
TOO_FEW = "Hidden: fewer than {k} matched pairs"
UNKNOWN = "Unknown instrument"
IMPROVED, WORSE, NEUTRAL = SERIES_COLORS[2], SERIES_COLORS[5], "#BBBBBB"
BASELINE_COLOUR, LATER_COLOUR = SERIES_COLORS[4], SERIES_COLORS[2]
BELOW_COLOUR, ABOVE_COLOUR = SERIES_COLORS[3], SERIES_COLORS[0]
SHARE_KEYS = ("share_improved", "share_unchanged", "share_worse")
MIN_GROUP_PAIRS = 5  # a group's row in the forest plot: fewer pairs make an unreadable interval


# --- What the callbacks share -------------------------------------------------------------


def instrument_spec(instrument_id: str | None) -> dict | None:
    return current_service().lookup(metrics.instrument, instrument_id or DEFAULT_INSTRUMENT)


def _record(row) -> dict:
    """A result row with NaN as None (pandas turns None into NaN in float columns)."""
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}


def overall(scope, f, instrument_id: str) -> tuple[dict, int]:
    """The combined figures as this user may see them, and the raw number of pairs."""
    service = current_service()
    result = dict(service.run(scope, f, metrics.survey_tables, instrument_id)["overall"])
    n = int(result["matched_pairs"])
    if scope.suppressed:
        result, _ = suppress_record(
            result, service.settings.suppression_threshold, ["matched_pairs"], SURVEY_DERIVED
        )
    return result, n


def blocked(scope, n: int, threshold: int) -> str | None:
    """Why a chart of the whole selection cannot be shown (None when it can)."""
    if n == 0:
        return NO_PAIRS
    if scope.suppressed and n < threshold:
        return TOO_FEW.format(k=threshold)
    return None


def pairs_text(n: int, shown, threshold: int) -> str:
    if n == 0:
        return NO_PAIRS
    count = shown_count(shown, threshold)
    return f"n = {count} matched pair{'s' if n != 1 or shown is None else ''}"


def rows_by(scope, f, instrument_id: str) -> list[dict]:
    """'All', the networks and the groups with pairs, suppressed for this user.

    Each row: key, label, kind ('all', 'network', 'group'), network and the paired figures
    (hidden ones None) plus `hidden` (True when its pairs are below k or complementary)."""
    service = current_service()
    k = service.settings.suppression_threshold
    tables = service.run(scope, f, metrics.survey_tables, instrument_id)
    networks, groups = tables["by_network"], tables["by_group"]
    combined = networks[networks["key"] == "All"]
    networks = networks[networks["key"] != "All"].reset_index(drop=True)
    rows: list[dict] = []

    def add(frame: pd.DataFrame, kind: str, totals: bool) -> None:
        if frame.empty:
            return
        figures = frame.drop(columns=[c for c in ("key", "group", "network") if c in frame.columns])
        sup = service.table(
            scope,
            figures,
            ["matched_pairs"],
            SURVEY_DERIVED,
            totals=("column",) if totals and len(frame) > 1 else (),
        )
        for i in range(len(frame)):
            source = frame.iloc[i]
            key = source["key"] if kind != "group" else source["group"]
            network = source["key"] if kind == "network" else source.get("network", "All")
            rows.append(
                {
                    "key": key,
                    "kind": kind,
                    "network": network,
                    "hidden": bool(sup.hidden.loc[i, "matched_pairs"]),
                    **_record(sup.frame.iloc[i].to_dict()),
                }
            )

    if not combined.empty:
        record = _record(combined.iloc[0].to_dict())
        record.pop("key")
        hidden = False
        if scope.suppressed:
            record, names = suppress_record(record, k, ["matched_pairs"], SURVEY_DERIVED)
            hidden = "matched_pairs" in names
        rows.append({"key": "All", "kind": "all", "network": "All", "hidden": hidden, **record})
    # Networks add up to 'All', and a network's groups (nearly) to the network: totals.
    add(networks, "network", totals=True)
    for _, part in groups.groupby("network", sort=True):
        add(part.reset_index(drop=True), "group", totals=True)
    return rows


def pairs_label(row: dict, threshold: int) -> str:
    if row["hidden"]:
        return f"n {shown_count(None, threshold)}, hidden"
    return f"n={int(row['matched_pairs'])}"


# --- Callbacks ------------------------------------------------------------------------------


def instrument_options(search, current):
    """The instruments on offer, by name; the choice kept when it is still one of them.

    (Dash 4's dropdown drops a value that is not among its options, so the value is set
    together with the options.)"""
    service = current_service()
    ids = service.lookup(metrics.instrument_ids)
    options = [
        {"label": (service.lookup(metrics.instrument, iid) or {}).get("name", iid), "value": iid}
        for iid in ids
    ]
    value = (
        current
        if current in ids
        else (DEFAULT_INSTRUMENT if DEFAULT_INSTRUMENT in ids else (ids[0] if ids else None))
    )
    return options, value


def pairs_badge(search, instrument_id):
    """The number of matched pairs, always on screen, and what the instrument measures."""
    scope = current_scope()
    spec = instrument_spec(instrument_id)
    if spec is None:
        return UNKNOWN, "secondary", ""
    f = url_filters(search)
    k = current_service().settings.suppression_threshold
    result, n = overall(scope, f, spec["id"])
    direction = (
        f"Higher scores mean more {spec['construct']} (better)."
        if spec["higher_is_better"]
        else f"Lower scores mean less {spec['construct']} (better)."
    )
    reverse = spec.get("reverse_items") or []
    info = (
        f"{spec['name']}: {len(spec['items'])} items answered "
        f"{spec['min_answer']}–{spec['max_answer']}, scored as the "
        f"{'sum' if spec['scoring'] == 'sum' else 'mean'}"
        f"{' (converted to the metric score)' if spec.get('conversion') else ''}. "
        f"{direction} Reliability (alpha) {spec['alpha']:.2f}."
    )
    if reverse:
        info += f" Items {', '.join(map(str, reverse))} are reverse-scored."
    return pairs_text(n, result["matched_pairs"], k), "secondary" if n == 0 else "primary", info


def forest_label(row: dict, threshold: int) -> str:
    # Full group names: they are unique, a shortened one might not be.
    return f"{row['key']} · {pairs_label(row, threshold)}"


def signed(value: float) -> str:
    """+1.2, -0.4 or 0.0 (never '-0.0')."""
    text = f"{value:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def estimate_text(row: dict) -> str:
    if row["hidden"]:
        return "hidden"
    if row["mean_change"] is None:
        return "—"
    if row["ci_low"] is None:
        return f"{signed(row['mean_change'])} (one pair)"
    return f"{signed(row['mean_change'])} ({signed(row['ci_low'])} to {signed(row['ci_high'])})"


def chart_inputs(search, instrument_id):
    """What every survey chart starts from: (scope, spec, filters, k, why it can't be
    drawn or None). spec is None for an unknown instrument."""
    scope = current_scope()
    spec = instrument_spec(instrument_id)
    if spec is None:
        return scope, None, None, 0, UNKNOWN
    f = url_filters(search)
    k = current_service().settings.suppression_threshold
    _, n = overall(scope, f, spec["id"])
    return scope, spec, f, k, blocked(scope, n, k)


MAX_FOREST_GROUPS = 30


def forest_chart(search, instrument_id):
    """Mean change with its 95% CI: 'All', each network, then each group with enough pairs."""
    scope, spec, f, k, reason = chart_inputs(search, instrument_id)
    if reason:
        return empty_figure(reason), ""
    every = rows_by(scope, f, spec["id"])
    rows = [
        r
        for r in every
        if r["kind"] != "group"
        or (r["matched_pairs"] is not None and r["matched_pairs"] >= MIN_GROUP_PAIRS)
    ]
    left_groups = [r for r in every if r["kind"] == "group" and r not in rows]
    few = sum(1 for r in left_groups if not r["hidden"])
    hidden_groups = len(left_groups) - few
    # A forest of hundreds of rows can't be read (and takes long to draw): the groups with
    # the most pairs are shown, the others counted in a note.
    shown_groups = sorted(
        (r for r in rows if r["kind"] == "group"), key=lambda r: -r["matched_pairs"]
    )[:MAX_FOREST_GROUPS]
    more_groups = sum(1 for r in rows if r["kind"] == "group") - len(shown_groups)
    rows = [r for r in rows if r["kind"] != "group" or r in shown_groups]
    labels = [forest_label(r, k) for r in rows]
    fig = go.Figure()
    for kind, size in (("all", 14), ("network", 13), ("group", 9)):
        part = [
            (label, r)
            for label, r in zip(labels, rows, strict=True)
            if r["kind"] == kind and r["mean_change"] is not None
        ]
        if not part:
            continue
        means = [r["mean_change"] for _, r in part]
        plus = [
            (r["ci_high"] - r["mean_change"]) if r["ci_high"] is not None else 0 for _, r in part
        ]
        minus = [
            (r["mean_change"] - r["ci_low"]) if r["ci_low"] is not None else 0 for _, r in part
        ]
        fig.add_trace(
            go.Scatter(
                x=means,
                y=[label for label, _ in part],
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
    fig.add_trace(
        go.Scatter(
            x=[None] * len(labels), y=labels, mode="markers", showlegend=False, hoverinfo="skip"
        )
    )
    fig.update_layout(
        annotations=[
            dict(
                x=1.01,
                xref="paper",
                y=label,
                yref="y",
                text=estimate_text(row),
                showarrow=False,
                xanchor="left",
                font=dict(size=12),
            )
            for label, row in zip(labels, rows, strict=True)
        ]
    )
    ends = [0.0] + [
        v for r in rows for v in (r["ci_low"], r["ci_high"], r["mean_change"]) if v is not None
    ]
    pad = (max(ends) - min(ends)) * 0.08 or 1
    fig.update_xaxes(
        range=[min(ends) - pad, max(ends) + pad],
        zeroline=False,
        title=f"Mean change (later − baseline); "
        f"{'higher' if spec['higher_is_better'] else 'lower'} is better",
    )
    fig.update_yaxes(
        categoryorder="array",
        categoryarray=labels,
        autorange="reversed",
        type="category",
        automargin=True,
    )
    fig.add_vline(x=0, line=dict(color="#333333", width=1))
    fig = styled(fig, height=max(240, 90 + 30 * len(labels)))
    fig.update_layout(margin=dict(r=150))
    notes = []
    if any(r["kind"] == "group" for r in rows):
        notes.append(
            "A man enrolled in two groups counts in both; groups need not add up to their network."
        )
    if more_groups:
        notes.append(
            f"The {MAX_FOREST_GROUPS} groups with the most matched pairs are shown; "
            f"{more_groups} more have enough pairs (narrow the filters to see them)."
        )
    if few:
        notes.append(
            f"{few} group(s) with fewer than {MIN_GROUP_PAIRS} matched pairs are left out: "
            "their intervals are too wide to read."
        )
    if hidden_groups:
        notes.append(
            f"{hidden_groups} group(s) are hidden: fewer than {k} matched pairs, or hidden "
            "with them so that no small group can be worked out by subtraction."
        )
    if any(r["hidden"] for r in rows):
        notes.append(
            f"Hidden: rows resting on fewer than {k} matched pairs (and, where one "
            "alone would be hidden, the next smallest, so no figure can be worked "
            "out by subtraction)."
        )
    return fig, " ".join(notes)


def ci_text(row: dict) -> str:
    if row["ci_low"] is None:
        return "no interval (a single pair)"
    text = f"95% CI {row['ci_low']:+.2f} to {row['ci_high']:+.2f}"
    if row.get("d_z") is not None:
        text += f"; effect size d<sub>z</sub> {row['d_z']:.2f}"
    return text


def reliable_chart(search, instrument_id):
    """Shares reliably improved / unchanged / worse per network and for all pairs."""
    scope, spec, f, k, reason = chart_inputs(search, instrument_id)
    if reason:
        return empty_figure(reason), ""
    rows = [r for r in rows_by(scope, f, spec["id"]) if r["kind"] in ("all", "network")]
    rows = [*rows[1:], rows[0]] if len(rows) > 2 else rows[:1]
    labels = []
    for row in rows:
        reason = ""
        if row["hidden"]:
            reason = " (hidden)"
        elif row["share_improved"] is None:
            reason = " (too few to judge)"
        labels.append(f"{row['key']} · {pairs_label(row, k)}{reason}")
    fig = go.Figure()
    for key, name, colour in (
        ("share_improved", "Reliably improved", IMPROVED),
        ("share_unchanged", "No reliable change", NEUTRAL),
        ("share_worse", "Reliably worse", WORSE),
    ):
        values = [row[key] for row in rows]
        fig.add_trace(
            go.Bar(
                x=[v if v is not None else 0 for v in values],
                y=labels,
                orientation="h",
                name=name,
                marker_color=colour,
                text=[f"{v:.0%}" if v is not None and v >= 0.06 else "" for v in values],
                textposition="inside",
                insidetextanchor="middle",
                textfont=dict(color="black" if colour == NEUTRAL else "white"),
                customdata=[f"{v:.0%}" if v is not None else "—" for v in values],
                hovertemplate=f"%{{y}}<br>{name}: %{{customdata}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack", legend=dict(traceorder="normal"))
    fig.update_xaxes(tickformat=".0%", range=[0, 1], title="Share of matched pairs")
    fig.update_yaxes(autorange="reversed", automargin=True, type="category")
    fig = styled(fig, height=max(220, 110 + 48 * len(labels)))
    note = (
        f"Reliable: the change is more than 1.96 × the standard error of a difference "
        f"(alpha {spec['alpha']:.2f}); the instrument's direction is applied."
    )
    if any(r["hidden"] for r in rows):
        note += f" Hidden: fewer than {k} matched pairs."
    return fig, note


def score_range(spec: dict) -> tuple[float, float]:
    """The lowest and highest possible score of an instrument."""
    low, high = spec["min_answer"], spec["max_answer"]
    if spec["scoring"] == "mean":
        return float(low), float(high)
    items = len(spec["items"])
    low, high = low * items, high * items
    conversion = spec.get("conversion")
    if conversion:
        return float(conversion[str(low)]), float(conversion[str(high)])
    return float(low), float(high)


def score_bins(spec: dict) -> np.ndarray:
    low, high = score_range(spec)
    if spec["scoring"] == "sum" and not spec.get("conversion") and high - low <= 30:
        return np.arange(low - 0.5, high + 1.0, 1.0)
    if spec["scoring"] == "mean":
        return np.linspace(low, high, int((high - low) * 2) + 1)
    return np.linspace(low, high, 15)


def distribution_chart(search, instrument_id):
    """Baseline and later scores of the matched pairs: overlaid histograms (shares)."""
    scope, spec, f, k, reason = chart_inputs(search, instrument_id)
    if reason:
        return empty_figure(reason), ""
    service = current_service()
    pairs = service.run(scope, f, metrics.survey_tables, spec["id"])["pairs"]
    edges = score_bins(spec)
    centres = (edges[:-1] + edges[1:]) / 2
    width = float(edges[1] - edges[0])
    fig = go.Figure()
    means = []
    for side, name, colour in (
        ("baseline", "Baseline", BASELINE_COLOUR),
        ("later", "Later", LATER_COLOUR),
    ):
        scores = pairs[side].astype(float).to_numpy()
        counts, _ = np.histogram(np.clip(scores, edges[0], edges[-1]), bins=edges)
        shares = counts / len(scores)
        ranges = [
            f"{a:.1f}–{b:.1f}" if width < 1 or spec.get("conversion") else f"{(a + b) / 2:.0f}"
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        ]
        fig.add_trace(
            go.Bar(
                x=centres.tolist(),
                y=shares.tolist(),
                name=name,
                marker_color=colour,
                customdata=ranges,
                hovertemplate=f"{name}: %{{y:.0%}} of the men scored %{{customdata}}"
                "<extra></extra>",
            )
        )
        means.append((name, float(scores.mean()), colour))
    for index, (name, mean, colour) in enumerate(means):
        fig.add_vline(x=mean, line=dict(color=colour, width=2, dash="dash"))
        fig.add_annotation(
            x=mean,
            y=1.0 - 0.09 * index,
            yref="paper",
            showarrow=False,
            text=f"{name} mean {mean:.1f}",
            xanchor="left",
            xshift=4,
            font=dict(size=12, color="#333333"),
            bgcolor="rgba(255,255,255,.8)",
        )
    low, high = score_range(spec)
    fig.update_layout(barmode="group", bargap=0.15)
    fig.update_xaxes(title="Score", range=[edges[0], edges[-1]])
    fig.update_yaxes(title="Share of matched men", tickformat=".0%", rangemode="tozero")
    better = "Higher" if spec["higher_is_better"] else "Lower"
    return styled(fig, height=360), (
        f"Scores run from {low:g} to {high:g}; {better.lower()} is better."
    )


def item_label(number: int, wording: str, reverse: bool) -> str:
    text = "<br>".join(textwrap.wrap(f"{number}. {wording}", 38))
    return text + ("<br><i>reverse-scored</i>" if reverse else "")


def item_shares(pairs: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """Per item and side: the share of answers below, at and above the scale's midpoint."""
    counts = metrics.item_distribution(pairs, spec)
    mid = (spec["min_answer"] + spec["max_answer"]) / 2
    rows = []
    for item in range(1, len(spec["items"]) + 1):
        for side in ("baseline", "later"):
            part = counts[(counts["item"] == item) & (counts["side"] == side)]
            total = int(part["count"].sum())
            if not total:
                rows.append((item, side, None, None, None))
                continue
            below = part.loc[part["answer"] < mid, "count"].sum() / total
            at = part.loc[part["answer"] == mid, "count"].sum() / total
            above = part.loc[part["answer"] > mid, "count"].sum() / total
            rows.append((item, side, float(below), float(at), float(above)))
    return pd.DataFrame(rows, columns=["item", "side", "below", "at", "above"])


def item_chart(search, instrument_id):
    """Diverging bars per item: answers below the midpoint to the left, above to the right,
    the midpoint split across 0; baseline and later side by side."""
    scope, spec, f, k, reason = chart_inputs(search, instrument_id)
    if reason:
        return empty_figure(reason), ""
    service = current_service()
    pairs = service.run(scope, f, metrics.survey_tables, spec["id"])["pairs"]
    shares = item_shares(pairs, spec)
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
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.06,
        subplot_titles=("Baseline", "Later"),
    )
    for col, side in ((1, "baseline"), (2, "later")):
        part = shares[shares["side"] == side].set_index("item").reindex(range(1, len(labels) + 1))
        below = part["below"].tolist()
        at = part["at"].tolist()
        above = part["above"].tolist()
        half = [None if a is None or pd.isna(a) else a / 2 for a in at]
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
            shown = [None if v is None or pd.isna(v) else sign * v for v in values]
            full = at if colour == NEUTRAL else values
            fig.add_trace(
                go.Bar(
                    x=shown,
                    y=labels,
                    orientation="h",
                    name=name,
                    marker_color=colour,
                    legendgroup=name,
                    legendrank=rank,
                    showlegend=legend and col == 1,
                    text=[
                        f"{v:.0%}"
                        if v is not None and not pd.isna(v) and v >= 0.1 and colour != NEUTRAL
                        else ""
                        for v in values
                    ],
                    textposition="inside",
                    insidetextanchor="middle",
                    textangle=0,
                    textfont=dict(color="black" if colour == NEUTRAL else "white"),
                    customdata=[
                        f"{v:.0%}" if v is not None and not pd.isna(v) else "—" for v in full
                    ],
                    hovertemplate=f"{side.title()} · {name}: %{{customdata}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    ticks = [-0.5, 0, 0.5]
    fig.update_xaxes(
        range=[-1, 1],
        tickvals=ticks,
        ticktext=[f"{abs(t):.0%}" for t in ticks],
        zeroline=True,
        zerolinecolor="#333333",
        zerolinewidth=1,
    )
    fig.update_yaxes(autorange="reversed", automargin=True, type="category")
    fig.update_layout(barmode="relative")
    fig = styled(fig, height=max(320, 120 + 62 * len(labels)))
    fig.update_layout(
        legend=dict(y=-0.08, yanchor="top", orientation="h", x=0), margin=dict(t=40, b=30)
    )
    notes = []
    if not spec["higher_is_better"]:
        notes.append(f"Lower answers mean less {spec['construct']}, which is better.")
    if reverse:
        notes.append(
            "Answers are shown as given: for a reverse-scored item a lower answer is better."
        )
    note = " ".join(notes)
    return fig, note


def register(app) -> None:
    app.callback(
        Output("surveys-instrument", "options"),
        Output("surveys-instrument", "value"),
        Input("surveys-url", "search"),
        State("surveys-instrument", "value"),
    )(instrument_options)
    app.callback(
        Output("surveys-pairs", "children"),
        Output("surveys-pairs", "color"),
        Output("surveys-instrument-info", "children"),
        Input("surveys-url", "search"),
        Input("surveys-instrument", "value"),
    )(pairs_badge)
    app.callback(
        Output("surveys-forest", "figure"),
        Output("surveys-forest-note", "children"),
        Input("surveys-url", "search"),
        Input("surveys-instrument", "value"),
    )(forest_chart)
    app.callback(
        Output("surveys-reliable", "figure"),
        Output("surveys-reliable-note", "children"),
        Input("surveys-url", "search"),
        Input("surveys-instrument", "value"),
    )(reliable_chart)
    app.callback(
        Output("surveys-distribution", "figure"),
        Output("surveys-distribution-note", "children"),
        Input("surveys-url", "search"),
        Input("surveys-instrument", "value"),
    )(distribution_chart)
    app.callback(
        Output("surveys-items", "figure"),
        Output("surveys-items-note", "children"),
        Input("surveys-url", "search"),
        Input("surveys-instrument", "value"),
    )(item_chart)
