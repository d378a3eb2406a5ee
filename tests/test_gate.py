"""The privacy gate (SPEC §4) on hand-made tables: exact for coordinators and admins,
cell-key protected for leadership and funders, and cell keys never leaving the server."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard import cellkey
from dashboard.access import Scope
from dashboard.gate import Gate, MemberRowsRefused

LEADERSHIP = Gate(Scope(role="leadership"), threshold=5, survey_min_pairs=10)
COORDINATOR = Gate(Scope(role="coordinator", networks=("Calgary",)), threshold=5)

# Cell keys chosen to land in each fifth of [0, 1): adjustments -2, -1, 0, +1, +2.
FIFTH = cellkey.KEY_SPACE // 5
KEYS = {adj: (i * FIFTH + FIFTH // 2) for i, adj in enumerate(cellkey.ADJUSTMENTS)}


def groups() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": ["Bow", "Elbow", "Nose Hill", "Fish Creek"],
            "men_reached": [3, 40, 12, 6],
            "men_reached__cellkey": [KEYS[0], KEYS[2], KEYS[-1], KEYS[-2]],
            "attendance_rate": [0.51234, 0.77777, 0.66666, 0.5],
            "sessions_held": [4, 10, 8, 3],
        }
    )


def test_coordinators_see_exact_figures_and_no_cell_keys():
    safe = COORDINATOR.table(groups()).frame
    assert list(safe["men_reached"]) == [3, 40, 12, 6]
    assert list(safe["attendance_rate"]) == [0.51234, 0.77777, 0.66666, 0.5]
    assert "men_reached__cellkey" not in safe.columns


def test_leadership_counts_follow_the_perturbation_table():
    safe = LEADERSHIP.table(groups()).frame
    # 3 < k: hidden whatever its key; 40 + 2; 12 - 1; 6 - 2 = 4 falls below k: hidden too.
    assert list(safe["men_reached"]) == [None, 42, 11, None]
    assert "men_reached__cellkey" not in safe.columns


def test_leadership_shares_are_rounded_and_hidden_with_their_base():
    safe = LEADERSHIP.table(groups()).frame
    assert list(safe["attendance_rate"]) == [None, 0.78, 0.67, None]
    assert list(safe["sessions_held"]) == [4, 10, 8, 3]  # sessions are not about men


def test_the_same_men_always_get_the_same_protected_count():
    first = LEADERSHIP.table(groups()).frame
    again = LEADERSHIP.table(groups().iloc[::-1]).frame.iloc[::-1].reset_index(drop=True)
    assert list(first["men_reached"]) == list(again["men_reached"])


def test_survey_outcomes_need_the_minimum_pairs_and_are_rounded():
    few = {
        "matched_pairs": 9,
        "matched_pairs__cellkey": KEYS[0],
        "mean_change": 1.234,
        "share_improved": 0.3333,
    }
    safe, hidden = LEADERSHIP.record(few)
    assert safe == {"matched_pairs": 9, "mean_change": None, "share_improved": None}
    assert hidden == ["mean_change", "share_improved"]
    enough = {**few, "matched_pairs": 12}
    safe, hidden = LEADERSHIP.record(enough)
    assert safe == {"matched_pairs": 12, "mean_change": 1.2, "share_improved": 0.33}
    assert hidden == []


def test_a_coordinator_sees_survey_outcomes_of_few_pairs_exactly():
    safe, hidden = COORDINATOR.record({"matched_pairs": 3, "mean_change": 1.234})
    assert safe == {"matched_pairs": 3, "mean_change": 1.234} and hidden == []


def test_member_rows_never_reach_leadership():
    rows = pd.DataFrame({"code": ["CGY-000001"]})
    assert COORDINATOR.member_rows(rows) is rows
    with pytest.raises(MemberRowsRefused):
        LEADERSHIP.member_rows(rows)


def test_the_perturbation_table_is_zero_mean_and_its_exact_difference_rate_is_one_fifth():
    keys = [(i + 0.5) / 1000 for i in range(1000)]
    adjustments = [cellkey.adjustment(50, key, 5) for key in keys]
    assert sum(adjustments) == 0
    assert sorted(set(adjustments)) == [-2, -1, 0, 1, 2]
    assert cellkey.EXACT_DIFFERENCE_RATE == pytest.approx(0.2)
    assert cellkey.adjustment(3, 0.99, 5) == 0  # hidden counts are not adjusted
    assert cellkey.perturb(0, 0.99, 5) == 0


def test_a_table_shown_with_totals_hides_a_second_cell():
    frame = pd.DataFrame(
        {"network": ["Calgary", "Edmonton", "Combined"], "men_reached": [4, 30, 34]}
    )
    safe = LEADERSHIP.table(frame, totals=("column",)).frame
    assert safe["men_reached"].iloc[0] is None
    assert sum(v is None for v in safe["men_reached"]) == 2


def test_counts_without_a_key_sum_get_a_secret_keyed_adjustment():
    # Cohort sizes 5..64 with no key column: the adjustment comes from the fallback key.
    sizes = pd.DataFrame({"cohort": [f"c{i}" for i in range(60)], "size": range(5, 65)})
    columns = {"size": "cohort_size"}

    def protected(secret: str) -> list:
        gate = Gate(Scope(role="leadership"), threshold=5, secret=secret)
        return list(gate.table(sizes, columns).frame["size"])

    ours = protected("server-secret")
    assert protected("server-secret") == ours  # the same cell, the same figure
    # Someone who has the code but not the secret computes other adjustments: he cannot
    # tell, for a shown figure, which exact count it came from.
    assert sum(a != b for a, b in zip(protected(""), ours, strict=True)) > 20
    assert {a - b for a, b in zip(ours, sizes["size"], strict=True)} <= {-2, -1, 0, 1, 2}
