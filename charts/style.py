"""What every chart shares: network colours, the empty state, a readable base layout."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

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


# Validated once per process. Assigning a template through plotly validates its hundreds of
# values again (~8 ms a figure, and update_layout's machinery ~10 ms more): half of building a
# chart. So `styled` sets it as plotly sets its own default template, copied unvalidated.
TEMPLATE = pio.templates["plotly_white"]
LEGEND = dict(orientation="h", yanchor="bottom", y=1.02, x=0)


def styled(fig: go.Figure, title: str | None = None, height: int = 360) -> go.Figure:
    """The house style: readable type on a laptop and a projector, no clutter. It replaces the
    figure's font, margin, title and hover labels; the legend keeps the builder's settings."""
    layout = fig.layout
    layout._validate = False
    layout.template = TEMPLATE
    layout._validate = True
    # Property by property: a fraction of update_layout's cost, and as validated.
    layout.font = FONT
    layout.height = height
    layout.margin = dict(l=50, r=20, t=50 if title else 20, b=40)
    layout.legend = {**layout.legend.to_plotly_json(), **LEGEND}
    layout.title = dict(text=title, x=0, font=dict(size=16)) if title else None
    layout.hoverlabel = dict(font_size=14)
    return fig


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
