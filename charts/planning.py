"""The planning page's charts, from gated figures: actual against target, year on year,
capacity use, groups growing and shrinking, weakest retention. A presentation mode enlarges
them for a meeting room's screen."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts.style import color_for, empty_figure, styled
from dashboard import catalogue
from dashboard.wording import signed_percent

GOOD, BAD, NEUTRAL = "#009E73", "#D55E00", "#BBBBBB"


# Presentation mode: a chart and its slide's heading fit a 1280×720 projector's screen.
PRESENTING_HEIGHT = 540
FONT_PRESENTING = 20
ROW_PX = {False: 24, True: 32}  # a horizontal bar's row: its label's type and some air
MARGINS_PX = 130  # above and below the rows of a horizontal bar chart (legend, axis)


def chart_height(presenting: bool, normal: int = 380) -> int:
    return PRESENTING_HEIGHT if presenting else normal


def rows_height(rows: int, presenting: bool, least: int) -> int:
    """A horizontal bar chart tall enough for every row's label at the mode's type size."""
    return max(least, MARGINS_PX + ROW_PX[presenting] * rows)


def big(fig: go.Figure, presenting: bool) -> go.Figure:
    """Presentation mode: large type for a meeting room's screen."""
    if presenting:
        fig.update_layout(font_size=FONT_PRESENTING, title_font_size=24, hoverlabel_font_size=18)
    return fig


def label_every_row(fig: go.Figure, categories: list[str]) -> go.Figure:
    """Horizontal bars: a label for every bar (plotly thins crowded category ticks unless
    told which to draw), the margin widened to fit the longest."""
    fig.update_yaxes(
        tickmode="array", tickvals=list(categories), ticktext=list(categories), automargin=True
    )
    return fig


def is_rate(metric: str) -> bool:
    """A share or survival point: shown in percent."""
    return catalogue.figure(metric).kind in (catalogue.SHARE, catalogue.SURVIVAL)


def actual_chart(rows: list[dict], presenting: bool, hidden_text: str) -> go.Figure:
    """Share of each target reached so far (bars) and projected at the period's end
    (diamonds). rows: the grid's rows (rates in percent, hidden figures None);
    hidden_text: what a target whose actual is withheld says."""
    if not rows:
        return empty_figure("No targets for this fiscal year yet: set one above.")
    labels = [f"{r['figure']} · {r['network']} · {r['period']}" for r in rows]
    reached = [r["reached"] for r in rows]
    texts = []
    for r in rows:
        if r["status"] == "not started":
            texts.append("not started")
        elif r["actual"] is None:
            texts.append(hidden_text)
        else:
            unit = r["unit"]
            actual = f"{r['actual']:g}%" if unit else f"{r['actual']:,.0f}"
            target = f"{r['target']:g}%" if unit else f"{r['target']:,.0f}"
            texts.append(f"{actual} of {target} ({r['reached']:.0f}%)")
    colors = [
        GOOD
        if r["status"] in ("met", "on track")
        else BAD
        if r["status"] in ("behind", "below target")
        else NEUTRAL
        for r in rows
    ]
    # A row with a projection says its text beside the diamond, past the bar's end: at the
    # bar's end the diamond would cover it.
    beside_diamond = [r["projected"] is not None for r in rows]
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=[v or 0 for v in reached],
            orientation="h",
            marker_color=colors,
            text=texts,
            texttemplate=["" if moved else "%{text}" for moved in beside_diamond],
            textposition="outside",
            cliponaxis=False,
            name="Reached so far",
            customdata=[r["status"] for r in rows],
            hovertemplate="%{y}: %{text}, %{customdata}<extra></extra>",
        )
    )
    projected = [
        (label, r["projected"], text)
        for label, r, text in zip(labels, rows, texts, strict=True)
        if r["projected"] is not None
    ]
    if projected:
        fig.add_trace(
            go.Scatter(
                y=[p[0] for p in projected],
                x=[p[1] for p in projected],
                mode="markers+text",
                text=[p[2] for p in projected],
                textposition="middle right",
                cliponaxis=False,
                name="Projected at period end",
                marker=dict(symbol="diamond", size=14, color="#000000"),
                hovertemplate="%{y}: projected %{x:.0f}% of target<extra></extra>",
            )
        )
    fig.add_vline(
        x=100,
        line_dash="dash",
        line_color="#555",
        layer="below",
        annotation_text="target",
        annotation_position="top",
    )
    top = max([v or 0 for v in reached] + [p[1] for p in projected] + [100])
    fig.update_xaxes(range=[0, top * 1.6], ticksuffix="%", title="share of target")
    label_every_row(fig, labels)
    fig.update_yaxes(autorange="reversed")
    row = 64 if presenting else 44
    height = max(300 if presenting else 260, 150 + row * len(rows))
    styled(fig, height=height)
    # The legend above the line's "target" label, not on it: a line of type higher.
    top_margin, label_px = (90, 30) if presenting else (70, 22)
    plot_px = height - top_margin - 40
    fig.update_layout(margin_t=top_margin, legend_y=1 + label_px / plot_px)
    return big(fig, presenting)


def year_on_year(
    metric: str, ticks: list[str], series: dict[str, list], total: str, presenting: bool
) -> go.Figure:
    """One figure over fiscal years: a bar per network, a dotted line for `total` (the
    combined column). series: column -> the gated value of each tick (None: hidden)."""
    rate = is_rate(metric)
    fig = go.Figure()
    for index, (column, values) in enumerate(series.items()):
        ys = [None if v is None else (v * 100 if rate else v) for v in values]
        texts = [catalogue.format_value(metric, v, "—") for v in values]
        if column == total:
            fig.add_trace(
                go.Scatter(
                    x=ticks,
                    y=ys,
                    name=column,
                    text=texts,
                    mode="lines+markers+text",
                    textposition="top center",
                    line=dict(color=color_for("All"), width=3, dash="dot"),
                )
            )
        else:
            fig.add_trace(
                go.Bar(
                    x=ticks,
                    y=ys,
                    name=column,
                    text=texts,
                    textposition="outside",
                    cliponaxis=False,
                    marker_color=color_for(column, index),
                )
            )
    title = catalogue.label(metric) + (" (%)" if rate else "")
    fig.update_yaxes(title=title, rangemode="tozero")
    fig.update_layout(barmode="group")
    return big(styled(fig, height=chart_height(presenting)), presenting)


def capacity(frame: pd.DataFrame, presenting: bool) -> go.Figure:
    """Capacity use per group, one colour per network. frame: the groups to show (gated,
    with capacity_use, average_attendance and capacity), most used first."""
    if frame.empty:
        return empty_figure("No group held sessions this fiscal year.")
    fig = go.Figure()
    for index, (network, part) in enumerate(frame.groupby("network", sort=True)):
        fig.add_trace(
            go.Bar(
                y=part["group"],
                x=part["capacity_use"] * 100,
                orientation="h",
                name=network,
                marker_color=color_for(network, index),
                text=[
                    f"{a:.1f} of {int(c)} ({u:.0%})"
                    for a, c, u in zip(
                        part["average_attendance"],
                        part["capacity"],
                        part["capacity_use"],
                        strict=True,
                    )
                ],
                textposition="auto",
                insidetextanchor="end",
                cliponaxis=False,
                hovertemplate="%{y}: %{text}<extra>" + network + "</extra>",
            )
        )
    fig.add_vline(x=100, line_dash="dash", line_color="#555", layer="below")
    groups = list(frame["group"])
    fig.update_yaxes(categoryorder="array", categoryarray=groups, autorange="reversed")
    label_every_row(fig, groups)
    fig.update_xaxes(
        ticksuffix="%",
        title="average attendance / capacity",
        range=[0, max(110, float(frame["capacity_use"].max()) * 135)],
    )
    height = rows_height(len(frame), presenting, chart_height(presenting))
    return big(styled(fig, height=height), presenting)


def growth(shown: pd.DataFrame, presenting: bool) -> go.Figure:
    """Change in attendance per group. shown: group, attendance, attendance_before, change
    (gated), in the order to draw them."""
    if shown.empty:
        return empty_figure("No group's attendance changed.")
    texts = []
    for now, before, change in zip(
        shown["attendance"], shown["attendance_before"], shown["change"], strict=True
    ):
        pct = f" ({signed_percent(change / before)})" if before else ""
        texts.append(f"{before:,.0f} → {now:,.0f}{pct}")
    groups = list(shown["group"])
    fig = go.Figure(
        go.Bar(
            y=groups,
            x=shown["change"],
            orientation="h",
            marker_color=[GOOD if c > 0 else BAD if c < 0 else NEUTRAL for c in shown["change"]],
            text=texts,
            textposition="none",
            showlegend=False,
            hovertemplate="%{y}: %{x:+,} presents (%{text})<extra></extra>",
        )
    )
    # Each bar's words on the other side of zero, where its row is empty: at the end of a
    # long shrinking bar they ran into the group names.
    fig.add_trace(
        go.Scatter(
            y=groups,
            x=[0] * len(groups),
            mode="text",
            text=[
                f"{t}\u2002" if c > 0 else f"\u2002{t}"
                for t, c in zip(texts, shown["change"], strict=True)
            ],
            textposition=["middle left" if c > 0 else "middle right" for c in shown["change"]],
            cliponaxis=False,
            showlegend=False,
            hoverinfo="skip",
        )
    )
    label_every_row(fig, groups)
    fig.update_yaxes(autorange="reversed")
    reach = float(shown["change"].abs().max())
    fig.update_xaxes(title="change in attendance (presents)", range=[-reach * 1.1, reach * 1.1])
    height = rows_height(len(shown), presenting, chart_height(presenting))
    return big(styled(fig, height=height), presenting)


def weakest_retention(weakest: pd.DataFrame, colors: list[str], presenting: bool) -> go.Figure:
    """Retention at 12 weeks of the groups where it is weakest. weakest: group,
    retention_base, retention_12w (gated), weakest first; colors: one per row."""
    fig = go.Figure(
        go.Bar(
            y=list(weakest["group"]),
            x=[share * 100 for share in weakest["retention_12w"]],
            orientation="h",
            marker_color=colors,
            text=[
                f"{share:.0%} of {n} new men"
                for share, n in zip(
                    weakest["retention_12w"], weakest["retention_base"], strict=True
                )
            ],
            textposition="outside",
            cliponaxis=False,
            showlegend=False,
            hovertemplate="%{y}: %{text} still coming at 12 weeks<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, 119], ticksuffix="%", title="retention at 12 weeks")
    label_every_row(fig, list(weakest["group"]))
    fig.update_yaxes(autorange="reversed")
    return big(styled(fig, height=chart_height(presenting, 320)), presenting)
