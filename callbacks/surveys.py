"""Surveys callbacks: the matched-pairs badge, mean change per network and group (forest
plot), reliable change shares, score distributions and item answers.

Each callback is wiring: read the inputs, run the metric through the data service (which
caches the survey tables the charts share), pass every figure through the privacy gate, and
hand the gated figures to a builder of `charts.surveys`."""

from __future__ import annotations

from dash import Input, Output, State

from callbacks.shell import cached_view, url_filters
from charts import surveys as charts
from charts.style import empty_figure
from dashboard import metrics
from dashboard.auth import current_scope
from dashboard.gate import Gate
from dashboard.service import current_service
from dashboard.tables import (
    ITEM_COLUMNS,
    NO_PAIRS,  # noqa: F401 - the page's text when there are no pairs
    SCORE_COLUMNS,
    blocked,
    overall,
    pairs_needed,
    rows_by,
)
from layouts.surveys import DEFAULT_INSTRUMENT

UNKNOWN = "Unknown instrument"


# --- From the survey tables to gated figures ------------------------------------------------


def instrument_spec(instrument_id: str | None) -> dict | None:
    return current_service().lookup(metrics.instrument, instrument_id or DEFAULT_INSTRUMENT)


def pairs_text(gate: Gate, tables: dict) -> str:
    """The badge: 'n = 24 matched pairs', 'n = <5 matched pairs' or why there are none."""
    shown = overall(gate, tables)[0]["matched_pairs"]
    if tables["pairs"].empty:
        return NO_PAIRS
    return f"n = {gate.shown('matched_pairs', shown)} matched pair{'' if shown == 1 else 's'}"


def chart_inputs(search, instrument_id, answers: bool = False, groups: bool = False):
    """What every survey chart starts from: (gate, spec, survey tables, why the charts can't
    be drawn or None). spec and the tables are None for an unknown instrument. Only the item
    view asks for the pairs' item answers (answers=True): reading them is most of the cost
    of a large selection, and the other charts share the tables without them; only the
    forest plot asks for the rows per group (groups=True)."""
    service = current_service()
    scope = current_scope()
    gate = service.gate(scope)
    spec = instrument_spec(instrument_id)
    if spec is None:
        return gate, None, None, UNKNOWN
    options = {"answers": answers, "groups": groups}
    tables = service.run(scope, url_filters(search), metrics.survey_tables, spec["id"], **options)
    return gate, spec, tables, blocked(gate, tables)


# --- Callbacks ------------------------------------------------------------------------------


def instrument_options(search, current):
    """The instruments on offer, by name; the choice kept when it is still one of them.

    (Dash 4's dropdown drops a value that is not among its options, so the value is set
    together with the options.)"""
    service = current_service()
    ids = service.lookup(metrics.instrument_ids)
    options = [
        {"label": (service.lookup(metrics.instrument, iid) or {}).get("name", iid), "value": iid}
        for iid in ids
    ]
    value = (
        current
        if current in ids
        else (DEFAULT_INSTRUMENT if DEFAULT_INSTRUMENT in ids else (ids[0] if ids else None))
    )
    return options, value


def instrument_info(spec: dict) -> str:
    """What the instrument measures and how it is scored."""
    direction = (
        f"Higher scores mean more {spec['construct']} (better)."
        if spec["higher_is_better"]
        else f"Lower scores mean less {spec['construct']} (better)."
    )
    reverse = spec.get("reverse_items") or []
    info = (
        f"{spec['name']}: {len(spec['items'])} items answered "
        f"{spec['min_answer']}–{spec['max_answer']}, scored as the "
        f"{'sum' if spec['scoring'] == 'sum' else 'mean'}"
        f"{' (converted to the metric score)' if spec.get('conversion') else ''}. "
        f"{direction} Reliability (alpha) {spec['alpha']:.2f}."
    )
    if reverse:
        info += f" Items {', '.join(map(str, reverse))} are reverse-scored."
    return info


def pairs_badge(search, instrument_id):
    """The number of matched pairs, always on screen, and what the instrument measures."""
    gate, spec, tables, _ = chart_inputs(search, instrument_id)
    if spec is None:
        return UNKNOWN, "secondary", ""
    colour = "secondary" if tables["pairs"].empty else "primary"
    return pairs_text(gate, tables), colour, instrument_info(spec)


def forest_chart(search, instrument_id):
    """Mean change with its 95% CI: 'All', each network, then each group with enough pairs."""
    gate, spec, tables, reason = chart_inputs(search, instrument_id, groups=True)
    if reason:
        return empty_figure(reason), ""
    view = charts.forest_rows(rows_by(gate, tables))
    return (
        charts.forest_figure(view.rows, spec["higher_is_better"]),
        charts.forest_note(view, gate.k, pairs_needed(gate)),
    )


def reliable_chart(search, instrument_id):
    """Shares reliably improved / unchanged / worse per network and for all pairs."""
    gate, spec, tables, reason = chart_inputs(search, instrument_id)
    if reason:
        return empty_figure(reason), ""
    rows = charts.reliable_rows(rows_by(gate, tables))
    return charts.reliable_figure(rows), charts.reliable_note(
        rows, spec["alpha"], pairs_needed(gate)
    )


def distribution_chart(search, instrument_id):
    """Baseline and later scores of the matched pairs: overlaid histograms (shares)."""
    gate, spec, tables, reason = chart_inputs(search, instrument_id)
    if reason:
        return empty_figure(reason), ""
    scores = metrics.score_distribution(tables["pairs"], spec)
    table = gate.table(scores, columns=SCORE_COLUMNS).frame
    means = {key: overall(gate, tables)[0][key] for key in ("mean_baseline", "mean_later")}
    low, high = metrics.score_range(spec)
    note = charts.distribution_note(low, high, spec["higher_is_better"])
    return charts.distribution_figure(table, means, spec), note


def item_chart(search, instrument_id):
    """Diverging bars per item, baseline and later; the shares of an item answered by
    fewer than k men are hidden for protected roles."""
    gate, spec, tables, reason = chart_inputs(search, instrument_id, answers=True)
    if reason:
        return empty_figure(reason), ""
    result = gate.table(metrics.item_shares(tables["pairs"], spec), columns=ITEM_COLUMNS)
    hidden = bool(result.hidden[list(ITEM_COLUMNS)].to_numpy().any())
    return charts.item_figure(result.frame, spec), charts.item_note(
        spec, hidden, pairs_needed(gate)
    )


def register(app) -> None:
    app.callback(
        Output("surveys-instrument", "options"),
        Output("surveys-instrument", "value"),
        Input("surveys-url", "search"),
        State("surveys-instrument", "value"),
    )(instrument_options)
    app.callback(
        Output("surveys-pairs", "children"),
        Output("surveys-pairs", "color"),
        Output("surveys-instrument-info", "children"),
        Input("surveys-url", "search"),
        Input("surveys-instrument", "value"),
    )(cached_view(pairs_badge))
    app.callback(
        Output("surveys-forest", "figure"),
        Output("surveys-forest-note", "children"),
        Input("surveys-url", "search"),
        Input("surveys-instrument", "value"),
    )(cached_view(forest_chart))
    app.callback(
        Output("surveys-reliable", "figure"),
        Output("surveys-reliable-note", "children"),
        Input("surveys-url", "search"),
        Input("surveys-instrument", "value"),
    )(cached_view(reliable_chart))
    app.callback(
        Output("surveys-distribution", "figure"),
        Output("surveys-distribution-note", "children"),
        Input("surveys-url", "search"),
        Input("surveys-instrument", "value"),
    )(cached_view(distribution_chart))
    app.callback(
        Output("surveys-items", "figure"),
        Output("surveys-items-note", "children"),
        Input("surveys-url", "search"),
        Input("surveys-instrument", "value"),
    )(cached_view(item_chart))
