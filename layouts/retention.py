"""Retention `/retention`: survival curves, retention at 4/12/26/52 weeks, cohorts, completion."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from charts.style import GRAPH_CONFIG

TABLE_HELP = (
    "The Kaplan–Meier estimate at each point: the share of the curve's new members still "
    "coming that many weeks after their first session."
)
COMPLETION_HELP = (
    "Enrollments in fixed-length programs (Men's Well-Being, 10 sessions) that ended in the "
    "period, and the share completed."
)
COHORT_HELP = (
    "Each row is the men whose first 'present' fell in that month (or quarter, with the "
    "quarter grain); each cell the share of them with at least one 'present' that many months "
    "(quarters) later."
)
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


def layout(scope) -> html.Div:
    return html.Div(
        [
            dcc.Location(id="retention-url", refresh="callback-nav"),
            html.H1("Retention", className="h3 mb-2"),
            html.P(
                "Who keeps coming: the period's new members (first 'present' in the period), "
                "followed to the end of the data. A man lapses at his last 'present' when no "
                "'present' follows within 8 weeks; a man still coming at the data's end is "
                "counted as followed so far (censored).",
                className="text-muted small",
            ),
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
                html.H3("Number still followed (at risk)", className="h6 mt-2"),
                dcc.Loading(html.Div(id="retention-at-risk"), delay_show=300),
                html.Div(id="retention-km-note", className="small text-muted"),
                help_text="Share of new members still coming after each week, with its 95% "
                "confidence band. Click a curve to narrow the filters to that network "
                "or group; the browser's back button undoes it.",
            ),
            section(
                "Retention at 4, 12, 26 and 52 weeks",
                dcc.Loading(retention_grid(), delay_show=300),
                html.Div(id="retention-table-note", className="small text-muted mt-1"),
                help_text=TABLE_HELP,
            ),
            section(
                "Completion of fixed-length programs",
                dcc.Loading(
                    dcc.Graph(id="retention-completion", config=GRAPH_CONFIG), delay_show=300
                ),
                html.Div(id="retention-completion-note", className="small text-muted"),
                help_text=COMPLETION_HELP,
            ),
            section(
                "Cohort retention",
                dcc.Loading(dcc.Graph(id="retention-cohorts", config=GRAPH_CONFIG), delay_show=300),
                html.Div(id="retention-cohorts-note", className="small text-muted"),
                help_text=COHORT_HELP,
            ),
        ]
    )
