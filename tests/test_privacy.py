"""Small-cell suppression (SPEC §4): primary, complementary, derived values, the summary."""

import pandas as pd
import pytest

from dashboard.access import Scope
from dashboard.gate import Gate
from dashboard.privacy import suppress

K = 5


def test_primary_suppression_without_totals():
    frame = pd.DataFrame({"group": ["A", "B", "C"], "men": [3, 12, 7]})
    result = suppress(frame, K, counts=["men"])
    assert result.frame["men"].tolist() == [None, 12, 7]
    assert result.hidden["men"].tolist() == [True, False, False]


def test_complementary_suppression_in_a_column_with_a_total():
    # With a total shown, 3 could be worked out from the total: hide the next smallest too.
    frame = pd.DataFrame({"group": ["A", "B", "C"], "men": [3, 12, 7]})
    result = suppress(frame, K, counts=["men"], totals=("column",))
    assert result.frame["men"].tolist() == [None, 12, None]


def test_no_complement_when_two_cells_are_already_hidden():
    frame = pd.DataFrame({"group": ["A", "B", "C"], "men": [3, 12, 4]})
    result = suppress(frame, K, counts=["men"], totals=("column",))
    assert result.frame["men"].tolist() == [None, 12, None]
    assert result.hidden["men"].sum() == 2


def test_complementary_suppression_along_rows_and_columns_until_stable():
    # Networks x quarters with row and column totals. Calgary Q1 = 2 is hidden; in its row
    # the next smallest (Q2 = 6) goes too; Q2's column then has one hidden cell, so
    # Edmonton Q2 = 9 goes; Edmonton's row then has one hidden, so Edmonton Q1 = 10 goes.
    frame = pd.DataFrame(
        {"network": ["Calgary", "Edmonton"], "q1": [2, 10], "q2": [6, 9], "q3": [20, 30]}
    )
    result = suppress(frame, K, counts=["q1", "q2", "q3"], totals=("row", "column"))
    assert result.hidden[["q1", "q2", "q3"]].values.tolist() == [
        [True, True, False],
        [True, True, False],
    ]
    assert result.frame["q3"].tolist() == [20, 30]


def test_derived_values_follow_their_base():
    frame = pd.DataFrame(
        {"network": ["Calgary", "Edmonton"], "pairs": [4, 40], "mean_change": [2.5, 1.1]}
    )
    result = suppress(frame, K, counts=["pairs"], derived={"mean_change": "pairs"})
    assert result.frame["mean_change"].tolist() == [None, 1.1]


def test_zero_is_a_small_count_too():
    frame = pd.DataFrame({"men": [0, 8]})
    assert suppress(frame, K, counts=["men"]).frame["men"].tolist() == [None, 8]


def test_threshold_is_a_setting():
    frame = pd.DataFrame({"men": [7, 12]})
    assert suppress(frame, 10, counts=["men"]).frame["men"].tolist() == [None, 12]


def test_shown_count():
    gate = Gate(Scope(role="leadership"), 5)
    assert gate.shown("men_reached", None) == "<5"
    assert gate.shown("men_reached", 1234) == "1,234"
    assert gate.shown("attendance_rate", None) == "—"


@pytest.fixture
def figures():
    return {
        "sessions_held": 12,
        "men_reached": 4,
        "new_members": 2,
        "attendance": 30,
        "average_attendance": 2.5,
        "attendance_hours": 60.0,
        "attendance_rate": 0.8,
        "active_members": 3,
        "retention_12w": 0.5,
        "retention_base": 2,
        "surveys": {
            "ucla-3": {
                "matched_pairs": 3,
                "mean_change": -1.0,
                "ci_low": -2.0,
                "ci_high": 0.0,
                "d_z": -0.5,
                "share_improved": 0.33,
                "share_unchanged": 0.67,
                "share_worse": 0.0,
            },
            "swemwbs": {
                "matched_pairs": 12,
                "mean_change": 2.0,
                "ci_low": 1.0,
                "ci_high": 3.0,
                "d_z": 0.6,
                "share_improved": 0.5,
                "share_unchanged": 0.5,
                "share_worse": 0.0,
            },
        },
    }


def test_suppress_summary(figures):
    safe = Gate(Scope(role="leadership"), K, exact_values=True).summary(figures)
    assert safe["sessions_held"] == 12  # sessions are not men
    for key in (
        "men_reached",
        "new_members",
        "active_members",
        "attendance",
        "average_attendance",
        "attendance_hours",
        "attendance_rate",
        "retention_12w",
    ):
        assert safe[key] is None and key in safe["suppressed"]
    assert safe["surveys"]["ucla-3"]["mean_change"] is None
    assert "surveys.ucla-3.matched_pairs" in safe["suppressed"]
    assert safe["surveys"]["swemwbs"]["mean_change"] == 2.0
