"""What every chart shares: network colours, the empty state, a readable base layout."""

from __future__ import annotations

import copy
from functools import lru_cache

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

# Network colours mean a network and nothing else (issue 12): Okabe-Ito Calgary blue,
# Edmonton orange, combined grey. Everything else below uses colours of its own.
NETWORK_COLORS = {
    "Calgary": "#0072B2",
    "Edmonton": "#E69F00",
    "All": "#555555",
    "Both networks": "#555555",
}
# Series that are not networks (groups, cohorts): Paul Tol's colour-blind-safe "muted" set
# without its blues and oranges, plus black, so no group line reads as a network.
SERIES_COLORS = [
    "#117733",
    "#882255",
    "#44AA99",
    "#AA4499",
    "#999933",
    "#CC6677",
    "#332288",
    "#000000",
]
# Attendance statuses, wherever they are drawn: green present, purple excused, grey absent
# (Tol bright: told apart with any colour vision; white text reads on the first two).
STATUS_COLORS = {"present": "#228833", "excused": "#AA3377", "absent": "#BBBBBB"}
# Survey items' answers below and above the scale's middle: rose and teal (Tol bright;
# dark text on both).
ITEM_COLORS = {"below": "#EE6677", "above": "#44AA99"}
# Every heatmap: one sequential scale, light to dark green (ColorBrewer Greens), read by its
# lightness, so it stays readable for every kind of colour blindness and in grey print.
SEQUENTIAL_SCALE = [[0, "#E5F5E0"], [0.5, "#41AB5D"], [1, "#00441B"]]
FONT = dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=14)
GRAPH_CONFIG = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}


def color_for(key: str, index: int = 0) -> str:
    """A network's own colour; any other series the `index`-th of SERIES_COLORS."""
    return NETWORK_COLORS.get(key, SERIES_COLORS[index % len(SERIES_COLORS)])


# Beyond this many buckets a label per month (quarter) no longer fits: plotly picks the ticks.
MAX_PERIOD_TICKS = 24


def period_ticks(fig: go.Figure, periods, grain: str) -> go.Figure:
    """A time axis of monthly (quarterly) buckets labels every bucket, the last one too
    (e.g. all twelve months of a fiscal year); weeks and long periods keep plotly's ticks."""
    starts = sorted({pd.Timestamp(p) for p in periods})
    if grain not in ("month", "quarter") or not 0 < len(starts) <= MAX_PERIOD_TICKS:
        return fig
    if grain == "month":
        text = [f"{p:%b %Y}" for p in starts]
    else:
        text = [f"Q{p.quarter} {p.year}" for p in starts]
    fig.update_xaxes(
        tickmode="array",
        tickvals=[p.date().isoformat() for p in starts],
        ticktext=text,
        automargin=True,
    )
    return fig


# Building a figure is mostly plotly checking and computing again what never changes: assigning
# a template validates its hundreds of values (~8 ms a figure), update_layout's machinery costs
# ~10 ms more, make_subplots ~12 ms. So what never changes is prepared once per process: the
# template (already validated, as plotly keeps it) and each shape of subplot grid.
TEMPLATE = pio.templates["plotly_white"]
LEGEND = dict(orientation="h", yanchor="bottom", y=1.02, x=0)


def styled(fig: go.Figure, title: str | None = None, height: int = 360) -> go.Figure:
    """The house style: readable type on a laptop and a projector, no clutter. It replaces the
    figure's font, margin, title and hover labels; the legend keeps the builder's settings."""
    layout = fig.layout
    # As plotly applies its own default template: copied, not validated again.
    layout._validate = False
    layout.template = TEMPLATE
    layout._validate = True
    # Property by property: validated as update_layout would, at a fraction of its cost.
    layout.font = FONT
    layout.height = height
    layout.margin = dict(l=50, r=20, t=50 if title else 20, b=40)
    layout.legend = {**layout.legend.to_plotly_json(), **LEGEND}
    layout.title = dict(text=title, x=0, font=dict(size=16)) if title else None
    layout.hoverlabel = dict(font_size=14)
    return fig


@lru_cache(maxsize=64)
def _grid(
    rows: int,
    cols: int,
    shared_yaxes: bool,
    horizontal_spacing: float | None,
    vertical_spacing: float | None,
) -> dict:
    """make_subplots' layout for a grid shape (its axes and its titles' places), once."""
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_yaxes=shared_yaxes,
        horizontal_spacing=horizontal_spacing,
        vertical_spacing=vertical_spacing,
        subplot_titles=["title"] * (rows * cols),
    )
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)  # styled_layout sets it
    return layout


def figure_of(data: list[dict], layout: dict) -> go.Figure:
    """A figure from traces and a layout written as plain dicts, taken as they are: plotly's
    property-by-property checks and updates cost 20-50 ms a chart, most of a cold impact
    summary's drawing. Only for builders whose output a test checks against plotly's own
    validation (tests/test_report.py, test_charts_surveys.py, test_retention_charts.py)."""
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def styled_layout(layout: dict, title: str | None = None, height: int = 360) -> dict:
    """`styled` for a layout written as a dict (figure_of): the same house style."""
    layout["template"] = _template_json()
    layout["font"] = dict(FONT)
    layout["height"] = height
    layout["margin"] = dict(l=50, r=20, t=50 if title else 20, b=40)
    layout["legend"] = {**layout.get("legend", {}), **LEGEND}
    if title:
        layout["title"] = dict(text=title, x=0, font=dict(size=16))
    else:
        layout.pop("title", None)
    layout["hoverlabel"] = dict(font=dict(size=14))
    return layout


@lru_cache(maxsize=1)
def _template_json() -> dict:
    return TEMPLATE.to_plotly_json()


def subplots_layout(
    rows: int,
    cols: int,
    titles: list[str],
    shared_yaxes: bool = False,
    horizontal_spacing: float | None = None,
    vertical_spacing: float | None = None,
) -> dict:
    """`subplots`' layout as a dict (figure_of): subplot (row, col) draws on the axes named
    `axis_suffix(row, col, cols)`."""
    layout = copy.deepcopy(_grid(rows, cols, shared_yaxes, horizontal_spacing, vertical_spacing))
    for annotation, title in zip(layout["annotations"], titles, strict=True):
        annotation["text"] = title
    return layout


def axis_suffix(row: int, col: int, cols: int) -> str:
    """The suffix of subplot (row, col)'s axes in make_subplots' grid: "", "2", "3"..."""
    number = (row - 1) * cols + col
    return "" if number == 1 else str(number)


def empty_figure(message: str, height: int = 300) -> go.Figure:
    """An explicit empty state instead of a blank axis."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font=dict(size=16, color="#555"),
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return styled(fig, height=height)


NO_SESSIONS = "No sessions match these filters"
