"""Overview `/`: headline cards, attendance over time, and the networks side by side (for a
user who sees one network, his network's groups)."""

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
    names: list[str],
    cells: dict[str, list],
    combined: dict[str, str],
    settings=None,
    total: str = "Combined",
    by_group: bool = False,
):
    """Columns side by side (networks, or one network's groups) and their total column, one
    row per card's figure.

    cells: figure key -> one (text, why hidden or None) per column, as the gate let it out;
    combined: figure key -> the total column's text; total: its heading.
    """
    # Network colours mark networks only (a group's column is not a network).
    style = (lambda _name: None) if by_group else (lambda name: {"color": color_for(name)})
    header = html.Thead(
        html.Tr(
            [
                html.Th("Figure"),
                *[html.Th(n, style=style(n)) for n in names],
                html.Th(total),
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
    table = dbc.Table(
        [header, html.Tbody(body)],
        bordered=False,
        hover=True,
        size="sm",
        responsive=True,
        className="mb-0",
    )
    if not by_group:
        return table
    return html.Div(
        [
            table,
            html.P(
                "A man in two groups counts in each; the total counts him once.",
                className="small text-muted mt-2 mb-0",
            ),
        ]
    )


def one_network(scope) -> bool:
    """Whether this user sees one network (the table then sets his groups side by side and
    gets the page's full width); False outside a request."""
    import flask

    if not (flask.has_app_context() and "dashboard" in flask.current_app.extensions):
        return False
    from dashboard import queries
    from dashboard.service import current_service

    return scope.only_network(current_service().lookup(queries.network_names)) is not None


def layout(scope) -> html.Div:
    settings = page_settings()
    wide = one_network(scope)
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
                        lg=12 if wide else 7,
                        className="mb-3",
                    ),
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(
                                [
                                    html.H2(
                                        "Side by side", id="overview-networks-title", className="h5"
                                    ),
                                    dcc.Loading(html.Div(id="overview-networks"), delay_show=300),
                                ]
                            )
                        ),
                        lg=12 if wide else 5,
                        className="mb-3",
                    ),
                ]
            ),
        ]
    )
