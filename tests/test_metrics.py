"""Every SPEC §3 definition against a small dataset whose answers were worked out by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest

from dashboard import metrics
from dashboard.filters import Filters
from tests.factories import Builder, d

JAN = Filters(start=d("2025-01-01"), end=d("2025-01-31"))


@pytest.fixture
def jan_data(session):
    """Calgary Peer (peer-support, 120 min) and Edmonton Circle (healing-circle, 90 min).

    Held in January: Calgary 6, 13, 27 (20th cancelled); Edmonton 8, 15.
    A came once in December, so he is not new in January; D comes back once in March; A
    alone attends on 2 June, the data's last session.
    """
    b = Builder(session)
    b.network("Calgary")
    b.network("Edmonton")
    b.group("Calgary Peer", "Calgary", minutes=120, capacity=10)
    b.group("Edmonton Circle", "Edmonton", program="healing-circle", minutes=90, capacity=12)
    b.member("CGY-A01", "Calgary", "25-34", ("Indigenous",))
    b.member("CGY-B02", "Calgary", "35-44")
    b.member("EDM-C03", "Edmonton")
    b.member("EDM-D04", "Edmonton", "25-34")
    b.session("Calgary Peer", "2024-12-30", {"CGY-A01": "present"})
    b.session("Calgary Peer", "2025-01-06", {"CGY-A01": "present", "CGY-B02": "present"})
    b.session("Calgary Peer", "2025-01-13", {"CGY-A01": "present", "CGY-B02": "excused"})
    b.session("Calgary Peer", "2025-01-20", cancelled=True)
    b.session("Calgary Peer", "2025-01-27", {"CGY-A01": "absent", "CGY-B02": "present"})
    b.session("Edmonton Circle", "2025-01-08", {"EDM-C03": "present", "EDM-D04": "absent"})
    b.session("Edmonton Circle", "2025-01-15", {"EDM-C03": "present", "EDM-D04": "present"})
    b.session("Edmonton Circle", "2025-03-05", {"EDM-D04": "present"})
    b.session("Calgary Peer", "2025-06-02", {"CGY-A01": "present"})
    b.done()
    return b


def test_outputs_all_networks(engine, jan_data):
    with engine.connect() as conn:
        out = metrics.outputs(conn, JAN)
    assert out["sessions_held"] == 5  # the cancelled 20th does not count
    assert out["men_reached"] == 4
    assert out["new_members"] == 3  # B, C, D; A first came in December
    assert out["attendance"] == 7
    assert out["average_attendance"] == pytest.approx(7 / 5)
    assert out["attendance_hours"] == pytest.approx(12.5)  # 4 x 120 min + 3 x 90 min
    assert out["attendance_rate"] == pytest.approx(7 / 10)
    assert out["excused"] == 1


def test_outputs_one_network(engine, jan_data):
    with engine.connect() as conn:
        out = metrics.outputs(conn, Filters(start=JAN.start, end=JAN.end, networks=("Calgary",)))
    assert (out["sessions_held"], out["men_reached"], out["new_members"]) == (3, 2, 1)
    assert out["attendance"] == 4
    assert out["average_attendance"] == pytest.approx(4 / 3)
    assert out["attendance_hours"] == pytest.approx(8.0)
    assert out["attendance_rate"] == pytest.approx(4 / 6)


def test_outputs_by_network_counts_a_man_of_both_networks_once_combined(engine, jan_data):
    """One scan gives each network's column and the combined one: B, who also came once to
    Edmonton's circle, counts in each network and once (with his key once) combined."""
    from sqlalchemy import select

    from dashboard.cellkey import key_column
    from dashboard.models import Member

    jan_data.session("Edmonton Circle", "2025-01-22", {"CGY-B02": "present"})
    jan_data.done()
    with engine.connect() as conn:
        per, combined = metrics.outputs_by_network(conn, JAN, ["Calgary", "Edmonton"])
        keys = dict(conn.execute(select(Member.code, Member.record_key)).all())
    assert (per["Calgary"]["men_reached"], per["Edmonton"]["men_reached"]) == (2, 3)
    assert combined["men_reached"] == 4  # A, B, C, D
    assert combined["attendance"] == 8 and combined["sessions_held"] == 6
    assert per["Edmonton"]["attendance_hours"] == pytest.approx(6.0)  # 4 x 90 min
    assert per["Edmonton"][key_column("men_reached")] == sum(
        keys[c] for c in ("CGY-B02", "EDM-C03", "EDM-D04")
    )
    assert combined[key_column("men_reached")] == sum(keys.values())
    with engine.connect() as conn:
        for name in ("Calgary", "Edmonton"):
            assert per[name] == metrics.outputs(conn, replace(JAN, networks=(name,)))


def test_outputs_member_filters(engine, jan_data):
    with engine.connect() as conn:
        by_age = metrics.outputs(conn, Filters(start=JAN.start, end=JAN.end, age_bands=("25-34",)))
        by_community = metrics.outputs(
            conn, Filters(start=JAN.start, end=JAN.end, communities=("Indigenous",))
        )
    assert by_age["men_reached"] == 2  # A and D
    assert by_age["attendance"] == 3  # A twice, D once
    assert by_age["new_members"] == 1  # D
    assert by_community["men_reached"] == 1
    assert by_community["attendance"] == 2


def test_outputs_empty_period(engine, jan_data):
    with engine.connect() as conn:
        out = metrics.outputs(conn, Filters(start=d("2023-01-01"), end=d("2023-12-31")))
    assert out["sessions_held"] == 0 and out["men_reached"] == 0
    assert out["average_attendance"] is None and out["attendance_rate"] is None


def test_outputs_no_data_at_all(engine):
    with engine.connect() as conn:
        out = metrics.outputs(conn, JAN)
        assert metrics.retention_at(conn, JAN) == (None, 0)
        assert metrics.cohort_matrix(conn, JAN).empty
    assert out["sessions_held"] == 0 and out["attendance_hours"] == 0


def test_active_members(engine, jan_data):
    with engine.connect() as conn:
        assert metrics.active_members(conn, JAN, d("2025-01-31")) == 4
        # 8 weeks up to 31 March: only D's return on 5 March.
        assert metrics.active_members(conn, JAN, d("2025-03-31")) == 1
        assert metrics.active_members(conn, JAN, d("2025-03-31"), window_weeks=2) == 0


def test_survival_members_lapse_and_censoring(engine, jan_data):
    with engine.connect() as conn:
        frame = metrics.survival_members(conn, JAN).set_index("member_id")
    by_code = {jan_data.members[c].id: c for c in jan_data.members}
    got = {by_code[i]: (row.weeks, row.lapsed) for i, row in frame.iterrows()}
    # Data end is 2 June; B's, C's and D's last presents are more than 8 weeks before it.
    assert got == {"CGY-B02": (3.0, True), "EDM-C03": (1.0, True), "EDM-D04": (7.0, True)}


def test_survival_curve_and_retention(engine, jan_data):
    with engine.connect() as conn:
        result = metrics.retention(conn, JAN)
        twelve, base = metrics.retention_at(conn, JAN, 12)
    (curve,) = result["curves"]
    # Durations 1, 3, 7 weeks, all lapsed: S = 2/3 after 1 week, 1/3 after 3, 0 after 7.
    assert curve.at(1) == pytest.approx(2 / 3)
    assert curve.at(4) == pytest.approx(1 / 3)
    assert result["at_weeks"]["All"][4] == pytest.approx(1 / 3)
    assert result["at_weeks"]["All"][12] is None  # nobody followed that long
    assert (twelve, base) == (None, 3)


def test_survival_censored_while_data_goes_on(engine, jan_data):
    # Only January's data: everyone's last present is within 8 weeks of the data's end.
    with engine.connect() as conn:
        frame = metrics.survival_members(conn, JAN)
    assert frame["lapsed"].any()  # with the June session, they lapse
    july = Filters(start=d("2025-06-01"), end=d("2025-06-30"))
    with engine.connect() as conn:
        assert metrics.survival_members(conn, july).empty  # A is not new in June


def test_survival_by_network_and_logrank(engine, jan_data):
    with engine.connect() as conn:
        result = metrics.retention(conn, JAN, by="network")
    labels = [c.label for c in result["curves"]]
    assert labels == ["Calgary", "Edmonton"]
    assert [c.n for c in result["curves"]] == [1, 2]
    assert result["logrank"]["df"] == 1
    assert 0 <= result["logrank"]["p_value"] <= 1


def test_cohort_matrix(engine, jan_data):
    with engine.connect() as conn:
        matrix = metrics.cohort_matrix(conn, JAN)
    row = matrix.iloc[0]
    assert (row["cohort"], row["size"]) == ("2025-01", 3)
    assert row[0] == pytest.approx(1.0)  # all three came in their first month
    assert row[2] == pytest.approx(1 / 3)  # D came back in March
    assert 1 not in matrix.columns or matrix.iloc[0][1] == 0


def test_group_table_and_heatmap(engine, jan_data):
    with engine.connect() as conn:
        table = metrics.group_table(conn, JAN).set_index("group")
        heat = metrics.weekly_heatmap(conn, JAN)
    calgary = table.loc["Calgary Peer"]
    assert (calgary["sessions_held"], calgary["cancelled"], calgary["attendance"]) == (3, 1, 4)
    assert calgary["excused_rate"] == pytest.approx(1 / 6)
    assert calgary["capacity_use"] == pytest.approx(4 / 3 / 10)
    cancelled_weeks = heat[heat["cancelled"]]["week"].dt.date.tolist()
    assert cancelled_weeks == [dt.date(2025, 1, 20)]


def test_attendance_over_time_by_network(engine, jan_data):
    f = Filters(start=d("2025-01-01"), end=d("2025-03-31"), grain="month")
    with engine.connect() as conn:
        series = metrics.attendance_over_time(conn, f, by="network")
    got = {
        (r.period.strftime("%Y-%m"), r.key): (r.sessions, r.attendance) for r in series.itertuples()
    }
    assert got == {
        ("2025-01", "Calgary"): (3, 4),
        ("2025-01", "Edmonton"): (2, 3),
        ("2025-03", "Edmonton"): (1, 1),
    }


def test_at_risk_members(engine, jan_data):
    with engine.connect() as conn:
        # On 14 Feb: C (last 15 Jan) and A (last 13 Jan) are past 3 weeks; B came 27 Jan.
        frame = metrics.at_risk_members(conn, JAN, d("2025-02-14"))
    assert frame["member_code"].tolist() == ["CGY-A01", "EDM-C03", "EDM-D04"]
    assert frame["weeks_since"].tolist() == [4, 4, 4]


@pytest.fixture
def program(session):
    """A 10-session wellbeing-10 cycle: E attends 7 (completes), F attends 6 (doesn't)."""
    b = Builder(session)
    b.network("Calgary")
    b.group("Calgary WB", "Calgary", program="wellbeing-10")
    b.member("CGY-E05", "Calgary")
    b.member("CGY-F06", "Calgary")
    b.enroll("CGY-E05", "Calgary WB", "2025-01-02", "2025-03-06", "completed")
    b.enroll("CGY-F06", "Calgary WB", "2025-01-02", "2025-03-06", "withdrawn")
    for week in range(10):
        day = (d("2025-01-02") + dt.timedelta(weeks=week)).isoformat()
        b.session(
            "Calgary WB",
            day,
            {
                "CGY-E05": "present" if week < 7 else "absent",
                "CGY-F06": "present" if week < 6 else "absent",
            },
        )
    b.done()
    return b


def test_completion(engine, program):
    f = Filters(start=d("2025-01-01"), end=d("2025-03-31"))
    with engine.connect() as conn:
        frame = metrics.completion(conn, f)
        dosage = metrics.member_dosage(conn, f).set_index("member_id")["dosage"]
        before_end = metrics.completion(conn, Filters(start=d("2025-01-01"), end=d("2025-02-28")))
    assert sorted(frame["completed"].tolist()) == [False, True]
    assert metrics.completion_rate(frame) == pytest.approx(0.5)
    assert dosage[program.members["CGY-E05"].id] == pytest.approx(0.7)
    assert dosage[program.members["CGY-F06"].id] == pytest.approx(0.6)
    assert before_end.empty  # the cycle ended in March


@pytest.fixture
def surveys(session):
    """UCLA-3 (summed, higher is worse, alpha 0.72) for five Calgary men."""
    b = Builder(session)
    b.network("Calgary")
    for code in ("CGY-M01", "CGY-M02", "CGY-M03", "CGY-M04", "CGY-M05"):
        b.member(code, "Calgary")
    b.survey("CGY-M01", "ucla-3", "2025-01-10", "baseline", [3, 3, 3])  # 9
    b.survey("CGY-M01", "ucla-3", "2025-02-10", "exit", [2, 2, 1])  # 5
    b.survey("CGY-M02", "ucla-3", "2025-01-10", "baseline", [2, 2, 2])  # 6
    b.survey("CGY-M02", "ucla-3", "2025-02-11", "exit", [2, 2, 1])  # 5
    b.survey("CGY-M03", "ucla-3", "2025-01-10", "baseline", [1, 2, 1])  # 4
    b.survey("CGY-M03", "ucla-3", "2025-02-12", "exit", [2, 2, 2])  # 6
    b.survey("CGY-M04", "ucla-3", "2025-01-10", "baseline", [3, 2, 3])  # 8
    b.survey("CGY-M04", "ucla-3", "2025-02-13", "mid", [2, 2, 2])  # 6
    b.survey("CGY-M04", "ucla-3", "2025-05-13", "follow-up", [1, 1, 1])  # 3
    # One missing item of three is more than one in five: not scored, so no pair.
    b.survey("CGY-M05", "ucla-3", "2025-01-10", "baseline", [3, None, 3])
    b.survey("CGY-M05", "ucla-3", "2025-02-10", "exit", [1, 1, 1])
    b.done()
    return b


def test_matched_pair_change(engine, surveys):
    f = Filters(start=d("2025-01-01"), end=d("2025-06-30"))
    with engine.connect() as conn:
        result = metrics.survey_change(conn, f, "ucla-3")
    # Changes -4, -1, +2, -5: mean -2, SD sqrt(10), t(0.975, 3) = 3.182446.
    assert result["matched_pairs"] == 4
    assert result["mean_change"] == pytest.approx(-2.0)
    assert result["ci_low"] == pytest.approx(-2 - 3.182446 * 10**0.5 / 2, abs=1e-4)
    assert result["ci_high"] == pytest.approx(-2 + 3.182446 * 10**0.5 / 2, abs=1e-4)
    assert result["d_z"] == pytest.approx(-2 / 10**0.5)
    # Scored baselines in the database 9, 6, 4, 8: SD_ref 2.21736; SE_diff = 2.21736 x
    # sqrt(0.56) = 1.65934.
    # RCI -2.41 and -3.01 are reliable; lower loneliness is better.
    assert result["share_improved"] == pytest.approx(0.5)
    assert result["share_unchanged"] == pytest.approx(0.5)
    assert result["share_worse"] == pytest.approx(0.0)


def test_pair_uses_latest_later_response_up_to_period_end(engine, surveys):
    feb = Filters(start=d("2025-02-01"), end=d("2025-02-28"))
    with engine.connect() as conn:
        pairs = metrics.matched_pairs(conn, feb, "ucla-3")
        may = metrics.matched_pairs(
            conn, Filters(start=d("2025-05-01"), end=d("2025-05-31")), "ucla-3"
        )
    m4 = surveys.members["CGY-M04"].id
    assert sorted(pairs["change"].tolist()) == [-4.0, -2.0, -1.0, 2.0]  # M4 by his mid
    assert pairs.set_index("member_id").loc[m4, "later"] == 6.0
    assert may["member_id"].tolist() == [m4] and may["change"].tolist() == [-5.0]


def test_pairs_without_answers_are_the_same_pairs(engine, surveys):
    """The figures of change read pairs without their item answers and dates: the same men,
    scores and record keys, the answers and dates left out."""
    feb = Filters(start=d("2025-02-01"), end=d("2025-02-28"))
    with engine.connect() as conn:
        full = metrics.matched_pairs(conn, feb, "ucla-3")
        lean = metrics.matched_pairs(conn, feb, "ucla-3", answers=False)
    m1 = surveys.members["CGY-M01"].id
    assert full.set_index("member_id").loc[m1, "baseline_answers"] == [3, 3, 3]
    left_out = ["baseline_answers", "later_answers", "baseline_date", "later_date"]
    assert lean[left_out].isna().all().all()
    same = [c for c in full.columns if c not in left_out]
    pd.testing.assert_frame_equal(full[same], lean[same])
    assert metrics.pairs_cell_key(lean) == metrics.pairs_cell_key(full) > 0


def test_one_pair_has_no_interval(engine, surveys):
    may = Filters(start=d("2025-05-01"), end=d("2025-05-31"))
    with engine.connect() as conn:
        result = metrics.survey_change(conn, may, "ucla-3")
    assert result["matched_pairs"] == 1 and result["mean_change"] == -5.0
    assert result["ci_low"] is None and result["d_z"] is None and result["share_improved"] is None


def test_item_distribution(engine, surveys):
    feb = Filters(start=d("2025-02-01"), end=d("2025-02-28"))
    with engine.connect() as conn:
        pairs = metrics.matched_pairs(conn, feb, "ucla-3")
        spec = metrics.instrument(conn, "ucla-3")
    items = metrics.item_distribution(pairs, spec).set_index(["item", "side", "answer"])["count"]
    # Item 1 at baseline: M1 3, M2 2, M3 1, M4 3.
    assert items.loc[(1, "baseline", 3)] == 2
    assert items.loc[(1, "baseline", 1)] == 1
    assert items.loc[(3, "later", 1)] == 2  # M1's and M2's exits


def test_summary_has_every_key(engine, jan_data):
    with engine.connect() as conn:
        result = metrics.summary(conn, JAN)
    for key in (
        "sessions_held",
        "men_reached",
        "new_members",
        "attendance",
        "average_attendance",
        "attendance_hours",
        "attendance_rate",
        "active_members",
        "retention_12w",
        "surveys",
    ):
        assert key in result
    assert set(result["surveys"]) == {"swemwbs", "ucla-3", "healthy-relationships"}
    assert result["surveys"]["swemwbs"]["matched_pairs"] == 0


@pytest.mark.parametrize(
    "grain, expected",
    [
        ("quarter", {("2025-01-01", "Calgary"): (3, 4), ("2025-01-01", "Edmonton"): (3, 4)}),
        (
            "week",
            {
                ("2025-01-06", "Calgary"): (1, 2),
                ("2025-01-13", "Calgary"): (1, 1),
                ("2025-01-27", "Calgary"): (1, 1),
                ("2025-01-06", "Edmonton"): (1, 1),
                ("2025-01-13", "Edmonton"): (1, 2),
                ("2025-03-03", "Edmonton"): (1, 1),
            },
        ),
    ],
)
def test_attendance_buckets_in_sql(engine, jan_data, grain, expected):
    f = Filters(start=d("2025-01-01"), end=d("2025-03-31"), grain=grain)
    with engine.connect() as conn:
        series = metrics.attendance_over_time(conn, f, by="network")
    got = {
        (r.period.strftime("%Y-%m-%d"), r.key): (r.sessions, r.attendance)
        for r in series.itertuples()
    }
    assert got == expected
    assert series["men"].max() <= 2


# --- Reliable change against a fixed reference SD (SPEC §3) --------------------------------


@pytest.fixture
def two_network_surveys(session):
    """UCLA-3 (summed, higher is worse, alpha 0.72): two pairs in each network, and one man
    with a baseline only.

    Baselines in the database: 9, 8 (Calgary), 3, 4, 6 (Edmonton): mean 6, squared
    deviations 9 + 4 + 9 + 4 + 0 = 26, SD_ref = sqrt(26 / 4) = 2.54951. A change is reliable
    when |change| > 1.96 x 2.54951 x sqrt(2 x 0.28) = 3.7394: 4 is, 2 is not.
    Changes: C1 -4 (reliably better), C2 -2 (no reliable change), E1 +4 (reliably worse),
    E2 0 (no change).
    """
    b = Builder(session)
    b.network("Calgary")
    b.network("Edmonton")
    for code, network in (
        ("CGY-C01", "Calgary"),
        ("CGY-C02", "Calgary"),
        ("EDM-E01", "Edmonton"),
        ("EDM-E02", "Edmonton"),
        ("EDM-X03", "Edmonton"),
    ):
        b.member(code, network)
    b.survey("CGY-C01", "ucla-3", "2025-01-10", "baseline", [3, 3, 3])  # 9
    b.survey("CGY-C01", "ucla-3", "2025-02-10", "exit", [2, 2, 1])  # 5
    b.survey("CGY-C02", "ucla-3", "2025-01-10", "baseline", [3, 3, 2])  # 8
    b.survey("CGY-C02", "ucla-3", "2025-02-10", "exit", [2, 2, 2])  # 6
    b.survey("EDM-E01", "ucla-3", "2025-01-10", "baseline", [1, 1, 1])  # 3
    b.survey("EDM-E01", "ucla-3", "2025-02-10", "exit", [3, 2, 2])  # 7
    b.survey("EDM-E02", "ucla-3", "2025-01-10", "baseline", [2, 1, 1])  # 4
    b.survey("EDM-E02", "ucla-3", "2025-02-10", "exit", [1, 2, 1])  # 4
    b.survey("EDM-X03", "ucla-3", "2025-01-10", "baseline", [2, 2, 2])  # 6, no later survey
    b.done()
    return b


SPRING = Filters(start=d("2025-01-01"), end=d("2025-06-30"))


def test_reference_sd_is_the_sd_of_every_scored_baseline(engine, two_network_surveys):
    with engine.connect() as conn:
        assert metrics.reference_sd(conn, "ucla-3") == pytest.approx((26 / 4) ** 0.5)
        assert metrics.reference_sd(conn, "swemwbs") is None  # no baselines at all


def test_reference_sd_from_the_instrument_data_wins(engine, two_network_surveys):
    with engine.connect() as conn:
        spec = {**metrics.instrument(conn, "ucla-3"), "reference_sd": 1.5}
        assert metrics.reference_sd(conn, "ucla-3", spec) == 1.5
        # With SD_ref 1.5 the threshold is 1.96 x 1.5 x sqrt(0.56) = 2.2001: still not C2's 2.
        result = metrics.survey_change(conn, SPRING, "ucla-3", sd_ref=1.5)
    assert result["share_improved"] == pytest.approx(0.25)
    assert result["share_worse"] == pytest.approx(0.25)


def test_reliable_change_does_not_follow_the_selection(engine, two_network_surveys):
    calgary = replace(SPRING, networks=("Calgary",))
    with engine.connect() as conn:
        alone = metrics.survey_change(conn, calgary, "ucla-3")
        combined = metrics.survey_change(conn, SPRING, "ucla-3")
        by_network = metrics.survey_change_by(conn, SPRING, "ucla-3").set_index("key")
        tables = metrics.survey_tables(conn, SPRING, "ucla-3")
    # Calgary's own baselines (9, 8; SD 0.707) would make C2's -2 reliable; SD_ref doesn't.
    assert alone["matched_pairs"] == 2
    assert alone["share_improved"] == pytest.approx(0.5)
    assert alone["share_unchanged"] == pytest.approx(0.5)
    assert by_network.loc["Calgary", "share_improved"] == pytest.approx(0.5)
    assert by_network.loc["Edmonton", "share_improved"] == pytest.approx(0.0)
    assert by_network.loc["Edmonton", "share_worse"] == pytest.approx(0.5)
    assert by_network.loc["All", "share_improved"] == pytest.approx(0.25)
    assert by_network.loc["All", "share_worse"] == pytest.approx(0.25)
    assert by_network.loc["All", "share_unchanged"] == pytest.approx(0.5)
    assert combined["share_improved"] == pytest.approx(0.25)
    assert tables["overall"]["share_improved"] == pytest.approx(0.25)
    # A combined share lies between the shares of the parts it combines.
    for share in ("share_improved", "share_unchanged", "share_worse"):
        parts = by_network.loc[["Calgary", "Edmonton"], share]
        assert parts.min() <= by_network.loc["All", share] <= parts.max()


def test_reliable_change_per_group_uses_the_same_reference(engine, two_network_surveys):
    b = two_network_surveys
    b.group("Calgary Peer", "Calgary")
    b.group("Edmonton Circle", "Edmonton")
    for code, group in (
        ("CGY-C01", "Calgary Peer"),
        ("CGY-C02", "Calgary Peer"),
        ("EDM-E01", "Edmonton Circle"),
        ("EDM-E02", "Edmonton Circle"),
    ):
        b.enroll(code, group, "2025-01-01")
    b.done()
    with engine.connect() as conn:
        groups = metrics.survey_change_by_group(conn, SPRING, "ucla-3").set_index("group")
    assert groups.loc["Calgary Peer", "share_improved"] == pytest.approx(0.5)
    assert groups.loc["Edmonton Circle", "share_worse"] == pytest.approx(0.5)


def test_headline_active_members_on_the_data_end_when_the_period_runs_past_it(engine, jan_data):
    # A period running into the future (leadership's "this fiscal year"): the data end on
    # 2 June, where only A was present in the 8 weeks up to it.
    f = Filters(start=d("2025-01-01"), end=d("2030-12-31"))
    with engine.connect() as conn:
        figures = metrics.headline(conn, f)
        on_june_2 = metrics.active_members(conn, f, d("2025-06-02"))
        on_period_end = metrics.active_members(conn, f, f.end)
    assert figures["active_members"] == on_june_2 == 1
    assert on_period_end == 0


def test_cohort_matrix_marks_the_incomplete_period(engine, jan_data):
    """The data end on 2 June 2025 (A's visit): June is not complete. Cohort December 2024
    (A: December, January, June) and January 2025 (B, C, D; D again in March)."""
    f = Filters(start=d("2024-12-01"), end=d("2025-06-30"))
    with engine.connect() as conn:
        months = metrics.cohort_matrix(conn, f).set_index("cohort")
        quarters = metrics.cohort_matrix(conn, replace(f, grain="quarter")).set_index("cohort")
    assert months.loc["2024-12", [0, 1, 2, 3, 4, 5, 6]].tolist() == [1, 1, 0, 0, 0, 0, 1]
    assert months.loc["2024-12", "partial_offset"] == 6  # June, so far
    january = months.loc["2025-01"]
    assert january[[0, 1, 2, 3, 4, 5]].tolist() == pytest.approx([1, 0, 1 / 3, 0, 0, 0])
    assert pd.isna(january[6])  # December 2025 +6 would be July: not reached yet, not 0%
    assert january["partial_offset"] == 5
    assert quarters.loc["2024-Q4", [0, 1, 2]].tolist() == [1, 1, 1]
    assert quarters.loc["2024-Q4", "partial_offset"] == 2  # 2025-Q2 ends 30 June
    assert quarters.loc["2025-Q1", 1] == 0 and pd.isna(quarters.loc["2025-Q1", 2])
    assert quarters.loc["2025-Q1", "partial_offset"] == 1


def test_cohort_matrix_complete_when_the_data_reach_the_periods_last_day(engine, jan_data):
    jan_data.session("Calgary Peer", "2025-06-30", {"CGY-B02": "absent"})
    jan_data.done()
    f = Filters(start=d("2024-12-01"), end=d("2025-06-30"))
    with engine.connect() as conn:
        months = metrics.cohort_matrix(conn, f).set_index("cohort")
    assert months["partial_offset"].isna().all()
    assert months.loc["2025-01", 5] == 0  # June is over: nobody of January's cohort came


def _record_keys(engine) -> dict[str, int]:
    from sqlalchemy import select

    from dashboard.models import Member

    with engine.connect() as conn:
        return dict(conn.execute(select(Member.code, Member.record_key)).all())


def test_cohort_sizes_and_heatmap_weeks_carry_their_men_key_sum(engine, jan_data):
    """Counts of men come with the sum of their men's record keys (the gate draws their cell
    keys from it, SPEC §4)."""
    from dashboard.cellkey import key_column

    keys = _record_keys(engine)
    with engine.connect() as conn:
        cohorts = metrics.cohort_matrix(conn, JAN)
        heat = metrics.weekly_heatmap(conn, JAN).set_index(["group", "week"])
    # January's cohort: B, C and D (A came in December).
    assert cohorts.iloc[0][key_column("size")] == sum(
        keys[c] for c in ("CGY-B02", "EDM-C03", "EDM-D04")
    )
    # Edmonton's week of 13 January: C and D present.
    week = heat.loc[("Edmonton Circle", pd.Timestamp("2025-01-13"))]
    assert week["attendance"] == 2
    assert week[key_column("attendance")] == keys["EDM-C03"] + keys["EDM-D04"]


def test_completion_and_dosage_bins_carry_their_men_key_sum(engine, program):
    from dashboard import tables
    from dashboard.cellkey import key_column

    keys = _record_keys(engine)
    f = Filters(start=d("2025-01-01"), end=d("2025-03-31"))
    with engine.connect() as conn:
        completion = metrics.completion_figures(metrics.completion(conn, f))
        bins = tables.dosage_bins(metrics.member_dosage(conn, f)).set_index("bin")
    # The wellbeing cycle: E and F ended it; E's dosage 70%, F's 60%.
    assert completion[key_column("completion_base")] == keys["CGY-E05"] + keys["CGY-F06"]
    assert bins.loc[7, key_column("men")] == keys["CGY-E05"]
    assert bins.loc[6, key_column("men")] == keys["CGY-F06"]
    assert bins[key_column("men")].sum() == keys["CGY-E05"] + keys["CGY-F06"]
