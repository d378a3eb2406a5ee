"""Attendance charts: pure builders from tables that already went through the privacy gate.

No data access, no role, no Dash context: a hidden cell arrives as None (or NaN) and is drawn
as a gap, a grey cell or a note; the texts for hidden values are passed in by the caller.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.style import (
    SEQUENTIAL_SCALE,
    SERIES_COLORS,
    STATUS_COLORS,
    color_for,
    figure_of,
    period_ticks,
    styled,
    styled_layout,
)
from dashboard import catalogue

# Group lines: the shared non-network series colours (never a network's blue or orange);
# after 8 groups the dash pattern changes, so no two of the 12 lines look alike.
GROUP_COLORS = SERIES_COLORS
LINE_DASHES = ["solid", "dash", "dot", "dashdot"]
PRESENT, EXCUSED, ABSENT = (STATUS_COLORS[s] for s in ("present", "excused", "absent"))
CANCELLED, HIDDEN = "#D55E00", "#A6A6A6"
MIN_LABELLED_SHARE = 0.04  # narrower bar segments carry no text label (it would not fit)
MAX_MARKED_WEEKS = 80  # beyond this many columns a cell is too thin for its "✕" text
# The shared sequential scale: its lightest shade stays visible against a blank (no
# session) cell.
ATTENDANCE_SCALE = SEQUENTIAL_SCALE
NOTE_FONT = dict(color="#555")


def number(value) -> float | None:
    """A gated cell as a float for plotly: hidden (None) and NaN become None."""
    if value is None:
        return None
    value = float(value)
    return None if np.isnan(value) else value


def finish(fig: go.Figure, height: int) -> go.Figure:
    """The house style, with room above the plot so the mode bar covers no label or bar."""
    fig = styled(fig, height=height)
    fig.update_layout(margin=dict(t=56), legend=dict(traceorder="normal"))
    return fig


def finished_layout(layout: dict, height: int) -> dict:
    """`finish` for a layout written as a dict (figure_of)."""
    styled_layout(layout, height=height)
    layout["margin"]["t"] = 56
    layout["legend"]["traceorder"] = "normal"
    return layout


def _notes(names: list[str], texts: list[str]) -> go.Scatter:
    """Text at the left of a bar chart's rows that have no bar (hidden or without data)."""
    return go.Scatter(
        x=[0.01] * len(names),
        y=names,
        mode="text",
        customdata=names,
        text=texts,
        textposition="middle right",
        showlegend=False,
        hoverinfo="skip",
        textfont=NOTE_FONT,
    )


def _group_axis(fig: go.Figure, names: list[str]) -> None:
    fig.update_yaxes(
        autorange="reversed",
        automargin=True,
        tickfont=dict(size=12),
        categoryorder="array",
        categoryarray=names,
    )


def trend(frame: pd.DataFrame, keys: list[str], by: str, grain: str) -> go.Figure:
    """Attendance per time bucket, one line per key (network or group); hidden points are
    gaps. frame: key, period (timestamps), attendance (gated)."""
    fig = go.Figure()
    for index, key in enumerate(keys):
        part = frame[frame["key"] == key]
        color = (
            color_for(key, index) if by == "network" else GROUP_COLORS[index % len(GROUP_COLORS)]
        )
        dash = LINE_DASHES[(index // len(GROUP_COLORS)) % len(LINE_DASHES)]
        fig.add_trace(
            go.Scatter(
                # Plain lists: plotly validates pandas objects far more slowly.
                x=[pd.Timestamp(d).date().isoformat() for d in part["period"]],
                y=[_count(v) for v in part["attendance"]],
                name=key,
                mode="lines+markers",
                line=dict(color=color, width=3 if by == "network" else 2, dash=dash),
                connectgaps=False,
                hovertemplate=f"{key}<br>%{{x|%d %b %Y}}: %{{y:,}} present<extra></extra>",
            )
        )
    fig.update_yaxes(title=f"{catalogue.label('attendance')} (presents)", rangemode="tozero")
    fig.update_xaxes(title=f"{grain.title()} starting")
    # One tick per month or quarter, the last one too, not plotly's day ticks between them.
    period_ticks(fig, frame["period"], grain)
    fig = finish(fig, 380 if by == "network" else 440)
    if by == "group":
        # Group names are long: a legend beside the chart reads better than one on top.
        fig.update_layout(
            legend=dict(orientation="v", x=1.02, y=1, yanchor="top", font=dict(size=12)),
            margin=dict(r=20),
        )
    return fig


def _count(value):
    """A count for a line's y: an int, or None for a hidden point (a gap)."""
    value = number(value)
    return None if value is None else int(value)


def _grids(
    frame: pd.DataFrame, order: list[str], weeks: pd.DatetimeIndex, columns: list
) -> list[np.ndarray]:
    """Each of `columns` (values of `frame`'s rows) as a group (`order`) x week grid; NaN
    where a group has no row that week. Placed by index, as a pivot would: pandas' pivot and
    reindex cost ~4 ms a grid."""
    rows = pd.Index(order).get_indexer(frame["group"])
    cols = pd.DatetimeIndex(weeks).get_indexer(pd.to_datetime(frame["week"]))
    kept = (rows >= 0) & (cols >= 0)
    rows, cols = rows[kept], cols[kept]
    if len(np.unique(rows * len(weeks) + cols)) < len(rows):
        raise ValueError("a group has two rows for one week")
    grids = []
    for values in columns:
        grid = np.full((len(order), len(weeks)), np.nan)
        grid[rows, cols] = np.asarray(values, dtype=float)[kept]
        grids.append(grid)
    return grids


def heatmap(
    frame: pd.DataFrame, order: list[str], weeks: pd.DatetimeIndex, hidden_hover: str
) -> go.Figure:
    """Group x week: men present per week (colour), cancelled weeks (✕), hidden cells (grey),
    weeks without a session blank.

    frame: group, week, present (gated count; NaN for a cancelled or hidden week), cancelled
    and hidden (booleans). order: the groups, top to bottom. weeks: the columns.
    """
    present, cancelled, hidden = _grids(
        frame,
        order,
        weeks,
        [
            pd.to_numeric(frame["present"], errors="coerce"),
            np.where(frame["cancelled"].astype(bool), 1.0, np.nan),
            np.where(frame["hidden"].astype(bool), 1.0, np.nan),
        ],
    )
    x = [w.date().isoformat() for w in weeks]
    common = dict(type="heatmap", x=x, y=order, xgap=1, ygap=1, hoverongaps=False)
    data = [
        dict(
            z=present,
            colorscale=ATTENDANCE_SCALE,
            zmin=0,
            # At least 0-5, so a tiny group's scale does not read 0, 0.5, 1.
            zmax=max(5.0, float(np.nanmax(present, initial=0))),
            colorbar=dict(
                title=dict(text="Present"), thickness=12, len=1 if len(order) < 8 else 0.8
            ),
            hovertemplate="%{y}<br>Week of %{x|%d %b %Y}: %{z} present<extra></extra>",
            **common,
        ),
        dict(
            z=cancelled,
            colorscale=[[0, CANCELLED], [1, CANCELLED]],
            showscale=False,
            texttemplate="%{text}",
            textfont=dict(color="white", size=11),
            hovertemplate="%{y}<br>Week of %{x|%d %b %Y}: cancelled<extra></extra>",
            **common,
        ),
    ]
    if len(weeks) <= MAX_MARKED_WEEKS:
        data[1]["text"] = np.where(np.isnan(cancelled), "", "✕").tolist()
    if not np.isnan(hidden).all():
        data.append(
            dict(
                z=hidden,
                colorscale=[[0, HIDDEN], [1, HIDDEN]],
                showscale=False,
                hovertemplate=f"%{{y}}<br>Week of %{{x|%d %b %Y}}: {hidden_hover}<extra></extra>",
                **common,
            )
        )
    layout = dict(
        # An empty title, as update_yaxes(title=None) left it: the figure's JSON is unchanged.
        yaxis=dict(autorange="reversed", tickfont=dict(size=12), automargin=True, title={}),
        xaxis=dict(title=dict(text="Week starting"), tickformat="%d %b\n%Y", showgrid=False),
        plot_bgcolor="white",
    )
    finished_layout(layout, max(260, 22 * len(order) + 110))
    return figure_of(data, layout)


def rates(frame: pd.DataFrame) -> go.Figure:
    """Per group, stacked: shares present, excused and absent of the recorded attendance.

    frame: group, attendance_rate, excused_rate (gated shares: None when hidden or without
    recorded rows), note (the text shown in a row without bars).
    """
    rate = pd.to_numeric(frame["attendance_rate"], errors="coerce")
    excused = pd.to_numeric(frame["excused_rate"], errors="coerce")
    frame = frame.assign(
        rate=rate, excused_share=excused, absent=(1 - rate - excused).clip(lower=0)
    )
    frame = frame.sort_values(["rate", "group"], ascending=[False, True], na_position="last")
    names = frame["group"].tolist()
    fig = go.Figure()
    shown = frame[frame["rate"].notna()]
    for column, name, color, text_color in (
        ("rate", "Present", PRESENT, "white"),
        ("excused_share", "Excused", EXCUSED, "white"),
        ("absent", "Absent", ABSENT, "black"),
    ):
        fig.add_trace(
            go.Bar(
                x=shown[column].tolist(),
                y=shown["group"].tolist(),
                name=name,
                orientation="h",
                customdata=shown["group"].tolist(),
                marker_color=color,
                # A label only where the segment is wide enough to hold it.
                text=[f"{v:.0%}" if v >= MIN_LABELLED_SHARE else "" for v in shown[column]],
                textposition="inside",
                insidetextanchor="middle",
                textangle=0,
                textfont=dict(color=text_color, size=12),
                hovertemplate=f"%{{y}}<br>{name}: %{{x:.0%}}<extra></extra>",
            )
        )
    missing = frame[frame["rate"].isna()]
    if not missing.empty:
        fig.add_trace(_notes(missing["group"].tolist(), missing["note"].tolist()))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(
        tickformat=".0%", range=[0, 1.02], dtick=0.2, title="Share of recorded attendance"
    )
    _group_axis(fig, names)
    return finish(fig, max(260, 26 * len(names) + 130))


def dosage(men: list[int | None], texts: list[str], completion_at: float) -> go.Figure:
    """Histogram of dosage in ten bins of 10 points (100% in the last): men per bin (gated:
    None when hidden, drawn grey at zero height with its text, e.g. "<5")."""
    labels = [f"{10 * i}–{10 * i + 9 if i < 9 else 100}%" for i in range(len(men))]
    fig = go.Figure(
        go.Bar(
            x=[i / 10 + 0.05 for i in range(len(men))],
            y=[m or 0 for m in men],
            width=0.095,
            marker_color=[HIDDEN if m is None else PRESENT for m in men],
            text=texts,
            textposition="outside",
            customdata=labels,
            cliponaxis=False,
            hovertemplate=f"{catalogue.label('dosage')} %{{customdata}}: %{{text}} men"
            "<extra></extra>",
        )
    )
    fig.add_vline(
        x=completion_at,
        line_dash="dash",
        line_color="#555",
        annotation_text=f"completion threshold {completion_at:.0%}",
        annotation_position="top left",
        annotation_font_size=12,
    )
    fig.update_xaxes(
        tickformat=".0%",
        range=[-0.02, 1.02],
        dtick=0.2,
        title=f"{catalogue.label('dosage')} (share of sessions attended)",
    )
    # Headroom for the count above the tallest bar.
    fig.update_yaxes(title="Men", range=[0, max(m or 0 for m in men) * 1.18 + 1])
    return finish(fig, 360)


def completion(frame: pd.DataFrame, hidden_note: str) -> go.Figure:
    """Completion rate per group, one colour per network; a hidden group gets a note.

    frame: network, group and the gated completion_rate, completion_enrolments and
    completion_base (metrics.completion_figures per group), in display order.
    """
    fig = go.Figure()
    for index, (network, part) in enumerate(frame.groupby("network", sort=True)):
        shown = part[part["completion_rate"].notna()]
        fig.add_trace(
            go.Bar(
                x=shown["completion_rate"].astype(float).tolist(),
                y=shown["group"].tolist(),
                orientation="h",
                name=network,
                marker_color=color_for(network, index),
                customdata=shown["group"].tolist(),
                text=[
                    f"{catalogue.format_value('completion_rate', r)} of {int(n)}"
                    for r, n in zip(
                        shown["completion_rate"], shown["completion_enrolments"], strict=True
                    )
                ],
                hovertext=[
                    f"{int(men):,} men" if men is not None else ""
                    for men in shown["completion_base"]
                ],
                textposition="auto",
                hovertemplate="%{y}<br>Completed: %{text} (%{hovertext})<extra></extra>",
            )
        )
    hidden = frame[frame["completion_rate"].isna()]["group"].tolist()
    if hidden:
        fig.add_trace(_notes(hidden, [hidden_note] * len(hidden)))
    fig.update_xaxes(
        tickformat=".0%",
        range=[0, 1.02],
        dtick=0.2,
        title=catalogue.label("completion_rate"),
    )
    _group_axis(fig, frame["group"].tolist())
    return finish(fig, max(260, 28 * len(frame) + 130))
