"""Small pieces of text users read (issue 12, item 11): articles, plurals, a change that
rounds to zero, percentage points, program labels, and the files' rounding."""

from __future__ import annotations

import pytest

from callbacks.overview import format_change
from dashboard import catalogue, report_format, wording
from dashboard.filters import FilterError, check_values


@pytest.mark.parametrize(
    "word, expected",
    [
        ("attendance", "an attendance"),
        ("Edmonton", "an Edmonton"),
        ("Calgary", "a Calgary"),
        ("age", "an age"),
        ("roster", "a roster"),
        ("user", "a user"),
        ("hour", "an hour"),
        ("UCLA-3", "a UCLA-3"),
    ],
)
def test_with_article(word, expected):
    assert wording.with_article(word) == expected


def test_an_unknown_filter_value_reads_an_age_filter():
    with pytest.raises(FilterError, match="^an age filter value holds a control character"):
        check_values("age", ("18\x0724",))


def test_plural():
    assert wording.plural(1, "row") == "1 row"
    assert wording.plural(0, "row") == "0 rows"
    assert wording.plural(1204, "error") == "1,204 errors"
    assert wording.plural(2, "man", "men") == "2 men"


@pytest.mark.parametrize(
    "value, expected",
    [
        (1, "+1 point"),
        (-1.2, "-1 point"),
        (3.4, "+3 points"),
        (0.4, "0 points"),
        (-0.4, "0 points"),
    ],
)
def test_points(value, expected):
    assert wording.points(value) == expected


def test_a_change_that_rounds_to_zero_has_no_sign():
    assert wording.signed(-0.04, 1) == "0.0"
    assert wording.signed(-0.05001, 1) == "-0.1"
    assert wording.signed(1204.4) == "+1,204"
    assert wording.signed_percent(-0.004) == "0%"
    assert wording.signed_percent(-0.006) == "-1%"
    assert wording.sign(-0.04, 1) == 0 and wording.sign(-0.06, 1) == -1


def test_overview_card_change_rounding_to_zero_is_neutral_not_red():
    # Average attendance 12.46 -> 12.44: a change of -0.02, shown with one decimal.
    assert format_change("average_attendance", 12.44, 12.46) == (
        "0.0 (0%) vs previous period",
        "text-muted",
    )
    assert format_change("average_attendance", 12.3, 12.46) == (
        "-0.2 (-1%) vs previous period",
        "text-danger",
    )
    # Attendance rate 70.4% -> 70.0%: 0 points, neutral; 69% -> 70%: one point, up.
    assert format_change("attendance_rate", 0.700, 0.704) == (
        "0 points vs previous period",
        "text-muted",
    )
    assert format_change("attendance_rate", 0.70, 0.69) == (
        "+1 point vs previous period",
        "text-success",
    )


def test_impact_change_text_rounding_to_zero_and_one_point():
    def figures(now, before, key):
        return {
            "change_digits": None,
            "sections": [
                {
                    "id": "s",
                    "current": {"Calgary": {key: now}},
                    "previous": {"Calgary": {key: before}},
                }
            ],
        }

    assert (
        report_format.change_text(
            figures(-0.001, 0.002, "mean_change"), "s", "Calgary", "mean_change"
        )
        == "0.00"
    )
    assert (
        report_format.change_text(
            figures(0.51, 0.5, "share_improved"), "s", "Calgary", "share_improved"
        )
        == "+1 point"
    )
    assert (
        report_format.change_text(figures(1000, 1001, "men_reached"), "s", "Calgary", "men_reached")
        == "-1 (0%)"
    )
    assert report_format.shown(-0.001, "mean_change") == "0.00"


def test_program_label():
    assert wording.program_label("mens-shed") == "Men's shed"
    assert wording.program_label("wellbeing-10") == "Men's Well-Being (10 sessions)"
    assert wording.program_label("something-new") == "something-new"


def test_files_carry_figures_rounded_to_the_catalogues_digits():
    assert catalogue.rounded("attendance_rate", 0.6788888888888889) == 0.68  # shown "68%"
    assert catalogue.rounded("average_attendance", 12.345678) == 12.3  # shown "12.3"
    assert catalogue.rounded("mean_change", 1.23456) == 1.23
    assert catalogue.rounded("attendance_hours", 1234.4) == 1234
    assert catalogue.rounded("men_reached", 11) == 11
    assert catalogue.rounded("attendance_rate", None) is None


def test_every_program_type_has_a_label():
    from dashboard.models import PROGRAM_TYPES

    assert set(wording.PROGRAM_LABELS) == set(PROGRAM_TYPES)


def test_a_change_figure_never_reads_minus_zero():
    assert catalogue.format_value("mean_change", -0.001) == "0.00"
    assert catalogue.format_value("mean_change", -0.42) == "-0.42"
    assert catalogue.format_value("d_z", 0.3) == "+0.30"


def test_the_filter_summary_counts_groups_in_words():
    import datetime as dt

    from callbacks.shell import describe
    from dashboard.filters import Filters

    one = Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31), groups=("Calgary Peer",))
    assert describe(one).endswith(" · 1 group")
    two = Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31), groups=("A", "B"))
    assert describe(two).endswith(" · 2 groups")
