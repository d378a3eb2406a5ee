"""Overview `/`: headline cards, attendance over time, Calgary and Edmonton side by side."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from charts.style import GRAPH_CONFIG, color_for
from dashboard import catalogue

# The cards, in order: catalogue figures (label, definition and format come from there).
CARDS = (
    "sessions_held",
    "men_reached",
    "new_members",
    "attendance_hours",
    "average_attendance",
    "active_members",
    "retention_12w",
    "wellbeing_improved",
)


def page_settings():
    """The running app's settings (the active window a definition names); None (the
    defaults) outside a request."""
    import flask

    if flask.has_app_context() and "dashboard" in flask.current_app.extensions:
        from dashboard.service import current_service

        return current_service().settings
    return None


def card(key: str, settings=None) -> dbc.Col:
    title, help_text = catalogue.label(key), catalogue.definition(key, settings)
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(
                        title,
                        className="card-title small text-muted mb-1",
                        id=f"overview-label-{key}",
                        title=help_text,
                    ),
                    html.Div("…", id=f"overview-value-{key}", className="fs-3 fw-semibold"),
                    html.Div("", id=f"overview-change-{key}", className="small"),
                    html.Div(help_text, className="visually-hidden"),
                ]
            ),
            className="h-100 shadow-sm",
        ),
        xs=6,
        md=3,
        className="mb-3",
    )


def networks_table(
    names: list[str], cells: dict[str, list], combined: dict[str, str], settings=None
):
    """Networks side by side and their combined column, one row per card's figure.

    cells: figure key -> one (text, why hidden or None) per network, as the gate let it out;
    combined: figure key -> the combined column's text.
    """
    header = html.Thead(
        html.Tr(
            [
                html.Th("Figure"),
                *[html.Th(n, style={"color": color_for(n)}) for n in names],
                html.Th("Combined"),
            ]
        )
    )
    body = []
    for key in CARDS:
        row = [
            html.Td(text, title=f"hidden: {why}") if why else html.Td(text)
            for text, why in cells[key]
        ]
        body.append(
            html.Tr(
                [
                    html.Th(
                        catalogue.label(key),
                        title=catalogue.definition(key, settings),
                        scope="row",
                    ),
                    *row,
                    html.Td(combined[key]),
                ]
            )
        )
    return dbc.Table(
        [header, html.Tbody(body)],
        bordered=False,
        hover=True,
        size="sm",
        responsive=True,
        className="mb-0",
    )


def layout(scope) -> html.Div:
    settings = page_settings()
    return html.Div(
        [
            dcc.Location(id="overview-url", refresh="callback-nav"),
            html.H1("Overview", className="h3 mb-3"),
            dcc.Loading(
                dbc.Row([card(key, settings) for key in CARDS], id="overview-cards"),
                delay_show=300,
            ),
            html.P(id="overview-compare-note", className="small text-muted"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(
                                [
                                    html.H2("Attendance over time", className="h5"),
                                    html.P(
                                        "Click a point to narrow the filters to that network "
                                        "and period; the browser's back button undoes it.",
                                        className="small text-muted",
                                    ),
                                    dcc.Loading(
                                        dcc.Graph(id="overview-trend", config=GRAPH_CONFIG),
                                        delay_show=300,
                                    ),
                                ]
                            )
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(
                                [
                                    html.H2("Calgary and Edmonton side by side", className="h5"),
                                    dcc.Loading(html.Div(id="overview-networks"), delay_show=300),
                                ]
                            )
                        ),
                        lg=5,
                        className="mb-3",
                    ),
                ]
            ),
        ]
    )
