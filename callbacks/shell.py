"""The shell's callbacks: URL <-> filter bar, chained group options, page routing."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.development.base_component import Component
from flask_login import current_user
from plotly.basedatatypes import BaseFigure

from dashboard import queries
from dashboard.auth import current_scope
from dashboard.filters import PRESETS, Filters, default_preset, preset_range
from dashboard.service import current_service
from dashboard.targets import period_label
from dashboard.wording import plural


def today() -> dt.date:
    return dt.date.today()


def cached_view(function: Callable) -> Callable:
    """A page callback whose finished output is kept per scope (role and networks),
    arguments, day and data version (DataService.view): opening a view again, or another user
    of the same scope opening it, does not rebuild its figures; dashboard/warm.py computes
    each scope's default views after an import."""

    @functools.wraps(function)
    def wrapper(*args):
        name = f"{function.__module__}.{function.__qualname__}"
        return current_service().view(
            current_scope(), name, (*args, today()), lambda: _as_sent(function(*args))
        )

    return wrapper


def _as_sent(output):
    """A callback's output with its figures, those inside components too (a dcc.Graph's), as
    the JSON Dash sends: a pickled Figure comes back without its empty parts, so the first
    answer and a cached one are the same, and a cache hit does not validate every figure
    again as it is unpickled (~40 ms for the impact summary's three)."""
    if isinstance(output, tuple | list):
        return type(output)(_as_sent(part) for part in output)
    if isinstance(output, BaseFigure):
        return output.to_plotly_json()
    if isinstance(output, Component):
        for name in output._prop_names:
            value = getattr(output, name, None)
            if isinstance(value, tuple | list | BaseFigure | Component):
                setattr(output, name, _as_sent(value))
    return output


def url_filters(search: str | None) -> Filters:
    """The filters of a page's URL query string: what every page callback reads. A URL
    without a period opens on the signed-in user's role's period (SPEC §5)."""
    service = current_service()
    default = default_preset(_role())
    return Filters.from_query(search, today(), service.lookup(queries.data_start), default)


def _role() -> str | None:
    """The signed-in user's role; None when nobody is (or outside a request)."""
    try:
        return current_user.scope.role
    except (AttributeError, RuntimeError):
        return None


def describe(f: Filters) -> str:
    """The active filters in one line (beside the Filters button, also when folded); dates
    that are exactly a fiscal year or quarter are named so (FY2024-25), as on /impact."""
    period = PRESETS.get(f.preset or "") or period_label(f.start, f.end) or "Custom"
    text = f"{period}: {f.start:%d %b %Y} – {f.end:%d %b %Y}"
    if f.networks:
        text += " · " + ", ".join(f.networks)
    for chosen, one, many in (
        (f.groups, "group", None),
        (f.program_types, "program type", None),
        (f.age_bands, "age band", None),
        (f.communities, "community", "communities"),
    ):
        if chosen:
            text += f" · {plural(len(chosen), one, many)}"
    return text


def sync_filters(search, networks, groups, programs, preset, ages, communities, grain, start, end):
    """Keep the filter bar and the URL query string in step, whichever changed.

    Outputs, in order: the URL query, the eight control values (dates last), the summary.
    """
    trigger = ctx.triggered_id if ctx else None
    if trigger in (None, "url"):
        f = url_filters(search)
        return (
            no_update,
            list(f.networks),
            list(f.groups),
            list(f.program_types),
            f.preset or "custom",
            list(f.age_bands),
            list(f.communities),
            f.grain,
            f.start.isoformat(),
            f.end.isoformat(),
            describe(f),
        )
    current = url_filters(search)
    if trigger == "filter-preset" and preset in PRESETS:
        start_date, end_date = preset_range(
            preset, today(), current_service().lookup(queries.data_start)
        )
    else:
        start_date = dt.date.fromisoformat(start[:10]) if start else current.start
        end_date = dt.date.fromisoformat(end[:10]) if end else current.end
        if trigger == "filter-dates":
            preset = None
    if start_date > end_date:
        start_date, end_date = end_date, start_date
    if trigger == "filter-network" and networks and groups:
        allowed = {
            g["name"] for g in current_service().lookup(queries.group_options, tuple(networks))
        }
        groups = [g for g in groups if g in allowed]
    f = Filters(
        start=start_date,
        end=end_date,
        networks=tuple(networks or ()),
        groups=tuple(groups or ()),
        program_types=tuple(programs or ()),
        age_bands=tuple(ages or ()),
        communities=tuple(communities or ()),
        grain=grain or "month",
        preset=preset if preset in PRESETS else None,
    )
    keep = no_update
    return (
        "?" + f.to_query(),
        keep,
        list(f.groups) if trigger == "filter-network" else keep,
        keep,
        "custom" if trigger == "filter-dates" else keep,
        keep,
        keep,
        keep,
        f.start.isoformat() if trigger == "filter-preset" else keep,
        f.end.isoformat() if trigger == "filter-preset" else keep,
        describe(f),
    )


def group_choices(networks):
    """The group dropdown offers the groups of the chosen networks (all when none)."""
    scope = current_scope()
    chosen = tuple(networks or ()) or (scope.networks or ())
    if scope.networks is not None:
        chosen = tuple(n for n in chosen if n in scope.networks) or scope.networks
    return [
        {"label": f"{g['name']}", "value": g["name"]}
        for g in current_service().lookup(queries.group_options, chosen)
    ]


def render_page(pathname):
    """The page for a path, if the user's role reaches it."""
    from layouts import FILTERED_PAGES, PAGES

    scope = current_scope()
    path = pathname or "/"
    if path not in PAGES:
        return (
            html.Div(
                [html.H1("Page not found", className="h3"), html.P(f"There is no page at {path}.")],
                className="py-5",
            ),
            {"display": "none"},
        )
    if not scope.can_open(path):
        return (
            html.Div(
                [
                    html.H1("Not available", className="h3"),
                    html.P(f"The {PAGES[path][0]} page is not part of the {scope.role} role."),
                ],
                className="py-5",
            ),
            {"display": "none"},
        )
    title, layout = PAGES[path]
    shown = {} if path in FILTERED_PAGES else {"display": "none"}
    return layout(scope), shown


def period_style(pathname):
    """The filter bar's Period, hidden on a page whose own picker is the period."""
    from layouts import OWN_PERIOD_PAGES

    return {"display": "none"} if (pathname or "/") in OWN_PERIOD_PAGES else {}


def nav_hrefs(search, ids):
    """Navigation links keep the filters, so they carry over between pages."""
    return [f"{item['path']}{search or ''}" for item in ids]


WIDE_SCREEN = 768  # px: Bootstrap's md breakpoint, where the filter bar opens by default

SYNCED = [
    "filter-network",
    "filter-group",
    "filter-program",
    "filter-preset",
    "filter-age",
    "filter-community",
    "filter-grain",
]


def register(app) -> None:
    app.callback(
        Output("url", "search"),
        *(Output(c, "value") for c in SYNCED),
        Output("filter-dates", "start_date"),
        Output("filter-dates", "end_date"),
        Output("filter-summary", "children"),
        Input("url", "search"),
        *(Input(c, "value") for c in SYNCED),
        Input("filter-dates", "start_date"),
        Input("filter-dates", "end_date"),
    )(sync_filters)
    app.callback(Output("filter-group", "options"), Input("filter-network", "value"))(group_choices)
    app.callback(
        Output("page", "children"), Output("filter-bar", "style"), Input("url", "pathname")
    )(render_page)
    app.callback(Output("filter-period", "style"), Input("url", "pathname"))(period_style)
    app.callback(
        Output({"type": "nav", "path": ALL}, "href"),
        Input("url", "search"),
        State({"type": "nav", "path": ALL}, "id"),
    )(nav_hrefs)
    # Layout only, in the browser: the menu on a phone, presentation mode, the filter bar.
    app.clientside_callback(
        "function(n, open) { return n ? !open : open; }",
        Output("nav-collapse", "is_open"),
        Input("nav-toggler", "n_clicks"),
        State("nav-collapse", "is_open"),
    )
    app.clientside_callback(
        """function(on, off) {
            const id = (window.dash_clientside.callback_context.triggered_id || "");
            return id === "nav-present-on";
        }""",
        Output("nav-present", "data"),
        Input("nav-present-on", "n_clicks"),
        Input("nav-present-off", "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "function(on) { return on ? 'presenting' : ''; }",
        Output("page-root", "className"),
        Input("nav-present", "data"),
    )
    app.clientside_callback(
        # Open on wide screens, closed on a phone and while presenting; the button flips it.
        """function(n, presenting, open) {
            const id = window.dash_clientside.callback_context.triggered_id;
            const shown = id === "filter-toggle"
                ? !open
                : !presenting && window.innerWidth >= WIDE;
            return [shown, shown ? "true" : "false"];
        }""".replace("WIDE", str(WIDE_SCREEN)),
        Output("filter-collapse", "is_open"),
        Output("filter-toggle", "aria-expanded"),
        Input("filter-toggle", "n_clicks"),
        Input("nav-present", "data"),
        State("filter-collapse", "is_open"),
    )
