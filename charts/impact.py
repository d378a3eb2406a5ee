"""The impact summary's charts: pure builders from the summary's figures (already through the
privacy gate, dashboard/report_compute.py) to plotly figures. No data access, no Dash: the
/impact page shows them and the PDF writer (dashboard/report_write.py, the one module of
dashboard/ that imports charts/) embeds them as images."""

from __future__ import annotations

import plotly.graph_objects as go

from charts.style import axis_suffix, color_for, figure_of, styled_layout, subplots_layout
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
    layout = subplots_layout(
        2, 2, [labels[k] for k in keys], horizontal_spacing=0.08, vertical_spacing=0.16
    )
    columns = figures["columns"]
    data = []
    for index, key in enumerate(keys):
        axes = axis_suffix(index // 2 + 1, index % 2 + 1, 2)
        for period, color, name in (
            ("previous", PREVIOUS_COLOR, figures["previous"]["label"]),
            ("current", CURRENT_COLOR, figures["period"]["label"]),
        ):
            texts = [cell(figures, "outputs", c, key, period)[0] for c in columns]
            values = [part[period].get(c, {}).get(key) for c in columns]
            data.append(
                dict(
                    type="bar",
                    x=columns,
                    y=[v or 0 for v in values],
                    name=name,
                    marker=dict(color=color),
                    text=texts,
                    textposition="outside",
                    cliponaxis=False,
                    showlegend=index == 0,
                    legendgroup=period,
                    hovertemplate=f"{name} · %{{x}}: %{{text}}<extra>{labels[key]}</extra>",
                    xaxis=f"x{axes}",
                    yaxis=f"y{axes}",
                )
            )
        top = max(
            [
                v or 0
                for p in ("previous", "current")
                for v in (part[p].get(c, {}).get(key) for c in columns)
            ]
            + [1]
        )
        layout[f"yaxis{axes}"].update(range=[0, top * 1.25], showticklabels=False)
    layout.update(barmode="group", bargap=0.3)
    styled_layout(layout, height=height)
    for annotation in layout["annotations"]:
        annotation.setdefault("font", {})["size"] = 15
    layout["margin"].update(t=80, b=30)
    layout["legend"]["y"] = 1.1
    return figure_of(data, layout)


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
    layout = subplots_layout(
        len(parts),
        1,
        [f"{p['title']}<br><sup>{p['direction']}</sup>" for p in parts],
        vertical_spacing=gap / height,
    )
    data = []
    for index, part in enumerate(parts, start=1):
        axes = axis_suffix(index, 1, 1)
        on_axes = dict(xaxis=f"x{axes}", yaxis=f"y{axes}")
        for i, column in enumerate(columns):
            values = part["current"].get(column, {})
            mean = values.get("mean_change")
            text = cell(figures, part["id"], column, "mean_change")[0]
            if mean is None:
                hidden = part["notes"]["current"].get(column)
                data.append(
                    dict(
                        type="scatter",
                        x=[0],
                        y=[column],
                        mode="text",
                        text=["hidden" if hidden else "no pairs"],
                        textposition="middle right",
                        showlegend=False,
                        hoverinfo="skip",
                        **on_axes,
                    )
                )
                continue
            low, high = values.get("ci_low"), values.get("ci_high")
            mark = dict(
                type="scatter",
                x=[mean],
                y=[column],
                mode="markers+text",
                text=[change_format(figures, mean)],
                textposition="top center",
                marker=dict(size=12, color=network_color(column, i)),
                showlegend=False,
                hovertemplate=f"{column}: {text}<extra>{part['title']}</extra>",
                **on_axes,
            )
            if low is not None:
                mark["error_x"] = dict(
                    type="data",
                    symmetric=False,
                    array=[(high or mean) - mean],
                    arrayminus=[mean - low],
                    width=6,
                    thickness=2,
                )
            data.append(mark)
        layout[f"yaxis{axes}"].update(
            categoryorder="array",
            categoryarray=columns,
            range=[len(columns) - 0.5, -0.9],
            automargin=True,
        )
        layout[f"xaxis{axes}"].update(zeroline=False, automargin=True)
    layout[f"xaxis{axis_suffix(len(parts), 1, 1)}"]["title"] = dict(text="change in score")
    # "No change" lines, one per panel.
    layout["shapes"] = [
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
    styled_layout(layout, height=height)
    for annotation in layout["annotations"]:
        annotation.setdefault("font", {})["size"] = 14
    layout["margin"]["t"] = 60
    return figure_of(data, layout)


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
    labels = [label for label, _, _ in rows]
    data = []
    for key, color in (
        ("share_improved", IMPROVED),
        ("share_unchanged", UNCHANGED),
        ("share_worse", WORSE),
    ):
        name = catalogue.label(key)
        xs = [(v.get(key) or 0) * 100 for _, v, _ in rows]
        data.append(
            dict(
                type="bar",
                y=labels,
                x=xs,
                name=name,
                orientation="h",
                marker=dict(color=color),
                text=[f"{x:.0f}%" if x >= 6 else "" for x in xs],
                textposition="inside",
                insidetextanchor="middle",
                hovertemplate="%{y}: %{x:.0f}%<extra>" + name + "</extra>",
            )
        )
    notes = [
        dict(
            x=1,
            y=label,
            xanchor="left",
            showarrow=False,
            text=f"hidden: {note}" if note else "no pairs",
        )
        for label, values, note in rows
        if values.get("share_improved") is None
    ]
    layout = dict(
        barmode="stack",
        legend=dict(traceorder="normal"),
        # A short title: centred under a phone's narrow bars, a long one ran off the chart.
        xaxis=dict(range=[0, 100], ticksuffix="%", title=dict(text="% of pairs")),
        # Instrument over column, on two lines: on one, a phone's screen cut them off.
        yaxis=dict(
            autorange="reversed",
            automargin=True,
            tickmode="array",
            tickvals=labels,
            ticktext=[label.replace(" · ", "<br>") for label in labels],
        ),
    )
    if notes:
        layout["annotations"] = notes
    styled_layout(layout, height=height or 110 + 40 * len(rows))
    return figure_of(data, layout)


def impact_charts(figures: dict) -> list[tuple[str, go.Figure]]:
    """(title, plotly figure) of every chart of the summary, in reading order."""
    charts = [
        ("Outputs, this period beside the previous one", outputs_chart(figures)),
        ("Change in scores with 95% confidence intervals", change_chart(figures)),
        ("Reliable change: share of men improved, unchanged and worse", shares_chart(figures)),
    ]
    return [(title, fig) for title, fig in charts if fig is not None]
