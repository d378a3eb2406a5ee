"""Impact summary `/impact`: outputs and outcomes as a logic model, for a fiscal year or any
period, printable and downloadable (PDF, CSV, XLSX) exactly as shown."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html


def layout(scope) -> html.Div:
    downloads = dbc.ButtonGroup(
        [
            dbc.Button(
                "PDF",
                id="impact-pdf-button",
                color="primary",
                outline=True,
                size="sm",
                title="The summary with its charts, as a PDF",
            ),
            dbc.Button(
                "CSV",
                id="impact-csv-button",
                color="primary",
                outline=True,
                size="sm",
                title="Every figure behind the summary, as CSV",
            ),
            dbc.Button(
                "XLSX",
                id="impact-xlsx-button",
                color="primary",
                outline=True,
                size="sm",
                title="Every figure behind the summary, as an Excel workbook",
            ),
            dbc.Button(
                "Print",
                id="impact-print-button",
                color="secondary",
                outline=True,
                size="sm",
                title="Print this page (or save it as PDF from the browser)",
            ),
        ]
    )
    return html.Div(
        className="impact-page",
        children=[
            dbc.Row(
                className="align-items-end g-2 mb-2",
                children=[
                    dbc.Col(
                        [
                            html.H1("Impact summary", className="h3 mb-1"),
                            html.P(id="impact-period-text", className="mb-0 text-muted"),
                        ],
                        md=6,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Fiscal year", html_for="impact-fy", className="small mb-0"),
                            dcc.Dropdown(
                                id="impact-fy",
                                clearable=False,
                                placeholder="Other period (filter bar)",
                            ),
                        ],
                        md=2,
                        className="no-print",
                    ),
                    dbc.Col(
                        [
                            html.Div("Download", className="small text-muted"),
                            html.Div(
                                downloads,
                                role="group",
                                **{"aria-label": "Download or print the impact summary"},
                            ),
                            dcc.Loading(
                                html.Span(id="impact-download-status", className="small"),
                                delay_show=200,
                                type="dot",
                            ),
                        ],
                        md=4,
                        className="no-print text-md-end",
                    ),
                ],
            ),
            # Writes the chosen fiscal year into the address; the shell's "url" follows it.
            dcc.Location(id="impact-location", refresh="callback-nav"),
            dcc.Download(id="impact-pdf-download"),
            dcc.Download(id="impact-csv-download"),
            dcc.Download(id="impact-xlsx-download"),
            html.Span(id="impact-print-done", className="d-none"),
            dcc.Loading(html.Div(id="impact-content"), delay_show=300),
        ],
    )
