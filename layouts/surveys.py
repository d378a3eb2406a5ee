"""Surveys `/surveys`: matched baseline/later pairs per instrument — change, reliable change,
score distributions and answers per item."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from charts.style import GRAPH_CONFIG
from dashboard.catalogue import definition

DEFAULT_INSTRUMENT = "swemwbs"

INTRO = (
    "What changed for the men: each man's baseline questionnaire matched with his latest "
    "later one (mid, exit or follow-up) on the same instrument. A pair belongs to the period "
    "of its later response and to the man's home network."
)
# The figures' definitions come from the catalogue; the rest says how to read the chart.
FOREST_HELP = (
    f"{definition('mean_change')} Shown for all men, each network and each group; a bar that "
    "does not cross the line at 0 is a change unlikely to be chance."
)
RELIABLE_HELP = (
    "Jacobson–Truax reliable change: a man's change counts only when it is larger than the "
    "questionnaire's measurement error."
)
DISTRIBUTION_HELP = f"{definition('score_share')} Dashed lines mark the means."
ITEMS_HELP = f"{definition('item_share')} Baseline and later side by side."


def section(title: str, graph_id: str, help_text: str, note_id: str) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(title, className="h5"),
                html.P(help_text, className="small text-muted"),
                dcc.Loading(dcc.Graph(id=graph_id, config=GRAPH_CONFIG), delay_show=300),
                html.Div(id=note_id, className="small text-muted"),
            ]
        ),
        className="shadow-sm h-100",
    )


def layout(scope) -> html.Div:
    return html.Div(
        [
            dcc.Location(id="surveys-url", refresh="callback-nav"),
            html.H1("Surveys", className="h3 mb-2"),
            html.P(INTRO, className="text-muted small"),
            dbc.Row(
                className="g-3 align-items-end mb-2",
                children=[
                    dbc.Col(
                        [
                            dbc.Label(
                                "Instrument", html_for="surveys-instrument", className="small mb-0"
                            ),
                            dcc.Dropdown(
                                id="surveys-instrument",
                                value=DEFAULT_INSTRUMENT,
                                clearable=False,
                                searchable=False,
                            ),
                        ],
                        md=6,
                    ),
                    dbc.Col(
                        html.Div(
                            dbc.Badge(
                                "…",
                                id="surveys-pairs",
                                color="primary",
                                className="fs-6 p-2",
                                title=definition("matched_pairs"),
                            ),
                            **{"aria-live": "polite"},
                        ),
                        md="auto",
                    ),
                ],
            ),
            html.P(id="surveys-instrument-info", className="small text-muted mb-3"),
            dbc.Row(
                dbc.Col(
                    section(
                        "Mean change with its 95% confidence interval",
                        "surveys-forest",
                        FOREST_HELP,
                        "surveys-forest-note",
                    ),
                    className="mb-3",
                )
            ),
            dbc.Row(
                [
                    dbc.Col(
                        section(
                            "Reliably improved, unchanged or worse",
                            "surveys-reliable",
                            RELIABLE_HELP,
                            "surveys-reliable-note",
                        ),
                        lg=5,
                        className="mb-3",
                    ),
                    dbc.Col(
                        section(
                            "Scores at baseline and later",
                            "surveys-distribution",
                            DISTRIBUTION_HELP,
                            "surveys-distribution-note",
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                ]
            ),
            dbc.Row(
                dbc.Col(
                    section("Answers per item", "surveys-items", ITEMS_HELP, "surveys-items-note"),
                    className="mb-3",
                )
            ),
        ]
    )
