"""Planning callbacks: targets (set, edit, delete: leadership and admin only, checked here),
actual against target with a projection, year-on-year trends, capacity, growth, retention."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, ctx, no_update

from callbacks.shell import today
from charts.style import color_for, empty_figure, styled
from dashboard import audit, metrics, queries, report
from dashboard.auth import current_scope
from dashboard.db import session_scope
from dashboard.filters import Filters, fiscal_year_label, fiscal_year_start
from dashboard.service import current_service
from dashboard.targets import (
    COMBINED,
    METRICS,
    TargetError,
    actual_vs_target,
    delete_target,
    fiscal_years,
    list_targets,
    parse_period,
    previous_period,
    quarters,
    set_target,
)

EDITORS = ("leadership", "admin")
YEARS_SHOWN = 5
TOP = 5  # groups growing / shrinking / with the weakest retention shown
GROUP_DERIVED = {
    "attendance": "men_reached",
    "average_attendance": "men_reached",
    "capacity_use": "men_reached",
    "attendance_rate": "men_reached",
    "excused": "men_reached",
    "excused_rate": "men_reached",
}


def chart_height(presenting: bool, normal: int = 380) -> int:
    return 620 if presenting else normal


def big(fig: go.Figure, presenting: bool) -> go.Figure:
    """Presentation mode: large type for a meeting room's screen."""
    if presenting:
        fig.update_layout(font_size=20, title_font_size=24, hoverlabel_font_size=18)
    return fig


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
    names = current_service().lookup(queries.network_names)
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
    if scope.role not in EDITORS:
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
    label, kind = METRICS.get(metric, (metric, "count"))
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


def actuals_for(
    scope, periods: list[str], with_retention: set[str] = frozenset()
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
            scope,
            Filters(start=start, end=end),
            report.network_outputs,
            settings.completion_threshold,
            window_weeks,
        )
        if COMBINED not in values and len(values) == 1:
            values = {**values, COMBINED: next(iter(values.values()))}
        if scope.suppressed:
            values, _ = report.suppress_columns(
                values,
                settings.suppression_threshold,
                report.PLANNING_COUNTS,
                report.PLANNING_DERIVED,
            )
        result[period] = values
    return result


def target_rows(fiscal_year: str) -> pd.DataFrame:
    scope = current_scope()
    with session_scope(current_service().engine) as session:
        targets = list_targets(session, fiscal_year)
    periods = sorted({t["period"] for t in targets})
    retention = {t["period"] for t in targets if t["metric"] == "retention_12w"}
    return actual_vs_target(targets, actuals_for(scope, periods, retention), today())


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


def actual_chart(rows: list[dict], presenting: bool) -> go.Figure:
    if not rows:
        return empty_figure("No targets for this fiscal year yet: set one above.")
    labels = [f"{r['figure']} · {r['network']} · {r['period']}" for r in rows]
    reached = [r["reached"] for r in rows]
    texts = []
    for r in rows:
        if r["status"] == "not started":
            texts.append("not started")
        elif r["actual"] is None:
            texts.append("hidden: fewer than 5 men")
        else:
            unit = r["unit"]
            actual = f"{r['actual']:g}%" if unit else f"{r['actual']:,.0f}"
            target = f"{r['target']:g}%" if unit else f"{r['target']:,.0f}"
            texts.append(f"{actual} of {target} ({r['reached']:.0f}%)")
    colors = [
        "#009E73"
        if r["status"] in ("met", "on track")
        else "#D55E00"
        if r["status"] in ("behind", "below target")
        else "#BBBBBB"
        for r in rows
    ]
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=[v or 0 for v in reached],
            orientation="h",
            marker_color=colors,
            text=texts,
            textposition="outside",
            cliponaxis=False,
            name="Reached so far",
            customdata=[r["status"] for r in rows],
            hovertemplate="%{y}: %{text}, %{customdata}<extra></extra>",
        )
    )
    projected = [
        (label, r["projected"])
        for label, r in zip(labels, rows, strict=True)
        if r["projected"] is not None
    ]
    if projected:
        fig.add_trace(
            go.Scatter(
                y=[p[0] for p in projected],
                x=[p[1] for p in projected],
                mode="markers",
                name="Projected at period end",
                marker=dict(symbol="diamond", size=14, color="#000000"),
                hovertemplate="%{y}: projected %{x:.0f}% of target<extra></extra>",
            )
        )
    fig.add_vline(
        x=100,
        line_dash="dash",
        line_color="#555",
        annotation_text="target",
        annotation_position="top",
    )
    top = max([v or 0 for v in reached] + [p[1] for p in projected] + [100])
    fig.update_xaxes(range=[0, top * 1.45], ticksuffix="%", title="share of target")
    fig.update_yaxes(autorange="reversed")
    height = max(chart_height(presenting, 260), 120 + 44 * len(rows))
    return big(styled(fig, height=height), presenting)


def targets_view(fiscal_year, version, presenting):
    """The grid and the chart of actual against target for the fiscal year's targets."""
    scope = current_scope()
    if not fiscal_year:
        return [], column_defs(False), empty_figure("Choose a fiscal year")
    rows = grid_rows(target_rows(fiscal_year))
    return rows, column_defs(scope.role in EDITORS), actual_chart(rows, bool(presenting))


# --- Year on year ---


def trend_figure(fiscal_year, metric, presenting):
    scope = current_scope()
    service = current_service()
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
        scope,
        Filters(start=start, end=end),
        report.fiscal_year_outputs,
        labels,
        settings.completion_threshold,
        window_weeks,
    )
    label, kind = METRICS[metric]
    # The running year is shown as far as it has gone.
    ticks = [f"{fy} (so far)" if parse_period(fy)[1] > today() else fy for fy in labels]
    fig = go.Figure()
    columns = list(next(iter(years.values())).keys())
    for index, column in enumerate(columns):
        ys, texts = [], []
        for fy in labels:
            values = years[fy]
            if scope.suppressed:
                values, _ = report.suppress_columns(
                    values,
                    settings.suppression_threshold,
                    report.PLANNING_COUNTS,
                    report.PLANNING_DERIVED,
                )
            value = values.get(column, {}).get(metric)
            ys.append(None if value is None else (value * 100 if kind == "rate" else value))
            texts.append(
                "—" if value is None else f"{value:.0%}" if kind == "rate" else f"{value:,.0f}"
            )
        if column == report.COMBINED:
            fig.add_trace(
                go.Scatter(
                    x=ticks,
                    y=ys,
                    name=column,
                    text=texts,
                    mode="lines+markers+text",
                    textposition="top center",
                    line=dict(color=color_for("All"), width=3, dash="dot"),
                )
            )
        else:
            fig.add_trace(
                go.Bar(
                    x=ticks,
                    y=ys,
                    name=column,
                    text=texts,
                    textposition="outside",
                    cliponaxis=False,
                    marker_color=color_for(column, index),
                )
            )
    fig.update_yaxes(title=label + (" (%)" if kind == "rate" else ""), rangemode="tozero")
    fig.update_layout(barmode="group")
    return big(styled(fig, height=chart_height(bool(presenting))), bool(presenting))


# --- Groups: capacity, growth, retention ---


def safe_groups(scope, f: Filters) -> pd.DataFrame:
    service = current_service()
    frame = service.run(scope, f, metrics.group_table)
    return service.table(scope, frame, ["men_reached"], GROUP_DERIVED).frame


def capacity_figure(fiscal_year, presenting):
    scope = current_scope()
    f = window(fiscal_year) if fiscal_year else None
    if f is None:
        return empty_figure("This fiscal year hasn't started yet."), ""
    frame = safe_groups(scope, f)
    frame = frame[(frame["sessions_held"] > 0) & frame["capacity"].notna()]
    hidden = frame[frame["capacity_use"].isna()]
    frame = frame[frame["capacity_use"].notna()].copy()
    if frame.empty:
        return empty_figure("No group held sessions this fiscal year."), ""
    frame["capacity_use"] = frame["capacity_use"].astype(float)
    frame = frame.sort_values("capacity_use", ascending=False)
    fig = go.Figure()
    for index, (network, part) in enumerate(frame.groupby("network", sort=True)):
        fig.add_trace(
            go.Bar(
                y=part["group"],
                x=part["capacity_use"] * 100,
                orientation="h",
                name=network,
                marker_color=color_for(network, index),
                text=[
                    f"{a:.1f} of {int(c)} ({u:.0%})"
                    for a, c, u in zip(
                        part["average_attendance"],
                        part["capacity"],
                        part["capacity_use"],
                        strict=True,
                    )
                ],
                textposition="auto",
                insidetextanchor="end",
                cliponaxis=False,
                hovertemplate="%{y}: %{text}<extra>" + network + "</extra>",
            )
        )
    fig.add_vline(x=100, line_dash="dash", line_color="#555")
    fig.update_yaxes(
        categoryorder="array", categoryarray=list(frame["group"]), autorange="reversed"
    )
    fig.update_xaxes(
        ticksuffix="%",
        title="average attendance / capacity",
        range=[0, max(110, float(frame["capacity_use"].max()) * 135)],
    )
    height = max(chart_height(bool(presenting)), 110 + 24 * len(frame))
    note = (
        f"{len(hidden)} group(s) not shown: fewer than "
        f"{current_service().settings.suppression_threshold} men."
        if len(hidden)
        else ""
    )
    return big(styled(fig, height=height), bool(presenting)), note


def growth_table(scope, f: Filters) -> tuple[pd.DataFrame, int]:
    """Attendance per group now and in the same number of days just before, and the change.

    A group without sessions in one of the periods had 0 presents then; a group whose
    attendance is hidden (fewer than k men) in either period is left out and counted.
    """
    start, end = previous_period(f.start, f.end)
    columns = ["group", "network", "attendance"]
    now = safe_groups(scope, f)[columns]
    before = safe_groups(scope, Filters(start=start, end=end))[columns]
    both = now.merge(
        before, on=["group", "network"], how="outer", suffixes=("", "_before"), indicator=True
    )
    both.loc[both["_merge"] == "right_only", "attendance"] = 0
    both.loc[both["_merge"] == "left_only", "attendance_before"] = 0
    for column in ("attendance", "attendance_before"):
        both[column] = pd.to_numeric(both[column], errors="coerce")
    usable = both.dropna(subset=["attendance", "attendance_before"]).drop(columns="_merge")
    usable = usable.assign(change=usable["attendance"] - usable["attendance_before"])
    return usable, len(both) - len(usable)


def growth_figure(fiscal_year, presenting):
    scope = current_scope()
    f = window(fiscal_year) if fiscal_year else None
    if f is None:
        return empty_figure("This fiscal year hasn't started yet."), ""
    table, left_out = growth_table(scope, f)
    growing = table[table["change"] > 0].nlargest(TOP, "change")
    shrinking = table[table["change"] < 0].nsmallest(TOP, "change")
    shown = pd.concat([growing, shrinking.iloc[::-1]])
    if shown.empty:
        return empty_figure("No group's attendance changed."), ""
    texts = []
    for now, before, change in zip(
        shown["attendance"], shown["attendance_before"], shown["change"], strict=True
    ):
        pct = f" ({change / before:+.0%})" if before else ""
        texts.append(f"{before:,.0f} → {now:,.0f}{pct}")
    fig = go.Figure(
        go.Bar(
            y=shown["group"],
            x=shown["change"],
            orientation="h",
            marker_color=["#009E73" if c > 0 else "#D55E00" for c in shown["change"]],
            text=texts,
            textposition="outside",
            cliponaxis=False,
            showlegend=False,
            hovertemplate="%{y}: %{x:+,} presents (%{text})<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    reach = float(shown["change"].abs().max())
    fig.update_xaxes(title="change in attendance (presents)", range=[-reach * 1.8, reach * 1.8])
    start, end = previous_period(f.start, f.end)
    note = f"Compared with {start:%d %b %Y} – {end:%d %b %Y}."
    if left_out:
        note += (
            f" {left_out} group(s) left out: fewer than "
            f"{current_service().settings.suppression_threshold} men in one of the periods."
        )
    return big(styled(fig, height=chart_height(bool(presenting))), bool(presenting)), note


def retention_figure(fiscal_year, presenting):
    scope = current_scope()
    service = current_service()
    f = window(fiscal_year) if fiscal_year else None
    if f is None:
        return empty_figure("This fiscal year hasn't started yet."), ""
    k = service.settings.suppression_threshold
    curves = service.run(
        scope, f, metrics.survival_curves, "group", service.settings.active_window_weeks
    )
    rows = [(c.label, c.n, c.at(12)) for c in curves]
    usable = sorted([r for r in rows if r[1] >= k and r[2] is not None], key=lambda r: r[2])
    weakest = usable[:TOP]
    note = f"Groups with at least {k} new men followed to 12 weeks: {len(usable)} of {len(rows)}."
    if not weakest:
        return empty_figure(f"No group has {k} or more new men followed 12 weeks yet."), note
    networks = {g["name"]: g["network"] for g in service.lookup(queries.group_options, ())}
    fig = go.Figure(
        go.Bar(
            y=[r[0] for r in weakest],
            x=[r[2] * 100 for r in weakest],
            orientation="h",
            marker_color=[color_for(networks.get(r[0], ""), 0) for r in weakest],
            text=[f"{r[2]:.0%} of {r[1]} new men" for r in weakest],
            textposition="outside",
            cliponaxis=False,
            showlegend=False,
            hovertemplate="%{y}: %{text} still coming at 12 weeks<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, 119], ticksuffix="%", title="retention at 12 weeks")
    fig.update_yaxes(autorange="reversed")
    return big(styled(fig, height=chart_height(bool(presenting), 320)), bool(presenting)), note


# --- Presentation mode ---


def presentation(on):
    return "planning-page presentation" if on else "planning-page"


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
        Input("planning-present", "value"),
    )(targets_view)
    app.callback(
        Output("planning-trend", "figure"),
        Input("planning-fy", "value"),
        Input("planning-trend-metric", "value"),
        Input("planning-present", "value"),
    )(trend_figure)
    app.callback(
        Output("planning-capacity", "figure"),
        Output("planning-capacity-note", "children"),
        Input("planning-fy", "value"),
        Input("planning-present", "value"),
    )(capacity_figure)
    app.callback(
        Output("planning-growth", "figure"),
        Output("planning-growth-note", "children"),
        Input("planning-fy", "value"),
        Input("planning-present", "value"),
    )(growth_figure)
    app.callback(
        Output("planning-retention", "figure"),
        Output("planning-retention-note", "children"),
        Input("planning-fy", "value"),
        Input("planning-present", "value"),
    )(retention_figure)
    app.callback(Output("planning-root", "className"), Input("planning-present", "value"))(
        presentation
    )
