"""What every chart shares: network colours, the empty state, a readable base layout."""

from __future__ import annotations

import plotly.graph_objects as go

# Okabe-Ito colour-blind-safe palette: Calgary blue, Edmonton orange, combined grey.
NETWORK_COLORS = {
    "Calgary": "#0072B2",
    "Edmonton": "#E69F00",
    "All": "#555555",
    "Both networks": "#555555",
}
SERIES_COLORS = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
]
FONT = dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=14)
GRAPH_CONFIG = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}


def color_for(key: str, index: int = 0) -> str:
    return NETWORK_COLORS.get(key, SERIES_COLORS[index % len(SERIES_COLORS)])


def styled(fig: go.Figure, title: str | None = None, height: int = 360) -> go.Figure:
    """The house style: readable type on a laptop and a projector, no clutter."""
    fig.update_layout(
        template="plotly_white",
        font=FONT,
        height=height,
        margin=dict(l=50, r=20, t=50 if title else 20, b=40),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        title=dict(text=title, x=0, font=dict(size=16)) if title else None,
        hoverlabel=dict(font_size=14),
    )
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
