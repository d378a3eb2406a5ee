"""Small-cell suppression (SPEC §4): the one function every aggregate table goes through."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


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


def _complete(values: pd.DataFrame, hidden: pd.DataFrame, along: str) -> bool:
    """Hide the next smallest cell wherever exactly one cell of a line is hidden."""
    changed = False
    lines = values.columns if along == "column" else values.index
    for line in lines:
        line_hidden = hidden[line] if along == "column" else hidden.loc[line]
        line_values = values[line] if along == "column" else values.loc[line]
        if int(line_hidden.sum()) != 1:
            continue
        candidates = line_values[~line_hidden].dropna()
        if candidates.empty:
            continue
        target = candidates.astype(float).idxmin()
        if along == "column":
            hidden.loc[target, line] = True
        else:
            hidden.loc[line, target] = True
        changed = True
    return changed


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
    derived = derived or {}
    frame = frame.reset_index(drop=True)
    hidden = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    count_values = frame[counts].apply(pd.to_numeric, errors="coerce")
    count_hidden = count_values.lt(threshold) & count_values.notna()
    if totals:
        changed = True
        while changed:
            changed = False
            for along in totals:
                changed |= _complete(count_values, count_hidden, along)
    hidden[counts] = count_hidden
    for column, base in derived.items():
        base_values = pd.to_numeric(frame[base], errors="coerce")
        hidden[column] = hidden[base] | base_values.lt(threshold) | base_values.isna()
    safe = frame.astype(object).where(~hidden, None)
    return Suppressed(safe, hidden, threshold)
