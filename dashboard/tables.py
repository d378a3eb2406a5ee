"""The tables the pages show, gated in one place: each function takes a metric's exact result
and the user's gate and returns what that user may receive (SPEC §4). The pages' callbacks
draw them; `python -m dashboard export` writes them to CSV or JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard import metrics
from dashboard.catalogue import SURVEY_KEYS
from dashboard.cellkey import ADJUSTMENTS, key_column
from dashboard.filters import Filters
from dashboard.gate import Gate
from dashboard.models import FIXED_LENGTH_PROGRAMS
from dashboard.privacy import Suppressed
from dashboard.stats import SurvivalCurve

# The trend's men present per bucket are the men reached of that bucket (and key).
TREND_COLUMNS = {"men": "men_reached"}
# A week's presents: with one session a week, the men present (a protected count).
HEATMAP_COLUMNS = {"attendance": "present_men"}
DOSAGE_COLUMNS = {"men": "dosage_men", "median": "dosage"}
DOSAGE_BINS = 10
ITEM_COLUMNS = {"below": "item_share", "at": "item_share", "above": "item_share"}
SCORE_COLUMNS = {"baseline": "score_share", "later": "score_share"}
# The catalogue figure of each retention point of the table.
POINTS = {f"w{w}": f"retention_{w}w" for w in metrics.RETENTION_WEEKS}
AT_RISK_WEEKS = (0, 4, 12, 26, 52)
NO_PAIRS = "No matched pairs for these filters"
TOO_FEW = "Hidden: fewer than {k} matched pairs"


def _keys_of(frame: pd.DataFrame, column: str) -> list[str]:
    """The cell-key column of a count, when the metric gave one (the gate reads and drops it)."""
    return [key_column(column)] if key_column(column) in frame.columns else []


# --- Attendance -----------------------------------------------------------------------------


def fixed_programs(f: Filters) -> tuple[str, ...]:
    """The fixed-length programs (e.g. wellbeing-10) the filters' program types allow."""
    return tuple(p for p in FIXED_LENGTH_PROGRAMS if not f.program_types or p in f.program_types)


def heatmap_table(
    gate: Gate, frame: pd.DataFrame, groups: Suppressed
) -> tuple[pd.DataFrame, set[str]]:
    """Group x week cells (metrics.weekly_heatmap) as this user may receive them, and the
    groups left out: (1) a group whose men reached in the period (`groups`, the gated group
    table) are hidden loses its whole row; (2) in the other rows, a week's presents are a count
    of men (`present_men`), `hidden` where the gate withholds it. A fully cancelled week has no
    attendance (NaN: it is not a count of men)."""
    small = set(groups.frame.loc[groups.hidden["men_reached"].to_numpy(), "group"])
    frame = frame[~frame["group"].isin(small)]
    if frame.empty:
        return frame.assign(present=[], hidden=[]), small
    cancelled = frame["cancelled"].astype(bool).to_numpy()
    cells = frame[
        ["group", "network", "week", "attendance", *_keys_of(frame, "attendance")]
    ].assign(attendance=frame["attendance"].astype(float).where(~cancelled))
    safe = gate.table(cells, columns=HEATMAP_COLUMNS)
    table = safe.frame.assign(
        present=pd.to_numeric(safe.frame["attendance"], errors="coerce"),
        hidden=safe.hidden["attendance"].to_numpy(),
        cancelled=cancelled,
    )
    return table, small


@dataclass(frozen=True)
class HeatmapRows:
    """The heatmap's largest groups (`heatmap_largest`): the gated cells of the groups
    computed (`names` among them), the groups left out as too small, how many are not, and
    whether any cell of those is hidden."""

    cells: pd.DataFrame
    names: list[str]
    small: set[str]
    groups: int
    any_hidden: bool
    complete: bool  # every group not too small computed


def heatmap_largest(
    gate: Gate,
    raw: pd.DataFrame,
    groups: Suppressed,
    cells_of: Callable[[tuple[str, ...]], pd.DataFrame],
    limit: int,
) -> HeatmapRows:
    """The `limit` groups with the most presents as drawn (the gated weekly counts summed;
    ties by name), and their cells, computing the weeks of as few groups as that takes.

    raw, groups: the exact and gated group table (metrics.group_table) of the selection;
    cells_of(names): metrics.weekly_heatmap of those groups. A group's drawn presents are at
    most its presents in the period (raw `attendance`), plus, for perturbed counts, the
    largest adjustment on each week held: groups are computed in the order of that bound,
    the first ones, then every group left whose bound reaches the `limit`-th largest drawn
    total (the others could not rank above it), and all of them when a hidden cell is yet
    to be found (the chart's note says whether there is one). The same groups, cells and note as
    heatmap_table over every group's weeks."""
    small = set(groups.frame.loc[groups.hidden["men_reached"].to_numpy(), "group"])
    rest = raw[~raw["group"].isin(small)]
    slack = 0 if gate.exact or gate.exact_values else max(ADJUSTMENTS)
    bound = rest["attendance"].astype(float) + slack * rest["sessions_held"].astype(float)
    ranked = (
        pd.DataFrame({"group": rest["group"], "bound": bound})
        .sort_values(["bound", "group"], ascending=[False, True])
        .reset_index(drop=True)
    )
    names, bounds = ranked["group"].tolist(), ranked["bound"].tolist()
    if not names:
        empty = pd.DataFrame(columns=["group", "network", "week", "attendance", "present"])
        return HeatmapRows(empty.assign(hidden=[], cancelled=[]), [], small, 0, False, True)
    parts: list[pd.DataFrame] = []
    done, size = 0, limit if slack == 0 else 2 * limit

    def take(count: int) -> pd.DataFrame:
        nonlocal done
        batch = tuple(sorted(names[done : done + count]))
        done += len(batch)
        parts.append(heatmap_table(gate, cells_of(batch), groups)[0])
        return pd.concat(parts, ignore_index=True)

    cells = take(size if len(names) > size + limit else len(names))
    while done < len(names):
        totals = cells.groupby("group")["present"].sum().sort_values(ascending=False, kind="stable")
        if len(totals) < limit:
            cells = take(limit - len(totals))
            continue
        # The groups left that could still rank in (a tie ranks by name): all of them at once.
        line = totals.iloc[limit - 1]
        could = sum(1 for b in bounds[done:] if b >= line)
        if not could:
            break
        cells = take(could)
    any_hidden = bool(cells["hidden"].any()) if len(cells) else False
    if not any_hidden and not gate.exact and done < len(names):
        cells = take(len(names) - done)
        any_hidden = bool(cells["hidden"].any())
    totals = cells.groupby("group")["present"].sum().sort_values(ascending=False, kind="stable")
    return HeatmapRows(
        cells=cells,
        names=list(totals.index[:limit]),
        small=small,
        groups=len(names),
        any_hidden=any_hidden,
        complete=done == len(names),
    )


def dosage_bins(frame: pd.DataFrame) -> pd.DataFrame:
    """Men per tenth of dosage (metrics.member_dosage): ten bins of 10 points, 100% in the
    last. Only these counts leave the server."""
    bins = np.minimum((frame["dosage"].astype(float) * DOSAGE_BINS).astype(int), DOSAGE_BINS - 1)
    counts = bins.value_counts().reindex(range(DOSAGE_BINS), fill_value=0).to_numpy()
    table = pd.DataFrame({"bin": range(DOSAGE_BINS), "men": counts})
    if "record_key" in frame.columns:
        keys = frame["record_key"].fillna(0).astype("int64").groupby(bins).sum()
        table[key_column("men")] = keys.reindex(range(DOSAGE_BINS), fill_value=0).to_numpy()
    return table


def attendance_growth(now: pd.DataFrame, before: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Attendance per group in a period and in the one before (the gated group tables of
    both, metrics.group_table), and the change; how many groups were left out.

    A group without sessions in one of the periods had 0 presents then; a group whose
    attendance is hidden (fewer than k men) in either period is left out and counted.
    """
    columns = ["group", "network", "attendance"]
    both = now[columns].merge(
        before[columns],
        on=["group", "network"],
        how="outer",
        suffixes=("", "_before"),
        indicator=True,
    )
    both.loc[both["_merge"] == "right_only", "attendance"] = 0
    both.loc[both["_merge"] == "left_only", "attendance_before"] = 0
    for column in ("attendance", "attendance_before"):
        both[column] = pd.to_numeric(both[column], errors="coerce")
    usable = both.dropna(subset=["attendance", "attendance_before"]).drop(columns="_merge")
    usable = usable.assign(change=usable["attendance"] - usable["attendance_before"])
    return usable, len(both) - len(usable)


# --- Retention ------------------------------------------------------------------------------


def retention_points(gate: Gate, curves: list[SurvivalCurve], at_weeks: dict) -> list[dict]:
    """One row per curve: `curve`, its new members `n` and its retention points (`w4`, ...)
    as this user may receive them, and `hidden`, the columns the gate withheld: a point is
    withheld with its base, and where the gate withholds the number still followed at that
    week (the curve stops there too). A point None but not hidden: nobody followed that long."""
    frame = pd.DataFrame(
        [
            {
                "curve": c.label,
                "n": c.n,
                **{f"w{w}": at_weeks[c.label][w] for w in metrics.RETENTION_WEEKS},
            }
            for c in curves
        ]
    )
    sup = gate.table(frame, {"n": "retention_base", **POINTS})
    rows = []
    for i, curve in enumerate(curves):
        row = {"curve": curve.label, "n": sup.frame.loc[i, "n"], "hidden": set()}
        if bool(sup.hidden.loc[i, "n"]):
            row["hidden"].add("n")
        for column in POINTS:
            value = sup.frame.loc[i, column]
            shown = value is not None and not pd.isna(value)
            stopped = shown and not gate.allows(curve.at_risk_at(int(column[1:])))
            if bool(sup.hidden.loc[i, column]) or stopped:
                row["hidden"].add(column)
                value = None
            row[column] = value if shown else None
        rows.append(row)
    return rows


def at_risk_numbers(gate: Gate, curves: list[SurvivalCurve]) -> Suppressed:
    """Men still followed at 0/4/12/26/52 weeks per curve (`curve`, `w0`, `w4`, ...)."""
    columns = {f"w{w}": "at_risk_number" for w in AT_RISK_WEEKS}
    frame = pd.DataFrame(
        [{"curve": c.label, **{f"w{w}": c.at_risk_at(w) for w in AT_RISK_WEEKS}} for c in curves]
    )
    return gate.table(frame, columns)


def cohort_cells(frame: pd.DataFrame, offsets: list[int]) -> pd.DataFrame:
    """The cohort matrix as one row per (cohort, offset): the men of the cohort present then
    and their share of it; `cell` names the cell (a protected count's cell key is drawn from
    its labels)."""
    cells = []
    for i in range(len(frame)):
        size = int(frame.loc[i, "size"])
        cohort = frame.loc[i, "cohort"]
        for o in offsets:
            share = frame.loc[i, o]
            present = 0 if pd.isna(share) else round(share * size)
            cells.append(
                {
                    "row": i,
                    "offset": o,
                    "cell": f"{cohort} +{o}",
                    "present": present,
                    "share": share,
                }
            )
    return pd.DataFrame(cells)


def cohort_tables(gate: Gate, frame: pd.DataFrame) -> tuple[list[int], pd.Series, Suppressed]:
    """The cohort matrix (metrics.cohort_matrix) as this user may receive it: its offsets,
    the cohorts' sizes (None when hidden) and its cells, one row per (cohort, offset)."""
    offsets = [c for c in frame.columns if isinstance(c, int)]
    sizes = gate.table(
        frame[["cohort", "size", *_keys_of(frame, "size")]], {"size": "cohort_size"}
    ).frame["size"]
    cells = gate.table(
        cohort_cells(frame, offsets),
        {"present": "cohort_present", "share": "cohort_share"},
    )
    return offsets, sizes, cells


def completion_table(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Completion per network or group (`metrics.completion_figures` of each one's places)."""
    return pd.DataFrame(
        [
            {"key": key, **metrics.completion_figures(part)}
            for key, part in frame.groupby(by, sort=True)
        ]
    )


def completion_rows(gate: Gate, frame: pd.DataFrame, by: str) -> list[dict]:
    """Completion per network or group (metrics.completion) as this user may receive it, and
    with several of them a last row `All` (their total: complementary suppression applies)."""
    parts = completion_table(frame, by)
    several = len(parts) > 1
    rows = gate.table(parts, totals=("column",) if several else ()).frame.to_dict("records")
    if several:
        total, _ = gate.record({"key": "All", **metrics.completion_figures(frame)})
        rows.append(total)
    return rows


# --- Surveys --------------------------------------------------------------------------------


def _value(value):
    """NaN as None (pandas turns None into NaN in float columns)."""
    return None if isinstance(value, float) and np.isnan(value) else value


def gated(gate: Gate, frame: pd.DataFrame, totals: bool = False) -> list[tuple[dict, set]]:
    """Each row of a survey table through the gate: (its survey figures as this user may
    receive them, the keys the gate hid). The whole row goes in, with its labels and the cell
    key of its pairs; only the figures of `SURVEY_KEYS` come out."""
    frame = frame.reset_index(drop=True)
    result = gate.table(frame, totals=("column",) if totals and len(frame) > 1 else ())
    # Row by row in the frame's order, each cell as `.loc[row, key]` gives it, read from
    # whole columns (a page of many groups made thousands of `.loc` look-ups).
    labels = pd.RangeIndex(len(frame))
    figures = {key: _cells(result.frame[key].loc[labels]) for key in SURVEY_KEYS}
    hidden = {key: _cells(result.hidden[key].loc[labels]) for key in SURVEY_KEYS}
    rows = []
    for i in range(len(frame)):
        safe = {key: _value(figures[key][i]) for key in SURVEY_KEYS}
        rows.append((safe, {key for key in SURVEY_KEYS if bool(hidden[key][i])}))
    return rows


def _cells(column: pd.Series):
    """A column's cells as `.loc` returns them one at a time (numpy scalars from a numpy
    column, the array's own scalars from an extension or date/time column)."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind not in "mM":
        return column.to_numpy()
    return column.array


def overall(gate: Gate, tables: dict) -> tuple[dict, set]:
    """The combined figures of the selection as this user may receive them, and the keys
    the gate hid."""
    return gated(gate, pd.DataFrame([tables["overall"]]))[0]


def pairs_needed(gate: Gate) -> int:
    """The matched pairs a protected user needs to see a change (for the notes)."""
    return max(gate.k, getattr(gate, "min_pairs", gate.k))


def blocked(gate: Gate, tables: dict) -> str | None:
    """Why a chart of the whole selection cannot be shown (None when it can): no pairs, or
    the gate hid the combined pairs or what rests on them."""
    _, hidden = overall(gate, tables)
    if tables["pairs"].empty:
        return NO_PAIRS
    if "matched_pairs" in hidden:
        return TOO_FEW.format(k=gate.k)
    if hidden:
        return TOO_FEW.format(k=pairs_needed(gate))
    return None


def _rows(gate: Gate, frame: pd.DataFrame, kind: str) -> list[dict]:
    """The chart rows of a survey table (see `charts.surveys`)."""
    if frame.empty:
        return []
    frame = frame.reset_index(drop=True)
    labels = frame[["group", "network"] if kind == "group" else ["key"]].to_dict("records")
    rows = []
    for (safe, hidden), source in zip(
        gated(gate, frame, totals=kind != "all"), labels, strict=True
    ):
        rows.append(
            {
                "key": source["group"] if kind == "group" else source["key"],
                "kind": kind,
                "network": source["network"] if kind == "group" else source["key"],
                "hidden": bool(hidden),
                "pairs": gate.shown("matched_pairs", safe["matched_pairs"]),
                **safe,
            }
        )
    return rows


def survey_parts(tables: dict) -> list[tuple[str, pd.DataFrame]]:
    """The survey tables' rows in the order the page shows them, as (kind, rows gated
    together): 'All' alone, the networks together (they add up to 'All'), then each network's
    groups together (they add up, nearly, to the network): totals."""
    networks, groups = tables["by_network"], tables["by_group"]
    parts = [
        ("all", networks[networks["key"] == "All"]),
        ("network", networks[networks["key"] != "All"]),
    ]
    return parts + [("group", part) for _, part in groups.groupby("network", sort=True)]


def rows_by(gate: Gate, tables: dict) -> list[dict]:
    """'All', the networks and the groups with pairs, as rows of gated figures (see
    `charts.surveys`): hidden figures None, `hidden` True when the gate hid the row's change
    (too few pairs, or hidden with another row so that no small row can be worked out by
    subtraction)."""
    return [row for kind, part in survey_parts(tables) for row in _rows(gate, part, kind)]
