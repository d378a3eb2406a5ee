"""The impact summary's figures: SPEC §3 per network and combined, for a period and the one
before, through the privacy gate (SPEC §4).

`impact_figures` is the ONE function the page, the PDF, the CSV/XLSX downloads and
`python -m dashboard report impact` read, so every view of the summary is protected exactly
alike. Its result is plain data (see dashboard/report_format.py for its text and
dashboard/report_write.py for its files).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
from sqlalchemy import Connection

from dashboard import catalogue, metrics, queries
from dashboard.access import Scope
from dashboard.catalogue import CHANGE
from dashboard.cellkey import key_column
from dashboard.db import concurrently, reading
from dashboard.filters import Filters
from dashboard.gate import PROTECTED_DIGITS, Gate
from dashboard.report_format import (
    COMBINED,
    OUTCOME_KEYS,
    OUTPUT_KEYS,
    OUTPUTS_TITLE,
    SHORT_NAMES,
    TITLE,
    describe_selection,
    section_figures,
)
from dashboard.stats import paired_change
from dashboard.targets import period_label, previous_period

INSTRUMENT_ORDER = ["swemwbs", "ucla-3", "healthy-relationships"]
# The outputs of one column, beside completion (metrics.completion_figures).
OUTPUT_RECORD_KEYS = (
    "sessions_held",
    "men_reached",
    "new_members",
    "attendance",
    "attendance_hours",
)


# --- Figures per network and combined ---


def column_names(conn: Connection, f: Filters) -> list[str]:
    """The networks of a selection, in name order (all known ones when none is chosen)."""
    known = queries.network_names(conn)
    return [name for name in known if not f.networks or name in f.networks]


def columns_of(names: list[str]) -> list[str]:
    """Networks side by side, and their combined column when there are two or more."""
    return [*names, COMBINED] if len(names) > 1 else (names or [COMBINED])


def narrowed(f: Filters, column: str) -> Filters:
    return f if column == COMBINED else replace(f, networks=(column,), preset=None)


def output_record(
    conn: Connection,
    f: Filters,
    completion_threshold: float = 0.7,
    figures: dict | None = None,
    completion: pd.DataFrame | None = None,
) -> dict:
    """One column's outputs, with the cell keys of its counts of men (for the gate only);
    `figures` and `completion`: its metrics.outputs and metrics.completion when already
    computed.

    Completion is metrics.completion_figures: the rate over the places ended
    (`completion_enrolments`), protected by the distinct men of those places
    (`completion_base`)."""
    if figures is None:
        figures = metrics.outputs(conn, f)
    keys = [key_column("men_reached"), key_column("new_members")]
    record = {key: figures[key] for key in (*OUTPUT_RECORD_KEYS, *keys)}
    if completion is None:
        completion = metrics.completion(conn, f, completion_threshold)
    record.update(metrics.completion_figures(completion))
    return record


def instruments(conn: Connection) -> list[dict]:
    """The instruments with an outcome section, in a fixed order, then any others."""
    ids = metrics.instrument_ids(conn)
    ordered = [i for i in INSTRUMENT_ORDER if i in ids] + [
        i for i in ids if i not in INSTRUMENT_ORDER
    ]
    found = []
    for instrument_id in ordered:
        spec = metrics.instrument(conn, instrument_id)
        found.append(
            {
                "id": instrument_id,
                "name": spec["name"],
                "short": SHORT_NAMES.get(instrument_id, spec["construct"].capitalize()),
                "higher_is_better": bool(spec["higher_is_better"]),
                "alpha": float(spec["alpha"]),
            }
        )
    return found


def impact_raw(conn: Connection, f: Filters, completion_threshold: float = 0.7) -> dict:
    """Exact figures per network and combined, with the cell keys of their counts of men
    (nothing hidden: never send as is)."""
    return _impact_periods(conn, [f], completion_threshold)[0]


def _impact_periods(
    conn: Connection, periods: list[Filters], completion_threshold: float
) -> list[dict]:
    """impact_raw of each selection in `periods`: every column's outputs from one scan of
    the attendance, its completion from one list of the places ended (a network's column:
    its rows), each instrument's pairs once; the scans of all the periods at the same time."""
    names = column_names(conn, periods[0])
    specs = instruments(conn)
    calls = [
        call
        for f in periods
        for call in (
            (metrics.outputs_by_network, f, names),
            (metrics.completion, f, completion_threshold),
            *((metrics.matched_pairs, f, spec["id"], False) for spec in specs),
        )
    ]
    parts = concurrently(conn, *calls)
    sd_refs = {spec["id"]: metrics.reference_sd(conn, spec["id"]) for spec in specs}
    width = 2 + len(specs)
    return [
        _impact_record(conn, f, names, specs, sd_refs, parts[i * width : (i + 1) * width])
        for i, f in enumerate(periods)
    ]


def _impact_record(
    conn: Connection,
    f: Filters,
    names: list[str],
    specs: list[dict],
    sd_refs: dict,
    parts: list,
) -> dict:
    """impact_raw's record of one period from its parts (outputs, completion, pairs)."""
    (by_network, combined), ended, *every_pairs = parts
    columns = columns_of(names)
    outputs = {
        c: output_record(
            conn,
            narrowed(f, c),
            figures=combined if c == COMBINED else by_network[c],
            completion=ended if c == COMBINED else ended[ended["network"] == c],
        )
        for c in columns
    }
    outcomes = {}
    for spec, pairs in zip(specs, every_pairs, strict=True):
        # One reference SD per instrument for every column (SPEC §3).
        sd_ref = sd_refs[spec["id"]]
        outcomes[spec["id"]] = {}
        for column in columns:
            part = pairs if column == COMBINED else pairs[pairs["network"] == column]
            change = paired_change(
                part["baseline"].tolist(),
                part["later"].tolist(),
                spec["alpha"],
                spec["higher_is_better"],
                reference_sd=float("nan") if sd_ref is None else sd_ref,
            )
            change[key_column("matched_pairs")] = metrics.pairs_cell_key(part)
            outcomes[spec["id"]][column] = change
    return {"columns": columns, "outputs": outputs, "outcomes": outcomes, "instruments": specs}


def period_figures(conn: Connection, f: Filters, completion_threshold: float = 0.7) -> dict:
    """impact_raw for the period of `f` and the one before, for filters already limited to the
    user's scope (exact: the service caches it; the gate is applied after)."""
    start, end = previous_period(f.start, f.end)
    before = replace(f, start=start, end=end, preset=None)
    current, previous = _impact_periods(conn, [f, before], completion_threshold)
    return {"current": current, "previous": previous}


# --- Through the gate: networks side by side with their total ---


def _with_bases(record: dict) -> dict:
    """The record with every privacy base its figures name (None when it is absent: then what
    rests on it is hidden)."""
    bases = {
        catalogue.figure(key).base
        for key in record
        if key in catalogue.FIGURES and catalogue.figure(key).base is not None
    }
    return {**{base: None for base in bases if base not in record}, **record}


def _received(value, exact):
    """A gated cell as a plain value: None when hidden, a whole number where the exact figure
    is one (a table with a hidden cell holds its counts as floats)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    value = value.item() if hasattr(value, "item") else value
    if isinstance(exact, int) and not isinstance(exact, bool):
        return int(round(value))
    return value


def _reason(gate: Gate, record: dict, key: str) -> str:
    """Why the gate hid a cell of `record` (its exact figures, on the server)."""
    entry = catalogue.FIGURES.get(key)
    base = entry.base if entry is not None else None
    if (
        not gate.exact
        and not gate.exact_values
        and base in catalogue.SURVEY_BASES
        and gate.k <= (record.get(base) or 0) < gate.min_pairs
    ):
        return f"fewer than {gate.min_pairs} pairs"
    return gate.reason(record, key)


def gated_columns(gate: Gate, values: dict[str, dict]) -> tuple[dict, dict]:
    """Columns of figures (networks, and "Combined" when it is their total) as `gate`'s user
    may receive them (cell keys `*__cellkey` stay on the server), and, per hidden cell, why it
    is hidden.

    With two or more networks the combined column is their total, so the networks go through
    the gate as one table with column totals (a second network is hidden wherever exactly one
    is); the combined column goes through on its own.
    """
    networks = [c for c in values if c != COMBINED]
    safe: dict[str, dict] = {}
    notes: dict[str, dict] = {}

    def apply(names: list[str], totals: tuple[str, ...]) -> None:
        # The column's name goes along: a count without a cell key gets its key from it.
        records = [{"column": name, **_with_bases(values[name])} for name in names]
        rows, marks = gate.rows(records, totals=totals)
        for i, name in enumerate(names):
            keys = [key for key in rows[i] if key in values[name]]
            hidden = [key for key in keys if marks[i][key]]
            safe[name] = {key: _received(rows[i][key], values[name][key]) for key in keys}
            notes[name] = {key: _reason(gate, records[i], key) for key in hidden}

    if networks:
        apply(networks, ("column",) if COMBINED in values and len(networks) > 1 else ())
    if COMBINED in values:
        apply([COMBINED], ())
    return {c: safe[c] for c in values}, {c: notes[c] for c in values}


# --- The one function every view reads ---


def describe_period(start: dt.date, end: dt.date) -> dict:
    label = period_label(start, end)
    dates = f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"
    return {"start": start, "end": end, "label": label or dates, "fiscal": label, "dates": dates}


def impact_figures(source, scope: Scope, f: Filters, settings=None) -> dict:
    """The impact summary as `scope` may see it, for the period of `f` and the one before.

    source: the app's DataService (scoped, cached, audited) or an Engine (the command line,
    then give `settings`). The result is plain data: `sections` (outputs, then one per
    instrument), each with its figures (catalogue entries) and, per period ("current",
    "previous"), values and notes per column (networks, then "Combined").
    """
    settings = settings or source.settings
    if hasattr(source, "run"):
        raw = source.run(scope, f, period_figures, settings.completion_threshold)
        gate = source.gate(scope)
    else:
        scoped, _ = scope.restrict(f)
        with reading(source) as conn:
            raw = period_figures(conn, scoped, settings.completion_threshold)
        gate = Gate.for_user(scope, settings)
    return {
        **gated_summary(raw, gate, f, settings),
        "generated": dt.datetime.now().replace(microsecond=0),
    }


def gated_summary(raw: dict, gate: Gate, f: Filters, settings=None) -> dict:
    """period_figures' exact figures arranged in sections and passed through the gate."""
    start, end = previous_period(f.start, f.end)
    columns = raw["current"]["columns"]
    sections = [
        {
            "id": "outputs",
            "title": OUTPUTS_TITLE,
            "instrument": None,
            "figures": section_figures(OUTPUT_KEYS, settings),
        }
    ]
    for spec in raw["current"]["instruments"]:
        direction = "higher is better" if spec["higher_is_better"] else "lower is better"
        sections.append(
            {
                "id": spec["id"],
                "title": spec["short"],
                "instrument": spec["id"],
                "name": spec["name"],
                "higher_is_better": spec["higher_is_better"],
                "direction": direction,
                "figures": section_figures(OUTCOME_KEYS, settings),
            }
        )
    for part in sections:
        part["notes"] = {}
        for period in ("current", "previous"):
            if part["instrument"] is None:
                values = raw[period]["outputs"]
            else:
                values = raw[period]["outcomes"][part["instrument"]]
            part[period], part["notes"][period] = gated_columns(gate, values)
    return {
        "title": TITLE,
        "period": describe_period(f.start, f.end),
        "previous": describe_period(start, end),
        "columns": columns,
        "selection": describe_selection(f, columns),
        "suppressed": not gate.exact,
        "threshold": gate.k,
        # Decimals the gate leaves a change with (None: exact), so no text shows more.
        "change_digits": None if gate.exact or gate.exact_values else PROTECTED_DIGITS[CHANGE],
        "sections": sections,
    }
