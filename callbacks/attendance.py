"""Attendance callbacks: one per chart or table, each reading the URL's filters.

Leadership sees every figure through service.table (SPEC §4); member-level rows (the at-risk
list) are only ever queried for coordinators and admins.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, ctx, no_update

from callbacks.shell import url_filters
from charts.style import NO_SESSIONS, color_for, empty_figure, styled
from dashboard import metrics, queries
from dashboard.audit import record as audit_record
from dashboard.auth import current_scope
from dashboard.db import session_scope
from dashboard.filters import Filters
from dashboard.models import FIXED_LENGTH_PROGRAMS
from dashboard.privacy import shown_count, suppress_record
from dashboard.service import current_service
from layouts.shell import PROGRAM_LABELS

TOP_GROUPS = 12  # issue: "limit to the ~12 largest"; more lines than that are unreadable
CHART_GROUPS = 40  # rows of the heatmap and bar charts; the per-group table lists them all
MAX_MARKED_WEEKS = 80  # beyond this many columns a cell is too thin for its "✕" text
# Group lines: Okabe-Ito without its yellow (too faint for a thin line on white) plus wine;
# after 8 groups the dash pattern changes, so no two of the 12 lines look alike.
GROUP_COLORS = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#000000",
    "#882255",
]
LINE_DASHES = ["solid", "dash", "dot", "dashdot"]
PRESENT, EXCUSED, ABSENT = "#0072B2", "#E69F00", "#BBBBBB"  # Okabe-Ito, as charts.py
CANCELLED, HIDDEN = "#D55E00", "#A6A6A6"
MIN_LABELLED_SHARE = 0.04  # narrower bar segments carry no text label (it would not fit)
# Light-to-dark blues: the lightest shade stays visible against a blank (no session) cell.
ATTENDANCE_SCALE = [[0, "#C6DBEF"], [0.5, "#4292C6"], [1, "#08306B"]]

# The per-group table's suppression (issue 3): every count and figure rests on men reached.
GROUP_COUNTS = ["men_reached"]
GROUP_DERIVED = {
    key: "men_reached"
    for key in (
        "attendance",
        "average_attendance",
        "attendance_rate",
        "excused_rate",
        "capacity_use",
        "excused",
    )
}
NO_FIXED = "No fixed-length program (Men's Well-Being, 10 sessions) in this selection"
NO_FIXED_SESSIONS = "No sessions of a fixed-length program match these filters"
MEMBER_ROWS_NOTE = (
    "Member-level lists are shown only to coordinators (for their own "
    "network) and the data steward."
)


def _threshold() -> int:
    return current_service().settings.suppression_threshold


def _hidden_note(threshold: int) -> str:
    return f"hidden: fewer than {threshold} men"


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


def finish(fig: go.Figure, height: int) -> go.Figure:
    """The house style, with room above the plot so the mode bar covers no label or bar."""
    fig = styled(fig, height=height)
    fig.update_layout(margin=dict(t=56), legend=dict(traceorder="normal"))
    return fig


def records(frame: pd.DataFrame) -> list[dict]:
    return [{key: _plain(value) for key, value in row.items()} for row in frame.to_dict("records")]


def group_figures(scope, f: Filters):
    """The per-group figures (metrics.group_table) as this user may receive them."""
    service = current_service()
    raw = service.run(scope, f, metrics.group_table)
    return raw, service.table(scope, raw, GROUP_COUNTS, GROUP_DERIVED, totals=())


def largest(frame: pd.DataFrame, key: str, by: str, limit: int) -> list:
    """The `limit` keys with the largest total of `by` (the unsuppressed figure)."""
    totals = frame.groupby(key)[by].sum().sort_values(ascending=False, kind="stable")
    return list(totals.index[:limit])


# --- Attendance over time ---------------------------------------------------------------


def trend_figure(search, by):
    """Attendance per time bucket, one line per network or per group (the ~12 largest)."""
    scope = current_scope()
    f = url_filters(search)
    service = current_service()
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
    safe = service.table(scope, frame, ["men"], {"attendance": "men", "average_attendance": "men"})
    if safe.any_hidden:
        notes.append(
            f"Points resting on fewer than {safe.threshold} men are hidden (gaps in a line)."
        )
    fig = go.Figure()
    for index, key in enumerate(keys):
        part = safe.frame[safe.frame["key"] == key]
        color = (
            color_for(key, index) if by == "network" else GROUP_COLORS[index % len(GROUP_COLORS)]
        )
        dash = LINE_DASHES[(index // len(GROUP_COLORS)) % len(LINE_DASHES)]
        fig.add_trace(
            go.Scatter(
                # Plain lists: plotly validates pandas objects far more slowly.
                x=[d.date().isoformat() for d in part["period"]],
                y=[_plain(v) for v in part["attendance"]],
                name=key,
                mode="lines+markers",
                line=dict(color=color, width=3 if by == "network" else 2, dash=dash),
                connectgaps=False,
                hovertemplate=f"{key}<br>%{{x|%d %b %Y}}: %{{y:,}} present<extra></extra>",
            )
        )
    fig.update_yaxes(title="Attendance (presents)", rangemode="tozero")
    fig.update_xaxes(title=f"{f.grain.title()} starting")
    if f.grain != "week" and frame["period"].nunique() <= 12:
        # Few buckets: one tick per month or quarter, not plotly's day ticks between them.
        fig.update_xaxes(dtick="M1" if f.grain == "month" else "M3", tickformat="%b %Y")
    fig = finish(fig, 380 if by == "network" else 440)
    if by == "group":
        # Group names are long: a legend beside the chart reads better than one on top.
        fig.update_layout(
            legend=dict(orientation="v", x=1.02, y=1, yanchor="top", font=dict(size=12)),
            margin=dict(r=20),
        )
    return fig, " ".join(notes)


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
    """Group x week: presents per week, cancelled weeks marked, weeks without session blank."""
    scope = current_scope()
    f = url_filters(search)
    service = current_service()
    frame = service.run(scope, f, metrics.weekly_heatmap)
    if frame.empty:
        return empty_figure(NO_SESSIONS), ""
    frame = frame.copy()
    frame["attendance"] = frame["attendance"].astype(float)
    # A fully cancelled week has no attendance: NaN keeps it out of the colour scale and out
    # of suppression (it is not a count of men).
    frame.loc[frame["cancelled"].astype(bool), "attendance"] = np.nan
    frame["hidden"] = False
    notes = []
    threshold = service.settings.suppression_threshold
    if scope.suppressed:
        # Suppression for leadership (SPEC §4), kept simple: (1) a group with fewer than k men
        # reached in the period loses its whole row; (2) in the other rows, a week whose
        # presents are below k is hidden too (grey), since with one session a week its
        # presents are a count of distinct men. Cancelled and empty weeks carry no count.
        groups, _ = group_figures(scope, f)
        small = set(groups.loc[groups["men_reached"] < threshold, "group"])
        if small:
            frame = frame[~frame["group"].isin(small)]
            notes.append(
                f"{len(small)} group(s) with fewer than {threshold} men in the period "
                "are not shown."
            )
        if frame.empty:
            return empty_figure(
                f"Every group here has fewer than {threshold} men: hidden"
            ), " ".join(notes)
        safe = service.table(scope, frame, ["attendance"])
        frame = frame.reset_index(drop=True)
        frame["hidden"] = safe.hidden["attendance"].to_numpy()
        frame["attendance"] = pd.to_numeric(safe.frame["attendance"], errors="coerce")
        if frame["hidden"].any():
            notes.append(f"Grey: fewer than {threshold} present that week (hidden).")
    names = largest(frame, "group", "attendance", CHART_GROUPS)
    if frame["group"].nunique() > CHART_GROUPS:
        notes.append(
            f"Showing the {CHART_GROUPS} largest of {frame['group'].nunique()} "
            "groups; narrow the filters to see the others."
        )
    order = (
        frame[frame["group"].isin(names)][["network", "group"]]
        .drop_duplicates()
        .sort_values(["network", "group"])["group"]
        .tolist()
    )
    frame["week"] = pd.to_datetime(frame["week"])
    weeks = _weeks(f, service.data_end(), frame["week"].max())

    def grid(values: pd.Series) -> pd.DataFrame:
        return (
            frame.assign(value=values)
            .pivot(index="group", columns="week", values="value")
            .reindex(index=order, columns=weeks)
        )

    present = grid(frame["attendance"])
    cancelled = grid(frame["cancelled"].astype(bool).map({True: 1.0, False: np.nan}))
    hidden = grid(frame["hidden"].map({True: 1.0, False: np.nan}))
    x = [w.date().isoformat() for w in weeks]
    common = dict(x=x, y=order, xgap=1, ygap=1, hoverongaps=False)
    fig = go.Figure(
        go.Heatmap(
            z=present.to_numpy(dtype=float),
            colorscale=ATTENDANCE_SCALE,
            zmin=0,
            # At least 0-5, so a tiny group's scale does not read 0, 0.5, 1.
            zmax=max(5.0, float(np.nanmax(present.to_numpy(dtype=float), initial=0))),
            colorbar=dict(
                title=dict(text="Present"), thickness=12, len=1 if len(order) < 8 else 0.8
            ),
            hovertemplate="%{y}<br>Week of %{x|%d %b %Y}: %{z} present<extra></extra>",
            **common,
        )
    )
    marked = cancelled.to_numpy(dtype=float)
    fig.add_trace(
        go.Heatmap(
            z=marked,
            colorscale=[[0, CANCELLED], [1, CANCELLED]],
            showscale=False,
            text=np.where(np.isnan(marked), "", "✕") if len(weeks) <= MAX_MARKED_WEEKS else None,
            texttemplate="%{text}",
            textfont=dict(color="white", size=11),
            hovertemplate="%{y}<br>Week of %{x|%d %b %Y}: cancelled<extra></extra>",
            **common,
        )
    )
    if scope.suppressed:
        fig.add_trace(
            go.Heatmap(
                z=hidden.to_numpy(dtype=float),
                colorscale=[[0, HIDDEN], [1, HIDDEN]],
                showscale=False,
                hovertemplate="%{y}<br>Week of %{x|%d %b %Y}: fewer than "
                f"{threshold} present (hidden)<extra></extra>",
                **common,
            )
        )
    fig.update_yaxes(autorange="reversed", tickfont=dict(size=12), automargin=True, title=None)
    fig.update_xaxes(title="Week starting", tickformat="%d %b\n%Y", showgrid=False)
    fig = finish(fig, max(260, 22 * len(order) + 110))
    fig.update_layout(plot_bgcolor="white")
    return fig, " ".join(notes)


# --- Attendance rate and excused per group ---------------------------------------------------


def rates_figure(search):
    """Per group: shares present, excused and absent of the recorded rows of sessions held."""
    scope = current_scope()
    f = url_filters(search)
    raw, safe = group_figures(scope, f)
    held = raw["sessions_held"] > 0
    if raw.empty or not held.any():
        return empty_figure(NO_SESSIONS), ""
    frame = safe.frame.assign(_attendance=raw["attendance"])[held.to_numpy()]
    notes = []
    if len(frame) > CHART_GROUPS:
        keep = largest(frame, "group", "_attendance", CHART_GROUPS)
        notes.append(
            f"Showing the {CHART_GROUPS} largest of {len(frame)} groups; the table "
            "below lists them all."
        )
        frame = frame[frame["group"].isin(keep)]
    rate = pd.to_numeric(frame["attendance_rate"], errors="coerce")
    excused = pd.to_numeric(frame["excused_rate"], errors="coerce")
    frame = frame.assign(
        rate=rate, excused_share=excused, absent=(1 - rate - excused).clip(lower=0)
    )
    frame = frame.sort_values(["rate", "group"], ascending=[False, True], na_position="last")
    names = frame["group"].tolist()
    fig = go.Figure()
    shown = frame[frame["rate"].notna()]
    for column, label, color, text_color in (
        ("rate", "Present", PRESENT, "white"),
        ("excused_share", "Excused", EXCUSED, "black"),
        ("absent", "Absent", ABSENT, "black"),
    ):
        fig.add_trace(
            go.Bar(
                x=shown[column].tolist(),
                y=shown["group"].tolist(),
                name=label,
                orientation="h",
                customdata=shown["group"].tolist(),
                marker_color=color,
                # A label only where the segment is wide enough to hold it.
                text=[f"{v:.0%}" if v >= MIN_LABELLED_SHARE else "" for v in shown[column]],
                textposition="inside",
                insidetextanchor="middle",
                textangle=0,
                textfont=dict(color=text_color, size=12),
                hovertemplate=f"%{{y}}<br>{label}: %{{x:.0%}}<extra></extra>",
            )
        )
    hidden = frame[frame["rate"].isna()]["group"].tolist()
    threshold = _threshold()
    if hidden:
        fig.add_trace(
            go.Scatter(
                x=[0.01] * len(hidden),
                y=hidden,
                mode="text",
                customdata=hidden,
                text=[_hidden_note(threshold) if scope.suppressed else "no attendance recorded"]
                * len(hidden),
                textposition="middle right",
                showlegend=False,
                hoverinfo="skip",
                textfont=dict(color="#555"),
            )
        )
        if scope.suppressed:
            notes.append(f"Groups with fewer than {threshold} men in the period are hidden.")
    fig.update_layout(barmode="stack")
    fig.update_xaxes(
        tickformat=".0%", range=[0, 1.02], dtick=0.2, title="Share of recorded attendance"
    )
    fig.update_yaxes(
        autorange="reversed",
        automargin=True,
        tickfont=dict(size=12),
        categoryorder="array",
        categoryarray=names,
    )
    return finish(fig, max(260, 26 * len(names) + 130)), " ".join(notes)


# --- Dosage and completion (fixed-length programs) -------------------------------------------


def fixed_programs(f: Filters) -> tuple[str, ...]:
    """The fixed-length programs (e.g. wellbeing-10) the filters' program types allow."""
    return tuple(p for p in FIXED_LENGTH_PROGRAMS if not f.program_types or p in f.program_types)


def dosage_figure(search):
    """Histogram of dosage per member in fixed-length programs, binned on the server."""
    scope = current_scope()
    f = url_filters(search)
    service = current_service()
    programs = fixed_programs(f)
    if not programs:
        return empty_figure(NO_FIXED), ""
    frame = service.run(scope, replace(f, program_types=programs), metrics.member_dosage)
    if frame.empty:
        return empty_figure(NO_FIXED_SESSIONS), ""
    threshold = service.settings.suppression_threshold
    # Ten bins of 10 points; 100% falls in the last. Only counts per bin leave the server.
    bins = np.minimum((frame["dosage"].astype(float) * 10).astype(int), 9)
    counts = pd.DataFrame(
        {"bin": range(10), "men": bins.value_counts().reindex(range(10), fill_value=0).to_numpy()}
    )
    safe = service.table(scope, counts, ["men"]).frame
    men = [None if v is None else int(v) for v in safe["men"]]
    labels = [f"{10 * i}–{10 * i + 9 if i < 9 else 100}%" for i in range(10)]
    fig = go.Figure(
        go.Bar(
            x=[i / 10 + 0.05 for i in range(10)],
            y=[m or 0 for m in men],
            width=0.095,
            marker_color=[HIDDEN if m is None else PRESENT for m in men],
            text=[shown_count(m, threshold) for m in men],
            textposition="outside",
            customdata=labels,
            cliponaxis=False,
            hovertemplate="Dosage %{customdata}: %{text} men<extra></extra>",
        )
    )
    completion_at = service.settings.completion_threshold
    fig.add_vline(
        x=completion_at,
        line_dash="dash",
        line_color="#555",
        annotation_text=f"completion threshold {completion_at:.0%}",
        annotation_position="top left",
        annotation_font_size=12,
    )
    fig.update_xaxes(
        tickformat=".0%",
        range=[-0.02, 1.02],
        dtick=0.2,
        title="Dosage (share of sessions attended)",
    )
    # Headroom for the count above the tallest bar.
    fig.update_yaxes(title="Men", range=[0, max(m or 0 for m in men) * 1.18 + 1])
    summary = {"men": len(frame), "median": float(frame["dosage"].median())}
    if scope.suppressed:
        summary, _ = suppress_record(summary, threshold, ["men"], {"median": "men"})
    program_names = ", ".join(PROGRAM_LABELS.get(p, p) for p in programs)
    note = f"{shown_count(summary['men'], threshold)} men in {program_names}; median dosage "
    note += _hidden_note(threshold) if summary["median"] is None else f"{summary['median']:.0%}."
    if any(m is None for m in men):
        note += f" Bars marked <{threshold} are hidden."
    return finish(fig, 360), note


def completion_figure(search):
    """Completion rate per group of the fixed-length enrolments that ended in the period."""
    scope = current_scope()
    f = url_filters(search)
    service = current_service()
    completion_at = service.settings.completion_threshold
    threshold = service.settings.suppression_threshold
    if not fixed_programs(f):
        return empty_figure(NO_FIXED), ""
    frame = service.run(scope, f, metrics.completion, completion_at)
    rule = (
        f"Completed = attended at least {completion_at:.0%} of the program's sessions "
        "(enrolments ended in the period)."
    )
    if frame.empty:
        return empty_figure("No fixed-length enrolment ended in this period"), rule
    per = frame.groupby(["group", "network"], as_index=False).agg(
        men=("member_id", "nunique"),
        enrolments=("member_id", "size"),
        completed=("completed", "sum"),
    )
    per["completion_rate"] = per["completed"] / per["enrolments"]
    derived = {"completion_rate": "men", "completed": "men", "enrolments": "men"}
    safe = service.table(scope, per, ["men"], derived).frame
    safe = safe.sort_values(["network", "group"]).reset_index(drop=True)
    overall = {
        "men": frame["member_id"].nunique(),
        "rate": metrics.completion_rate(frame),
        "enrolments": len(frame),
    }
    if scope.suppressed:
        overall, _ = suppress_record(
            overall, threshold, ["men"], {"rate": "men", "enrolments": "men"}
        )
    fig = go.Figure()
    for index, (network, part) in enumerate(safe.groupby("network", sort=True)):
        shown = part[part["completion_rate"].notna()]
        fig.add_trace(
            go.Bar(
                x=shown["completion_rate"].astype(float).tolist(),
                y=shown["group"].tolist(),
                orientation="h",
                name=network,
                marker_color=color_for(network, index),
                customdata=shown["group"].tolist(),
                text=[
                    f"{r:.0%} of {int(n)}"
                    for r, n in zip(shown["completion_rate"], shown["enrolments"], strict=True)
                ],
                textposition="auto",
                hovertemplate="%{y}<br>Completed: %{text}<extra></extra>",
            )
        )
    hidden = safe[safe["completion_rate"].isna()]["group"].tolist()
    if hidden:
        fig.add_trace(
            go.Scatter(
                x=[0.01] * len(hidden),
                y=hidden,
                mode="text",
                customdata=hidden,
                text=[_hidden_note(threshold)] * len(hidden),
                textposition="middle right",
                showlegend=False,
                hoverinfo="skip",
                textfont=dict(color="#555"),
            )
        )
    fig.update_xaxes(tickformat=".0%", range=[0, 1.02], dtick=0.2, title="Completion rate")
    fig.update_yaxes(
        autorange="reversed",
        automargin=True,
        tickfont=dict(size=12),
        categoryorder="array",
        categoryarray=safe["group"].tolist(),
    )
    if overall["rate"] is None:
        rule += f" Overall: {_hidden_note(threshold)}."
    else:
        rule += (
            f" Overall: {overall['rate']:.0%} of {overall['enrolments']:,} enrolments completed."
        )
    return finish(fig, max(260, 28 * len(safe) + 130)), rule


# --- Tables ------------------------------------------------------------------------------


def group_grid(search):
    """The per-group table: hidden men-reached counts as '<5', hidden figures as empty."""
    scope = current_scope()
    f = url_filters(search)
    raw, safe = group_figures(scope, f)
    if raw.empty:
        return [], NO_SESSIONS
    threshold = safe.threshold
    frame = safe.frame.copy()
    frame["men_reached"] = [
        shown_count(None, threshold) if hidden else value
        for value, hidden in zip(frame["men_reached"], safe.hidden["men_reached"], strict=True)
    ]
    note = f"{len(frame)} group(s) with sessions in the period."
    if safe.any_hidden:
        note += (
            f" Men reached below {threshold} show as <{threshold}; the figures resting "
            "on them show as —."
        )
    return records(frame), note


def at_risk_grid(search):
    """Members at risk: no present in the last 3 weeks, still inside the active window."""
    scope = current_scope()
    if not scope.member_rows:
        # Never query member-level rows for leadership or funders (SPEC §4).
        return [], MEMBER_ROWS_NOTE
    f = url_filters(search)
    service = current_service()
    data_end = service.data_end()
    if data_end is None:
        return [], NO_SESSIONS
    on = min(f.end, data_end)
    window = service.settings.active_window_weeks
    frame = service.run(scope, f, metrics.at_risk_members, on, window)
    note = (
        f"{len(frame)} men on {on:%d %b %Y}: a 'present' in the {window} weeks up to that "
        f"day, none in the last {metrics.AT_RISK_WEEKS}."
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
    if not scope.member_rows:
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
    )(trend_figure)
    app.callback(
        Output("attendance-heatmap", "figure"),
        Output("attendance-heatmap-note", "children"),
        search,
    )(heatmap_figure)
    app.callback(
        Output("attendance-rates", "figure"), Output("attendance-rates-note", "children"), search
    )(rates_figure)
    app.callback(
        Output("attendance-dosage", "figure"), Output("attendance-dosage-note", "children"), search
    )(dosage_figure)
    app.callback(
        Output("attendance-completion", "figure"),
        Output("attendance-completion-note", "children"),
        search,
    )(completion_figure)
    app.callback(
        Output("attendance-table", "rowData"), Output("attendance-table-note", "children"), search
    )(group_grid)
    app.callback(
        Output("attendance-atrisk-grid", "rowData"),
        Output("attendance-atrisk-note", "children"),
        search,
    )(at_risk_grid)
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
