"""The impact summary's charts: pure builders from the summary's figures (already through the
privacy gate, dashboard/report_compute.py) to plotly figures. No data access, no Dash: the
/impact page shows them and the PDF writer (dashboard/report_write.py, the one module of
dashboard/ that imports charts/) embeds them as images."""

from __future__ import annotations

import plotly.graph_objects as go

from charts.style import color_for, styled, subplots
from dashboard import catalogue
from dashboard.report_format import COMBINED, cell, change_format, section

CURRENT_COLOR, PREVIOUS_COLOR = "#009E73", "#BBBBBB"  # Okabe-Ito green and a neutral grey
IMPROVED, UNCHANGED, WORSE = "#009E73", "#BBBBBB", "#D55E00"


def network_color(column: str, index: int = 0) -> str:
    return color_for("All" if column == COMBINED else column, index)


def outputs_chart(figures: dict, height: int = 480) -> go.Figure:
    """Sessions, men reached, new members and hours: this period beside the previous one."""
    keys = ["sessions_held", "men_reached", "new_members", "attendance_hours"]
    part = section(figures, "outputs")
    labels = {x["key"]: x["label"] for x in part["figures"]}
    fig = subplots(2, 2, [labels[k] for k in keys], horizontal_spacing=0.08, vertical_spacing=0.16)
    columns = figures["columns"]
    for index, key in enumerate(keys):
        row, col = index // 2 + 1, index % 2 + 1
        for period, color, name in (
            ("previous", PREVIOUS_COLOR, figures["previous"]["label"]),
            ("current", CURRENT_COLOR, figures["period"]["label"]),
        ):
            texts = [cell(figures, "outputs", c, key, period)[0] for c in columns]
            values = [part[period].get(c, {}).get(key) for c in columns]
            fig.add_trace(
                go.Bar(
                    x=columns,
                    y=[v or 0 for v in values],
                    name=name,
                    marker_color=color,
                    text=texts,
                    textposition="outside",
                    cliponaxis=False,
                    showlegend=index == 0,
                    legendgroup=period,
                    hovertemplate=f"{name} · %{{x}}: %{{text}}<extra>{labels[key]}</extra>",
                ),
                row=row,
                col=col,
            )
        top = max(
            [
                v or 0
                for p in ("previous", "current")
                for v in (part[p].get(c, {}).get(key) for c in columns)
            ]
            + [1]
        )
        fig.update_yaxes(range=[0, top * 1.25], showticklabels=False, row=row, col=col)
    fig.update_layout(barmode="group", bargap=0.3)
    styled(fig, height=height)
    fig.update_annotations(font_size=15)
    fig.update_layout(margin=dict(t=80, b=30), legend=dict(y=1.1))
    return fig


def change_chart(figures: dict, height: int | None = None) -> go.Figure | None:
    """Mean change with its 95% CI, per instrument, network and combined: one panel per
    instrument, stacked, so each has the full width (side by side, a phone's screen
    overlapped their titles)."""
    parts = [p for p in figures["sections"] if p["instrument"]]
    if not parts:
        return None
    columns = figures["columns"]
    panel = 40 + 34 * len(columns)  # px: a row per column, room for the marks' numbers
    gap = 70  # px between panels: the next panel's title and this one's axis
    height = height or 80 + len(parts) * panel + (len(parts) - 1) * gap + 50
    fig = subplots(
        len(parts),
        1,
        [f"{p['title']}<br><sup>{p['direction']}</sup>" for p in parts],
        vertical_spacing=gap / height,
    )
    for index, part in enumerate(parts, start=1):
        for i, column in enumerate(columns):
            values = part["current"].get(column, {})
            mean = values.get("mean_change")
            text = cell(figures, part["id"], column, "mean_change")[0]
            if mean is None:
                fig.add_trace(
                    go.Scatter(
                        x=[0],
                        y=[column],
                        mode="text",
                        text=["hidden" if part["notes"]["current"].get(column) else "no pairs"],
                        textposition="middle right",
                        showlegend=False,
                        hoverinfo="skip",
                    ),
                    row=index,
                    col=1,
                )
                continue
            low, high = values.get("ci_low"), values.get("ci_high")
            error = (
                dict(
                    type="data",
                    symmetric=False,
                    array=[(high or mean) - mean],
                    arrayminus=[mean - (low if low is not None else mean)],
                    width=6,
                    thickness=2,
                )
                if low is not None
                else None
            )
            fig.add_trace(
                go.Scatter(
                    x=[mean],
                    y=[column],
                    mode="markers+text",
                    text=[change_format(figures, mean)],
                    textposition="top center",
                    error_x=error,
                    marker=dict(size=12, color=network_color(column, i)),
                    showlegend=False,
                    hovertemplate=f"{column}: {text}<extra>{part['title']}</extra>",
                ),
                row=index,
                col=1,
            )
        fig.update_yaxes(
            categoryorder="array",
            categoryarray=columns,
            range=[len(columns) - 0.5, -0.9],
            automargin=True,
            row=index,
            col=1,
        )
        fig.update_xaxes(zeroline=False, automargin=True, row=index, col=1)
    fig.update_xaxes(title_text="change in score", row=len(parts), col=1)
    # "No change" lines, one per panel (add_vline per subplot costs ten times as much).
    zero = [
        dict(
            type="line",
            x0=0,
            x1=0,
            y0=0,
            y1=1,
            xref=f"x{i if i > 1 else ''}",
            yref=f"y{i if i > 1 else ''} domain",
            line=dict(dash="dot", color="#555"),
        )
        for i in range(1, len(parts) + 1)
    ]
    fig.update_layout(shapes=zero)
    styled(fig, height=height)
    fig.update_annotations(font_size=14)
    fig.update_layout(margin=dict(t=60))
    return fig


def shares_chart(figures: dict, height: int | None = None) -> go.Figure | None:
    """Share of the pairs reliably improved, unchanged and worse, per instrument and column."""
    parts = [p for p in figures["sections"] if p["instrument"]]
    if not parts:
        return None
    rows = []
    for part in parts:
        for column in figures["columns"]:
            values = part["current"].get(column, {})
            rows.append(
                (
                    f"{part['title']} · {column}",
                    values,
                    part["notes"]["current"].get(column, {}).get("share_improved"),
                )
            )
    fig = go.Figure()
    for key, color in (
        ("share_improved", IMPROVED),
        ("share_unchanged", UNCHANGED),
        ("share_worse", WORSE),
    ):
        name = catalogue.label(key)
        xs = [(v.get(key) or 0) * 100 for _, v, _ in rows]
        fig.add_trace(
            go.Bar(
                y=[label for label, _, _ in rows],
                x=xs,
                name=name,
                orientation="h",
                marker_color=color,
                text=[f"{x:.0f}%" if x >= 6 else "" for x in xs],
                textposition="inside",
                insidetextanchor="middle",
                hovertemplate="%{y}: %{x:.0f}%<extra>" + name + "</extra>",
            )
        )
    for label, values, note in rows:
        if values.get("share_improved") is None:
            fig.add_annotation(
                x=1,
                y=label,
                xanchor="left",
                showarrow=False,
                text=f"hidden: {note}" if note else "no pairs",
            )
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    # A short title: centred under a phone's narrow bars, a long one ran off the chart.
    fig.update_xaxes(range=[0, 100], ticksuffix="%", title="% of pairs")
    # Instrument over column, on two lines: on one, a phone's screen cut them off.
    labels = [label for label, _, _ in rows]
    fig.update_yaxes(
        autorange="reversed",
        automargin=True,
        tickmode="array",
        tickvals=labels,
        ticktext=[label.replace(" · ", "<br>") for label in labels],
    )
    return styled(fig, height=height or 110 + 40 * len(rows))


def impact_charts(figures: dict) -> list[tuple[str, go.Figure]]:
    """(title, plotly figure) of every chart of the summary, in reading order."""
    charts = [
        ("Outputs, this period beside the previous one", outputs_chart(figures)),
        ("Change in scores with 95% confidence intervals", change_chart(figures)),
        ("Reliable change: share of men improved, unchanged and worse", shares_chart(figures)),
    ]
    return [(title, fig) for title, fig in charts if fig is not None]
