"""Retention callbacks: survival curves with numbers at risk, retention at 4/12/26/52 weeks,
the cohort matrix and completion. Each chart has its own callback; the metric results are
cached by the data service, so two callbacks on the same figures compute them once."""

from __future__ import annotations

from dataclasses import replace

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, html, no_update

from callbacks.shell import url_filters
from charts.style import color_for, empty_figure, styled
from dashboard import metrics, queries
from dashboard.auth import current_scope
from dashboard.filters import Filters
from dashboard.privacy import shown_count, suppress_record
from dashboard.service import current_service
from dashboard.stats import SurvivalCurve, logrank, logrank_in_words

AT_RISK_WEEKS = (0, 4, 12, 26, 52)
MIN_GROUP_MEMBERS = 10  # by group: fewer new members than this make an unreadable curve
MAX_BANDS = 4  # more overlapping confidence bands than this hide the curves
GRID_ROWS = 12  # the retention table grows to this many rows, then scrolls
MAX_GROUP_CURVES = 8  # by group: more curves than this cannot be told apart
NO_NEW_MEMBERS = "No new members in this period for these filters"
NOT_FOLLOWED = "— nobody followed that long"
HIDDEN = "— hidden (fewer than {k} men)"


def rgba(hex_colour: str, alpha: float) -> str:
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _by(by: str | None) -> str:
    return "group" if by == "group" else "network"


def survival(scope, f: Filters, by: str) -> dict:
    """metrics.retention for this user (cached by the data service)."""
    service = current_service()
    return service.run(scope, f, metrics.retention, by, service.settings.active_window_weeks)


def drawable(
    curves: list[SurvivalCurve], by: str, threshold: int, suppressed: bool
) -> tuple[list[SurvivalCurve], list[str]]:
    """The curves to draw, and sentences on the curves left out (with the reason)."""
    notes = []
    hidden = [c for c in curves if suppressed and c.n < threshold]
    if hidden:
        names = ", ".join(c.label for c in hidden)
        notes.append(
            f"{names}: fewer than {threshold} new members — not drawn (small numbers are hidden)."
        )
    rest = [c for c in curves if c.n > 0 and not (suppressed and c.n < threshold)]
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


def comparison_in_words(drawn: list[SurvivalCurve]) -> str:
    """The log-rank test across the drawn curves, in words (many groups named by count)."""
    if len(drawn) < 2:
        return f"One curve shown ({drawn[0].label}); choose more networks or groups to compare."
    result = logrank(drawn)
    if result is not None and len(result["groups"]) > 3:
        result = {**result, "groups": [f"the {len(result['groups'])} groups drawn"]}
    return logrank_in_words(result)


def km_chart(search, by):
    """The Kaplan-Meier figure, numbers at risk, notes on what is not drawn, the log-rank."""
    scope = current_scope()
    f = url_filters(search)
    by = _by(by)
    service = current_service()
    k = service.settings.suppression_threshold
    result = survival(scope, f, by)
    curves = result["curves"]
    if not curves:
        return (
            empty_figure(NO_NEW_MEMBERS),
            html.P("—", className="text-muted"),
            "",
            "No curves to compare.",
        )
    drawn, notes = drawable(curves, by, k, scope.suppressed)
    if not drawn:
        words = "No curve can be drawn for these filters."
        return (
            empty_figure("No curve has enough new members to draw"),
            html.P("—", className="text-muted"),
            " ".join(notes),
            words,
        )
    fig = go.Figure()
    longest = 0.0
    bands = len(drawn) <= MAX_BANDS
    if not bands:
        notes.append(
            f"Confidence bands are drawn when {MAX_BANDS} or fewer curves are shown; "
            "choose fewer groups to see them."
        )
    for index, curve in enumerate(drawn):
        colour = color_for(curve.label, index)
        key = [[by, curve.label]] * len(curve.times)
        if bands:
            fig.add_trace(
                go.Scatter(
                    x=curve.times,
                    y=curve.ci_high,
                    mode="lines",
                    line=dict(width=0, shape="hv"),
                    legendgroup=curve.label,
                    showlegend=False,
                    hoverinfo="skip",
                    customdata=key,
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=curve.times,
                    y=curve.ci_low,
                    mode="lines",
                    line=dict(width=0, shape="hv"),
                    fill="tonexty",
                    fillcolor=rgba(colour, 0.15),
                    legendgroup=curve.label,
                    showlegend=False,
                    hoverinfo="skip",
                    customdata=key,
                )
            )
        fig.add_trace(
            go.Scatter(
                x=curve.times,
                y=curve.survival,
                mode="lines",
                name=f"{curve.label} (n={curve.n})",
                line=dict(color=colour, width=3 if bands else 2, shape="hv"),
                legendgroup=curve.label,
                customdata=[
                    [by, curve.label, lo, hi]
                    for lo, hi in zip(curve.ci_low, curve.ci_high, strict=True)
                ],
                hovertemplate=(
                    f"{curve.label}<br>week %{{x:.0f}}: %{{y:.0%}} still coming"
                    "<br>95% CI %{customdata[2]:.0%}–%{customdata[3]:.0%}"
                    "<extra></extra>"
                ),
            )
        )
        longest = max(longest, max(curve.times, default=0))
    ticks = [t for t in (0, 4, 12, 26, 52) if t <= max(longest, 4)]
    ticks += list(range(78, int(longest) + 1, 26))
    fig.update_xaxes(
        title="Weeks since first session",
        tickvals=ticks,
        rangemode="tozero",
        range=[0, max(longest, 4) * 1.02],
    )
    fig.update_yaxes(title="Still coming", tickformat=".0%", range=[0, 1.02])
    fig = styled(fig, height=420 + (24 * ((len(drawn) + 1) // 2) if by == "group" else 0))
    return fig, at_risk_table(scope, drawn, k), " ".join(notes), comparison_in_words(drawn)


def at_risk_table(scope, curves: list[SurvivalCurve], threshold: int):
    """Men still followed at 0/4/12/26/52 weeks per drawn curve; small counts as '<k'."""
    columns = [f"w{w}" for w in AT_RISK_WEEKS]
    frame = pd.DataFrame(
        [{"curve": c.label, **{f"w{w}": c.at_risk_at(w) for w in AT_RISK_WEEKS}} for c in curves]
    )
    safe = current_service().table(scope, frame, columns).frame
    header = html.Thead(
        html.Tr(
            [
                html.Th("Weeks", scope="col"),
                *[html.Th(str(w), scope="col", className="text-end") for w in AT_RISK_WEEKS],
            ]
        )
    )
    rows = []
    for index, row in safe.iterrows():
        label = row["curve"]
        rows.append(
            html.Tr(
                [
                    html.Th(
                        [
                            html.Span("■ ", style={"color": color_for(label, index)}),
                            label,
                        ],
                        scope="row",
                        className="fw-normal",
                    ),
                    *[
                        html.Td(shown_count(row[c], threshold), className="text-end")
                        for c in columns
                    ],
                ]
            )
        )
    return dbc.Table(
        [header, html.Tbody(rows)],
        size="sm",
        bordered=False,
        className="mb-1 small",
        responsive=True,
    )


def format_retention(value, hidden: bool, threshold: int) -> str:
    if hidden:
        return HIDDEN.format(k=threshold)
    if value is None or pd.isna(value):
        return NOT_FOLLOWED
    return f"{value:.0%}"


def retention_table(search, by):
    """One row per curve: its new members and retention at 4/12/26/52 weeks."""
    scope = current_scope()
    f = url_filters(search)
    by = _by(by)
    service = current_service()
    k = service.settings.suppression_threshold
    result = survival(scope, f, by)
    label = "Network" if by == "network" else "Group"
    columns = [
        {"field": "curve", "headerName": label, "minWidth": 290, "flex": 2},
        {"field": "n", "headerName": "New members", "minWidth": 125, "flex": 0.6},
        *[
            {"field": f"w{w}", "headerName": f"{w} weeks", "minWidth": 205, "tooltipField": f"w{w}"}
            for w in metrics.RETENTION_WEEKS
        ],
    ]
    if not result["curves"]:
        return [], columns, NO_NEW_MEMBERS + ".", *grid_size(0)
    frame = pd.DataFrame(
        [
            {
                "curve": c.label,
                "n": c.n,
                **{f"w{w}": result["at_weeks"][c.label][w] for w in metrics.RETENTION_WEEKS},
            }
            for c in result["curves"]
        ]
    )
    points = [f"w{w}" for w in metrics.RETENTION_WEEKS]
    sup = service.table(scope, frame, ["n"], {p: "n" for p in points})
    rows = []
    for i in range(len(frame)):
        row = {"curve": frame.loc[i, "curve"], "n": shown_count(sup.frame.loc[i, "n"], k)}
        for p in points:
            row[p] = format_retention(sup.frame.loc[i, p], bool(sup.hidden.loc[i, p]), k)
        rows.append(row)
    note = (
        "'Nobody followed that long': no new member of that curve was still followed "
        "that many weeks after his first session, so there is no estimate."
    )
    if sup.any_hidden:
        note += f" Hidden: figures resting on fewer than {k} men."
    return rows, columns, note, *grid_size(len(rows))


def grid_size(rows: int) -> tuple[dict, dict]:
    """A short table fits its rows; a long one scrolls inside a fixed height."""
    if rows <= GRID_ROWS:
        return {"domLayout": "autoHeight"}, {"height": None}
    return {"domLayout": "normal"}, {"height": "480px"}


def month_index(day) -> int:
    return day.year * 12 + day.month - 1


def cohort_chart(search):
    """Cohort x months (quarters) since joining: share of the cohort present, as a heatmap."""
    scope = current_scope()
    f = url_filters(search)
    service = current_service()
    k = service.settings.suppression_threshold
    frame = service.run(scope, f, metrics.cohort_matrix)
    if frame.empty:
        return empty_figure(NO_NEW_MEMBERS), ""
    quarter = f.grain == "quarter"
    step = 3 if quarter else 1
    offsets = [c for c in frame.columns if isinstance(c, int)]
    end = service.data_end()
    starts = [
        pd.Period(c.replace("-Q", "Q") if quarter else c, freq="Q" if quarter else "M").start_time
        for c in frame["cohort"]
    ]
    # A cell after the data's end is not known yet: left blank, not 0%.
    future = pd.DataFrame(
        {
            o: [(month_index(s) // step + o) > month_index(end) // step for s in starts]
            for o in offsets
        }
    )
    counts = pd.DataFrame(
        {f"c{o}": (frame[o].fillna(0) * frame["size"]).round().astype(int) for o in offsets}
    )
    shares = pd.DataFrame({f"s{o}": frame[o] for o in offsets})
    table = pd.concat([frame[["cohort", "size"]], counts, shares], axis=1)
    sup = service.table(
        scope, table, ["size", *counts.columns], {f"s{o}": f"c{o}" for o in offsets}
    )
    z, text, hover = [], [], []
    labels = []
    for i in range(len(table)):
        size = shown_count(sup.frame.loc[i, "size"], k)
        labels.append(f"{table.loc[i, 'cohort']} · {size} men")
        z_row, text_row, hover_row = [], [], []
        for o in offsets:
            value = sup.frame.loc[i, f"s{o}"]
            if future.loc[i, o]:
                z_row.append(None)
                text_row.append("")
                hover_row.append("not reached yet")
            elif sup.hidden.loc[i, f"s{o}"]:
                z_row.append(None)
                text_row.append("–")
                hover_row.append(f"hidden: fewer than {k} men")
            else:
                z_row.append(float(value))
                text_row.append(f"{value:.0%}")
                hover_row.append(f"{value:.0%} of the cohort came at least once")
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)
    unit = "Quarters" if quarter else "Months"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(o) for o in offsets],
            y=labels,
            text=text,
            texttemplate="%{text}",
            customdata=hover,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            xgap=1,
            ygap=1,
            colorbar=dict(title="Share", tickformat=".0%", thickness=12),
            hovertemplate=(
                f"%{{y}}<br>{unit[:-1].lower()} %{{x}} after joining: "
                "%{customdata}<extra></extra>"
            ),
        )
    )
    fig.update_xaxes(
        title=f"{unit} since joining (0 = the month of the first session)"
        if not quarter
        else f"{unit} since joining (0 = the quarter joined)",
        side="bottom",
        type="category",
    )
    fig.update_yaxes(autorange="reversed", type="category")
    height = max(300, 90 + 26 * len(labels))
    fig = styled(fig, height=height)
    fig.update_layout(margin=dict(l=150, r=20, t=20, b=50))
    note = "Blank cells are months not reached yet by the data."
    if sup.any_hidden:
        note += f" '–': hidden, fewer than {k} men."
    return fig, note


def completion_chart(search, by):
    """Completion rate per network or fixed-length group, and for all of them together."""
    scope = current_scope()
    f = url_filters(search)
    by = _by(by)
    service = current_service()
    k = service.settings.suppression_threshold
    threshold = service.settings.completion_threshold
    frame = service.run(scope, f, metrics.completion, threshold)
    note = (
        f"Completed: attended at least {threshold:.0%} of the program's sessions. "
        "Counted when the enrollment ended in the period."
    )
    if frame.empty:
        return empty_figure("No fixed-length program enrollments ended in this period"), note
    network_of = dict(zip(frame[by], frame["network"], strict=True))
    grouped = (
        frame.groupby(by, sort=True)
        .agg(enrollments=("completed", "size"), completed=("completed", "sum"))
        .reset_index()
        .rename(columns={by: "key"})
    )
    grouped["rate"] = grouped["completed"] / grouped["enrollments"]
    parts = grouped[["key", "enrollments", "rate"]]
    sup = service.table(
        scope,
        parts,
        ["enrollments"],
        {"rate": "enrollments"},
        totals=("column",) if len(parts) > 1 else (),
    )
    total = {"key": "All", "enrollments": len(frame), "rate": metrics.completion_rate(frame)}
    if scope.suppressed:
        total, _ = suppress_record(total, k, ["enrollments"], {"rate": "enrollments"})
    rows = (
        [*sup.frame.to_dict("records"), total] if len(parts) > 1 else sup.frame.to_dict("records")
    )
    labels, values, texts, colours = [], [], [], []
    for index, row in enumerate(rows):
        n = shown_count(row["enrollments"], k)
        labels.append(f"{row['key']} (n={n})")
        rate = row["rate"]
        values.append(None if rate is None else float(rate))
        texts.append(f"hidden: fewer than {k} men" if rate is None else f"{rate:.0%}")
        colours.append(color_for(network_of.get(row["key"], "All"), index))
    fig = go.Figure(
        go.Bar(
            x=[v if v is not None else 0 for v in values],
            y=labels,
            orientation="h",
            text=texts,
            textposition="outside",
            marker_color=colours,
            cliponaxis=False,
            hovertemplate="%{y}: %{text} completed<extra></extra>",
        )
    )
    fig.update_xaxes(
        title="Completed", tickformat=".0%", range=[0, 1.12], tickvals=[0, 0.25, 0.5, 0.75, 1]
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig = styled(fig, height=max(240, 80 + 44 * len(labels)))
    fig.update_layout(showlegend=False)
    if by == "group" and len(parts) > 1:
        note += " 'All' counts every enrollment of the groups above."
    return fig, note


def cross_filter(click, search, by):
    """A click on a curve narrows the filters to that network or group."""
    if not click or not click.get("points"):
        return no_update
    data = click["points"][0].get("customdata")
    if not data or len(data) < 2:
        return no_update
    kind, key = data[0], data[1]
    f = url_filters(search)
    service = current_service()
    if kind == "network" and key in service.lookup(queries.network_names):
        narrowed = replace(f, networks=(key,))
    elif kind == "group" and key in {g["name"] for g in service.lookup(queries.group_options)}:
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
    )(km_chart)
    app.callback(
        Output("retention-table", "rowData"),
        Output("retention-table", "columnDefs"),
        Output("retention-table-note", "children"),
        Output("retention-table", "dashGridOptions"),
        Output("retention-table", "style"),
        Input("retention-url", "search"),
        Input("retention-by", "value"),
    )(retention_table)
    app.callback(
        Output("retention-cohorts", "figure"),
        Output("retention-cohorts-note", "children"),
        Input("retention-url", "search"),
    )(cohort_chart)
    app.callback(
        Output("retention-completion", "figure"),
        Output("retention-completion-note", "children"),
        Input("retention-url", "search"),
        Input("retention-by", "value"),
    )(completion_chart)
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
