"""Overview `/`: headline cards, attendance over time, Calgary and Edmonton side by side."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from charts.style import GRAPH_CONFIG

CARDS = [
    ("sessions_held", "Sessions held", "Sessions in the period, not cancelled."),
    ("men_reached", "Men reached", "Distinct men with at least one 'present' in the period."),
    ("new_members", "New members", "Men reached whose first ever 'present' is in the period."),
    (
        "attendance_hours",
        "Attendance-hours",
        "Sum over every 'present' of the session's length, in hours.",
    ),
    ("average_attendance", "Average attendance", "Attendance (presents) / sessions held."),
    (
        "active_members",
        "Active members",
        "Men with a 'present' in the 8 weeks up to the period's last day.",
    ),
    (
        "retention_12w",
        "Retention at 12 weeks",
        "Kaplan-Meier estimate: share of the period's new members still coming 12 weeks on.",
    ),
    (
        "wellbeing_improved",
        "Reliably improved well-being",
        "Share of matched SWEMWBS pairs whose change is reliable (Jacobson-Truax) and upward.",
    ),
]


def card(key: str, title: str, help_text: str) -> dbc.Col:
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


def layout(scope) -> html.Div:
    return html.Div(
        [
            dcc.Location(id="overview-url", refresh="callback-nav"),
            html.H1("Overview", className="h3 mb-3"),
            dcc.Loading(dbc.Row([card(*c) for c in CARDS], id="overview-cards"), delay_show=300),
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
