"""The overview's chart: attendance over time per network, from a gated table."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts.style import NO_SESSIONS, color_for, empty_figure, period_ticks, styled
from dashboard import catalogue


def trend(frame: pd.DataFrame, grain: str, days: int, partial: bool = True) -> go.Figure:
    """Attendance per time bucket, one line per network (`key`); a hidden point (None) is a
    gap. `grain` is the filters' grain, `days` the length of the period (for the ticks),
    `partial` whether the first or last bucket covers only part of its week, month or
    quarter (the axis says so)."""
    if frame.empty:
        return empty_figure(NO_SESSIONS)
    fig = go.Figure()
    for index, (key, part) in enumerate(frame.groupby("key", sort=True)):
        fig.add_trace(
            go.Scatter(
                x=part["period"],
                y=part["attendance"],
                name=key,
                mode="lines+markers",
                line=dict(color=color_for(key, index), width=3),
                customdata=[key] * len(part),
                hovertemplate=f"{key}<br>%{{x|%d %b %Y}}: %{{y:,}} present<extra></extra>",
            )
        )
    fig.update_yaxes(title=f"{catalogue.label('attendance')} (presents)", rangemode="tozero")
    ticks = {
        "month": dict(tickformat="%b %Y", dtick="M1" if days <= 400 else None),
        "quarter": dict(tickformat="Q%q %Y", dtick="M3" if days <= 1100 else None),
    }.get(grain, {})
    # On its own line: one line of both is wider than a phone's chart.
    note = (
        "<br><span style='font-size:0.8em'>(the first and last may be partial)</span>"
        if partial
        else ""
    )
    fig.update_xaxes(title=f"{grain.title()} starting{note}", **ticks)
    # Every bucket labelled, the last month of a fiscal year too.
    period_ticks(fig, frame["period"], grain)
    return styled(fig)
