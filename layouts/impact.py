"""Impact summary `/impact`: outputs and outcomes as a logic model, for a fiscal year or any
period, printable and downloadable (PDF, CSV, XLSX) exactly as shown. Its fiscal year and
quarter pickers are the page's period (the filter bar's Period is hidden here; its dates
follow them).

A funder's page holds his published releases only (SPEC §4): no filters, no free periods.
Leadership and admins also get the Releases section, to prepare and publish them.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.models import PROGRAM_TYPES
from dashboard.wording import program_label

PREPARERS = ("leadership", "admin")  # as dashboard.releases.PREPARERS
WHOLE_YEAR = "year"
QUARTER_OPTIONS = [
    {"label": "Whole year", "value": WHOLE_YEAR},
    {"label": "Q1 (Apr–Jun)", "value": "Q1"},
    {"label": "Q2 (Jul–Sep)", "value": "Q2"},
    {"label": "Q3 (Oct–Dec)", "value": "Q3"},
    {"label": "Q4 (Jan–Mar)", "value": "Q4"},
]


def download_buttons(prefix: str) -> dbc.ButtonGroup:
    """PDF, CSV, XLSX and Print; ids `{prefix}-pdf-button` etc. (Print is shared)."""
    return dbc.ButtonGroup(
        [
            dbc.Button(
                "PDF",
                id=f"{prefix}-pdf-button",
                color="primary",
                outline=True,
                size="sm",
                title="The summary with its charts, as a PDF",
            ),
            dbc.Button(
                "CSV",
                id=f"{prefix}-csv-button",
                color="primary",
                outline=True,
                size="sm",
                title="Every figure behind the summary, as CSV",
            ),
            dbc.Button(
                "XLSX",
                id=f"{prefix}-xlsx-button",
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


def layout(scope) -> html.Div:
    if scope.role == "funder":
        return funder_layout()
    return html.Div(
        className="impact-page",
        children=[
            header_row(
                period_id="impact-period-text",
                picker=("Fiscal year", "impact-fy", "Other dates (filter bar)"),
                prefix="impact",
                what="the impact summary",
                title_width=5,
                picker_width=3,
                quarter=True,
            ),
            # Writes the chosen fiscal year into the address; the shell's "url" follows it.
            dcc.Location(id="impact-location", refresh="callback-nav"),
            dcc.Download(id="impact-pdf-download"),
            dcc.Download(id="impact-csv-download"),
            dcc.Download(id="impact-xlsx-download"),
            html.Span(id="impact-print-done", className="d-none"),
            dcc.Loading(html.Div(id="impact-content"), delay_show=300),
            *([releases_section()] if scope.role in PREPARERS else []),
        ],
    )


def header_row(
    period_id: str,
    picker: tuple[str, str, str],
    prefix: str,
    what: str,
    title_width: int,
    picker_width: int,
    quarter: bool = False,
) -> dbc.Row:
    """The title with its period line, a picker (label, id, placeholder), with `quarter` a
    quarter picker beside it, and the download buttons of `prefix`: the live summary's and
    the funder's release page share it."""
    label, picker_id, placeholder = picker
    pickers = [
        dbc.Label(label, html_for=picker_id, className="small mb-0"),
        dcc.Dropdown(id=picker_id, clearable=False, placeholder=placeholder),
    ]
    if quarter:
        pickers = [
            dbc.Row(
                className="g-1",
                children=[
                    dbc.Col(pickers, xs=7),
                    dbc.Col(
                        [
                            dbc.Label("Quarter", html_for="impact-quarter", className="small mb-0"),
                            dcc.Dropdown(
                                id="impact-quarter",
                                options=QUARTER_OPTIONS,
                                clearable=False,
                                placeholder="—",
                            ),
                        ],
                        xs=5,
                    ),
                ],
            )
        ]
    return dbc.Row(
        className="align-items-end g-2 mb-2",
        children=[
            dbc.Col(
                [
                    html.H1("Impact summary", className="h3 mb-1"),
                    html.P(id=period_id, className="mb-0 text-muted"),
                ],
                md=title_width,
            ),
            dbc.Col(pickers, md=picker_width, className="no-print"),
            dbc.Col(
                [
                    html.Div("Download", className="small text-muted"),
                    html.Div(
                        download_buttons(prefix),
                        role="group",
                        **{"aria-label": f"Download or print {what}"},
                    ),
                    dcc.Loading(
                        html.Span(id=f"{prefix}-download-status", className="small"),
                        delay_show=200,
                        type="dot",
                    ),
                    # Filled while a file is prepared (the download callback's `running`).
                    html.Div(
                        id=f"{prefix}-download-progress",
                        className="small text-muted",
                        role="status",
                    ),
                ],
                md=4,
                className="no-print text-md-end",
            ),
        ],
    )


def funder_layout() -> html.Div:
    """The published releases: pick one (latest first), read it, download or print it."""
    return html.Div(
        className="impact-page impact-funder-page",
        children=[
            header_row(
                period_id="impact-release-period",
                picker=("Release", "impact-release", "No release published yet"),
                prefix="impact-release",
                what="this release",
                title_width=5,
                picker_width=3,
            ),
            dcc.Store(id="impact-release-ready", data=True),
            dcc.Download(id="impact-release-pdf-download"),
            dcc.Download(id="impact-release-csv-download"),
            dcc.Download(id="impact-release-xlsx-download"),
            html.Span(id="impact-print-done", className="d-none"),
            html.Div(id="impact-release-note"),
            dcc.Loading(html.Div(id="impact-release-content"), delay_show=300),
        ],
    )


def releases_section() -> html.Section:
    """Prepare a release for funders, see it exactly as they will, publish it."""
    return html.Section(
        className="mt-5 pt-3 border-top no-print impact-releases",
        children=[
            html.H2("Releases for funders", className="h4"),
            html.P(
                "Funders see published releases only: the summary of one fiscal year or "
                "quarter, every network and combined, with protected counts. Preparing one "
                "freezes today's figures as a draft; publishing it shows it to funders, and "
                "a new release of the same period supersedes the old one (both are kept).",
                className="small text-muted",
            ),
            dcc.Store(id="impact-rel-ready", data=True),
            dbc.Row(
                className="align-items-end g-2 mb-2",
                children=[
                    dbc.Col(
                        [
                            dbc.Label(
                                "Fiscal year or quarter",
                                html_for="impact-rel-period",
                                className="small mb-0",
                            ),
                            dcc.Dropdown(id="impact-rel-period", clearable=False),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        [
                            dbc.Label(
                                "Program types",
                                html_for="impact-rel-programs",
                                className="small mb-0",
                            ),
                            dcc.Dropdown(
                                id="impact-rel-programs",
                                options=[
                                    {"label": program_label(p), "value": p} for p in PROGRAM_TYPES
                                ],
                                multi=True,
                                placeholder="All",
                            ),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        dbc.Button("Prepare draft", id="impact-rel-prepare", color="primary"),
                        md="auto",
                    ),
                ],
            ),
            dbc.Row(
                className="align-items-end g-2 mb-2",
                children=[
                    dbc.Col(
                        [
                            dbc.Label(
                                "Release", html_for="impact-rel-pick", className="small mb-0"
                            ),
                            dcc.Dropdown(id="impact-rel-pick", placeholder="Choose a release"),
                        ],
                        md=6,
                    ),
                    dbc.Col(
                        dbc.Button(
                            "Publish this draft",
                            id="impact-rel-publish",
                            color="success",
                            outline=True,
                        ),
                        md="auto",
                    ),
                ],
            ),
            dcc.Loading(html.Div(id="impact-rel-status", role="status", className="small mb-2")),
            dcc.Loading(html.Div(id="impact-rel-preview"), delay_show=300),
        ],
    )
