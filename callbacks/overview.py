"""Overview callbacks: cards with change against the previous period, trend, networks."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, html, no_update

from callbacks.shell import url_filters
from charts.style import NO_SESSIONS, color_for, empty_figure, styled
from dashboard import metrics, queries
from dashboard.auth import current_scope
from dashboard.filters import Filters
from dashboard.privacy import (
    HEADLINE_COUNTS,
    HEADLINE_DERIVED,
    hidden_reason,
    shown_count,
    suppress_record,
)
from dashboard.service import current_service
from layouts.overview import CARDS

PERCENT_KEYS = {"retention_12w", "wellbeing_improved", "attendance_rate"}
COUNT_KEYS = {"men_reached", "new_members", "active_members"}


def format_figure(key: str, value, threshold: int) -> str:
    if value is None:
        return shown_count(None, threshold) if key in COUNT_KEYS else "—"
    if key in PERCENT_KEYS:
        return f"{value:.0%}"
    if key in ("average_attendance",):
        return f"{value:.1f}"
    if key == "attendance_hours":
        return f"{value:,.0f}"
    return f"{int(value):,}"


def format_change(key: str, now, before) -> tuple[str, str]:
    """Change against the previous period, as text and a colour class."""
    if now is None or before is None:
        return "no comparison", "text-muted"
    if before == 0 and key not in PERCENT_KEYS:
        return "no data in the previous period", "text-muted"
    if key in PERCENT_KEYS:
        diff = (now - before) * 100
        text = f"{diff:+.0f} points"
    else:
        diff = now - before
        text = f"{diff:+,.1f}" if key == "average_attendance" else f"{diff:+,.0f}"
        if before:
            text += f" ({diff / before:+.0%})"
    return text + " vs previous period", "text-success" if diff > 0 else (
        "text-danger" if diff < 0 else "text-muted"
    )


def headline_figures(scope, f: Filters) -> tuple[dict, list[str]]:
    """The cards' figures as this user may see them, and the keys hidden by suppression."""
    service = current_service()
    figures = service.run(scope, f, metrics.headline, service.settings.active_window_weeks)
    if scope.suppressed:
        return suppress_record(
            figures, service.settings.suppression_threshold, HEADLINE_COUNTS, HEADLINE_DERIVED
        )
    return figures, []


def missing_reason(key: str, hidden: list[str], threshold: int) -> str:
    """Why a card shows no value."""
    if key in hidden:
        return f"hidden: fewer than {threshold} men"
    if key == "retention_12w":
        return "nobody of the period's new members followed 12 weeks yet"
    if key == "wellbeing_improved":
        return "too few matched well-being pairs"
    return "no data for these filters"


def update_cards(search):
    scope = current_scope()
    f = url_filters(search)
    now, hidden = headline_figures(scope, f)
    before, _ = headline_figures(scope, f.previous())
    threshold = current_service().settings.suppression_threshold
    values, changes, classes = [], [], []
    for key, _, _ in CARDS:
        values.append(format_figure(key, now[key], threshold))
        if now[key] is None:
            text, css = missing_reason(key, hidden, threshold), "text-muted"
        else:
            text, css = format_change(key, now[key], before[key])
        changes.append(text)
        classes.append(f"small {css}")
    prev = f.previous()
    note = f"Compared with {prev.start:%d %b %Y} – {prev.end:%d %b %Y} (same length)."
    return (*values, *changes, *classes, note)


def trend_figure(search):
    scope = current_scope()
    f = url_filters(search)
    service = current_service()
    frame = service.run(scope, f, metrics.attendance_over_time, "network")
    if frame.empty:
        return empty_figure(NO_SESSIONS)
    frame = service.table(
        scope, frame, ["men"], {"attendance": "men", "average_attendance": "men"}
    ).frame
    fig = go.Figure()
    for index, (key, part) in enumerate(frame.groupby("key", sort=True)):
        fig.add_trace(
            go.Scatter(
                x=part["period"],
                y=part["attendance"],
                name=key,
                mode="lines+markers",
                line=dict(color=color_for(key, index), width=3),
                customdata=[key] * len(part),
                hovertemplate=f"{key}<br>%{{x|%d %b %Y}}: %{{y:,}} present<extra></extra>",
            )
        )
    fig.update_yaxes(title="Attendance (presents)", rangemode="tozero")
    ticks = {
        "month": dict(tickformat="%b %Y", dtick="M1" if f.days <= 400 else None),
        "quarter": dict(tickformat="Q%q %Y", dtick="M3" if f.days <= 1100 else None),
    }.get(f.grain, {})
    fig.update_xaxes(
        title=f"{f.grain.title()} starting (the first and last may be partial)", **ticks
    )
    return styled(fig)


def network_table(search):
    scope = current_scope()
    f = url_filters(search)
    service = current_service()
    names = [
        n
        for n in service.lookup(queries.network_names)
        if (scope.networks is None or n in scope.networks) and (not f.networks or n in f.networks)
    ]
    if not names:
        return html.P(NO_SESSIONS, className="text-muted")
    rows = []
    for name in names:
        narrowed = Filters(
            start=f.start,
            end=f.end,
            networks=(name,),
            groups=f.groups,
            program_types=f.program_types,
            age_bands=f.age_bands,
            communities=f.communities,
            grain=f.grain,
        )
        rows.append(
            {
                "network": name,
                **service.run(
                    scope, narrowed, metrics.headline, service.settings.active_window_weeks
                ),
            }
        )
    frame = pd.DataFrame(rows)
    threshold = service.settings.suppression_threshold
    # Networks side by side with the combined column beside them: a total, so complementary
    # suppression applies down each figure's column.
    combined, _ = headline_figures(scope, f)
    safe = service.table(
        scope,
        frame,
        HEADLINE_COUNTS,
        HEADLINE_DERIVED,
        totals=("column",) if len(names) > 1 else (),
    ).frame
    header = html.Thead(
        html.Tr(
            [
                html.Th("Figure"),
                *[html.Th(n, style={"color": color_for(n)}) for n in names],
                html.Th("Combined"),
            ]
        )
    )
    body = []
    for key, title, help_text in CARDS:
        cells = []
        for i in range(len(names)):
            text = format_figure(key, safe.loc[i, key], threshold)
            if safe.loc[i, key] is None and scope.suppressed:
                reason = hidden_reason(rows[i], key, HEADLINE_COUNTS, HEADLINE_DERIVED, threshold)
                # A cell hidden only to protect its neighbour is not "<5": say so.
                text = text if reason.startswith("fewer") else "—"
                cells.append(html.Td(text, title=f"hidden: {reason}"))
            else:
                cells.append(html.Td(text))
        body.append(
            html.Tr(
                [
                    html.Th(title, title=help_text, scope="row"),
                    *cells,
                    html.Td(format_figure(key, combined[key], threshold)),
                ]
            )
        )
    return dbc.Table(
        [header, html.Tbody(body)],
        bordered=False,
        hover=True,
        size="sm",
        responsive=True,
        className="mb-0",
    )


def cross_filter(click, search):
    """A click on a point narrows the filters to that network and time bucket."""
    if not click or not click.get("points"):
        return no_update
    point = click["points"][0]
    f = url_filters(search)
    start = pd.Timestamp(point["x"]).date()
    end = (
        pd.Timestamp(start)
        + pd.tseries.frequencies.to_offset({"week": "7D", "month": "MS", "quarter": "QS"}[f.grain])
        - pd.Timedelta(days=1)
    ).date()
    network = point.get("customdata")
    known = current_service().lookup(queries.network_names)
    networks = (network,) if network in known else f.networks
    narrowed = Filters(
        start=start,
        end=end,
        networks=networks,
        groups=f.groups,
        program_types=f.program_types,
        age_bands=f.age_bands,
        communities=f.communities,
        grain="week",
    )
    return "?" + narrowed.to_query()


def register(app) -> None:
    keys = [key for key, _, _ in CARDS]
    app.callback(
        *(Output(f"overview-value-{k}", "children") for k in keys),
        *(Output(f"overview-change-{k}", "children") for k in keys),
        *(Output(f"overview-change-{k}", "className") for k in keys),
        Output("overview-compare-note", "children"),
        Input("overview-url", "search"),
    )(update_cards)
    app.callback(Output("overview-trend", "figure"), Input("overview-url", "search"))(trend_figure)
    app.callback(Output("overview-networks", "children"), Input("overview-url", "search"))(
        network_table
    )
    app.callback(
        Output("overview-url", "search", allow_duplicate=True),
        Input("overview-trend", "clickData"),
        State("overview-url", "search"),
        prevent_initial_call=True,
    )(cross_filter)
