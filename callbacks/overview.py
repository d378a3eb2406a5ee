"""Overview callbacks: cards with change against the previous period, trend, networks.

Thin wiring: the filters of the URL -> the data service -> the privacy gate -> a chart
builder (charts/overview.py) or a component (layouts/overview.py)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from dash import Input, Output, State, html, no_update

from callbacks.shell import cached_view, url_filters
from charts import overview as charts
from charts.style import NO_SESSIONS
from dashboard import catalogue, metrics, queries
from dashboard.auth import current_scope
from dashboard.filters import Filters
from dashboard.gate import Gate
from dashboard.service import current_service
from layouts.overview import CARDS, networks_table, page_settings

# Figures whose change reads in percentage points.
POINTS = (catalogue.SHARE, catalogue.SURVIVAL)


def format_change(key: str, now, before) -> tuple[str, str]:
    """Change against the previous period, as text and a colour class."""
    if now is None or before is None:
        return "no comparison", "text-muted"
    entry = catalogue.figure(key)
    if entry.kind in POINTS:
        diff = (now - before) * 100
        text = f"{diff:+.0f} points"
    elif before == 0:
        return "no data in the previous period", "text-muted"
    else:
        diff = now - before
        text = f"{diff:+,.{entry.digits}f} ({diff / before:+.0%})"
    css = "text-success" if diff > 0 else "text-danger" if diff < 0 else "text-muted"
    return text + " vs previous period", css


def headline_figures(gate: Gate, f: Filters) -> tuple[dict, dict, list[str]]:
    """The cards' figures: exact (stays on the server), as this user may receive them, and
    the keys the gate hid."""
    service = current_service()
    exact = service.run(gate.scope, f, metrics.headline, service.settings.active_window_weeks)
    safe, hidden = gate.record(exact)
    return exact, safe, hidden


def missing_reason(key: str, exact: dict, hidden: list[str], gate: Gate) -> str:
    """Why a card shows no value."""
    if key in hidden:
        return f"hidden: {gate.reason(exact, key)}"
    if key == "retention_12w":
        return "nobody of the period's new members followed 12 weeks yet"
    if key == "wellbeing_improved":
        return "too few matched well-being pairs"
    return "no data for these filters"


def update_cards(search):
    gate = current_service().gate(current_scope())
    f = url_filters(search)
    exact, now, hidden = headline_figures(gate, f)
    prev, note = comparison_period(f, current_service().data_end())
    _, before, _ = headline_figures(gate, prev)
    values, changes, classes = [], [], []
    for key in CARDS:
        values.append(gate.shown(key, now[key]))
        if now[key] is None:
            text, css = missing_reason(key, exact, hidden, gate), "text-muted"
        else:
            text, css = format_change(key, now[key], before[key])
        changes.append(text)
        classes.append(f"small {css}")
    return (*values, *changes, *classes, note)


def comparison_period(f: Filters, data_end) -> tuple[Filters, str]:
    """The period the cards compare with, and the sentence saying so: the same length just
    before; while the data stop inside the period (this fiscal year, say), only as many days
    of it as the data cover, so a year under way is not read as a fall."""
    prev = f.previous()
    if data_end is None or not f.start <= data_end < f.end:
        return prev, f"Compared with {prev.start:%d %b %Y} – {prev.end:%d %b %Y} (same length)."
    prev = replace(prev, end=prev.start + (data_end - f.start))
    return prev, (
        f"Compared with {prev.start:%d %b %Y} – {prev.end:%d %b %Y}: as many days of the "
        f"previous period as the data cover of this one (to {data_end:%d %b %Y})."
    )


def trend_figure(search):
    service = current_service()
    gate = service.gate(current_scope())
    f = url_filters(search)
    frame = service.run(gate.scope, f, metrics.attendance_over_time, "network")
    safe = gate.table(frame, columns={"men": "men_reached"}).frame
    return charts.trend(safe, f.grain, f.days)


def visible_networks(scope, f: Filters) -> list[str]:
    """The networks this user may see, of those the filters choose (all when none)."""
    names = scope.visible_networks(current_service().lookup(queries.network_names))
    return [name for name in names if not f.networks or name in f.networks]


def network_table(search):
    service = current_service()
    gate = service.gate(current_scope())
    f = url_filters(search)
    names = visible_networks(gate.scope, f)
    if not names:
        return html.P(NO_SESSIONS, className="text-muted")
    window = service.settings.active_window_weeks
    by_network, combined_exact = service.run(
        gate.scope, f, metrics.headline_by_network, tuple(names), window
    )
    exact = [by_network[name] for name in names]
    # Networks side by side with the combined column beside them: a total, so complementary
    # suppression applies down each figure's column.
    safe = gate.table(pd.DataFrame(exact), totals=("column",) if len(names) > 1 else ())
    combined, _ = gate.record(combined_exact)
    cells = {}
    for key in CARDS:
        cells[key] = []
        for i in range(len(names)):
            if safe.hidden.loc[i, key]:
                reason = gate.reason(exact[i], key)
                # A cell hidden only to protect its neighbour is not "<k": say so.
                text = gate.hidden_text(key) if reason.startswith("fewer") else "—"
                cells[key].append((text, reason))
            else:
                value = safe.frame.loc[i, key]
                cells[key].append((gate.shown(key, None if pd.isna(value) else value), None))
    shown = {key: gate.shown(key, combined[key]) for key in CARDS}
    return networks_table(names, cells, shown, page_settings())


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
    known = current_scope().visible_networks(current_service().lookup(queries.network_names))
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
    keys = list(CARDS)
    app.callback(
        *(Output(f"overview-value-{k}", "children") for k in keys),
        *(Output(f"overview-change-{k}", "children") for k in keys),
        *(Output(f"overview-change-{k}", "className") for k in keys),
        Output("overview-compare-note", "children"),
        Input("overview-url", "search"),
    )(cached_view(update_cards))
    app.callback(Output("overview-trend", "figure"), Input("overview-url", "search"))(
        cached_view(trend_figure)
    )
    app.callback(Output("overview-networks", "children"), Input("overview-url", "search"))(
        cached_view(network_table)
    )
    app.callback(
        Output("overview-url", "search", allow_duplicate=True),
        Input("overview-trend", "clickData"),
        State("overview-url", "search"),
        prevent_initial_call=True,
    )(cross_filter)
