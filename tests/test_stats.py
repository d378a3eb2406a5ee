"""Pure statistics: Kaplan-Meier, log-rank in words, scoring."""

import pytest

from dashboard.instruments import INSTRUMENTS, score_response
from dashboard.stats import kaplan_meier, logrank_in_words, paired_change, survival_at

SPECS = {spec["id"]: spec for spec in INSTRUMENTS}


def test_kaplan_meier_by_hand():
    # Durations 1, 2, 2(censored), 3, 5(censored): S = 0.8, 0.6, 0.3, then flat.
    curve = kaplan_meier([1, 2, 2, 3, 5], [True, True, False, True, False])
    assert curve.at(0) == pytest.approx(1.0)
    assert curve.at(1) == pytest.approx(0.8)
    assert curve.at(2.5) == pytest.approx(0.6)
    assert curve.at(4) == pytest.approx(0.3)
    assert curve.at(5) == pytest.approx(0.3)
    assert curve.at(6) is None  # nobody followed six weeks
    assert curve.at_risk_at(2) == 4


@pytest.mark.parametrize("weeks, expected", [(0, 1.0), (1, 0.8), (2.5, 0.6), (4, 0.3), (6, None)])
def test_survival_at_one_time_is_the_curve_there(weeks, expected):
    durations, lapsed = [1, 2, 2, 3, 5], [True, True, False, True, False]
    value = survival_at(durations, lapsed, weeks)
    assert value == (None if expected is None else pytest.approx(expected))
    assert survival_at([], [], 4) is None
    # The same as the whole fitted curve on messier data (ties, censoring at event times).
    import random

    rng = random.Random(3)
    durations = [rng.choice([0, 0.5, 1, 3, 7, 12, 12, 20, 40]) for _ in range(200)]
    lapsed = [rng.random() < 0.6 for _ in durations]
    for at in (0, 4, 12, 26, 40):
        assert survival_at(durations, lapsed, at) == pytest.approx(
            kaplan_meier(durations, lapsed).at(at)
        )


def test_kaplan_meier_empty_and_single():
    assert kaplan_meier([], []).at(4) is None
    one = kaplan_meier([10], [False])  # one censored member
    assert one.at(4) == pytest.approx(1.0) and one.n == 1


def test_logrank_in_words():
    text = logrank_in_words(
        {"statistic": 6.2, "p_value": 0.013, "df": 1, "groups": ["Calgary", "Edmonton"]}
    )
    assert text.startswith("Retention differs between Calgary and Edmonton")
    assert "p = 0.013" in text
    assert "No clear difference" in logrank_in_words(
        {"statistic": 0.2, "p_value": 0.6, "df": 1, "groups": ["Calgary", "Edmonton"]}
    )


def test_paired_change_higher_is_better_direction():
    # Same changes as the loneliness test, but for a scale where higher is better.
    result = paired_change([9, 6, 4, 8], [5, 5, 6, 3], alpha=0.72, higher_is_better=True)
    assert result["share_worse"] == pytest.approx(0.5)
    assert result["share_improved"] == pytest.approx(0.0)


def test_paired_change_no_pairs():
    result = paired_change([], [], alpha=0.8, higher_is_better=True)
    assert result["matched_pairs"] == 0 and result["mean_change"] is None


@pytest.mark.parametrize(
    "answers, expected",
    [
        ([5, 5, 5, 5, 5, 5, 5], 35.0),  # top of the scale
        ([1, 1, 1, 1, 1, 1, 1], 7.0),  # bottom
        ([3, 3, 3, 3, 3, 3, 3], 19.25),  # raw 21 -> 19.25 metric
        ([3, 3, 3, 3, 3, 3, None], 19.25),  # one of seven missing: prorated to 21
        ([3, 3, 3, 3, 3, None, None], None),  # two missing: more than one in five
    ],
)
def test_swemwbs_scoring(answers, expected):
    assert score_response(answers, SPECS["swemwbs"]) == expected


def test_reverse_scored_mean_scale():
    # Items 4 and 6 are reversed on a 1-5 scale: 1 -> 5.
    answers = [4, 4, 4, 1, 4, 1]
    assert score_response(answers, SPECS["healthy-relationships"]) == pytest.approx(26 / 6)


def test_ucla_sum_and_missing():
    assert score_response([1, 2, 3], SPECS["ucla-3"]) == 6
    assert score_response([1, None, 3], SPECS["ucla-3"]) is None  # no item may be missing
    assert score_response([1, 2], SPECS["ucla-3"]) is None  # wrong length


def test_paired_change_with_a_reference_sd():
    # Changes -4, -1, +2, -5 against SD_ref 2: threshold 1.96 x 2 x sqrt(0.56) = 2.9334, so
    # -4 and -5 are reliable whatever the pairs' own baselines; lower loneliness is better.
    result = paired_change(
        [9, 6, 4, 8], [5, 5, 6, 3], alpha=0.72, higher_is_better=False, reference_sd=2.0
    )
    assert result["share_improved"] == pytest.approx(0.5)
    assert result["share_worse"] == pytest.approx(0.0)
    # The same two men with other company: their classification doesn't change.
    two = paired_change([9, 8], [5, 3], alpha=0.72, higher_is_better=False, reference_sd=2.0)
    assert two["share_improved"] == pytest.approx(1.0)
    # Without any reference SD (NaN) no reliable change is given.
    none = paired_change([9, 8], [5, 3], 0.72, False, reference_sd=float("nan"))
    assert none["share_improved"] is None and none["mean_change"] == pytest.approx(-4.5)


def lifelines_curve(durations, lapsed):
    """The fit as lifelines computes it (what kaplan_meier computed until it did so in numpy)."""
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter().fit([float(d) for d in durations], event_observed=lapsed)
    sf, ci = kmf.survival_function_, kmf.confidence_interval_survival_function_
    table = kmf.event_table["at_risk"].reindex(sf.index, fill_value=0)
    return (
        [float(t) for t in sf.index],
        [float(s) for s in sf.iloc[:, 0]],
        [float(v) for v in ci.iloc[:, 0].fillna(0)],
        [float(v) for v in ci.iloc[:, 1].fillna(1)],
        [int(n) for n in table],
    )


@pytest.mark.parametrize("seed", range(12))
def test_kaplan_meier_gives_lifelines_floats(seed):
    # Ties, zeros, censoring at event times, everyone lapsing at the end, all censored: the
    # same floats to the last bit, so no figure moves.
    import random

    rng = random.Random(seed)
    size = rng.choice([1, 2, 5, 40, 300])
    pool = [0, 0.5, 1, 1 / 7, 3, 12, 12, 20, 40.142857] if seed % 2 else [1, 2, 3]
    durations = [rng.choice(pool) for _ in range(size)]
    share = [0.0, 0.3, 0.6, 1.0][seed % 4]
    lapsed = [rng.random() < share for _ in durations]
    curve = kaplan_meier(durations, lapsed)
    expected = lifelines_curve(durations, lapsed)
    assert (curve.times, curve.survival, curve.ci_low, curve.ci_high, curve.at_risk) == expected


@pytest.mark.parametrize("seed", range(10))
def test_logrank_gives_lifelines_statistic(seed):
    import random

    from lifelines.statistics import multivariate_logrank_test

    from dashboard.stats import logrank

    rng = random.Random(seed)
    curves = []
    for index in range(rng.choice([2, 2, 3, 5, 8])):
        size = rng.choice([1, 4, 30, 200])
        times = [0, 1, 2, 3.5, 7, 12, 26, 40]
        durations = [rng.choice(times) * (1 + index % 2) for _ in range(size)]
        lapsed = [rng.random() < 0.5 for _ in durations]
        curves.append(kaplan_meier(durations, lapsed, label=f"group {index}"))
    durations = [d for c in curves for d in c.durations]
    labels = [c.label for c in curves for _ in range(c.n)]
    events = [e for c in curves for e in c.events]
    expected = multivariate_logrank_test(durations, labels, events)
    result = logrank(curves)
    assert result["statistic"] == pytest.approx(float(expected.test_statistic), rel=1e-9, abs=1e-12)
    assert result["p_value"] == pytest.approx(float(expected.p_value), rel=1e-9, abs=1e-12)
    assert result["df"] == len(curves) - 1 and result["groups"] == [c.label for c in curves]
    assert logrank_in_words(result) == logrank_in_words(
        {**result, "statistic": float(expected.test_statistic), "p_value": float(expected.p_value)}
    )
