"""Planning `/planning` (leadership, admin): targets against actuals with a projection, year on
year trends, capacity, growing and shrinking groups, weakest retention; a presentation mode."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from charts.style import GRAPH_CONFIG
from dashboard import catalogue
from dashboard.targets import METRICS

TREND_METRICS = [
    "men_reached",
    "new_members",
    "sessions_held",
    "attendance_hours",
    "completion_rate",
    "retention_12w",
]


def figure_options(keys) -> list[dict]:
    """A dropdown of catalogue figures, by their labels."""
    return [{"label": catalogue.label(key), "value": key} for key in keys]


def graph(graph_id: str) -> dcc.Loading:
    return dcc.Loading(dcc.Graph(id=graph_id, config=GRAPH_CONFIG), delay_show=300)


def slide(title: str, help_text: str, *children, extra_class: str = "") -> html.Div:
    """One chart per screen in presentation mode (assets/app.css .presentation .slide)."""
    return html.Div(
        className=f"slide mb-3 {extra_class}".strip(),
        children=dbc.Card(
            dbc.CardBody(
                [
                    html.H2(title, className="h5"),
                    html.P(help_text, className="small text-muted"),
                    *children,
                ]
            )
        ),
    )


def target_form(scope) -> dbc.Card:
    """Set or change a target; only leadership and admin reach this page (and the server
    checks the role again when saving)."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Set a target", className="h5"),
                dbc.Row(
                    className="g-2 align-items-end",
                    children=[
                        dbc.Col(
                            [
                                dbc.Label(
                                    "Network",
                                    html_for="planning-target-network",
                                    className="small mb-0",
                                ),
                                dcc.Dropdown(id="planning-target-network", clearable=False),
                            ],
                            md=2,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(
                                    "Figure",
                                    html_for="planning-target-metric",
                                    className="small mb-0",
                                ),
                                dcc.Dropdown(
                                    id="planning-target-metric",
                                    clearable=False,
                                    value="men_reached",
                                    options=figure_options(METRICS),
                                ),
                            ],
                            md=3,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(
                                    "Period",
                                    html_for="planning-target-period",
                                    className="small mb-0",
                                ),
                                dcc.Dropdown(id="planning-target-period", clearable=False),
                            ],
                            md=2,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(
                                    "Target (rates in %)",
                                    html_for="planning-target-value",
                                    className="small mb-0",
                                ),
                                dbc.Input(
                                    id="planning-target-value", type="number", min=0, step="any"
                                ),
                            ],
                            md=2,
                        ),
                        dbc.Col(
                            [
                                dbc.Button(
                                    "Save target",
                                    id="planning-target-save",
                                    color="primary",
                                    className="me-2",
                                ),
                                dbc.Button(
                                    "Delete",
                                    id="planning-target-delete",
                                    color="danger",
                                    outline=True,
                                ),
                            ],
                            md=3,
                        ),
                    ],
                ),
                html.Div(
                    id="planning-target-message",
                    className="small mt-2",
                    role="status",
                    **{"aria-live": "polite"},
                ),
            ]
        ),
        className="mb-3 no-print planning-form",
    )


def layout(scope) -> html.Div:
    return html.Div(
        id="planning-root",
        className="planning-page",
        children=[
            dbc.Row(
                className="align-items-end g-2 mb-3",
                children=[
                    dbc.Col(
                        [
                            html.H1("Planning", className="h3 mb-1"),
                            html.P(
                                "Targets against what happened so far, and where the network is "
                                "growing, full or losing men. For a meeting room's screen: "
                                "Present, in the menu bar (one chart per screen).",
                                className="text-muted mb-0",
                            ),
                        ],
                        md=9,
                    ),
                    dbc.Col(
                        [
                            dbc.Label(
                                "Fiscal year", html_for="planning-fy", className="small mb-0"
                            ),
                            dcc.Dropdown(id="planning-fy", clearable=False),
                        ],
                        md=3,
                    ),
                ],
            ),
            dcc.Store(id="planning-version", data=0),
            target_form(scope),
            slide(
                "Actual against target",
                "Bars: share of each target reached so far; diamond: where the period ends at "
                "the current pace (counts only: actual × days in the period / days gone).",
                graph("planning-actual-chart"),
                html.Div(
                    className="planning-detail mt-2",
                    children=[
                        dag.AgGrid(
                            id="planning-targets-grid",
                            rowData=[],
                            columnSize="responsiveSizeToFit",
                            defaultColDef={"sortable": True, "resizable": True, "filter": True},
                            dashGridOptions={
                                "domLayout": "autoHeight",
                                "singleClickEdit": True,
                                "stopEditingWhenCellsLoseFocus": True,
                            },
                            csvExportParams={"fileName": "targets.csv"},
                            style={"height": None},
                        ),
                        html.P(
                            "Edit a target in the grid (click its value) or with the form above.",
                            className="small text-muted mt-1 mb-0",
                        ),
                    ],
                ),
            ),
            slide(
                "Year on year",
                "The last five fiscal years, per network.",
                dbc.Row(
                    dbc.Col(
                        [
                            dbc.Label(
                                "Figure", html_for="planning-trend-metric", className="small mb-0"
                            ),
                            dcc.Dropdown(
                                id="planning-trend-metric",
                                clearable=False,
                                value="men_reached",
                                options=figure_options(TREND_METRICS),
                            ),
                        ],
                        md=3,
                    ),
                    className="mb-2 no-print",
                ),
                graph("planning-trend"),
            ),
            slide(
                catalogue.label("capacity_use"),
                "Average attendance per session as a share of the group's "
                "capacity, this fiscal year so far.",
                graph("planning-capacity"),
                html.P(id="planning-capacity-note", className="suppressed-note mb-0"),
            ),
            slide(
                "Groups growing and shrinking",
                "Attendance (presents) this fiscal year so far against the same number of days "
                "just before: the five that grew most and the five that shrank most.",
                graph("planning-growth"),
                html.P(id="planning-growth-note", className="suppressed-note mb-0"),
            ),
            slide(
                "Where retention is weakest",
                "Groups whose new men of this fiscal year were least often still coming 12 weeks "
                "on (Kaplan-Meier), among groups with enough new men to say.",
                graph("planning-retention"),
                html.P(id="planning-retention-note", className="suppressed-note mb-0"),
            ),
        ],
    )
