"""The shell every page shares: navigation, the filter bar, the page container."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import queries
from dashboard.auth import current_scope
from dashboard.filters import GRAINS, PRESETS
from dashboard.models import AGE_BANDS, PROGRAM_TYPES
from dashboard.service import current_service
from dashboard.wording import program_label


def labelled(label: str, control, width: dict, **col) -> dbc.Col:
    """A control with a visible label tied to it (keyboard and screen-reader friendly)."""
    return dbc.Col(
        [dbc.Label(label, html_for=control.id, className="small mb-0"), control], **width, **col
    )


def filter_bar(networks: list[str], groups: list[str], communities: list[str]) -> html.Div:
    """The filters, folded under a "Filters" button with a one-line summary of the active
    ones: open on wide screens, closed on phones and in presentation mode."""
    multi = {"multi": True, "placeholder": "All", "clearable": True}
    return html.Div(
        id="filter-bar",
        className="filter-bar border-bottom py-2 mb-3",
        children=[
            html.Div(
                className="d-flex align-items-center gap-2",
                children=[
                    html.Button(
                        "Filters",
                        id="filter-toggle",
                        type="button",
                        className="btn btn-sm btn-outline-secondary text-nowrap",
                        **{"aria-controls": "filter-collapse", "aria-expanded": "true"},
                    ),
                    html.Div(
                        id="filter-summary",
                        className="small text-muted text-truncate",
                        **{"aria-live": "polite"},
                    ),
                ],
            ),
            dbc.Collapse(
                id="filter-collapse",
                is_open=True,
                children=filter_controls(networks, groups, communities, multi),
            ),
        ],
    )


def filter_controls(
    networks: list[str], groups: list[str], communities: list[str], multi: dict
) -> list:
    """The filter bar's controls, in two rows (the Filters button folds them)."""
    return [
        dbc.Row(
            className="g-2 align-items-end",
            children=[
                labelled(
                    "Networks",
                    dcc.Dropdown(id="filter-network", options=networks, **multi),
                    {"md": 2},
                ),
                labelled(
                    "Groups",
                    dcc.Dropdown(id="filter-group", options=groups, **multi),
                    {"md": 3},
                ),
                labelled(
                    "Program types",
                    dcc.Dropdown(
                        id="filter-program",
                        options=[{"label": program_label(p), "value": p} for p in PROGRAM_TYPES],
                        **multi,
                    ),
                    {"md": 2},
                ),
                labelled(
                    "Period",
                    dcc.Dropdown(
                        id="filter-preset",
                        options=[{"label": v, "value": k} for k, v in PRESETS.items()]
                        + [{"label": "Custom dates", "value": "custom"}],
                        clearable=False,
                    ),
                    {"md": 2},
                    # Hidden where a page has its own period picker (/impact).
                    id="filter-period",
                ),
                labelled(
                    "From – to",
                    dcc.DatePickerRange(
                        id="filter-dates",
                        display_format="YYYY-MM-DD",
                        first_day_of_week=1,
                        minimum_nights=0,
                        className="d-block",
                    ),
                    {"md": 3},
                ),
            ],
        ),
        dbc.Row(
            className="g-2 align-items-end mt-1",
            children=[
                labelled(
                    "Age bands",
                    dcc.Dropdown(id="filter-age", options=AGE_BANDS, **multi),
                    {"md": 2},
                ),
                labelled(
                    "Communities",
                    dcc.Dropdown(id="filter-community", options=communities, **multi),
                    {"md": 3},
                ),
                labelled(
                    "Time grain",
                    dbc.RadioItems(
                        id="filter-grain",
                        options=[{"label": g.title(), "value": g} for g in GRAINS],
                        value="month",
                        inline=True,
                    ),
                    {"md": 3},
                ),
                dbc.Col(
                    dbc.Button(
                        "Reset filters", id="filter-reset", color="link", size="sm", href="?"
                    ),
                    md=2,
                ),
            ],
        ),
    ]


def navbar(scope) -> dbc.Navbar:
    from layouts import HELP_PAGES, PAGES

    links = [
        dbc.NavItem(dbc.NavLink(title, href=path, id={"type": "nav", "path": path}, active="exact"))
        for path, (title, _) in PAGES.items()
        if scope.can_open(path) and path not in HELP_PAGES
    ]
    helps = [
        dbc.NavLink(
            PAGES[path][0],
            href=path,
            className="text-light small me-3",
            id=f"nav-help-{path.strip('/')}",
        )
        for path in HELP_PAGES
        if scope.can_open(path)
    ]

    who = f"{scope.username} · {scope.role}"
    if scope.networks:
        who += f" ({', '.join(scope.networks)})"
    return dbc.Navbar(
        dbc.Container(
            fluid=True,
            children=[
                dbc.NavbarBrand("Network Dashboard", href="/", className="fw-semibold"),
                # On a phone the links fold under the menu button.
                dbc.NavbarToggler(id="nav-toggler"),
                dbc.Collapse(
                    id="nav-collapse",
                    navbar=True,
                    is_open=False,
                    children=[
                        dbc.Nav(links, className="me-auto", navbar=True, id="nav-links"),
                        html.Button(
                            "Present",
                            id="nav-present-on",
                            type="button",
                            className="btn btn-sm btn-outline-light me-3",
                            title="Presentation mode: no menu or filters, larger charts",
                        ),
                        *helps,
                        html.Span(who, className="navbar-text small me-3", id="nav-user"),
                        dbc.NavLink(
                            "Sign out", href="/logout", external_link=True, className="text-light"
                        ),
                    ],
                ),
            ],
        ),
        color="dark",
        dark=True,
        expand="lg",
        className="mb-0 no-print",
    )


def layout() -> html.Div:
    """The app's layout, for the signed-in user (Dash calls this on every page load)."""
    from flask_login import current_user

    if not current_user.is_authenticated:
        # Dash calls the layout once at start-up, outside any user's request.
        return html.Div(dcc.Location(id="url"))
    scope = current_scope()
    service = current_service()
    networks = [
        n
        for n in service.lookup(queries.network_names)
        if scope.networks is None or n in scope.networks
    ]
    return html.Div(
        id="page-root",
        children=[
            dcc.Location(id="url", refresh="callback-nav"),
            # Presentation mode (a meeting room's projector) lasts for the browser tab.
            dcc.Store(id="nav-present", storage_type="session", data=False),
            html.Button(
                "Exit presentation",
                id="nav-present-off",
                type="button",
                className="btn btn-sm btn-light present-exit no-print",
            ),
            navbar(scope),
            dbc.Container(
                fluid=True,
                className="px-4",
                children=[
                    filter_bar(
                        networks,
                        [g["name"] for g in service.lookup(queries.group_options, tuple(networks))],
                        service.lookup(queries.community_names),
                    ),
                    html.Main(id="page"),
                ],
            ),
        ],
    )
