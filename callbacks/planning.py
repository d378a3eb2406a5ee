"""Planning callbacks: targets (set, edit, delete: leadership and admin only, checked here),
actual against target with a projection, year-on-year trends, capacity, growth, retention."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from dash import Input, Output, State, ctx, no_update

from callbacks.shell import today
from charts import planning as charts
from charts.style import color_for, empty_figure
from dashboard import audit, catalogue, metrics, queries
from dashboard.auth import current_scope
from dashboard.db import session_scope
from dashboard.filters import Filters, fiscal_year_label, fiscal_year_start
from dashboard.gate import Gate
from dashboard.service import current_service
from dashboard.tables import attendance_growth
from dashboard.targets import (
    COMBINED,
    METRICS,
    TargetError,
    actual_vs_target,
    delete_target,
    fiscal_year_actuals,
    fiscal_years,
    list_targets,
    metric_kind,
    network_actuals,
    parse_period,
    previous_period,
    quarters,
    set_target,
)

YEARS_SHOWN = 5
TOP = 5  # groups growing / shrinking / with the weakest retention shown


# --- Periods ---


def fiscal_year_choices(pathname):
    """The last five fiscal years, the current one and the next; default the year the data
    reaches (the current one on a live database)."""
    service = current_service()
    now = today()
    end = service.data_end() or now
    first = fiscal_year_start(now).replace(year=fiscal_year_start(now).year - YEARS_SHOWN)
    labels = fiscal_years(
        first, dt.date(now.year + 1, now.month, 1) if now.month >= 4 else dt.date(now.year, 4, 1)
    )
    default = fiscal_year_label(fiscal_year_start(min(end, now)))
    return [{"label": label, "value": label} for label in reversed(labels)], default


def window(fiscal_year: str) -> Filters | None:
    """The fiscal year so far (up to today); None before it starts."""
    start, end = parse_period(fiscal_year)
    now = today()
    if now < start:
        return None
    return Filters(start=start, end=min(end, now))


# --- Targets ---


def target_choices(fiscal_year):
    """The form's networks and periods (the fiscal year and its quarters)."""
    scope = current_scope()
    names = scope.visible_networks(current_service().lookup(queries.network_names))
    networks = [
        {"label": "Combined (all networks)", "value": COMBINED},
        *({"label": n, "value": n} for n in names),
    ]
    if not fiscal_year:
        return networks, COMBINED, [], None
    periods = [fiscal_year, *quarters(fiscal_year)]
    return networks, COMBINED, [{"label": p, "value": p} for p in periods], fiscal_year


def write_target(save_clicks, delete_clicks, changed, network, metric, period, value, version):
    """Save, delete or edit (in the grid) one target: leadership and admin only."""
    scope = current_scope()
    if not scope.may_edit_targets:
        with session_scope(current_service().engine) as session:
            audit.record(session, "refused", scope.username, "tried to change a target")
        return "Only leadership and admin can set targets.", no_update
    trigger = ctx.triggered_id
    if trigger == "planning-targets-grid":
        edits = changed if isinstance(changed, list) else [changed] if changed else []
        if not edits:
            return no_update, no_update
        row = edits[0].get("data") or {}
        network, metric, period = row.get("network"), row.get("metric"), row.get("period")
        value = edits[0].get("value")
        action = "save"
    elif trigger in ("planning-target-save", "planning-target-delete"):
        action = "save" if trigger == "planning-target-save" else "delete"
    else:
        return no_update, no_update
    if not (network and metric and period):
        return "Choose a network, a figure and a period.", no_update
    known = metric in METRICS
    label = catalogue.label(metric) if known else metric
    kind = metric_kind(metric) if known else "count"
    try:
        with session_scope(current_service().engine) as session:
            if action == "delete":
                if not delete_target(session, network, metric, period):
                    return f"There is no {label} target for {network}, {period}.", no_update
                message = f"Deleted the {label} target for {network}, {period}."
            else:
                if value is None or value == "":
                    return "Type the target's value.", no_update
                stored = float(value) / 100 if kind == "rate" else value
                set_target(session, network, metric, period, stored)
                shown = f"{float(value):g}%" if kind == "rate" else f"{float(value):,g}"
                message = f"Saved: {label} target {shown} for {network}, {period}."
            audit.record(session, "target", scope.username, message)
    except (TargetError, ValueError) as exc:
        return f"Not saved: {exc}", no_update
    return message, (version or 0) + 1


def gate_columns(gate: Gate, values: dict[str, dict]) -> dict[str, dict]:
    """Figures per network column and the combined one, as this user may receive them.

    The combined column is the networks' total: with two or more networks beside it,
    complementary suppression runs down each figure's column."""
    networks = [column for column in values if column != COMBINED]
    safe = {}
    if networks:
        totals = ("column",) if COMBINED in values and len(networks) > 1 else ()
        gated = gate.table(pd.DataFrame([values[n] for n in networks]), totals=totals).frame
        # The gate's values (protected for leadership), not only its mask; its cell keys
        # never come back out of it.
        records = gated.astype(object).where(gated.notna(), None).to_dict("records")
        safe.update(zip(networks, records, strict=True))
    if COMBINED in values:
        safe[COMBINED], _ = gate.record(values[COMBINED])
    return {column: safe[column] for column in values}


def actuals_for(
    gate: Gate, periods: list[str], with_retention: set[str] = frozenset()
) -> dict[str, dict[str, dict]]:
    """Each period's figures per network and combined, as this user may see them.

    Retention (a survival curve per network, the slow part) only for the periods in
    `with_retention`.
    """
    service = current_service()
    settings = service.settings
    result = {}
    for period in periods:
        start, end = parse_period(period)
        window_weeks = settings.active_window_weeks if period in with_retention else None
        values = service.run(
            gate.scope,
            Filters(start=start, end=end),
            network_actuals,
            settings.completion_threshold,
            window_weeks,
        )
        if COMBINED not in values and len(values) == 1:
            values = {**values, COMBINED: next(iter(values.values()))}
        result[period] = gate_columns(gate, values)
    return result


def target_rows(gate: Gate, fiscal_year: str) -> pd.DataFrame:
    with session_scope(current_service().engine) as session:
        targets = list_targets(session, fiscal_year)
    periods = sorted({t["period"] for t in targets})
    retention = {t["period"] for t in targets if t["metric"] == "retention_12w"}
    return actual_vs_target(targets, actuals_for(gate, periods, retention), today())


def _number(value, kind: str, digits: int = 0):
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return round(float(value) * 100, 1) if kind == "rate" else round(float(value), digits)


def grid_rows(frame: pd.DataFrame) -> list[dict]:
    """Rows for the grid: rates in percent, hidden figures as None."""
    rows = []
    for row in frame.to_dict("records"):
        kind = row["kind"]
        rows.append(
            {
                "network": row["network"],
                "metric": row["metric"],
                "figure": row["figure"],
                "period": row["period"],
                "target": _number(row["target"], kind, 2),
                "actual": _number(row["actual"], kind),
                "projection": _number(row["projection"], kind),
                "reached": _number(row["reached"], "rate"),
                "projected": _number(row["projected"], "rate"),
                "status": row["status"],
                "unit": "%" if kind == "rate" else "",
            }
        )
    return rows


def column_defs(editable: bool) -> list[dict]:
    pct = {"function": "params.value == null ? '—' : params.value + '%'"}
    number = {
        "function": "params.value == null ? '—' : "
        "(params.data.unit == '%' ? params.value + '%' : "
        "d3.format(',.0f')(params.value))"
    }
    return [
        {"field": "network", "headerName": "Network"},
        {"field": "figure", "headerName": "Figure"},
        {"field": "period", "headerName": "Period"},
        {
            "field": "target",
            "headerName": "Target",
            "editable": editable,
            "cellEditor": "agNumberCellEditor",
            "valueFormatter": number,
            "cellClass": "fw-semibold" if editable else "",
            "headerTooltip": "Click to edit; rates in %",
        },
        {"field": "actual", "headerName": "Actual so far", "valueFormatter": number},
        {"field": "projection", "headerName": "Projected at period end", "valueFormatter": number},
        {"field": "reached", "headerName": "Reached", "valueFormatter": pct},
        {"field": "projected", "headerName": "Projected", "valueFormatter": pct},
        {"field": "status", "headerName": "Status"},
    ]


def targets_view(fiscal_year, version, presenting):
    """The grid and the chart of actual against target for the fiscal year's targets."""
    scope = current_scope()
    if not fiscal_year:
        return [], column_defs(False), empty_figure("Choose a fiscal year")
    gate = current_service().gate(scope)
    rows = grid_rows(target_rows(gate, fiscal_year))
    hidden_text = f"hidden: fewer than {gate.k} men"
    chart = charts.actual_chart(rows, bool(presenting), hidden_text)
    return rows, column_defs(scope.may_edit_targets), chart


# --- Year on year ---


def trend_figure(fiscal_year, metric, presenting):
    service = current_service()
    gate = service.gate(current_scope())
    settings = service.settings
    if not fiscal_year:
        return empty_figure("Choose a fiscal year")
    last = int(fiscal_year[2:6])
    labels = tuple(
        fiscal_year_label(dt.date(year, 4, 1)) for year in range(last - YEARS_SHOWN + 1, last + 1)
    )
    start, _ = parse_period(labels[0])
    _, end = parse_period(labels[-1])
    window_weeks = settings.active_window_weeks if metric == "retention_12w" else None
    years = service.run(
        gate.scope,
        Filters(start=start, end=end),
        fiscal_year_actuals,
        labels,
        settings.completion_threshold,
        window_weeks,
    )
    safe = {fy: gate_columns(gate, years[fy]) for fy in labels}
    # The running year is shown as far as it has gone.
    ticks = [f"{fy} (so far)" if parse_period(fy)[1] > today() else fy for fy in labels]
    columns = list(next(iter(years.values())).keys())
    series = {column: [safe[fy].get(column, {}).get(metric) for fy in labels] for column in columns}
    return charts.year_on_year(metric, ticks, series, COMBINED, bool(presenting))


# --- Groups: capacity, growth, retention ---


def safe_groups(gate: Gate, f: Filters) -> pd.DataFrame:
    frame = current_service().run(gate.scope, f, metrics.group_table)
    return gate.table(frame).frame


def capacity_figure(fiscal_year, presenting):
    gate = current_service().gate(current_scope())
    f = window(fiscal_year) if fiscal_year else None
    if f is None:
        return empty_figure("This fiscal year hasn't started yet."), ""
    frame = safe_groups(gate, f)
    frame = frame[(frame["sessions_held"] > 0) & frame["capacity"].notna()]
    hidden = frame[frame["capacity_use"].isna()]
    frame = frame[frame["capacity_use"].notna()].copy()
    if frame.empty:
        return charts.capacity(frame, bool(presenting)), ""
    frame["capacity_use"] = frame["capacity_use"].astype(float)
    frame = frame.sort_values("capacity_use", ascending=False)
    note = f"{len(hidden)} group(s) not shown: fewer than {gate.k} men." if len(hidden) else ""
    return charts.capacity(frame, bool(presenting)), note


def growth_table(gate: Gate, f: Filters) -> tuple[pd.DataFrame, int]:
    """Attendance per group now and in the period just before, and the change
    (`tables.attendance_growth`: groups hidden in either period left out and counted)."""
    start, end = previous_period(f.start, f.end)
    return attendance_growth(safe_groups(gate, f), safe_groups(gate, Filters(start=start, end=end)))


def growth_figure(fiscal_year, presenting):
    gate = current_service().gate(current_scope())
    f = window(fiscal_year) if fiscal_year else None
    if f is None:
        return empty_figure("This fiscal year hasn't started yet."), ""
    table, left_out = growth_table(gate, f)
    growing = table[table["change"] > 0].nlargest(TOP, "change")
    shrinking = table[table["change"] < 0].nsmallest(TOP, "change")
    shown = pd.concat([growing, shrinking.iloc[::-1]])
    if shown.empty:
        return charts.growth(shown, bool(presenting)), ""
    start, end = previous_period(f.start, f.end)
    note = f"Compared with {start:%d %b %Y} – {end:%d %b %Y}."
    if left_out:
        note += f" {left_out} group(s) left out: fewer than {gate.k} men in one of the periods."
    return charts.growth(shown, bool(presenting)), note


def retention_figure(fiscal_year, presenting):
    service = current_service()
    gate = service.gate(current_scope())
    f = window(fiscal_year) if fiscal_year else None
    if f is None:
        return empty_figure("This fiscal year hasn't started yet."), ""
    curves = service.run(
        gate.scope, f, metrics.survival_curves, "group", service.settings.active_window_weeks
    )
    exact = pd.DataFrame(
        [{"group": c.label, "retention_base": c.n, "retention_12w": c.at(12)} for c in curves],
        columns=["group", "retention_base", "retention_12w"],
    )
    safe = gate.table(exact).frame
    usable = safe[
        safe["retention_12w"].notna() & [gate.enough(n) for n in safe["retention_base"]]
    ].sort_values("retention_12w", kind="stable")
    weakest = usable.head(TOP)
    k = gate.k
    note = f"Groups with at least {k} new men followed to 12 weeks: {len(usable)} of {len(safe)}."
    if weakest.empty:
        return empty_figure(f"No group has {k} or more new men followed 12 weeks yet."), note
    networks = {g["name"]: g["network"] for g in service.lookup(queries.group_options, ())}
    colors = [color_for(networks.get(group, ""), 0) for group in weakest["group"]]
    return charts.weakest_retention(weakest, colors, bool(presenting)), note


def register(app) -> None:
    app.callback(
        Output("planning-fy", "options"), Output("planning-fy", "value"), Input("url", "pathname")
    )(fiscal_year_choices)
    app.callback(
        Output("planning-target-network", "options"),
        Output("planning-target-network", "value"),
        Output("planning-target-period", "options"),
        Output("planning-target-period", "value"),
        Input("planning-fy", "value"),
    )(target_choices)
    app.callback(
        Output("planning-target-message", "children"),
        Output("planning-version", "data"),
        Input("planning-target-save", "n_clicks"),
        Input("planning-target-delete", "n_clicks"),
        Input("planning-targets-grid", "cellValueChanged"),
        State("planning-target-network", "value"),
        State("planning-target-metric", "value"),
        State("planning-target-period", "value"),
        State("planning-target-value", "value"),
        State("planning-version", "data"),
        prevent_initial_call=True,
    )(write_target)
    app.callback(
        Output("planning-targets-grid", "rowData"),
        Output("planning-targets-grid", "columnDefs"),
        Output("planning-actual-chart", "figure"),
        Input("planning-fy", "value"),
        Input("planning-version", "data"),
        Input("nav-present", "data"),
    )(targets_view)
    app.callback(
        Output("planning-trend", "figure"),
        Input("planning-fy", "value"),
        Input("planning-trend-metric", "value"),
        Input("nav-present", "data"),
    )(trend_figure)
    app.callback(
        Output("planning-capacity", "figure"),
        Output("planning-capacity-note", "children"),
        Input("planning-fy", "value"),
        Input("nav-present", "data"),
    )(capacity_figure)
    app.callback(
        Output("planning-growth", "figure"),
        Output("planning-growth-note", "children"),
        Input("planning-fy", "value"),
        Input("nav-present", "data"),
    )(growth_figure)
    app.callback(
        Output("planning-retention", "figure"),
        Output("planning-retention-note", "children"),
        Input("planning-fy", "value"),
        Input("nav-present", "data"),
    )(retention_figure)
