"""The project's own differencing attack (SPEC §4), on the test demo data: with exact figures
(a coordinator's view, the positive control) subtraction recovers every hidden small cell;
through the leadership gate, no more often than the perturbation table allows."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard import cellkey
from dashboard.access import Scope
from dashboard.db import get_engine
from dashboard.gate import Gate
from tests import attack

QUARTERS = list(attack.fiscal_quarters(2021, 2025))
MONTHS = list(attack.months(dt.date(2023, 4, 1), 36))
LIMIT = 40


def _allowed(outcome: attack.Outcome) -> float:
    """The table's rate plus three binomial standard deviations for this many answers."""
    p = cellkey.EXACT_DIFFERENCE_RATE
    return p + 3 * (p * (1 - p) / max(outcome.answered, 1)) ** 0.5


@pytest.fixture(scope="module")
def outcomes(demo_url):
    engine = get_engine(demo_url)
    results = {}
    with engine.connect() as conn:
        for role in ("admin", "leadership"):
            ask = attack.received(conn, Gate(Scope(role=role), threshold=5))
            results[role] = [
                attack.age_complement(conn, ask, QUARTERS, 5, LIMIT),
                attack.network_subtraction(conn, ask, MONTHS, 5, LIMIT),
                attack.day_difference(conn, ask, dt.date(2025, 4, 1), 365, 5),
            ]
    return results


def test_the_attacks_find_small_cells_to_attack(outcomes):
    assert sum(outcome.cells for outcome in outcomes["admin"]) >= 40
    for outcome in outcomes["admin"]:
        assert outcome.cells >= 3, outcome


def test_on_exact_figures_every_attack_recovers_every_cell(outcomes):
    for outcome in outcomes["admin"]:
        assert outcome.exact == outcome.answered == outcome.cells, outcome


def test_through_the_leadership_gate_no_more_than_the_table_allows(outcomes):
    pooled = attack.Outcome("all attacks")
    for outcome in outcomes["leadership"]:
        assert outcome.answered > 0, outcome
        pooled.cells += outcome.cells
        pooled.answered += outcome.answered
        pooled.exact += outcome.exact
    assert pooled.answered >= 40
    assert pooled.exact_rate <= _allowed(pooled), outcomes["leadership"]
