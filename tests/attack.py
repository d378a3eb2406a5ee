"""The differencing attacks of SPEC §4, as a curious leadership user would run them: ask two
selections that differ by a small cell and subtract. Used by tests/test_attack.py and by
`python bench/attack.py` (which reports on the full demo data).

Each attack targets a cell of 1..k-1 men whose count the gate hides, and counts a success
when the difference of two figures the user received equals the exact hidden count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from sqlalchemy import Connection

from dashboard import metrics
from dashboard.filters import Filters
from dashboard.gate import Gate
from dashboard.models import AGE_BANDS

Figures = Callable[[Filters], dict]


@dataclass
class Outcome:
    """How an attack fared: cells attacked, answers obtained (both figures shown) and exact."""

    name: str
    cells: int = 0
    answered: int = 0
    exact: int = 0

    @property
    def exact_rate(self) -> float:
        return self.exact / self.answered if self.answered else 0.0


def received(conn: Connection, gate: Gate) -> Figures:
    """What this user receives for a selection: the outputs through his gate."""

    def ask(f: Filters) -> dict:
        safe, _ = gate.record(metrics.outputs(conn, f))
        return safe

    return ask


def fiscal_quarters(first_year: int, last_year: int) -> Iterator[tuple[dt.date, dt.date]]:
    for year in range(first_year, last_year + 1):
        for month in (4, 7, 10, 13):
            start = dt.date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
            after = dt.date(start.year + (start.month + 2) // 12, (start.month + 2) % 12 + 1, 1)
            yield start, after - dt.timedelta(days=1)


def months(first: dt.date, count: int) -> Iterator[tuple[dt.date, dt.date]]:
    start = first
    for _ in range(count):
        after = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
        yield start, after - dt.timedelta(days=1)
        start = after


def _difference(ask: Figures, whole: Filters, part: Filters, key: str) -> int | None:
    a, b = ask(whole)[key], ask(part)[key]
    return None if a is None or b is None else a - b


def age_complement(conn: Connection, ask: Figures, quarters, k: int, limit: int) -> Outcome:
    """Men reached by a group in a quarter, all six age bands minus all but one band."""
    outcome = Outcome("age complement")
    for start, end in quarters:
        for band in AGE_BANDS:
            table = metrics.group_table(conn, Filters(start=start, end=end, age_bands=(band,)))
            small = table[(table["men_reached"] > 0) & (table["men_reached"] < k)]
            for group, exact in zip(small["group"], small["men_reached"], strict=True):
                whole = Filters(start=start, end=end, groups=(group,), age_bands=tuple(AGE_BANDS))
                rest = replace(whole, age_bands=tuple(b for b in AGE_BANDS if b != band))
                _score(outcome, _difference(ask, whole, rest, "men_reached"), int(exact))
                if outcome.cells >= limit:
                    return outcome
    return outcome


def network_subtraction(conn: Connection, ask: Figures, periods, k: int, limit: int) -> Outcome:
    """A group's men reached as (its network + the other network) minus the other network."""
    outcome = Outcome("padding with the other network")
    for start, end in periods:
        table = metrics.group_table(conn, Filters(start=start, end=end))
        small = table[(table["men_reached"] > 0) & (table["men_reached"] < k)]
        for group, network, exact in zip(
            small["group"], small["network"], small["men_reached"], strict=True
        ):
            others = tuple(table.loc[table["network"] != network, "group"])
            if not others:
                continue
            padded = Filters(start=start, end=end, groups=(group, *others))
            rest = Filters(start=start, end=end, groups=others)
            _score(outcome, _difference(ask, padded, rest, "men_reached"), int(exact))
            if outcome.cells >= limit:
                return outcome
    return outcome


def day_difference(conn: Connection, ask: Figures, start: dt.date, days: int, k: int) -> Outcome:
    """New members of one day: 1..d minus 1..d-1 of a month."""
    outcome = Outcome("periods a day apart")
    for offset in range(1, days):
        day = start + dt.timedelta(days=offset)
        exact = metrics.new_members(conn, Filters(start=day, end=day))
        if not 0 < exact < k:
            continue
        longer = Filters(start=start, end=day)
        shorter = Filters(start=start, end=day - dt.timedelta(days=1))
        _score(outcome, _difference(ask, longer, shorter, "new_members"), exact)
    return outcome


def _score(outcome: Outcome, guess: int | None, exact: int) -> None:
    outcome.cells += 1
    if guess is not None:
        outcome.answered += 1
        outcome.exact += int(guess == exact)
