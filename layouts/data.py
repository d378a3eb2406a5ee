"""Data `/data` (coordinators and admins): import files, enter a session by hand, undo."""

from __future__ import annotations

import datetime as dt

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.importing import KINDS

# One line per kind of import (SPEC §5), in the order a new network loads them.
KIND_HELP = {
    "groups": "Groups: each group's network, name, program type and dates. Load these first.",
    "roster": "Roster: which member (by code) is enrolled in which group, from when; "
    "optional age band and communities.",
    "sessions": "Sessions (optional): session dates, lengths and cancellations.",
    "attendance": "Attendance: present, excused or absent per member and session; a session "
    "not yet recorded is created.",
    "surveys": "Surveys: one questionnaire per row (member code, date, instrument, wave, "
    "the item answers).",
}
KIND_TITLES = {
    "groups": "Groups",
    "roster": "Roster",
    "sessions": "Sessions",
    "attendance": "Attendance",
    "surveys": "Surveys",
}
OPTIONS = [
    {
        "label": " Add new members: create a member whose code is not known yet "
        "(his home network is the group's)",
        "value": "add_new_members",
    },
    {
        "label": " Enroll missing members: enroll a member marked at a group he is not "
        "enrolled in (from his first date in the file)",
        "value": "enroll_missing",
    },
]
MARKS = [
    {"label": "Present", "value": "present"},
    {"label": "Excused", "value": "excused"},
    {"label": "Absent", "value": "absent"},
]
# Background and text colours of problem rows: Bootstrap's danger and warning "subtle" pair,
# so an error reads red and a warning amber; the Severity column says it in words too.
ERROR_STYLE = {"backgroundColor": "#f8d7da", "color": "#58151c"}
WARNING_STYLE = {"backgroundColor": "#fff3cd", "color": "#664d03"}
PROBLEM_COLUMNS = [
    {"field": "severity", "headerName": "Severity", "maxWidth": 110},
    {"field": "row", "headerName": "Row", "maxWidth": 90, "type": "rightAligned"},
    {"field": "column", "headerName": "Column", "maxWidth": 160},
    {"field": "value", "headerName": "Value", "maxWidth": 200},
    {"field": "message", "headerName": "Problem", "minWidth": 280, "flex": 2},
    {"field": "fix", "headerName": "How to fix it", "minWidth": 260, "flex": 2},
]
HISTORY_COLUMNS = [
    {"field": "id", "headerName": "Batch", "maxWidth": 95, "type": "rightAligned"},
    {"field": "at", "headerName": "When (UTC)", "minWidth": 170},
    {"field": "username", "headerName": "By", "maxWidth": 150},
    {"field": "kind", "headerName": "Kind", "maxWidth": 120},
    {"field": "filename", "headerName": "File", "minWidth": 200, "flex": 2},
    {"field": "networks", "headerName": "Networks", "maxWidth": 170},
    {"field": "rows_added", "headerName": "Added", "maxWidth": 100, "type": "rightAligned"},
    {"field": "rows_updated", "headerName": "Updated", "maxWidth": 110, "type": "rightAligned"},
    {"field": "state", "headerName": "State", "minWidth": 200},
]


def problem_grid(grid_id: str, rows: list[dict]) -> dag.AgGrid:
    """Problems of a file: errors red, warnings amber, with row, column, value and fix."""
    return dag.AgGrid(
        id=grid_id,
        columnDefs=PROBLEM_COLUMNS,
        rowData=rows,
        defaultColDef={
            "sortable": True,
            "resizable": True,
            "wrapText": True,
            "autoHeight": True,
            "flex": 1,
            "minWidth": 80,
        },
        getRowStyle={
            "styleConditions": [
                {"condition": "params.data.severity === 'Error'", "style": ERROR_STYLE},
                {"condition": "params.data.severity === 'Warning'", "style": WARNING_STYLE},
            ]
        },
        dashGridOptions={
            "domLayout": "autoHeight",
            "pagination": len(rows) > 25,
            "paginationPageSize": 25,
            "paginationPageSizeSelector": False,
        },
        className="ag-theme-quartz",
        style={"width": "100%"},
    )


def preview_grid(grid_id: str, rows: list[dict]) -> dag.AgGrid:
    """The first rows of a file as the importer read them."""
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    columns = [{"field": k, "headerName": "Row" if k == "row" else k} for k in keys]
    if columns:
        columns[0].update(pinned="left", maxWidth=80)
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        rowData=rows,
        defaultColDef={"sortable": True, "resizable": True, "minWidth": 110, "flex": 1},
        dashGridOptions={"domLayout": "autoHeight"},
        className="ag-theme-quartz",
        style={"width": "100%"},
    )


def upload_prompt(filename: str | None) -> html.Div:
    """What the drop zone says: the invitation, or the file being checked."""
    hint = "CSV or .xlsx, up to 10 MB"
    if filename:
        return html.Div(
            [
                html.Span("File: "),
                html.Strong(filename, id="data-upload-name"),
                html.Div(
                    f"Drop or choose another file to replace it ({hint})",
                    className="small text-muted",
                ),
            ]
        )
    return html.Div(
        [
            html.Span("Drag a file here or "),
            html.Span("choose one", className="fw-semibold text-primary text-decoration-underline"),
            html.Div(hint, className="small text-muted"),
        ]
    )


def step(number: int, title: str) -> html.H3:
    return html.H3(f"{number}. {title}", className="h6 fw-semibold mt-3")


def import_card(scope) -> dbc.Card:
    reach = (
        "every network"
        if scope.networks is None
        else (" and ".join(scope.networks) if scope.networks else "no network yet (ask an admin)")
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Import a file", className="h5"),
                html.P(
                    [
                        "CSV or Excel (.xlsx). A file is checked first and imported whole or "
                        "not at all; importing the same file twice changes nothing. "
                        f"You can import for {reach}.",
                    ],
                    className="small text-muted",
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                step(1, "What does the file hold?"),
                                dbc.RadioItems(
                                    id="data-kind",
                                    options=[{"label": KIND_HELP[k], "value": k} for k in KINDS],
                                    value="attendance",
                                    className="small",
                                ),
                                html.Div(id="data-kind-columns", className="small mt-2"),
                                dbc.Button(
                                    "Download the template",
                                    id="data-template-button",
                                    color="secondary",
                                    outline=True,
                                    size="sm",
                                    className="mt-2",
                                ),
                                dcc.Download(id="data-template-download"),
                            ],
                            lg=6,
                        ),
                        dbc.Col(
                            [
                                step(2, "Choose the file"),
                                dcc.Upload(
                                    id="data-upload",
                                    children=upload_prompt(None),
                                    className="data-upload border border-2 rounded-3 p-4 "
                                    "text-center bg-light",
                                    style={"borderStyle": "dashed", "cursor": "pointer"},
                                    multiple=False,
                                ),
                                dbc.Label(
                                    "Options (attendance files)",
                                    html_for="data-options",
                                    className="small fw-semibold mt-3 mb-1",
                                ),
                                dbc.Checklist(
                                    id="data-options", options=OPTIONS, value=[], className="small"
                                ),
                            ],
                            lg=6,
                        ),
                    ]
                ),
                step(3, "Check"),
                dcc.Loading(
                    html.Div(
                        id="data-check",
                        children=html.P(
                            "Choose a file: it is checked at once, and nothing is written "
                            "until you confirm.",
                            className="small text-muted",
                        ),
                        **{"aria-live": "polite"},
                    ),
                    delay_show=300,
                ),
                dbc.Button(
                    "Download this report (CSV)",
                    id="data-report-button",
                    color="link",
                    size="sm",
                    className="px-0",
                    style={"display": "none"},
                ),
                dcc.Download(id="data-report-download"),
                html.Div(id="data-preview", className="mt-2"),
                step(4, "Import"),
                dbc.Button(
                    "Import this file",
                    id="data-confirm",
                    color="primary",
                    disabled=True,
                ),
                html.Span(
                    " Enabled when the check finds no errors.",
                    className="small text-muted ms-2",
                ),
                dcc.Loading(
                    html.Div(id="data-result", className="mt-3", **{"aria-live": "polite"}),
                    delay_show=300,
                ),
            ]
        ),
        className="mb-3 shadow-sm",
    )


def entry_card() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Enter a session by hand", className="h5"),
                html.P(
                    "Pick a group and the session's date: the men enrolled on that day appear. "
                    "Saving checks and records the marks exactly as an attendance file would "
                    "(it shows in the import history and can be undone).",
                    className="small text-muted",
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label("Group", html_for="data-entry-group", className="small"),
                                dcc.Dropdown(
                                    id="data-entry-group",
                                    options=[],
                                    placeholder="Choose a group",
                                    clearable=False,
                                ),
                            ],
                            md=6,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Date", html_for="data-entry-date", className="small"),
                                dcc.DatePickerSingle(
                                    id="data-entry-date",
                                    date=dt.date.today().isoformat(),
                                    max_date_allowed=dt.date.today().isoformat(),
                                    display_format="YYYY-MM-DD",
                                    first_day_of_week=1,
                                    className="d-block",
                                ),
                            ],
                            md=3,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(
                                    "Length (minutes)",
                                    html_for="data-entry-minutes",
                                    className="small",
                                ),
                                dbc.Input(
                                    id="data-entry-minutes",
                                    type="number",
                                    min=1,
                                    max=600,
                                    step=1,
                                    placeholder="usual",
                                ),
                            ],
                            md=3,
                        ),
                    ],
                    className="g-2 align-items-end",
                ),
                dcc.Loading(html.Div(id="data-entry-roster", className="mt-3"), delay_show=300),
                dbc.Button(
                    "Mark everyone present",
                    id="data-entry-all-present",
                    color="secondary",
                    outline=True,
                    size="sm",
                    className="me-2",
                ),
                dbc.Button("Save attendance", id="data-entry-save", color="primary", disabled=True),
                html.Div(id="data-entry-result", className="mt-3", **{"aria-live": "polite"}),
            ]
        ),
        className="mb-3 shadow-sm",
    )


def history_card() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Import history", className="h5"),
                html.P(
                    "The latest imports you may see, newest first. Undo removes what an "
                    "import added and restores what it changed; it is refused while a later "
                    "import uses the same rows (undo that one first). Click a row to pick it.",
                    className="small text-muted",
                ),
                dag.AgGrid(
                    id="data-history",
                    columnDefs=HISTORY_COLUMNS,
                    rowData=[],
                    defaultColDef={"sortable": True, "resizable": True, "flex": 1},
                    dashGridOptions={
                        "rowSelection": {
                            "mode": "singleRow",
                            "checkboxes": False,
                            "enableClickSelection": True,
                        },
                        "localeText": {"noRowsToShow": "No imports yet"},
                        "domLayout": "autoHeight",
                        "pagination": True,
                        "paginationPageSize": 10,
                        "paginationPageSizeSelector": False,
                    },
                    getRowId="params.data.id + ''",
                    className="ag-theme-quartz",
                    style={"width": "100%"},
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label("Batch", html_for="data-undo-id", className="small"),
                                dbc.Input(
                                    id="data-undo-id",
                                    type="number",
                                    min=1,
                                    step=1,
                                    placeholder="e.g. 12",
                                ),
                            ],
                            width="auto",
                        ),
                        dbc.Col(
                            dbc.Button(
                                "Undo this import",
                                id="data-undo-button",
                                color="danger",
                                outline=True,
                            ),
                            width="auto",
                        ),
                    ],
                    className="g-2 align-items-end mt-2",
                ),
                dcc.ConfirmDialog(id="data-undo-confirm"),
                html.Div(id="data-undo-result", className="mt-3", **{"aria-live": "polite"}),
            ]
        ),
        className="mb-3 shadow-sm",
    )


def layout(scope) -> html.Div:
    return html.Div(
        [
            html.H1("Data", className="h3 mb-1"),
            html.P(
                "Load files in this order: groups, roster, sessions (optional), attendance, "
                "surveys. Files hold member codes only, never names.",
                className="text-muted",
            ),
            import_card(scope),
            entry_card(),
            history_card(),
        ]
    )
