"""Matched survey pairs read from the derived `survey_pair` table (issue 14): the same frame
as pairing the raw responses, and the table kept equal to a full refresh after every write."""

from __future__ import annotations

import datetime as dt
import statistics

import pandas as pd
import pytest
from sqlalchemy import select

from dashboard import metrics
from dashboard import queries as q
from dashboard.cellkey import key_column
from dashboard.db import get_engine, session_scope
from dashboard.derived import refresh_survey_pairs
from dashboard.filters import Filters
from dashboard.importing import undo_import
from dashboard.instruments import INSTRUMENTS
from dashboard.metrics import matched_pairs
from dashboard.models import Enrollment, Group, Member, Network, SurveyPair, SurveyResponse
from dashboard.stats import paired_change
from tests.factories import Builder
from tests.test_importers import GOOD, imp

LATER = ("mid", "exit", "follow-up")
COLUMNS = [
    "member_id",
    "network",
    "baseline",
    "later",
    "change",
    "baseline_date",
    "later_date",
    "baseline_answers",
    "later_answers",
    "record_key",
]


def reference_pairs(conn, f: Filters, instrument_id: str, answers: bool = True) -> pd.DataFrame:
    """The rule, on the raw responses: each man's first scored baseline and his latest scored
    later response up to the period's end (a tie on the date: the larger wave), kept when
    that later response is in the period and the baseline on or before it."""
    query = (
        select(
            SurveyResponse.member_id,
            SurveyResponse.date,
            SurveyResponse.wave,
            SurveyResponse.score,
            SurveyResponse.answers,
            Network.name,
            Member.record_key,
        )
        .join(Member, Member.id == SurveyResponse.member_id)
        .join(Network, Network.id == Member.home_network_id)
        .where(
            SurveyResponse.instrument_id == instrument_id,
            SurveyResponse.score.is_not(None),
            SurveyResponse.date <= f.end,
            *q.home_network_conditions(f),
        )
    )
    by_member: dict[int, list] = {}
    for row in conn.execute(query):
        by_member.setdefault(row.member_id, []).append(row)
    rows = []
    for member_id in sorted(by_member):
        responses = by_member[member_id]
        baselines = sorted((r for r in responses if r.wave == "baseline"), key=lambda r: r.date)
        laters = sorted((r for r in responses if r.wave in LATER), key=lambda r: (r.date, r.wave))
        if not baselines or not laters:
            continue
        base, last = baselines[0], laters[-1]
        if last.date < f.start or base.date > last.date:
            continue
        rows.append(
            {
                "member_id": member_id,
                "network": base.name,
                "baseline": float(base.score),
                "later": float(last.score),
                "change": float(last.score) - float(base.score),
                "baseline_date": base.date if answers else None,
                "later_date": last.date if answers else None,
                "baseline_answers": base.answers if answers else None,
                "later_answers": last.answers if answers else None,
                "record_key": base.record_key,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == COLUMNS
    if want.empty:
        assert got.empty
        return
    assert got["member_id"].is_monotonic_increasing
    for column in ("baseline", "later", "change"):
        assert got[column].dtype == float
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)


def demo_filter_sets(conn) -> dict[str, Filters]:
    group = conn.scalar(select(Group.name).order_by(Group.id).limit(1))
    band = conn.scalar(select(Member.age_band).where(Member.age_band.is_not(None)).limit(1))
    fy = {"start": dt.date(2025, 4, 1), "end": dt.date(2026, 3, 31)}
    return {
        "five years": Filters(start=dt.date(2021, 4, 1), end=dt.date(2026, 3, 31)),
        "FY2024-25": Filters(start=dt.date(2024, 4, 1), end=dt.date(2025, 3, 31)),
        "a quarter": Filters(start=dt.date(2025, 10, 1), end=dt.date(2025, 12, 31)),
        "Edmonton": Filters(**fy, networks=("Edmonton",)),
        "one group": Filters(**fy, groups=(group,)),
        "one age band": Filters(**fy, age_bands=(band,)),
    }


@pytest.mark.parametrize("answers", [True, False])
def test_demo_pairs_match_the_raw_responses(demo_url, answers):
    engine = get_engine(demo_url)
    with engine.connect() as conn:
        found = 0
        for name, f in demo_filter_sets(conn).items():
            for spec in INSTRUMENTS:
                got = matched_pairs(conn, f, spec["id"], answers=answers)
                want = reference_pairs(conn, f, spec["id"], answers=answers)
                try:
                    assert_same(got, want)
                except AssertionError as exc:
                    raise AssertionError(f"{name}, {spec['id']}") from exc
                found += len(got)
        assert found > 100  # the comparison saw real pairs


PERIOD = Filters(start=dt.date(2025, 4, 1), end=dt.date(2025, 12, 31))


def test_hand_made_pairs(session, engine):
    """A: two baselines (the first counts), a mid and an exit on one day (the mid: the larger
    wave), a follow-up after the period (ignored). B: his later response comes before his
    baseline (no pair). C: a later response only before the period. D: an unscored exit
    after his scored mid (ignored). E: no baseline."""
    b = Builder(session)
    b.network("Calgary")
    b.network("Edmonton")
    for code, network in (
        ("CGY-A01", "Calgary"),
        ("CGY-B01", "Calgary"),
        ("CGY-C01", "Calgary"),
        ("EDM-D01", "Edmonton"),
        ("EDM-E01", "Edmonton"),
    ):
        b.member(code, network)
    b.survey("CGY-A01", "ucla-3", "2025-02-01", "baseline", [3, 3, 3])
    b.survey("CGY-A01", "ucla-3", "2025-05-01", "baseline", [2, 2, 2])
    b.survey("CGY-A01", "ucla-3", "2025-06-01", "exit", [2, 1, 1])
    b.survey("CGY-A01", "ucla-3", "2025-06-01", "mid", [1, 1, 1])
    b.survey("CGY-A01", "ucla-3", "2026-01-15", "follow-up", [3, 3, 2])
    b.survey("CGY-B01", "ucla-3", "2025-04-15", "mid", [2, 2, 3])
    b.survey("CGY-B01", "ucla-3", "2025-05-01", "baseline", [3, 3, 3])
    b.survey("CGY-C01", "ucla-3", "2025-01-10", "baseline", [3, 3, 3])
    b.survey("CGY-C01", "ucla-3", "2025-03-10", "exit", [2, 2, 2])
    b.survey("EDM-D01", "ucla-3", "2025-04-10", "baseline", [3, 3, 2])
    b.survey("EDM-D01", "ucla-3", "2025-06-10", "mid", [2, 2, 2])
    b.survey("EDM-D01", "ucla-3", "2025-09-10", "exit", [None, None, 1])
    b.survey("EDM-E01", "ucla-3", "2025-06-10", "mid", [2, 2, 2])
    b.done()
    first_quarter = Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31))
    year_before = Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
    with engine.connect() as conn:
        codes = dict(conn.execute(select(Member.id, Member.code)).all())
        for f in (PERIOD, first_quarter, year_before):
            for answers in (True, False):
                assert_same(
                    matched_pairs(conn, f, "ucla-3", answers=answers),
                    reference_pairs(conn, f, "ucla-3", answers=answers),
                )
        got = matched_pairs(conn, PERIOD, "ucla-3")
        assert [codes[m] for m in got["member_id"]] == ["CGY-A01", "EDM-D01"]
        a, d = got.to_dict("records")
        assert (a["baseline_date"], a["later_date"]) == (dt.date(2025, 2, 1), dt.date(2025, 6, 1))
        assert (a["baseline"], a["later"], a["change"]) == (9.0, 3.0, -6.0)
        assert (a["baseline_answers"], a["later_answers"]) == ([3, 3, 3], [1, 1, 1])
        assert (d["later_date"], d["network"]) == (dt.date(2025, 6, 10), "Edmonton")
        got = matched_pairs(conn, first_quarter, "ucla-3")
        assert [codes[m] for m in got["member_id"]] == ["CGY-C01"]
        assert matched_pairs(conn, year_before, "ucla-3").empty


# ------------------------------------------------ the table after imports and their undo


def pair_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(SurveyPair).order_by(SurveyPair.later_id))]


def assert_pairs_fresh(engine) -> list[tuple]:
    """survey_pair as stored equals survey_pair refreshed from scratch; returns its rows."""
    stored = pair_rows(engine)
    with session_scope(engine) as s:
        refresh_survey_pairs(s)
    assert pair_rows(engine) == stored
    return stored


SURVEYS = (
    "member_code,date,instrument,wave,item_1,item_2,item_3,item_4,item_5,item_6,item_7\n"
    # An earlier baseline: his first now, so his June exit pairs with it.
    "CGY-0001,2025-03-03,swemwbs,baseline,2,2,2,2,2,2,2\n"
    # A corrected exit (an update) and a mid.
    "CGY-0001,2025-06-03,swemwbs,exit,5,5,4,4,4,4,4\n"
    "CGY-0001,2025-05-06,swemwbs,mid,3,4,3,4,3,4,3\n"
    "CGY-0001,2025-07-01,ucla-3,exit,2,2,1,,,,\n"
    "EDM-0001,2025-06-10,swemwbs,exit,5,5,5,4,4,4,4\n"
    "CGY-0003,2025-06-09,healthy-relationships,mid,4,4,4,3,4,3,\n"
)


def test_survey_pairs_follow_imports_and_undo(networks):
    engine = networks
    batches = []
    for kind, name in GOOD:
        report = imp(engine, kind, name)
        assert report.ok, report.as_text()
        batches.append(report.batch_id)
        assert_pairs_fresh(engine)
    before = assert_pairs_fresh(engine)
    assert len(before) == 1  # CGY-0001's swemwbs exit
    report = imp(engine, "surveys", SURVEYS.encode())
    assert report.ok, report.as_text()
    assert report.updated == {"survey_response": 1}
    after = assert_pairs_fresh(engine)
    assert len(after) == 5
    with session_scope(engine) as s:
        first = s.scalar(
            select(SurveyResponse.id).where(SurveyResponse.date == dt.date(2025, 3, 3))
        )
        swemwbs = s.scalars(select(SurveyPair).where(SurveyPair.instrument_id == "swemwbs"))
        assert {p.later_date: p.baseline_id for p in swemwbs} == {
            dt.date(2025, 5, 6): first,
            dt.date(2025, 6, 3): first,
            dt.date(2025, 6, 10): s.scalar(
                select(SurveyResponse.id).where(SurveyResponse.date == dt.date(2025, 4, 10))
            ),
        }
    undo_import(engine, report.batch_id, "tester")
    assert assert_pairs_fresh(engine) == before
    for batch_id in reversed(batches):  # newest first, back to empty
        undo_import(engine, batch_id, "tester")
        assert_pairs_fresh(engine)
    assert pair_rows(engine) == []


@pytest.fixture
def networks(engine):
    with session_scope(engine) as s:
        s.add_all([Network(name="Calgary"), Network(name="Edmonton")])
    return engine


# ------------------------- the surveys page's tables against plain versions of their rules


def reference_change_by_group(conn, f: Filters, spec: dict, pairs, sd_ref) -> pd.DataFrame:
    """survey_change_by_group's rule, plainly: every enrollment in the selection's groups,
    kept when it overlaps the man's pair (from on or before the later response, to open or
    on or after the baseline); per group (sorted by network and name) the change of its
    men's pairs, in the pairs' order, and the sum of their record keys."""
    query = (
        select(
            Enrollment.member_id,
            Enrollment.enrolled_from,
            Enrollment.enrolled_to,
            Group.name,
            Network.name,
        )
        .join(Group, Group.id == Enrollment.group_id)
        .join(Network, Network.id == Group.network_id)
        .where(*q.group_conditions(f))
    )
    by_member: dict[int, list] = {}
    for member_id, start, end, group, network in conn.execute(query):
        by_member.setdefault(member_id, []).append((start, end, group, network))
    members: dict[tuple, list] = {}
    for pair in pairs.to_dict("records"):
        for start, end, group, network in by_member.get(pair["member_id"], []):
            if start <= pair["later_date"] and (end is None or end >= pair["baseline_date"]):
                men = members.setdefault((network, group), [])
                if not men or men[-1]["member_id"] != pair["member_id"]:
                    men.append(pair)
    keys = list(paired_change([], [], spec["alpha"], spec["higher_is_better"]))
    rows = [
        {
            "network": network,
            "group": group,
            **paired_change(
                [p["baseline"] for p in men],
                [p["later"] for p in men],
                spec["alpha"],
                spec["higher_is_better"],
                reference_sd=float("nan") if sd_ref is None else sd_ref,
            ),
            key_column("matched_pairs"): sum(int(p["record_key"]) for p in men),
        }
        for (network, group), men in sorted(members.items())
    ]
    return pd.DataFrame(rows, columns=["network", "group", *keys, key_column("matched_pairs")])


def reference_item_shares(pairs: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """item_shares' rule, one answer at a time."""
    mid = (spec["min_answer"] + spec["max_answer"]) / 2
    keys = pairs["record_key"] if "record_key" in pairs.columns else pd.Series(0, pairs.index)
    rows = []
    for item in range(1, len(spec["items"]) + 1):
        for side in ("baseline", "later"):
            answers, key = [], 0
            for given, record_key in zip(pairs[f"{side}_answers"], keys, strict=True):
                answer = given[item - 1] if given and len(given) >= item else None
                if answer is not None:
                    answers.append(int(answer))
                    key += int(record_key or 0)
            if not answers:
                rows.append((item, side, 0, 0, None, None, None))
                continue
            total = len(answers)
            rows.append(
                (
                    item,
                    side,
                    total,
                    key,
                    sum(a < mid for a in answers) / total,
                    sum(a == mid for a in answers) / total,
                    sum(a > mid for a in answers) / total,
                )
            )
    columns = ["item", "side", "item_answers", key_column("item_answers"), "below", "at", "above"]
    return pd.DataFrame(rows, columns=columns)


def test_demo_survey_tables_match_the_plain_rules(demo_url):
    engine = get_engine(demo_url)
    with engine.connect() as conn:
        groups = 0
        for name, f in demo_filter_sets(conn).items():
            for spec in INSTRUMENTS:
                where = f"{name}, {spec['id']}"
                spec = metrics.instrument(conn, spec["id"])
                tables = metrics.survey_tables(conn, f, spec["id"])
                pairs = tables["pairs"]
                sd_ref = metrics.reference_sd(conn, spec["id"])
                want = reference_change_by_group(conn, f, spec, pairs, sd_ref)
                pd.testing.assert_frame_equal(tables["by_group"], want, check_exact=True, obj=where)
                groups += len(want)
                pd.testing.assert_frame_equal(
                    metrics.item_shares(pairs, spec),
                    reference_item_shares(pairs, spec),
                    check_exact=True,
                    obj=where,
                )
                # Without the answers: the same tables, the answers left out.
                lean = metrics.survey_tables(conn, f, spec["id"], answers=False)
                for part in ("overall", "by_network", "by_group"):
                    assert repr(lean[part]) == repr(tables[part]), where
                assert_same(lean["pairs"], reference_pairs(conn, f, spec["id"], answers=False))
                # Without the groups (every chart but the forest plot): the rest the same.
                narrow = metrics.survey_tables(conn, f, spec["id"], answers=False, groups=False)
                assert narrow["by_group"].empty, where
                assert list(narrow["by_group"].columns) == list(tables["by_group"].columns)
                for part in ("overall", "by_network"):
                    assert repr(narrow[part]) == repr(tables[part]), where
        assert groups > 20  # the comparison saw real groups


def test_reference_sd_is_the_sample_sd_of_the_scored_baselines(demo_url):
    engine = get_engine(demo_url)
    with engine.connect() as conn:
        for spec in INSTRUMENTS:
            scores = conn.scalars(
                select(SurveyResponse.score).where(
                    SurveyResponse.instrument_id == spec["id"],
                    SurveyResponse.wave == "baseline",
                    SurveyResponse.score.is_not(None),
                )
            ).all()
            assert len(scores) > 2
            got = metrics.reference_sd(conn, spec["id"])
            assert got == pytest.approx(statistics.stdev(scores), rel=1e-12)


def test_item_shares_of_ragged_answers():
    """Answers missing, short, longer than the items, None for a whole response, fractional
    (counted as int() of them), and a record key of None."""
    spec = {"min_answer": 1, "max_answer": 5, "items": ["a", "b", "c"]}
    pairs = pd.DataFrame(
        {
            "baseline_answers": [[1, None, 4], [3, 2], None, [2.7, 4, 1, 3], []],
            "later_answers": [[4, 4, 4], [None, None, None], [1, 1], [3, 2, 2], [2.5, 2.5, 2]],
            "record_key": pd.Series([5, 7, 11, None, 13], dtype=object),
        }
    )
    pd.testing.assert_frame_equal(
        metrics.item_shares(pairs, spec), reference_item_shares(pairs, spec), check_exact=True
    )
    no_keys = pairs.drop(columns=["record_key"])
    pd.testing.assert_frame_equal(
        metrics.item_shares(no_keys, spec), reference_item_shares(no_keys, spec), check_exact=True
    )
    empty = pairs.iloc[:0]
    pd.testing.assert_frame_equal(
        metrics.item_shares(empty, spec), reference_item_shares(empty, spec), check_exact=True
    )
