"""Admin `/admin`: the users (create, change, deactivate, reset a password), the networks (add,
rename) and the audit log.

Components only; callbacks/admin.py fills them. Every id starts with "admin-".
"""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.models import ROLES
from dashboard.users import MIN_PASSWORD_LENGTH

ROLE_HELP = {
    "coordinator": "Coordinator: every page for their network(s), exact figures, member lists",
    "leadership": "Leadership: every aggregate page, all networks, small cells hidden",
    "funder": "Funder: overview and impact summary only, small cells hidden",
    "admin": "Admin: everything, including this page",
}
ROLE_OPTIONS = [
    {"label": ROLE_HELP[r].split(":")[0], "value": r, "title": ROLE_HELP[r]} for r in ROLES
]

USER_COLUMNS = [
    {"field": "username", "headerName": "Username", "minWidth": 160},
    {"field": "role", "headerName": "Role", "maxWidth": 150},
    {
        "field": "networks",
        "headerName": "Networks",
        "headerTooltip": "A coordinator's networks; other roles see every network.",
    },
    {"field": "status", "headerName": "Active", "maxWidth": 130},
    {"field": "last_sign_in", "headerName": "Last sign-in (UTC)", "minWidth": 160},
]
AUDIT_COLUMNS = [
    {"field": "at", "headerName": "When (UTC)", "minWidth": 170, "maxWidth": 190, "sort": "desc"},
    {"field": "user", "headerName": "User", "maxWidth": 170},
    {"field": "action", "headerName": "Action", "maxWidth": 170},
    {
        "field": "detail",
        "headerName": "Detail",
        "minWidth": 280,
        "flex": 3,
        "tooltipField": "detail",
    },
    {"field": "address", "headerName": "Address", "maxWidth": 150},
]


def grid(grid_id: str, columns: list[dict], file_name: str, empty: str, **options):
    """A sortable, filterable grid with a CSV export (wired by the page's callbacks)."""
    height = options.pop("height", None)
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        rowData=[],
        defaultColDef={
            "sortable": True,
            "resizable": True,
            "filter": True,
            "flex": 1,
            "minWidth": 100,
        },
        dashGridOptions={
            "localeText": {"noRowsToShow": empty},
            "tooltipShowDelay": 300,
            **({} if height else {"domLayout": "autoHeight"}),
            **options,
        },
        csvExportParams={"fileName": file_name},
        style={"height": f"{height}px" if height else None, "width": "100%"},
    )


def heading(title: str, *controls) -> html.Div:
    """A card's title with its controls on the right."""
    return html.Div(
        [html.H2(title, className="h5 mb-0 me-auto"), *controls],
        className="d-flex align-items-center flex-wrap gap-2 mb-2",
    )


def csv_button(button_id: str) -> dbc.Button:
    return dbc.Button("Download CSV", id=button_id, color="secondary", outline=True, size="sm")


def field(label: str, control, help_text: str | None = None) -> html.Div:
    """A control with its label (keyboard and screen-reader friendly) and an optional hint."""
    return html.Div(
        [
            dbc.Label(label, html_for=control.id, className="mb-1"),
            control,
            dbc.FormText(help_text) if help_text else None,
        ],
        className="mb-2",
    )


def role_dropdown(control_id: str, value: str | None = None) -> dcc.Dropdown:
    return dcc.Dropdown(
        id=control_id,
        options=ROLE_OPTIONS,
        value=value,
        clearable=False,
        placeholder="Choose a role",
    )


def networks_dropdown(control_id: str) -> dcc.Dropdown:
    return dcc.Dropdown(id=control_id, options=[], multi=True, placeholder="Choose the network(s)")


def password_input(control_id: str) -> dbc.Input:
    return dbc.Input(
        id=control_id,
        type="password",
        autocomplete="new-password",
        minLength=MIN_PASSWORD_LENGTH,
        debounce=False,
    )


def create_form() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Add a user", className="h5"),
                field(
                    "Username",
                    dbc.Input(id="admin-new-username", autocomplete="off", maxLength=60),
                    "Letters, digits, '.', '_', '@' or '-'.",
                ),
                field("Role", role_dropdown("admin-new-role", "coordinator")),
                field(
                    "Networks",
                    networks_dropdown("admin-new-networks"),
                    "A coordinator sees only these networks; other roles see all.",
                ),
                field(
                    "Initial password",
                    password_input("admin-new-password"),
                    f"At least {MIN_PASSWORD_LENGTH} characters; tell the user in person.",
                ),
                dbc.Button("Add user", id="admin-create", color="primary", className="mt-1"),
            ]
        ),
        className="h-100 shadow-sm",
    )


def edit_form() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Change a user", className="h5"),
                field(
                    "User",
                    dcc.Dropdown(
                        id="admin-edit-user",
                        options=[],
                        clearable=True,
                        placeholder="Choose a user (or click a row)",
                    ),
                ),
                html.Div(
                    id="admin-edit-status",
                    className="small text-muted mb-2",
                    **{"aria-live": "polite"},
                ),
                dbc.Row(
                    [
                        dbc.Col(field("Role", role_dropdown("admin-edit-role")), md=5),
                        dbc.Col(field("Networks", networks_dropdown("admin-edit-networks")), md=7),
                    ],
                    className="g-2",
                ),
                dbc.Button(
                    "Save role and networks",
                    id="admin-save",
                    color="primary",
                    className="me-2 mb-2",
                ),
                dbc.Button(
                    "Deactivate",
                    id="admin-deactivate",
                    color="danger",
                    outline=True,
                    className="me-2 mb-2",
                ),
                dbc.Button(
                    "Reactivate",
                    id="admin-reactivate",
                    color="success",
                    outline=True,
                    className="mb-2",
                ),
                html.Hr(className="my-2"),
                field(
                    "New password",
                    password_input("admin-edit-password"),
                    "Resetting a password, like any change here, signs the user out everywhere.",
                ),
                dbc.Button("Reset password", id="admin-reset-password", color="secondary"),
            ]
        ),
        className="h-100 shadow-sm",
    )


def users_card() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                heading("Users", csv_button("admin-users-csv")),
                grid(
                    "admin-users",
                    USER_COLUMNS,
                    "users.csv",
                    "No users yet",
                    rowSelection={
                        "mode": "singleRow",
                        "checkboxes": False,
                        "enableClickSelection": True,
                    },
                ),
            ]
        ),
        className="shadow-sm mb-3",
    )


def labelled(label: str, input_id: str, group, help_text: str) -> html.Div:
    """An input group (input and button) with the input's label and a hint."""
    return html.Div(
        [dbc.Label(label, html_for=input_id, className="mb-1"), group, dbc.FormText(help_text)],
        className="mb-2",
    )


def networks_card() -> dbc.Card:
    """The networks, a form to add one and a form to rename one."""
    add = dbc.InputGroup(
        [
            dbc.Input(id="admin-network-name", autocomplete="off", maxLength=60),
            dbc.Button("Add network", id="admin-network-add", color="primary"),
        ]
    )
    rename = dbc.InputGroup(
        [
            dbc.Input(id="admin-network-new", autocomplete="off", maxLength=60),
            dbc.Button("Rename", id="admin-network-rename", color="secondary"),
        ]
    )
    return dbc.Card(
        dbc.CardBody(
            [
                heading("Networks"),
                html.P(id="admin-networks-list", className="mb-2"),
                html.Div(id="admin-network-message", **{"aria-live": "polite"}),
                dbc.Row(
                    [
                        dbc.Col(
                            labelled(
                                "New network",
                                "admin-network-name",
                                add,
                                "Imports name it in their network column; e.g. Red Deer.",
                            ),
                            md=5,
                        ),
                        dbc.Col(
                            field(
                                "Network to rename",
                                dcc.Dropdown(
                                    id="admin-network-old",
                                    options=[],
                                    placeholder="Choose a network",
                                ),
                            ),
                            md=3,
                        ),
                        dbc.Col(
                            labelled(
                                "New name",
                                "admin-network-new",
                                rename,
                                "Its groups, members and data stay.",
                            ),
                            md=4,
                        ),
                    ],
                    className="g-2",
                ),
            ]
        ),
        className="shadow-sm mb-3",
    )


def audit_card() -> dbc.Card:
    action = html.Div(
        [
            dbc.Label("Action", html_for="admin-audit-action", className="small mb-0 me-2"),
            dcc.Dropdown(
                id="admin-audit-action",
                options=[],
                clearable=True,
                placeholder="All actions",
                style={"minWidth": "220px"},
            ),
        ],
        className="d-flex align-items-center",
    )
    return dbc.Card(
        dbc.CardBody(
            [
                heading("Audit log", action, csv_button("admin-audit-csv")),
                html.P(id="admin-audit-note", className="small text-muted mb-2"),
                grid(
                    "admin-audit",
                    AUDIT_COLUMNS,
                    "audit-log.csv",
                    "No events",
                    height=440,
                    pagination=True,
                    paginationPageSize=50,
                ),
            ]
        ),
        className="shadow-sm mb-4",
    )


def layout(scope) -> html.Div:
    return html.Div(
        [
            html.H1("Users, networks and audit log", className="h3 mb-1"),
            html.P(
                "Who may sign in, with which role and networks; the networks; and what happened: "
                "sign-ins, failed sign-ins, imports, exports, user and network changes and "
                "refused requests.",
                className="text-muted",
            ),
            # Bumped by every change, so the grids and choices read the database again.
            dcc.Store(id="admin-changed", data=0),
            html.Div(id="admin-message", **{"aria-live": "polite"}),
            users_card(),
            dbc.Row(
                [
                    dbc.Col(create_form(), lg=5, className="mb-3"),
                    dbc.Col(edit_form(), lg=7, className="mb-3"),
                ]
            ),
            networks_card(),
            audit_card(),
        ],
        className="pt-3",
    )
