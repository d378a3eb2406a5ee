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
from dashboard import catalogue, metrics, queries, wording
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
        text, direction = wording.points(diff), wording.sign(diff)
    elif before == 0:
        return "no data in the previous period", "text-muted"
    else:
        diff = now - before
        text = f"{wording.signed(diff, entry.digits)} ({wording.signed_percent(diff / before)})"
        # A change too small to show reads "0.0 (0%)": neither a rise nor a decline.
        direction = wording.sign(diff, entry.digits)
    css = {1: "text-success", -1: "text-danger", 0: "text-muted"}[direction]
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
    return charts.trend(safe, f.grain, f.days, partial_buckets(f, service.data_end()))


def partial_buckets(f: Filters, data_end) -> bool:
    """Whether the trend's first or last week (month, quarter) is only partly in the period
    or partly covered by the data: a whole fiscal year by month is not."""
    freq = {"week": "W-SUN", "month": "M", "quarter": "Q"}[f.grain]  # weeks start on Monday
    end = min(f.end, data_end) if data_end is not None and data_end >= f.start else f.end
    first, last = pd.Period(f.start, freq), pd.Period(end, freq)
    return f.start != first.start_time.date() or end != last.end_time.date()


def visible_networks(scope, f: Filters) -> list[str]:
    """The networks this user may see, of those the filters choose (all when none)."""
    names = scope.visible_networks(current_service().lookup(queries.network_names))
    return [name for name in names if not f.networks or name in f.networks]


def side_by_side(gate: Gate, f: Filters) -> tuple[str, list[str], list[dict], str, dict] | None:
    """What the table sets side by side: (title, column names, each column's exact figures,
    the total column's name, the total's exact figures). A user who sees one network gets its
    groups that held a session in the period (his networks side by side would be one column
    and an identical total); the others, the networks. None when nothing of the selection is
    in view."""
    service = current_service()
    window = service.settings.active_window_weeks
    names = visible_networks(gate.scope, f)
    if not names:
        return None
    network = gate.scope.only_network(service.lookup(queries.network_names))
    if network is None:
        if len(names) > 1:
            title = f"{', '.join(names[:-1])} and {names[-1]} side by side"
        else:
            title = f"{names[0]} (the filters choose one network)"
        by_network, combined = service.run(
            gate.scope, f, metrics.headline_by_network, tuple(names), window
        )
        return title, names, [by_network[name] for name in names], "Combined", combined
    combined = service.run(gate.scope, f, metrics.headline, window)
    groups = service.run(gate.scope, f, metrics.headline_by_group, window)
    title, total = f"Groups of {network} side by side", f"{network} (all groups)"
    if groups.empty:
        return title, [], [], total, combined
    return (
        title,
        list(groups["group"]),
        groups.drop(columns="group").to_dict("records"),
        total,
        combined,
    )


def network_table(search):
    service = current_service()
    gate = service.gate(current_scope())
    f = url_filters(search)
    view = side_by_side(gate, f)
    if view is None or not view[1]:
        return html.P(NO_SESSIONS, className="text-muted"), view[0] if view else no_update
    title, names, exact, total, combined_exact = view
    # Columns side by side with their total beside them: complementary suppression applies
    # down each figure's column.
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
    by_group = total != "Combined"
    table = networks_table(names, cells, shown, page_settings(), total, by_group)
    return table, title


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
    app.callback(
        Output("overview-networks", "children"),
        Output("overview-networks-title", "children"),
        Input("overview-url", "search"),
    )(cached_view(network_table))
    app.callback(
        Output("overview-url", "search", allow_duplicate=True),
        Input("overview-trend", "clickData"),
        State("overview-url", "search"),
        prevent_initial_call=True,
    )(cross_filter)
