"""Retention callbacks: survival curves with numbers at risk, retention at 4/12/26/52 weeks,
the cohort matrix and completion. Each callback reads the URL's filters, asks the data service
for the figures, passes them through the privacy gate and hands them to a builder of
charts/retention.py. The metric results are cached by the data service, so two callbacks on
the same figures compute them once."""

from __future__ import annotations

from dataclasses import replace
from itertools import takewhile

import pandas as pd
from dash import Input, Output, State, html, no_update

from callbacks.shell import cached_view, url_filters
from charts.retention import (
    FUTURE,
    HIDDEN,
    PARTIAL,
    SHOWN,
    at_risk_table,
    cohort_heatmap,
    completion_bars,
    survival_figure,
)
from charts.style import color_for, empty_figure
from dashboard import catalogue, metrics, queries
from dashboard.auth import current_scope
from dashboard.filters import Filters
from dashboard.gate import Gate
from dashboard.service import current_service
from dashboard.stats import SurvivalCurve, logrank, logrank_in_words
from dashboard.tables import (
    AT_RISK_WEEKS,
    POINTS,
    at_risk_numbers,
    cohort_tables,
    completion_rows,
    retention_points,
)

# Readability, not privacy: by group, fewer new members than this make an unreadable curve.
MIN_GROUP_MEMBERS = 10
MAX_BANDS = 4  # more overlapping confidence bands than this hide the curves
GRID_ROWS = 12  # the retention table grows to this many rows, then scrolls
MAX_GROUP_CURVES = 8  # by group: more curves than this cannot be told apart
NO_NEW_MEMBERS = "No new members in this period for these filters"
NOT_FOLLOWED = "— nobody followed that long"
HIDDEN_POINT = "— hidden (fewer than {k} men)"


def _by(by: str | None) -> str:
    return "group" if by == "group" else "network"


def survival(scope, f: Filters, by: str) -> dict:
    """metrics.retention for this user (cached by the data service)."""
    service = current_service()
    return service.run(scope, f, metrics.retention, by, service.settings.active_window_weeks)


CURVE_COLUMNS = {
    "n": "retention_base",
    "survival": "survival_curve",
    "ci_low": "survival_curve",
    "ci_high": "survival_curve",
}


def gated_curve(gate: Gate, curve: SurvivalCurve) -> SurvivalCurve | None:
    """The curve as this user may receive it (SPEC §4), None when its new members are hidden:
    its new members and points through the gate (protected ones rounded), stopping before the
    first point where the gate withholds the number still followed; its band stops with it.
    The men's own durations stay on the server."""
    points = pd.DataFrame(
        {
            "curve": curve.label,
            "n": curve.n,
            "survival": curve.survival,
            "ci_low": curve.ci_low,
            "ci_high": curve.ci_high,
        }
    )
    safe = gate.table(points, CURVE_COLUMNS).frame
    if safe.empty or safe["n"].iloc[0] is None:
        return None
    kept = sum(1 for _ in takewhile(gate.allows, curve.at_risk))
    values = {column: [float(v) for v in safe[column][:kept]] for column in CURVE_COLUMNS}
    return SurvivalCurve(
        curve.label,
        int(safe["n"].iloc[0]),
        curve.times[:kept],
        values["survival"],
        values["ci_low"],
        values["ci_high"],
        curve.at_risk[:kept],
        [],
        [],
    )


def drawable(
    curves: list[SurvivalCurve], shown: dict[str, SurvivalCurve | None], by: str, k: int
) -> tuple[list[SurvivalCurve], list[str]]:
    """Of the gated curves (`shown`, by label), the ones to draw, and sentences on the curves
    left out (with the reason)."""
    notes = []
    hidden = [c for c in curves if c.n > 0 and shown[c.label] is None]
    if hidden:
        names = ", ".join(c.label for c in hidden)
        notes.append(f"{names}: fewer than {k} new members — not drawn (small numbers are hidden).")
    rest = [shown[c.label] for c in curves if c.n > 0 and shown[c.label] is not None]
    if by != "group":
        return rest, notes
    small = [c for c in rest if c.n < MIN_GROUP_MEMBERS]
    big = sorted((c for c in rest if c.n >= MIN_GROUP_MEMBERS), key=lambda c: (-c.n, c.label))
    drawn = sorted(big[:MAX_GROUP_CURVES], key=lambda c: c.label)
    if small:
        which = (
            ": " + ", ".join(f"{c.label} ({c.n})" for c in small)
            if len(small) <= 6
            else f" ({len(small)} groups)"
        )
        notes.append(
            f"Groups with fewer than {MIN_GROUP_MEMBERS} new members are not drawn (too few "
            f"for a readable curve){which}."
        )
    if len(big) > MAX_GROUP_CURVES:
        notes.append(
            f"Only the {MAX_GROUP_CURVES} groups with the most new members are drawn; "
            f"{len(big) - MAX_GROUP_CURVES} more are in the table below. Choose groups in the "
            "filter bar to compare others."
        )
    return drawn, notes


def comparison_in_words(drawn: list[SurvivalCurve], of_all: dict | None = None) -> str:
    """The log-rank test across the drawn curves, in words (many groups named by count);
    `of_all`: the test across every curve with members (metrics.retention), taken as it is
    when those are the curves drawn."""
    if len(drawn) < 2:
        return f"One curve shown ({drawn[0].label}); choose more networks or groups to compare."
    labels = [c.label for c in drawn if c.n > 0]
    result = of_all if of_all and of_all["groups"] == labels else logrank(drawn)
    if result is not None and len(result["groups"]) > 3:
        result = {**result, "groups": [f"the {len(result['groups'])} groups drawn"]}
    return logrank_in_words(result)


def at_risk_rows(gate: Gate, curves: list[SurvivalCurve]) -> pd.DataFrame:
    """Men still followed at 0/4/12/26/52 weeks per curve, as text this user may read."""
    safe = at_risk_numbers(gate, curves).frame
    for column in (f"w{w}" for w in AT_RISK_WEEKS):
        safe[column] = [gate.shown("at_risk_number", value) for value in safe[column]]
    return safe


def km_chart(search, by):
    """The Kaplan-Meier figure, numbers at risk, notes on what is not drawn, the log-rank."""
    scope = current_scope()
    f = url_filters(search)
    by = _by(by)
    gate = current_service().gate(scope)
    result = survival(scope, f, by)
    curves = result["curves"]
    if not curves:
        return (
            empty_figure(NO_NEW_MEMBERS),
            html.P("—", className="text-muted"),
            "",
            "No curves to compare.",
        )
    shown = {c.label: gated_curve(gate, c) for c in curves if c.n > 0}
    drawn, notes = drawable(curves, shown, by, gate.k)
    if not drawn:
        return (
            empty_figure("No curve has enough new members to draw"),
            html.P("—", className="text-muted"),
            " ".join(notes),
            "No curve can be drawn for these filters.",
        )
    exact = {c.label: c for c in curves}
    fitted = [exact[c.label] for c in drawn]  # the log-rank and the numbers at risk need them
    if any(len(c.times) < len(exact[c.label].times) for c in drawn):
        notes.append(f"A curve stops where fewer than {gate.k} of its men are still followed.")
    bands = len(drawn) <= MAX_BANDS
    if not bands:
        notes.append(
            f"Confidence bands are drawn when {MAX_BANDS} or fewer curves are shown; "
            "choose fewer groups to see them."
        )
    return (
        survival_figure(drawn, by, bands),
        at_risk_table(at_risk_rows(gate, fitted), AT_RISK_WEEKS),
        " ".join(notes),
        comparison_in_words(fitted, result["logrank"]),
    )


def format_point(value, hidden: bool, k: int) -> str:
    """A retention point as the table shows it."""
    if hidden:
        return HIDDEN_POINT.format(k=k)
    if value is None or pd.isna(value):
        return NOT_FOLLOWED
    return catalogue.format_value("retention_12w", value)


def retention_rows(gate: Gate, curves: list[SurvivalCurve], at_weeks: dict) -> list[dict]:
    """One row per curve: its new members and its retention points, as this user may read
    them (`tables.retention_points`)."""
    rows = []
    for point in retention_points(gate, curves, at_weeks):
        row = {"curve": point["curve"], "n": gate.shown("retention_base", point["n"])}
        for column in POINTS:
            row[column] = format_point(point[column], column in point["hidden"], gate.k)
        rows.append(row)
    return rows


def retention_columns(by: str) -> list[dict]:
    """The table's columns: headers and their hover text from the catalogue."""
    return [
        {"field": "curve", "headerName": by.capitalize(), "minWidth": 290, "flex": 2},
        {
            "field": "n",
            "headerName": catalogue.label("retention_base"),
            "headerTooltip": catalogue.definition("retention_base"),
            "minWidth": 125,
            "flex": 0.6,
        },
        *[
            {
                "field": column,
                "headerName": catalogue.label(key),
                "headerTooltip": catalogue.definition(key),
                "minWidth": 205,
                "tooltipField": column,
            }
            for column, key in POINTS.items()
        ],
    ]


def retention_table(search, by):
    """One row per curve: its new members and retention at 4/12/26/52 weeks."""
    scope = current_scope()
    f = url_filters(search)
    by = _by(by)
    gate = current_service().gate(scope)
    result = survival(scope, f, by)
    columns = retention_columns(by)
    if not result["curves"]:
        return [], columns, NO_NEW_MEMBERS + ".", *grid_size(0)
    rows = retention_rows(gate, result["curves"], result["at_weeks"])
    note = (
        "'Nobody followed that long': no new member of that curve was still followed "
        "that many weeks after his first session, so there is no estimate."
    )
    if any(row[column].startswith("— hidden") for row in rows for column in POINTS):
        note += f" Hidden: figures resting on fewer than {gate.k} men."
    return rows, columns, note, *grid_size(len(rows))


def grid_size(rows: int) -> tuple[dict, dict]:
    """A short table fits its rows; a long one scrolls inside a fixed height."""
    if rows <= GRID_ROWS:
        return {"domLayout": "autoHeight"}, {"height": None}
    return {"domLayout": "normal"}, {"height": "480px"}


def month_index(day) -> int:
    return day.year * 12 + day.month - 1


def not_reached(cohorts, offsets: list[int], end, quarter: bool) -> list[list[bool]]:
    """Per cohort and offset: whether that month (quarter) lies after the data's end."""
    step = 3 if quarter else 1
    starts = [
        pd.Period(c.replace("-Q", "Q") if quarter else c, freq="Q" if quarter else "M").start_time
        for c in cohorts
    ]
    last = month_index(end) // step
    return [[month_index(s) // step + o > last for o in offsets] for s in starts]


def cohort_chart(search):
    """Cohort x months (quarters) since joining: share of the cohort present, as a heatmap."""
    scope = current_scope()
    f = url_filters(search)
    service = current_service()
    gate = service.gate(scope)
    frame = service.run(scope, f, metrics.cohort_matrix)
    if frame.empty:
        return empty_figure(NO_NEW_MEMBERS), ""
    quarter = f.grain == "quarter"
    offsets, sizes, cells = cohort_tables(gate, frame)
    # A cell after the data's end is not known yet: left blank, not 0%.
    future = not_reached(frame["cohort"], offsets, service.data_end(), quarter)
    shares = [[None] * len(offsets) for _ in range(len(frame))]
    status = [[SHOWN] * len(offsets) for _ in range(len(frame))]
    # The cell of each cohort whose month (quarter) holds the data's end, when that period
    # is not over: its share is "so far", not a drop.
    partial = [None if pd.isna(k) else int(k) for k in frame["partial_offset"]]
    for j, cell in cells.frame.iterrows():
        i, o = int(cell["row"]), offsets.index(cell["offset"])
        if future[i][o]:
            status[i][o] = FUTURE
        elif cells.hidden.loc[j, "share"]:
            status[i][o] = HIDDEN
        else:
            shares[i][o] = cell["share"]
            if cell["offset"] == partial[i]:
                status[i][o] = PARTIAL
    labels = [
        f"{cohort} · {gate.shown('cohort_size', size)} men"
        for cohort, size in zip(frame["cohort"], sizes, strict=True)
    ]
    fig = cohort_heatmap(
        labels, offsets, shares, status, quarter, f"hidden: fewer than {gate.k} men"
    )
    period = "quarter" if quarter else "month"
    note = f"Blank cells are {period}s not reached yet by the data."
    if any(PARTIAL in row for row in status):
        note += (
            f" Faded cells with a dotted outline, marked 'so far': the {period} the data end "
            f"in is not over, so the share is what it is so far, not men dropping out."
        )
    if any(HIDDEN in row for row in status):
        note += f" '–': hidden, fewer than {gate.k} men."
    return fig, note


def completion_chart(search, by):
    """Completion rate per network or fixed-length group, and for all of them together."""
    scope = current_scope()
    f = url_filters(search)
    by = _by(by)
    service = current_service()
    gate = service.gate(scope)
    frame = service.run(scope, f, metrics.completion, service.settings.completion_threshold)
    note = (
        f"n = {catalogue.label('completion_base').lower()}: "
        f"{catalogue.definition('completion_base')}"
    )
    if frame.empty:
        return empty_figure("No fixed-length program enrollments ended in this period"), note
    network_of = dict(zip(frame[by], frame["network"], strict=True))
    rows = completion_rows(gate, frame, by)
    several = len(rows) > 1
    hidden = f"hidden: fewer than {gate.k} men"
    labels, rates, texts, hovers, colours = [], [], [], [], []
    for index, row in enumerate(rows):
        rate = row["completion_rate"]
        labels.append(f"{row['key']} (n={gate.shown('completion_base', row['completion_base'])})")
        rates.append(rate)
        shown = gate.shown("completion_rate", rate)
        texts.append(hidden if rate is None else shown)
        places = gate.shown("completion_enrolments", row["completion_enrolments"])
        hovers.append(hidden if rate is None else f"{shown} of {places} places completed")
        colours.append(color_for(network_of.get(row["key"], "All"), index))
    fig = completion_bars(labels, rates, texts, hovers, colours)
    if by == "group" and several:
        note += " 'All' counts every enrollment of the groups above."
    if any(rate is None for rate in rates):
        note += " " + gate.note()
    return fig, note


def cross_filter(click, search, by):
    """A click on a curve narrows the filters to that network or group."""
    if not click or not click.get("points"):
        return no_update
    data = click["points"][0].get("customdata")
    if not data or len(data) < 2:
        return no_update
    kind, key = data[0], data[1]
    scope = current_scope()
    f = url_filters(search)
    service = current_service()
    networks = scope.visible_networks(service.lookup(queries.network_names))
    if kind == "network" and key in networks:
        narrowed = replace(f, networks=(key,))
    elif kind == "group" and key in {
        g["name"] for g in service.lookup(queries.group_options) if g["network"] in networks
    }:
        narrowed = replace(f, groups=(key,))
    else:
        return no_update
    return "?" + narrowed.to_query()


def export_csv(clicks):
    return bool(clicks)


def register(app) -> None:
    app.callback(
        Output("retention-km", "figure"),
        Output("retention-at-risk", "children"),
        Output("retention-km-note", "children"),
        Output("retention-logrank", "children"),
        Input("retention-url", "search"),
        Input("retention-by", "value"),
    )(cached_view(km_chart))
    app.callback(
        Output("retention-table", "rowData"),
        Output("retention-table", "columnDefs"),
        Output("retention-table-note", "children"),
        Output("retention-table", "dashGridOptions"),
        Output("retention-table", "style"),
        Input("retention-url", "search"),
        Input("retention-by", "value"),
    )(cached_view(retention_table))
    app.callback(
        Output("retention-cohorts", "figure"),
        Output("retention-cohorts-note", "children"),
        Input("retention-url", "search"),
    )(cached_view(cohort_chart))
    app.callback(
        Output("retention-completion", "figure"),
        Output("retention-completion-note", "children"),
        Input("retention-url", "search"),
        Input("retention-by", "value"),
    )(cached_view(completion_chart))
    app.callback(
        Output("retention-url", "search", allow_duplicate=True),
        Input("retention-km", "clickData"),
        State("retention-url", "search"),
        State("retention-by", "value"),
        prevent_initial_call=True,
    )(cross_filter)
    app.callback(
        Output("retention-table", "exportDataAsCsv"),
        Input("retention-table-export", "n_clicks"),
        prevent_initial_call=True,
    )(export_csv)
