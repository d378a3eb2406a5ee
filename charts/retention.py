"""Retention charts: pure builders from figures already through the privacy gate to plotly
figures and small tables. No data access, no roles, no Dash callback context."""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import html

from charts.style import SEQUENTIAL_SCALE, color_for, figure_of, styled, styled_layout
from dashboard.stats import SurvivalCurve

# The weeks the x axis marks, then every 26 weeks after a year.
AXIS_WEEKS = (0, 4, 12, 26, 52)
BAND_ALPHA = 0.15  # the confidence band's opacity: the curve stays readable through it


def rgba(hex_colour: str, alpha: float) -> str:
    """'#0072B2' -> 'rgba(0,114,178,alpha)'."""
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _band(curve: SurvivalCurve, y: Sequence[float], key: list, **fill) -> dict:
    """One edge of a curve's 95% band: an invisible line, the band filled between the two."""
    return dict(
        type="scatter",
        x=curve.times,
        y=y,
        mode="lines",
        line=dict(width=0, shape="hv"),
        **fill,
        legendgroup=curve.label,
        showlegend=False,
        hoverinfo="skip",
        customdata=key,
    )


def survival_figure(curves: Sequence[SurvivalCurve], by: str, bands: bool) -> go.Figure:
    """Kaplan-Meier curves (already cut where the gate stops them), each with its 95% band
    when `bands`; a point's customdata is [by, label, ci low, ci high] for the cross-filter."""
    data = []
    longest = 0.0
    for index, curve in enumerate(curves):
        colour = color_for(curve.label, index)
        key = [[by, curve.label]] * len(curve.times)
        if bands:
            data.append(_band(curve, curve.ci_high, key))
            data.append(
                _band(curve, curve.ci_low, key, fill="tonexty", fillcolor=rgba(colour, BAND_ALPHA))
            )
        data.append(
            dict(
                type="scatter",
                x=curve.times,
                y=curve.survival,
                mode="lines",
                name=f"{curve.label} (n={curve.n})",
                line=dict(color=colour, width=3 if bands else 2, shape="hv"),
                legendgroup=curve.label,
                customdata=[
                    [by, curve.label, lo, hi]
                    for lo, hi in zip(curve.ci_low, curve.ci_high, strict=True)
                ],
                hovertemplate=(
                    f"{curve.label}<br>week %{{x:.0f}}: %{{y:.0%}} still coming"
                    "<br>95% CI %{customdata[2]:.0%}–%{customdata[3]:.0%}"
                    "<extra></extra>"
                ),
            )
        )
        longest = max(longest, max(curve.times, default=0))
    ticks = [t for t in AXIS_WEEKS if t <= max(longest, 4)]
    ticks += list(range(78, int(longest) + 1, 26))
    layout = dict(
        xaxis=dict(
            title=dict(text="Weeks since first session"),
            tickvals=ticks,
            rangemode="tozero",
            range=[0, max(longest, 4) * 1.02],
        ),
        yaxis=dict(title=dict(text="Still coming"), tickformat=".0%", range=[0, 1.02]),
    )
    # By group the legend takes a line per two curves.
    styled_layout(layout, height=420 + (24 * ((len(curves) + 1) // 2) if by == "group" else 0))
    return figure_of(data, layout)


def at_risk_table(frame: pd.DataFrame, weeks: Sequence[int]) -> dbc.Table:
    """Men still followed per curve at each of `weeks`: `frame` has a `curve` column and one
    text column `w<weeks>` per week, as the user may read them."""
    header = html.Thead(
        html.Tr(
            [
                html.Th("Weeks", scope="col"),
                *[html.Th(str(w), scope="col", className="text-end") for w in weeks],
            ]
        )
    )
    rows = [
        html.Tr(
            [
                html.Th(
                    [
                        html.Span("■ ", style={"color": color_for(row["curve"], index)}),
                        row["curve"],
                    ],
                    scope="row",
                    className="fw-normal",
                ),
                *[html.Td(row[f"w{w}"], className="text-end") for w in weeks],
            ]
        )
        for index, row in enumerate(frame.to_dict("records"))
    ]
    return dbc.Table(
        [header, html.Tbody(rows)],
        size="sm",
        bordered=False,
        className="mb-1 small",
        responsive=True,
    )


# What a cohort cell holds: a share shown, a share of a period not over yet ("so far"), a share
# withheld, or a month the data have not reached.
SHOWN, PARTIAL, HIDDEN, FUTURE = "shown", "partial", "hidden", "future"
PARTIAL_STRENGTH = 0.4  # a "so far" cell: the scale's colour faded toward white, dotted outline
PARTIAL_TRACE = "so far"


def faded(scale: list, strength: float) -> list:
    """A colour scale mixed with white: `strength` of the colour is kept."""

    def mix(hex_colour: str) -> str:
        value = hex_colour.lstrip("#")
        rgb = (int(value[i : i + 2], 16) for i in (0, 2, 4))
        return "#" + "".join(f"{round(c * strength + 255 * (1 - strength)):02X}" for c in rgb)

    return [[stop, mix(colour)] for stop, colour in scale]


def cohort_heatmap(
    labels: Sequence[str],
    offsets: Sequence[int],
    shares: Sequence[Sequence[float | None]],
    status: Sequence[Sequence[str]],
    quarter: bool,
    hidden_hover: str,
) -> go.Figure:
    """Cohort x months (quarters) since joining, each cell the share of the cohort present;
    `status` marks each cell SHOWN, PARTIAL (its period is not over: faded, dotted, "so far"),
    HIDDEN ('–') or FUTURE (blank, not 0%)."""
    period = "quarter" if quarter else "month"
    z, text, hover = [], [], []
    so_far_z, so_far_text, so_far_hover, outlines = [], [], [], []
    for row, (share_row, status_row) in enumerate(zip(shares, status, strict=True)):
        z_row, text_row, hover_row = [], [], []
        so_far = {"z": [], "text": [], "hover": []}
        for column, (value, state) in enumerate(zip(share_row, status_row, strict=True)):
            cell = (None, "", "")
            if state == FUTURE:
                z_row.append(None)
                text_row.append("")
                hover_row.append("not reached yet")
            elif state == HIDDEN:
                z_row.append(None)
                text_row.append("–")
                hover_row.append(hidden_hover)
            elif state == PARTIAL:
                cell = (
                    float(value),
                    f"{value:.0%}<br>so far",
                    f"{value:.0%} so far — this {period} is not over",
                )
                z_row.append(None)
                text_row.append("")
                hover_row.append(cell[2])
                outlines.append((row, column))
            else:
                z_row.append(float(value))
                text_row.append(f"{value:.0%}")
                hover_row.append(f"{value:.0%} of the cohort came at least once")
            for key, part in zip(("z", "text", "hover"), cell, strict=True):
                so_far[key].append(part)
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)
        so_far_z.append(so_far["z"])
        so_far_text.append(so_far["text"])
        so_far_hover.append(so_far["hover"])
    unit = "Quarters" if quarter else "Months"
    x, y = [str(o) for o in offsets], list(labels)
    common = dict(
        type="heatmap",
        x=x,
        y=y,
        zmin=0,
        zmax=1,
        xgap=1,
        ygap=1,
        texttemplate="%{text}",
        hovertemplate=(f"%{{y}}<br>{period} %{{x}} after joining: %{{customdata}}<extra></extra>"),
    )
    data = [
        dict(
            z=z,
            text=text,
            customdata=hover,
            colorscale=SEQUENTIAL_SCALE,
            colorbar=dict(title=dict(text="Share"), tickformat=".0%", thickness=12),
            **common,
        )
    ]
    layout = dict(
        xaxis=dict(
            title=dict(
                text=f"{unit} since joining (0 = the quarter joined)"
                if quarter
                else f"{unit} since joining (0 = the month of the first session)"
            ),
            side="bottom",
            type="category",
        ),
        yaxis=dict(autorange="reversed", type="category"),
    )
    if outlines:
        data.append(
            dict(
                z=so_far_z,
                text=so_far_text,
                customdata=so_far_hover,
                name=PARTIAL_TRACE,
                colorscale=faded(SEQUENTIAL_SCALE, PARTIAL_STRENGTH),
                showscale=False,
                # Its empty cells must leave the hover to the cells below.
                hoverongaps=False,
                textfont=dict(color="#222222"),
                **common,
            )
        )
        # Category axes place the n-th category at n: the cell spans n ± 0.5.
        layout["shapes"] = [
            dict(
                type="rect",
                x0=column - 0.5,
                x1=column + 0.5,
                y0=row - 0.5,
                y1=row + 0.5,
                line=dict(color="#333333", width=1.5, dash="dot"),
                layer="above",
            )
            for row, column in outlines
        ]
    styled_layout(layout, height=max(300, 90 + 26 * len(labels)))
    layout["margin"] = dict(l=150, r=20, t=20, b=50)
    return figure_of(data, layout)


def completion_bars(
    labels: Sequence[str],
    rates: Sequence[float | None],
    texts: Sequence[str],
    hovers: Sequence[str],
    colours: Sequence[str],
) -> go.Figure:
    """Completion rate per network or group (and 'All'), one horizontal bar each; a withheld
    rate (None) draws no bar, its text says why."""
    fig = go.Figure(
        go.Bar(
            x=[float(r) if r is not None else 0 for r in rates],
            y=list(labels),
            orientation="h",
            text=list(texts),
            customdata=list(hovers),
            textposition="outside",
            marker_color=list(colours),
            cliponaxis=False,
            hovertemplate="%{y}: %{customdata}<extra></extra>",
        )
    )
    fig.update_xaxes(
        title="Completed", tickformat=".0%", range=[0, 1.12], tickvals=[0, 0.25, 0.5, 0.75, 1]
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig = styled(fig, height=max(240, 80 + 44 * len(labels)))
    fig.update_layout(showlegend=False)
    return fig
