"""Retention `/retention`: survival curves, retention at 4/12/26/52 weeks, cohorts, completion."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import flask
from dash import dcc, html

from charts.style import GRAPH_CONFIG
from dashboard import catalogue
from dashboard.service import current_service

BY_OPTIONS = [{"label": "By network", "value": "network"}, {"label": "By group", "value": "group"}]


def section(
    title: str, *children, help_text: str | None = None, class_name: str = "mb-3 shadow-sm"
) -> dbc.Card:
    body = [html.H2(title, className="h5")]
    if help_text:
        body.append(html.P(help_text, className="small text-muted"))
    return dbc.Card(dbc.CardBody([*body, *children]), className=class_name)


def retention_grid() -> html.Div:
    return html.Div(
        [
            dag.AgGrid(
                id="retention-table",
                rowData=[],
                columnDefs=[],
                defaultColDef={"sortable": True, "resizable": True, "flex": 1, "minWidth": 150},
                dashGridOptions={"domLayout": "autoHeight"},
                csvExportParams={"fileName": "retention.csv"},
                className="ag-theme-alpine",
            ),
            dbc.Button(
                "Download CSV",
                id="retention-table-export",
                color="secondary",
                outline=True,
                size="sm",
                className="mt-2",
            ),
        ]
    )


def page_settings():
    """The running app's settings; None outside the app (the catalogue's defaults)."""
    return current_service().settings if flask.has_app_context() else None


def help_texts(settings=None) -> dict[str, str]:
    """The page's help texts, from the catalogue's definitions (windows and shares filled in
    from the settings)."""

    def define(key: str) -> str:
        return catalogue.definition(key, settings)

    return {
        "intro": f"Who keeps coming. {define('retention_base')} {define('survival_curve')}",
        "km": "Click a curve to narrow the filters to that network or group; the browser's "
        "back button undoes it.",
        "at_risk": define("at_risk_number"),
        "table": "The curves above read at 4, 12, 26 and 52 weeks (hover a column's header "
        "for its definition).",
        "completion": f"{define('completion_enrolments')} {define('completion_rate')}",
        "cohorts": f"Rows: {define('cohort_size')} Cells: {define('cohort_share')} A faded "
        "cell marked 'so far' is the month (quarter) the data end in: it is not over yet.",
    }


def layout(scope) -> html.Div:
    text = help_texts(page_settings())
    return html.Div(
        [
            dcc.Location(id="retention-url", refresh="callback-nav"),
            html.H1("Retention", className="h3 mb-2"),
            html.P(text["intro"], className="text-muted small"),
            dbc.Row(
                className="g-2 align-items-center mb-2",
                children=[
                    dbc.Col(
                        dbc.Label("Curves", html_for="retention-by", className="mb-0 me-2"),
                        width="auto",
                    ),
                    dbc.Col(
                        dbc.RadioItems(
                            id="retention-by", options=BY_OPTIONS, value="network", inline=True
                        ),
                        width="auto",
                    ),
                ],
            ),
            section(
                "How long new members keep coming (Kaplan–Meier)",
                html.P(
                    id="retention-logrank", className="fw-semibold mb-1", **{"aria-live": "polite"}
                ),
                dcc.Loading(dcc.Graph(id="retention-km", config=GRAPH_CONFIG), delay_show=300),
                html.H3(
                    catalogue.label("at_risk_number"),
                    title=text["at_risk"],
                    className="h6 mt-2",
                ),
                dcc.Loading(html.Div(id="retention-at-risk"), delay_show=300),
                html.Div(id="retention-km-note", className="small text-muted"),
                help_text=text["km"],
            ),
            section(
                "Retention at 4, 12, 26 and 52 weeks",
                dcc.Loading(retention_grid(), delay_show=300),
                html.Div(id="retention-table-note", className="small text-muted mt-1"),
                help_text=text["table"],
            ),
            section(
                "Completion of fixed-length programs",
                dcc.Loading(
                    dcc.Graph(id="retention-completion", config=GRAPH_CONFIG), delay_show=300
                ),
                html.Div(id="retention-completion-note", className="small text-muted"),
                help_text=text["completion"],
            ),
            section(
                "Cohort retention",
                dcc.Loading(dcc.Graph(id="retention-cohorts", config=GRAPH_CONFIG), delay_show=300),
                html.Div(id="retention-cohorts-note", className="small text-muted"),
                help_text=text["cohorts"],
            ),
        ]
    )
