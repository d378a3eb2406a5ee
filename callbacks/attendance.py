"""Attendance callbacks: thin wiring, one per chart or table, each reading the URL's filters.

Each reads its inputs, runs a metric through the data service, passes the result through the
privacy gate (SPEC §4) and hands the gated table to a builder of charts/attendance.py.
Member-level rows (the at-risk list) are only ever queried for roles that may receive them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import pandas as pd
from dash import Input, Output, State, ctx, no_update

from callbacks.shell import cached_view, url_filters
from charts import attendance as charts
from charts.style import NO_SESSIONS, empty_figure
from dashboard import metrics, queries
from dashboard.audit import record as audit_record
from dashboard.auth import current_scope
from dashboard.catalogue import definition, format_value, label
from dashboard.db import session_scope
from dashboard.filters import Filters
from dashboard.service import current_service
from dashboard.tables import (
    DOSAGE_COLUMNS,
    TREND_COLUMNS,
    dosage_bins,
    fixed_programs,
    heatmap_largest,
)
from dashboard.wording import plural, program_label

TOP_GROUPS = 12  # issue: "limit to the ~12 largest"; more lines than that are unreadable
CHART_GROUPS = 40  # rows of the heatmap and bar charts; the per-group table lists them all
NO_FIXED = "No fixed-length program (Men's Well-Being, 10 sessions) in this selection"
NO_FIXED_SESSIONS = "No sessions of a fixed-length program match these filters"
NO_RECORDED = "no attendance recorded"
MEMBER_ROWS_NOTE = (
    "Member-level lists are shown only to coordinators (for their own network) and admins."
)


def _hidden_note(gate) -> str:
    return f"hidden: fewer than {gate.k} men"


def _plain(value):
    """A cell as JSON-friendly Python: NaN -> None, numpy scalars -> Python, dates -> ISO."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.date | pd.Timestamp):
        return value.isoformat()[:10]
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    return [{key: _plain(value) for key, value in row.items()} for row in frame.to_dict("records")]


def group_figures(scope, f: Filters):
    """The per-group figures (metrics.group_table): exact, and as this user may receive them
    (every figure of a group rests on its men reached; the catalogue says so)."""
    service = current_service()
    raw = service.run(scope, f, metrics.group_table)
    return raw, service.gate(scope).table(raw)


def largest(frame: pd.DataFrame, key: str, by: str, limit: int) -> list:
    """The `limit` keys with the largest total of `by`."""
    totals = frame.groupby(key)[by].sum().sort_values(ascending=False, kind="stable")
    return list(totals.index[:limit])


# --- Attendance over time ---------------------------------------------------------------


def trend_figure(search, by):
    """Attendance per time bucket, one line per network or per group (the ~12 largest)."""
    scope = current_scope()
    f = url_filters(search)
    service = current_service()
    gate = service.gate(scope)
    by = by if by in ("network", "group") else "network"
    frame = service.run(scope, f, metrics.attendance_over_time, by)
    if frame.empty:
        return empty_figure(NO_SESSIONS), ""
    notes = []
    keys = sorted(frame["key"].unique())
    if by == "group":
        keys = largest(frame, "key", "attendance", TOP_GROUPS)
        if frame["key"].nunique() > TOP_GROUPS:
            notes.append(
                f"Showing the {TOP_GROUPS} largest of {frame['key'].nunique()} "
                "groups (by attendance); narrow the filters to see the others."
            )
        frame = frame[frame["key"].isin(keys)]
    safe = gate.table(frame, columns=TREND_COLUMNS)
    if safe.any_hidden:
        notes.append(f"Points resting on fewer than {gate.k} men are hidden (gaps in a line).")
    return charts.trend(safe.frame, keys, by, f.grain), " ".join(notes)


# --- Group x week heatmap ------------------------------------------------------------------


def _weeks(f: Filters, data_end: dt.date | None, latest: pd.Timestamp) -> pd.DatetimeIndex:
    """Every Monday of the period up to the data's end (or the latest week with a session,
    e.g. a cancelled one after it), so weeks without any session show as blank columns."""
    end = min(f.end, data_end) if data_end else f.end
    end = max(end, f.start)
    start = pd.Timestamp(f.start - dt.timedelta(days=f.start.weekday()))
    last = max(pd.Timestamp(end - dt.timedelta(days=end.weekday())), latest)
    return pd.date_range(start, last, freq="7D")


def heatmap_figure(search):
    """Group x week: presents per week, cancelled weeks marked, weeks without session blank.

    Through the gate: (1) a group whose men reached in the period are hidden loses its whole
    row; (2) in the other rows, a week's presents are a count of men (`present_men`): hidden
    ones are drawn grey. Cancelled and empty weeks carry no count. Only the weeks of the
    groups it takes to find the CHART_GROUPS largest are computed (tables.heatmap_largest)."""
    scope = current_scope()
    f = url_filters(search)
    service = current_service()
    gate = service.gate(scope)
    raw, groups = group_figures(scope, f)
    if raw.empty:
        return empty_figure(NO_SESSIONS), ""
    notes = []
    small = set(groups.frame.loc[groups.hidden["men_reached"].to_numpy(), "group"])
    if small:
        notes.append(
            f"{len(small)} group(s) with fewer than {gate.k} men in the period are not shown."
        )
    if raw["group"].isin(small).all():
        return empty_figure(f"Every group here has fewer than {gate.k} men: hidden"), " ".join(
            notes
        )
    rows = heatmap_largest(
        gate,
        raw,
        groups,
        lambda names: service.run(scope, f, metrics.weekly_heatmap, names),
        CHART_GROUPS,
    )
    if rows.any_hidden:
        notes.append(f"Grey: fewer than {gate.k} present that week (hidden).")
    if rows.groups > CHART_GROUPS:
        notes.append(
            f"Showing the {CHART_GROUPS} largest of {rows.groups} "
            "groups; narrow the filters to see the others."
        )
    frame = rows.cells[rows.cells["group"].isin(rows.names)]
    order = (
        frame[["network", "group"]].drop_duplicates().sort_values(["network", "group"])["group"]
    ).tolist()
    data_end = service.data_end()
    latest = pd.to_datetime(rows.cells["week"]).max()
    if not rows.complete and data_end is not None and data_end < f.end:
        # A cancelled session after the data's end, in a group not computed, adds its week.
        last = service.run(scope, f, metrics.last_session_by_group)
        dates = pd.to_datetime(pd.Series([d for g, d in last.items() if g not in rows.small]))
        latest = max(latest, metrics.bucket_start(dates, "week").max())
    weeks = _weeks(f, data_end, latest)
    fig = charts.heatmap(frame, order, weeks, f"fewer than {gate.k} present (hidden)")
    return fig, " ".join(notes)


# --- Attendance rate and excused per group ---------------------------------------------------


def rates_figure(search):
    """Per group: shares present, excused and absent of the recorded rows of sessions held."""
    scope = current_scope()
    f = url_filters(search)
    gate = current_service().gate(scope)
    raw, safe = group_figures(scope, f)
    held = (raw["sessions_held"] > 0).to_numpy()
    if raw.empty or not held.any():
        return empty_figure(NO_SESSIONS), ""
    hidden = safe.hidden["attendance_rate"].to_numpy()
    frame = safe.frame.assign(
        _attendance=raw["attendance"],
        _hidden=hidden,
        note=np.where(hidden, _hidden_note(gate), NO_RECORDED),
    )[held]
    notes = []
    if len(frame) > CHART_GROUPS:
        keep = largest(frame, "group", "_attendance", CHART_GROUPS)
        notes.append(
            f"Showing the {CHART_GROUPS} largest of {len(frame)} groups; the table "
            "below lists them all."
        )
        frame = frame[frame["group"].isin(keep)]
    if frame["_hidden"].any():
        notes.append(f"Groups with fewer than {gate.k} men in the period are hidden.")
    return charts.rates(frame.drop(columns=["_attendance", "_hidden"])), " ".join(notes)


# --- Dosage and completion (fixed-length programs) -------------------------------------------


def dosage_figure(search):
    """Histogram of dosage per member in fixed-length programs, binned on the server."""
    scope = current_scope()
    f = url_filters(search)
    service = current_service()
    gate = service.gate(scope)
    programs = fixed_programs(f)
    if not programs:
        return empty_figure(NO_FIXED), ""
    frame = service.run(scope, replace(f, program_types=programs), metrics.member_dosage)
    if frame.empty:
        return empty_figure(NO_FIXED_SESSIONS), ""
    safe = gate.table(dosage_bins(frame), columns=DOSAGE_COLUMNS).frame
    men = [None if v is None else int(v) for v in safe["men"]]
    texts = [gate.shown("dosage_men", m) for m in men]
    fig = charts.dosage(men, texts, service.settings.completion_threshold)
    exact = {"men": len(frame), "median": float(frame["dosage"].median())}
    summary, _ = gate.record(exact, DOSAGE_COLUMNS)
    program_names = ", ".join(program_label(p) for p in programs)
    note = f"{gate.shown('dosage_men', summary['men'])} men in {program_names}; median dosage "
    if summary["median"] is None:
        note += f"hidden: {gate.reason(exact, 'median', DOSAGE_COLUMNS)}."
    else:
        note += f"{format_value('dosage', summary['median'])}."
    if any(m is None for m in men):
        note += f" Bars marked {gate.hidden_text('dosage_men')} are hidden."
    return fig, note


def completion_rule(settings) -> str:
    """The note under the completion chart: the catalogue's definitions, settings filled."""
    rate = definition("completion_rate", settings)
    return (
        f"{definition('completion_enrolments', settings)} "
        f"{label('completion_rate')}: {rate[0].lower()}{rate[1:]}"
    )


def completion_figure(search):
    """Completion rate per group of the fixed-length enrolments that ended in the period
    (metrics.completion_figures: the rate over enrolments, the base their distinct men)."""
    scope = current_scope()
    f = url_filters(search)
    service = current_service()
    gate = service.gate(scope)
    completion_at = service.settings.completion_threshold
    if not fixed_programs(f):
        return empty_figure(NO_FIXED), ""
    frame = service.run(scope, f, metrics.completion, completion_at)
    rule = completion_rule(service.settings)
    if frame.empty:
        return empty_figure("No fixed-length enrolment ended in this period"), rule
    per = metrics.completion_figures_by(frame, ["network", "group"])
    safe = gate.table(per).frame
    fig = charts.completion(safe, _hidden_note(gate))
    exact = metrics.completion_figures(frame)
    overall, _ = gate.record(exact)
    if overall["completion_rate"] is None:
        rule += f" Overall: hidden, {gate.reason(exact, 'completion_rate')}."
    else:
        rule += (
            f" Overall: {format_value('completion_rate', overall['completion_rate'])} of "
            f"{format_value('completion_enrolments', overall['completion_enrolments'])} places "
            f"ended ({gate.shown('completion_base', overall['completion_base'])} men) "
            "were completed."
        )
    return fig, rule


# --- Tables ------------------------------------------------------------------------------


def group_grid(search):
    """The per-group table: hidden men-reached counts as '<5', hidden figures as empty."""
    scope = current_scope()
    f = url_filters(search)
    gate = current_service().gate(scope)
    raw, safe = group_figures(scope, f)
    if raw.empty:
        return [], NO_SESSIONS
    frame = safe.frame.copy()
    frame["program_type"] = [program_label(p) for p in frame["program_type"]]
    frame["men_reached"] = [
        gate.hidden_text("men_reached") if hidden else value
        for value, hidden in zip(frame["men_reached"], safe.hidden["men_reached"], strict=True)
    ]
    note = f"{plural(len(frame), 'group')} with sessions in the period."
    if safe.any_hidden:
        note += (
            f" Men reached below {gate.k} show as {gate.hidden_text('men_reached')}; the "
            "figures resting on them show as —."
        )
    return records(frame), note


def at_risk_grid(search):
    """Members at risk: no present in the last 3 weeks, still inside the active window."""
    scope = current_scope()
    if not scope.may_see_member_rows:
        # Never query member-level rows for leadership or funders (SPEC §4).
        return [], MEMBER_ROWS_NOTE
    f = url_filters(search)
    service = current_service()
    gate = service.gate(scope)
    data_end = service.data_end()
    if data_end is None:
        return [], NO_SESSIONS
    on = min(f.end, data_end)
    window = service.settings.active_window_weeks
    frame = gate.member_rows(service.run(scope, f, metrics.at_risk_members, on, window))
    note = (
        f"{gate.shown('at_risk', len(frame))} men on {on:%d %b %Y}: a 'present' in the "
        f"{window} weeks up to that day, none in the last {metrics.AT_RISK_WEEKS}."
    )
    return records(frame), note


def _audit_export(scope, what: str, search) -> None:
    service = current_service()
    with session_scope(service.engine) as session:
        audit_record(session, "export", scope.username, f"{what} {search or ''}".strip())


def export_group_table(n_clicks, search):
    """The CSV button: the grid exports what it holds (already suppressed); audited."""
    if not n_clicks:
        return no_update
    _audit_export(current_scope(), "attendance per-group table (CSV)", search)
    return True


def export_at_risk(n_clicks, search):
    if not n_clicks:
        return no_update
    scope = current_scope()
    if not scope.may_see_member_rows:
        return no_update
    _audit_export(scope, "members at risk (CSV)", search)
    return True


# --- Cross-filtering -------------------------------------------------------------------------


def cross_filter(rates_click, heatmap_click, completion_click, search):
    """A click on a group's bar or heatmap row narrows the filters to that group."""
    click = {
        "attendance-rates": rates_click,
        "attendance-heatmap": heatmap_click,
        "attendance-completion": completion_click,
    }.get(ctx.triggered_id)
    if not click or not click.get("points"):
        return no_update
    point = click["points"][0]
    name = point.get("customdata")
    if not isinstance(name, str):
        name = point.get("y")
    scope = current_scope()
    known = {
        g["name"] for g in current_service().lookup(queries.group_options, scope.networks or ())
    }
    if name not in known:
        return no_update
    f = url_filters(search)
    return "?" + replace(f, groups=(name,)).to_query()


def register(app) -> None:
    search = Input("attendance-url", "search")
    app.callback(
        Output("attendance-trend", "figure"),
        Output("attendance-trend-note", "children"),
        search,
        Input("attendance-by", "value"),
    )(cached_view(trend_figure))
    app.callback(
        Output("attendance-heatmap", "figure"),
        Output("attendance-heatmap-note", "children"),
        search,
    )(cached_view(heatmap_figure))
    app.callback(
        Output("attendance-rates", "figure"), Output("attendance-rates-note", "children"), search
    )(cached_view(rates_figure))
    app.callback(
        Output("attendance-dosage", "figure"), Output("attendance-dosage-note", "children"), search
    )(cached_view(dosage_figure))
    app.callback(
        Output("attendance-completion", "figure"),
        Output("attendance-completion-note", "children"),
        search,
    )(cached_view(completion_figure))
    app.callback(
        Output("attendance-table", "rowData"), Output("attendance-table-note", "children"), search
    )(cached_view(group_grid))
    app.callback(
        Output("attendance-atrisk-grid", "rowData"),
        Output("attendance-atrisk-note", "children"),
        search,
    )(cached_view(at_risk_grid))
    app.callback(
        Output("attendance-table", "exportDataAsCsv"),
        Input("attendance-table-csv", "n_clicks"),
        State("attendance-url", "search"),
        prevent_initial_call=True,
    )(export_group_table)
    app.callback(
        Output("attendance-atrisk-grid", "exportDataAsCsv"),
        Input("attendance-atrisk-csv", "n_clicks"),
        State("attendance-url", "search"),
        prevent_initial_call=True,
    )(export_at_risk)
    app.callback(
        Output("attendance-url", "search", allow_duplicate=True),
        Input("attendance-rates", "clickData"),
        Input("attendance-heatmap", "clickData"),
        Input("attendance-completion", "clickData"),
        State("attendance-url", "search"),
        prevent_initial_call=True,
    )(cross_filter)
