"""Small-cell suppression (SPEC §4): the one function every aggregate table goes through.

The rules run on plain lists, one per column (`Columns`): the tables are small (a few rows of
figures, a few thousand cells at most), where pandas' cost per operation was most of a page's
time. A table comes in and goes out as a DataFrame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

# A table as {column: its cells, top to bottom}.
Columns = dict[str, list]


@dataclass
class Suppressed:
    """A table safe to send: hidden cells are None, and `hidden` marks them (True = hidden)."""

    frame: pd.DataFrame
    hidden: pd.DataFrame
    threshold: int

    @property
    def any_hidden(self) -> bool:
        return bool(self.hidden.to_numpy().any())

    def hidden_columns(self, row: int = 0) -> list[str]:
        return [c for c in self.hidden.columns if bool(self.hidden.iloc[row][c])]


def number(value) -> float:
    """A cell as a number for the rules (as pandas' to_numeric with errors="coerce"): NaN
    where it holds none."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def columns_of(frame: pd.DataFrame) -> Columns:
    """A DataFrame's cells as plain Python values, column by column."""
    return {column: frame[column].tolist() for column in frame.columns}


def _complete(numbers: Columns, hidden: dict[str, list[bool]], counts: list[str], along: str):
    """Hide the next smallest cell wherever exactly one cell of a line is hidden."""
    rows = len(numbers[counts[0]]) if counts else 0
    if along == "column":
        lines = [[(c, i) for i in range(rows)] for c in counts]
    else:
        lines = [[(c, i) for c in counts] for i in range(rows)]
    changed = False
    for line in lines:
        if sum(hidden[c][i] for c, i in line) != 1:
            continue
        # The smallest shown value, the first of equal ones (pandas' idxmin).
        candidates = [
            (numbers[c][i], position, c, i)
            for position, (c, i) in enumerate(line)
            if not hidden[c][i] and not math.isnan(numbers[c][i])
        ]
        if not candidates:
            continue
        _, _, column, row = min(candidates)
        hidden[column][row] = True
        changed = True
    return changed


def hidden_cells(
    columns: Columns,
    threshold: int,
    counts: list[str],
    derived: dict[str, str] | None = None,
    totals: tuple[str, ...] = (),
) -> dict[str, list[bool]]:
    """Which cells `suppress` hides (its rules, below), column by column."""
    rows = len(next(iter(columns.values()), []))
    hidden = {column: [False] * rows for column in columns}
    numbers = {c: [number(v) for v in columns[c]] for c in counts}
    for column in counts:
        hidden[column] = [value < threshold for value in numbers[column]]  # NaN: shown
    if totals:
        changed = True
        while changed:
            changed = False
            for along in totals:
                changed |= _complete(numbers, hidden, counts, along)
    for column, base in (derived or {}).items():
        hidden[column] = [
            base_hidden or not value >= threshold  # below threshold, or no base (NaN)
            for base_hidden, value in zip(
                hidden[base], (number(v) for v in columns[base]), strict=True
            )
        ]
    return hidden


def blanked(columns: Columns, hidden: dict[str, list[bool]]) -> Columns:
    """The cells with the hidden ones None."""
    return {
        column: [None if h else v for v, h in zip(values, hidden[column], strict=True)]
        for column, values in columns.items()
    }


def as_suppressed(columns: Columns, hidden: dict[str, list[bool]], threshold: int) -> Suppressed:
    """Blanked columns and their hidden marks as a Suppressed table (cells kept as objects)."""
    rows = range(len(next(iter(hidden.values()), [])))
    frame = pd.DataFrame(columns, index=rows, dtype=object)
    marks = pd.DataFrame({c: np.array(h, dtype=bool) for c, h in hidden.items()}, index=rows)
    return Suppressed(frame, marks, threshold)


def suppress(
    frame: pd.DataFrame,
    threshold: int,
    counts: list[str],
    derived: dict[str, str] | None = None,
    totals: tuple[str, ...] = (),
) -> Suppressed:
    """Suppress counts of distinct men below `threshold` and what is derived from them.

    counts: columns holding counts of distinct men (primary suppression when < threshold).
    derived: column -> the count column that is its base (a share, mean, change or survival
        point); hidden when its base is below threshold or hidden.
    totals: "column" when the table shows column totals, "row" when it shows row totals
        across the count columns: then, wherever exactly one cell of that line is hidden,
        the next smallest is hidden too (repeated until stable), so no hidden cell can be
        worked out by subtraction.
    """
    columns = columns_of(frame)
    hidden = hidden_cells(columns, threshold, counts, derived, totals)
    return as_suppressed(blanked(columns, hidden), hidden, threshold)
