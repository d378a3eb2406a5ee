"""Attendance `/attendance`: over time, group x week, rates, dosage and completion, tables."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from charts.style import GRAPH_CONFIG
from dashboard import catalogue

# AG Grid value formatters (JavaScript, run in the browser). Hidden counts arrive as the text
# "<5" and hidden shares or means as null: the server has already removed the values.
COUNT_FORMAT = {
    "function": "typeof params.value === 'number' ? "
    "d3.format(',')(params.value) : (params.value == null ? '—' : "
    "params.value)"
}
DECIMAL_FORMAT = {"function": "params.value == null ? '—' : d3.format(',.1f')(params.value)"}
PERCENT_FORMAT = {"function": "params.value == null ? '—' : d3.format('.0%')(params.value)"}
# Sort "<5" (a hidden count) below every shown number, and all hidden cells as equal.
COUNT_COMPARE = {
    "function": "(typeof valueA === 'number' ? valueA : -1) - "
    "(typeof valueB === 'number' ? valueB : -1)"
}


def count_column(field: str, header: str, **extra) -> dict:
    return {
        "field": field,
        "headerName": header,
        "type": "rightAligned",
        "valueFormatter": COUNT_FORMAT,
        "comparator": COUNT_COMPARE,
        **extra,
    }


def figure_column(key: str) -> dict:
    """A column holding a catalogue figure: its label, its definition on hover, its format."""
    described = {"headerTooltip": catalogue.definition(key)}
    kind = catalogue.figure(key).kind
    if kind in (catalogue.SHARE, catalogue.SURVIVAL):
        formatter = PERCENT_FORMAT
    elif kind in (catalogue.RATIO, catalogue.MEAN):
        formatter = DECIMAL_FORMAT
    else:
        return count_column(key, catalogue.label(key), **described)
    return {
        "field": key,
        "headerName": catalogue.label(key),
        "type": "rightAligned",
        "valueFormatter": formatter,
        **described,
    }


GROUP_COLUMNS = [
    {"field": "group", "headerName": "Group", "pinned": "left", "minWidth": 340, "filter": True},
    {"field": "network", "headerName": "Network", "filter": True},
    {"field": "program_type", "headerName": "Program", "filter": True, "minWidth": 140},
    figure_column("sessions_held"),
    figure_column("cancelled"),
    figure_column("men_reached"),
    figure_column("attendance"),
    figure_column("average_attendance"),
    figure_column("attendance_rate"),
    figure_column("excused"),
    figure_column("excused_rate"),
    # The group's capacity is a property of the group, not a figure about men.
    count_column("capacity", "Capacity"),
    figure_column("capacity_use"),
]

AT_RISK_COLUMNS = [
    {"field": "member_code", "headerName": "Member code", "pinned": "left", "filter": True},
    {"field": "network", "headerName": "Network", "filter": True},
    {"field": "group", "headerName": "Last group", "minWidth": 340, "filter": True},
    {"field": "last_present", "headerName": "Last present"},
    {"field": "weeks_since", "headerName": "Weeks since", "type": "rightAligned"},
    {
        "field": "sessions_present",
        "headerName": "Presents in window",
        "type": "rightAligned",
        "headerTooltip": "Sessions attended in the active window up to the day shown.",
    },
]


def grid(grid_id: str, columns: list[dict], file_name: str, empty: str) -> dag.AgGrid:
    """A sortable grid whose CSV export button is wired by the page's callbacks."""
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        rowData=[],
        defaultColDef={
            "sortable": True,
            "resizable": True,
            "minWidth": 120,
            "flex": 1,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
            # CSV keeps the raw values (shares as fractions, SPEC §5), not the
            # formatted text; hidden counts stay "<5".
            "useValueFormatterForExport": False,
        },
        dashGridOptions={
            "localeText": {"noRowsToShow": empty},
            "tooltipShowDelay": 300,
            "domLayout": "normal",
        },
        csvExportParams={"fileName": file_name},
        className="ag-theme-quartz",
        style={"height": "420px", "width": "100%"},
    )


def card(title: str, children: list, **col) -> dbc.Col:
    return dbc.Col(
        dbc.Card(
            dbc.CardBody([html.H2(title, className="h5"), *children]), className="h-100 shadow-sm"
        ),
        className="mb-3",
        **col,
    )


def graph(graph_id: str) -> dcc.Loading:
    return dcc.Loading(dcc.Graph(id=graph_id, config=GRAPH_CONFIG), delay_show=300)


def csv_button(button_id: str) -> dbc.Button:
    return dbc.Button(
        "Download CSV", id=button_id, color="secondary", outline=True, size="sm", className="mb-2"
    )


def at_risk_card(scope) -> dbc.Col:
    """Pseudonymous member list: only coordinators and admins ever receive its rows."""
    intro = html.P(
        f"{catalogue.definition('at_risk')} On the period's last day (or the data's last "
        "day if earlier). Codes are pseudonymous: the key to a person stays with the "
        "coordinator.",
        className="small text-muted",
    )
    note = html.P(id="attendance-atrisk-note", className="small", **{"aria-live": "polite"})
    # The grid is always in the layout (its callback answers every role), but for roles
    # without member rows the callback never runs the query and sends no rows.
    shown = {} if scope.may_see_member_rows else {"display": "none"}
    return card(
        f"{catalogue.label('at_risk')} of dropping out",
        [
            intro,
            note,
            html.Div(
                [
                    csv_button("attendance-atrisk-csv"),
                    grid(
                        "attendance-atrisk-grid",
                        AT_RISK_COLUMNS,
                        "members-at-risk.csv",
                        "No member is at risk for these filters",
                    ),
                ],
                style=shown,
            ),
        ],
        xs=12,
    )


HEATMAP_KEY = [
    "Colour = presents that week (darker = more). ",
    html.Span("✕ red", style={"color": "#D55E00", "fontWeight": 600}),
    " = every session of that week cancelled. Blank = no session.",
]


def chart_card(title: str, graph_id: str, intro=None, controls=None, **col) -> dbc.Col:
    """A chart with its explanation and a note the chart's callback fills ("<id>-note")."""
    children = list(controls or [])
    if intro:
        children.append(html.P(intro, className="small text-muted mb-0"))
    children += [html.P(id=f"{graph_id}-note", className="small text-muted mb-0"), graph(graph_id)]
    return card(title, children, **col)


def by_toggle() -> dbc.Row:
    """Network or group lines: feeds the over-time chart only."""
    options = [{"label": "Network", "value": "network"}, {"label": "Group", "value": "group"}]
    return dbc.Row(
        [
            dbc.Col(
                dbc.Label("Show by", html_for="attendance-by", className="small mb-0"), width="auto"
            ),
            dbc.Col(
                dbc.RadioItems(id="attendance-by", inline=True, value="network", options=options),
                width="auto",
            ),
        ],
        className="g-2 align-items-center",
    )


def group_table_card() -> dbc.Col:
    return card(
        "Per group",
        [
            html.P(id="attendance-table-note", className="small text-muted mb-1"),
            csv_button("attendance-table-csv"),
            grid(
                "attendance-table",
                GROUP_COLUMNS,
                "attendance-by-group.csv",
                "No sessions match these filters",
            ),
        ],
        xs=12,
    )


def layout(scope) -> html.Div:
    return html.Div(
        [
            dcc.Location(id="attendance-url", refresh="callback-nav"),
            html.H1("Attendance", className="h3 mb-1"),
            html.P(
                "Attendance of the groups in the filters. Click a group's bar or a heatmap "
                "row to narrow the filters to that group; the browser's back button undoes it.",
                className="small text-muted",
            ),
            dbc.Row(
                chart_card(
                    "Attendance over time", "attendance-trend", controls=[by_toggle()], xs=12
                )
            ),
            dbc.Row(
                chart_card(
                    "Group × week: gaps and cancelled sessions",
                    "attendance-heatmap",
                    intro=HEATMAP_KEY,
                    xs=12,
                )
            ),
            dbc.Row(
                chart_card(
                    "Attendance rate and excused absences per group",
                    "attendance-rates",
                    intro="Share of recorded attendance of "
                    "sessions held: present, excused, absent.",
                    xs=12,
                )
            ),
            dbc.Row(
                [
                    chart_card(
                        "Dosage: Men's Well-Being (10 sessions)",
                        "attendance-dosage",
                        intro=catalogue.definition("dosage"),
                        lg=5,
                    ),
                    chart_card(
                        f"{catalogue.label('completion_rate')} per group",
                        "attendance-completion",
                        lg=7,
                    ),
                ]
            ),
            dbc.Row(group_table_card()),
            dbc.Row(at_risk_card(scope)),
        ]
    )
