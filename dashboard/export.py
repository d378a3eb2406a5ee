"""Every table a page shows, as rows for `python -m dashboard export`: the same metrics run
through the data service with the user's scope, the same gate (dashboard/tables.py holds the
table-building the pages' callbacks share), the catalogue's labels, definitions and digits."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np
import pandas as pd

from dashboard import catalogue, metrics, tables
from dashboard.access import Scope
from dashboard.filters import Filters
from dashboard.gate import Gate
from dashboard.service import DataService
from dashboard.targets import previous_period
from dashboard.wording import program_label

DEFAULT_INSTRUMENT = metrics.HEADLINE_INSTRUMENT  # the surveys page opens on it too
BY = ("network", "group")


@dataclass(frozen=True)
class Column:
    """A column of an exported table: its name in JSON, its figure in the catalogue (None for
    a label such as the group's name) and its header (the figure's label by default)."""

    name: str
    figure: str | None = None
    header: str | None = None

    @property
    def label(self) -> str:
        if self.header:
            return self.header
        return catalogue.label(self.figure) if self.figure else self.name.replace("_", " ")

    def definition(self, settings=None) -> str | None:
        return catalogue.definition(self.figure, settings) if self.figure else None


@dataclass
class Table:
    """An exported table as one user may receive it: None where a value is hidden or not
    given; `hidden` lists the (row, column) cells the gate withheld."""

    name: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    hidden: list[tuple[int, str]] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Request:
    """What a table is built from: the data service, the scope the queries run with, the gate
    of the user who receives it, the selection and the page's own choices."""

    service: DataService
    scope: Scope
    gate: Gate
    filters: Filters
    by: str = "network"
    instrument: str = DEFAULT_INSTRUMENT

    def run(self, metric: Callable, *args, filters: Filters | None = None):
        return self.service.run(self.scope, filters or self.filters, metric, *args)


def _rows(
    frame: pd.DataFrame,
    columns: list[Column],
    source: dict[str, str] | None = None,
    hidden: pd.DataFrame | None = None,
) -> tuple[list[dict], list[tuple[int, str]]]:
    """Rows of a gated frame for `columns` (a column read from `source[name]` when named
    otherwise in the frame), and the cells `hidden` marks."""
    source = source or {}
    rows, withheld = [], []
    frame = frame.reset_index(drop=True)
    for i in range(len(frame)):
        row = {}
        for column in columns:
            name = source.get(column.name, column.name)
            row[column.name] = frame.loc[i, name]
            if hidden is not None and name in hidden.columns and bool(hidden.iloc[i][name]):
                withheld.append((i, column.name))
        rows.append(row)
    return rows, withheld


# --- Attendance -----------------------------------------------------------------------------

GROUP_COLUMNS = [
    Column("network", header="Network"),
    Column("group", header="Group"),
    Column("program_type", header="Program"),
    Column("sessions_held", "sessions_held"),
    Column("cancelled", "cancelled"),
    Column("men_reached", "men_reached"),
    Column("attendance", "attendance"),
    Column("average_attendance", "average_attendance"),
    Column("attendance_rate", "attendance_rate"),
    Column("excused", "excused"),
    Column("excused_rate", "excused_rate"),
    Column("capacity", header="Capacity"),
    Column("capacity_use", "capacity_use"),
]


def _group_figures(request: Request):
    raw = request.run(metrics.group_table)
    return raw, request.gate.table(raw)


def groups_table(request: Request) -> Table:
    """The attendance page's per-group table."""
    _, safe = _group_figures(request)
    frame = safe.frame.assign(program_type=[program_label(p) for p in safe.frame["program_type"]])
    rows, hidden = _rows(frame, GROUP_COLUMNS, hidden=safe.hidden)
    return Table("groups", GROUP_COLUMNS, rows, hidden)


def rates_table(request: Request) -> Table:
    """Attendance rate and excused rate per group with sessions held (the rates chart)."""
    columns = [
        Column("network", header="Network"),
        Column("group", header="Group"),
        Column("men_reached", "men_reached"),
        Column("attendance_rate", "attendance_rate"),
        Column("excused_rate", "excused_rate"),
    ]
    raw, safe = _group_figures(request)
    held = (raw["sessions_held"] > 0).to_numpy()
    rows, hidden = _rows(safe.frame[held], columns, hidden=safe.hidden[held])
    return Table("rates", columns, rows, hidden)


def heatmap_table(request: Request) -> Table:
    """Group x week: the men present each week (the heatmap), cancelled weeks marked."""
    columns = [
        Column("network", header="Network"),
        Column("group", header="Group"),
        Column("week", header="Week (Monday)"),
        Column("present_men", "present_men"),
        Column("week_cancelled", header="Cancelled"),
    ]
    frame = request.run(metrics.weekly_heatmap)
    if frame.empty:
        return Table("heatmap", columns, note="No sessions match these filters.")
    _, groups = _group_figures(request)
    cells, small = tables.heatmap_table(request.gate, frame, groups)
    cells = cells.sort_values(["network", "group", "week"]).reset_index(drop=True)
    rows, _ = _rows(cells, columns, {"present_men": "present", "week_cancelled": "cancelled"})
    withheld = [(i, "present_men") for i in range(len(cells)) if bool(cells.loc[i, "hidden"])]
    note = (
        f"{len(small)} group(s) with fewer than {request.gate.k} men in the period left out."
        if small
        else ""
    )
    return Table("heatmap", columns, rows, withheld, note)


def trend_table(request: Request) -> Table:
    """Attendance over time per network or group (the trend chart; every group, not only the
    largest the chart draws)."""
    columns = [
        Column("period", header=f"{request.filters.grain.capitalize()} starting"),
        Column(request.by, header=request.by.capitalize()),
        Column("sessions_held", "sessions_held"),
        Column("attendance", "attendance"),
        Column("men_reached", "men_reached"),
        Column("average_attendance", "average_attendance"),
    ]
    frame = request.run(metrics.attendance_over_time, request.by)
    safe = request.gate.table(frame, columns=tables.TREND_COLUMNS)
    source = {request.by: "key", "sessions_held": "sessions", "men_reached": "men"}
    rows, hidden = _rows(safe.frame, columns, source, safe.hidden)
    return Table("trend", columns, rows, hidden)


def dosage_table(request: Request) -> Table:
    """Men per tenth of dosage in the fixed-length programs (the dosage histogram)."""
    columns = [
        Column("dosage_range", header=catalogue.label("dosage")),
        Column("dosage_men", "dosage_men"),
    ]
    programs = tables.fixed_programs(request.filters)
    if not programs:
        return Table("dosage", columns, note="No fixed-length program in this selection.")
    narrowed = replace(request.filters, program_types=programs)
    frame = request.run(metrics.member_dosage, filters=narrowed)
    if frame.empty:
        return Table("dosage", columns, note="No sessions of a fixed-length program match.")
    safe = request.gate.table(tables.dosage_bins(frame), columns=tables.DOSAGE_COLUMNS)
    labels = [f"{10 * i}–{10 * i + 9 if i < 9 else 100}%" for i in safe.frame["bin"]]
    rows, hidden = _rows(
        safe.frame.assign(dosage_range=labels), columns, {"dosage_men": "men"}, safe.hidden
    )
    return Table("dosage", columns, rows, hidden)


def completion_table(request: Request) -> Table:
    """Completion per network or fixed-length group, with `All` when there are several."""
    columns = [
        Column(request.by, header=request.by.capitalize()),
        Column("completion_base", "completion_base"),
        Column("completion_enrolments", "completion_enrolments"),
        Column("completion_rate", "completion_rate"),
    ]
    if not tables.fixed_programs(request.filters):
        return Table("completion", columns, note="No fixed-length program in this selection.")
    settings = request.service.settings
    frame = request.run(metrics.completion, settings.completion_threshold)
    if frame.empty:
        return Table("completion", columns, note="No fixed-length enrollment ended in the period.")
    gated = pd.DataFrame(tables.completion_rows(request.gate, frame, request.by))
    # Every row has places, so a missing figure is one the gate withheld.
    hidden = gated.isna()
    rows, withheld = _rows(gated, columns, {request.by: "key"}, hidden)
    return Table("completion", columns, rows, withheld)


def at_risk_members_table(request: Request) -> Table:
    """Members at risk (the attendance page's list): member-level rows, which only
    coordinators (own networks) and admins ever receive (the gate refuses the others)."""
    columns = [
        Column("member_code", header="Member code"),
        Column("network", header="Network"),
        Column("group", header="Last group"),
        Column("last_present", header="Last present"),
        Column("weeks_since", header="Weeks since"),
        Column("sessions_present", header="Sessions present"),
    ]
    data_end = request.service.data_end()
    if data_end is None:
        return Table("at-risk-members", columns, note="No sessions yet.")
    on = min(request.filters.end, data_end)
    window = request.service.settings.active_window_weeks
    frame = request.gate.member_rows(request.run(metrics.at_risk_members, on, window))
    rows, _ = _rows(frame, columns)
    note = (
        f"{len(rows)} men on {on:%d %b %Y}: a 'present' in the {window} weeks up to that day, "
        f"none in the last {metrics.AT_RISK_WEEKS}."
    )
    return Table("at-risk-members", columns, rows, note=note)


def growth_table(request: Request) -> Table:
    """/planning's growing and shrinking groups: attendance per group in the period and in the
    one before (the fiscal year or quarter before an exact one, else as many days just before),
    and the change, every group (the chart draws the five each way)."""
    columns = [
        Column("network", header="Network"),
        Column("group", header="Group"),
        Column("attendance", "attendance"),
        Column("attendance_before", "attendance", "Attendance, period before"),
        Column("change", "attendance", "Change in attendance"),
    ]
    start, end = previous_period(request.filters.start, request.filters.end)
    before = replace(request.filters, start=start, end=end, preset=None)
    _, now = _group_figures(request)
    earlier = request.gate.table(request.run(metrics.group_table, filters=before))
    frame, left_out = tables.attendance_growth(now.frame, earlier.frame)
    rows, _ = _rows(frame.sort_values(["network", "group"]), columns)
    note = f"Compared with {start:%d %b %Y} – {end:%d %b %Y}." + (
        f" {left_out} group(s) left out: fewer than {request.gate.k} men in one of the periods."
        if left_out
        else ""
    )
    return Table("growth", columns, rows, note=note)


# --- Retention ------------------------------------------------------------------------------


def _retention(request: Request) -> dict:
    window = request.service.settings.active_window_weeks
    return request.run(metrics.retention, request.by, window)


def retention_table(request: Request) -> Table:
    """New members and retention at 4, 12, 26 and 52 weeks per network or group. A point
    left empty and not hidden: nobody of that curve was followed that long."""
    columns = [
        Column(request.by, header=request.by.capitalize()),
        Column("retention_base", "retention_base"),
        *(Column(key, key) for key in tables.POINTS.values()),
    ]
    result = _retention(request)
    points = tables.retention_points(request.gate, result["curves"], result["at_weeks"])
    source = {request.by: "curve", "retention_base": "n"}
    source.update({key: column for column, key in tables.POINTS.items()})
    rows, _ = _rows(pd.DataFrame(points), columns, source)
    names = {value: key for key, value in source.items()}
    hidden = [(i, names[c]) for i, point in enumerate(points) for c in sorted(point["hidden"])]
    return Table("retention", columns, rows, hidden)


def at_risk_table(request: Request) -> Table:
    """Numbers at risk: the men of each curve still followed 0, 4, 12, 26 and 52 weeks on."""
    columns = [
        Column(request.by, header=request.by.capitalize()),
        *(
            Column(f"at_risk_{w}w", "at_risk_number", f"At risk at {w} weeks")
            for w in tables.AT_RISK_WEEKS
        ),
    ]
    curves = [c for c in _retention(request)["curves"] if c.n > 0]
    if not curves:
        return Table("numbers-at-risk", columns, note="No new members in the period.")
    safe = tables.at_risk_numbers(request.gate, curves)
    source = {request.by: "curve", **{f"at_risk_{w}w": f"w{w}" for w in tables.AT_RISK_WEEKS}}
    rows, hidden = _rows(safe.frame, columns, source, safe.hidden)
    return Table("numbers-at-risk", columns, rows, hidden)


def cohorts_table(request: Request) -> Table:
    """The cohort matrix, one row per cohort and month (quarter with --grain quarter) after
    joining; periods the data have not reached are left out, the one they reach part-way
    is marked `so_far`."""
    unit = "quarters" if request.filters.grain == "quarter" else "months"
    columns = [
        Column("cohort", header="Cohort"),
        Column("cohort_size", "cohort_size"),
        Column(f"{unit}_after", header=f"{unit.capitalize()} after joining"),
        Column("cohort_share", "cohort_share"),
        Column("so_far", header="Period not complete yet"),
    ]
    frame = request.run(metrics.cohort_matrix)
    if frame.empty:
        return Table("cohorts", columns, note="No new members in the period.")
    offsets, sizes, cells = tables.cohort_tables(request.gate, frame)
    rows, hidden = [], []
    for j, cell in cells.frame.iterrows():
        i, offset = int(cell["row"]), int(cell["offset"])
        if pd.isna(frame.loc[i, offset]):
            continue  # after the data's end: not known yet
        partial = frame.loc[i, "partial_offset"] if "partial_offset" in frame.columns else None
        rows.append(
            {
                "cohort": frame.loc[i, "cohort"],
                "cohort_size": sizes[i],
                f"{unit}_after": offset,
                "cohort_share": cell["share"],
                "so_far": bool(not pd.isna(partial) and int(partial) == offset),
            }
        )
        if sizes[i] is None:
            hidden.append((len(rows) - 1, "cohort_size"))
        if bool(cells.hidden.loc[j, "share"]):
            hidden.append((len(rows) - 1, "cohort_share"))
    return Table("cohorts", columns, rows, hidden)


# --- Surveys --------------------------------------------------------------------------------


class UnknownInstrument(ValueError):
    """An instrument id the database doesn't hold."""


def _surveys(request: Request) -> tuple[dict, dict, str | None]:
    spec = request.service.lookup(metrics.instrument, request.instrument)
    if spec is None:
        known = request.service.lookup(metrics.instrument_ids)
        raise UnknownInstrument(
            f"unknown instrument {request.instrument!r}; known: {', '.join(known)}"
        )
    figures = request.run(metrics.survey_tables, spec["id"])
    return spec, figures, tables.blocked(request.gate, figures)


SURVEY_FIGURES = [Column(key, key) for key in catalogue.SURVEY_KEYS]


def _survey_change(
    request: Request, name: str, kinds: tuple[str, ...], labels: list[Column]
) -> Table:
    columns = [*labels, *SURVEY_FIGURES]
    _, figures, reason = _surveys(request)
    if reason:
        return Table(name, columns, note=f"{reason}.")
    rows, hidden = [], []
    for kind, part in tables.survey_parts(figures):
        if kind not in kinds or part.empty:
            continue
        part = part.reset_index(drop=True)
        for (safe, withheld), (_, source) in zip(
            tables.gated(request.gate, part, totals=kind != "all"), part.iterrows(), strict=True
        ):
            names = (
                {"network": source["network"], "group": source["group"]}
                if kind == "group"
                else {"network": source["key"]}
            )
            rows.append({**names, **safe})
            hidden += [(len(rows) - 1, key) for key in catalogue.SURVEY_KEYS if key in withheld]
    return Table(name, columns, rows, hidden)


def survey_networks_table(request: Request) -> Table:
    """Survey change per home network and for all pairs (`All`)."""
    return _survey_change(
        request, "survey-networks", ("all", "network"), [Column("network", header="Network")]
    )


def survey_groups_table(request: Request) -> Table:
    """Survey change per group (a man counts in every group he was in between his surveys)."""
    labels = [Column("network", header="Network"), Column("group", header="Group")]
    return _survey_change(request, "survey-groups", ("group",), labels)


def items_table(request: Request) -> Table:
    """The item view: per item, baseline and later, the men answering it and the shares of
    answers below, at and above the middle of the answer scale."""
    columns = [
        Column("item", header="Item"),
        Column("item_text", header="Item wording"),
        Column("side", header="Survey"),
        Column("item_answers", "item_answers"),
        *(
            Column(part, "item_share", f"{catalogue.label('item_share')}: {part} the middle")
            for part in ("below", "at", "above")
        ),
    ]
    spec, figures, reason = _surveys(request)
    if reason:
        return Table("items", columns, note=f"{reason}.")
    safe = request.gate.table(
        metrics.item_shares(figures["pairs"], spec), columns=tables.ITEM_COLUMNS
    )
    frame = safe.frame.assign(item_text=[spec["items"][int(i) - 1] for i in safe.frame["item"]])
    rows, hidden = _rows(frame, columns, hidden=safe.hidden)
    return Table("items", columns, rows, hidden)


def scores_table(request: Request) -> Table:
    """The score distribution: per score range, the shares of the matched pairs whose
    baseline and later scores fell in it."""
    columns = [
        Column("score_from", header="Score from"),
        Column("score_to", header="Score to"),
        Column("matched_pairs", "matched_pairs"),
        Column("baseline", "score_share", "Share at baseline"),
        Column("later", "score_share", "Share later"),
    ]
    spec, figures, reason = _surveys(request)
    if reason:
        return Table("scores", columns, note=f"{reason}.")
    scores = metrics.score_distribution(figures["pairs"], spec)
    safe = request.gate.table(scores, columns=tables.SCORE_COLUMNS)
    source = {"score_from": "bin_low", "score_to": "bin_high"}
    rows, hidden = _rows(safe.frame, columns, source, safe.hidden)
    return Table("scores", columns, rows, hidden)


@dataclass(frozen=True)
class Export:
    """One exportable table: the page that shows it, what it is, how it is built."""

    page: str
    description: str
    build: Callable[[Request], Table]
    options: tuple[str, ...] = ()  # which of --by, --instrument, --grain it reads


TABLES: dict[str, Export] = {
    "groups": Export("/attendance", "the per-group table", groups_table),
    "rates": Export("/attendance", "attendance and excused rate per group", rates_table),
    "heatmap": Export("/attendance", "men present per group and week", heatmap_table),
    "trend": Export("/attendance", "attendance over time", trend_table, ("by", "grain")),
    "dosage": Export("/attendance", "men per tenth of dosage", dosage_table),
    "at-risk-members": Export(
        "/attendance", "members at risk (member rows: exact figures only)", at_risk_members_table
    ),
    "growth": Export("/planning", "attendance per group against the period before", growth_table),
    "completion": Export("/retention", "completion rate", completion_table, ("by",)),
    "retention": Export(
        "/retention", "retention at 4, 12, 26 and 52 weeks", retention_table, ("by",)
    ),
    "numbers-at-risk": Export(
        "/retention", "men still followed at 0-52 weeks", at_risk_table, ("by",)
    ),
    "cohorts": Export("/retention", "the cohort retention matrix", cohorts_table, ("grain",)),
    "survey-networks": Export(
        "/surveys", "survey change per network and all", survey_networks_table, ("instrument",)
    ),
    "survey-groups": Export(
        "/surveys", "survey change per group", survey_groups_table, ("instrument",)
    ),
    "items": Export("/surveys", "answers per item", items_table, ("instrument",)),
    "scores": Export("/surveys", "score distribution", scores_table, ("instrument",)),
}


# --- Values and files ---------------------------------------------------------------------


def value(column: Column, raw):
    """A cell as plain JSON-friendly Python, a figure rounded to the catalogue's digits (a
    share to whole percent: 0.68), so no 0.6788888888888889 reaches a file."""
    if raw is None or (isinstance(raw, float | np.floating) and math.isnan(raw)):
        return None
    if raw is pd.NA or raw is pd.NaT:
        return None
    if isinstance(raw, np.generic):
        raw = raw.item()
    if isinstance(raw, Decimal):  # PostgreSQL's sums
        raw = int(raw) if raw == raw.to_integral_value() else float(raw)
    if isinstance(raw, pd.Timestamp | dt.date):
        return raw.isoformat()[:10]
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return raw
    if column.figure is None:
        return round(raw, 4) if isinstance(raw, float) else raw
    entry = catalogue.figure(column.figure)
    if entry.kind in (catalogue.SHARE, catalogue.SURVIVAL):
        return round(float(raw), entry.digits + 2)
    if entry.kind in (catalogue.MEN, catalogue.SESSIONS, catalogue.ROWS) or (
        entry.kind == catalogue.HOURS and entry.digits == 0
    ):
        return int(round(raw))
    return round(float(raw), entry.digits)


def plain_rows(table: Table) -> list[dict]:
    """The rows with every cell as `value` makes it."""
    return [{c.name: value(c, row.get(c.name)) for c in table.columns} for row in table.rows]


def to_csv(table: Table, k: int) -> str:
    """Headers from the catalogue; a hidden count of men reads `<k`, another hidden value
    and a figure not given are empty."""
    hidden = set(table.hidden)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.label for c in table.columns])
    for i, row in enumerate(plain_rows(table)):
        cells = []
        for c in table.columns:
            cell = row[c.name]
            if (i, c.name) in hidden:
                counts_men = c.figure is not None and catalogue.figure(c.figure).counts_men
                cell = f"<{k}" if counts_men else ""
            cells.append("" if cell is None else cell)
        writer.writerow(cells)
    return out.getvalue()


def to_json(table: Table, header: dict, settings=None) -> str:
    """One object: the selection (`header`), the columns with their labels and definitions,
    the rows (hidden values null) and the hidden cells."""
    document = {
        "table": table.name,
        **header,
        "columns": [
            {"name": c.name, "label": c.label, "definition": c.definition(settings)}
            for c in table.columns
        ],
        "rows": plain_rows(table),
        "hidden": [{"row": i, "column": name} for i, name in table.hidden],
        "note": table.note,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
