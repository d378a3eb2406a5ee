"""The derived summaries (issue 14): how a period is cut, and that sums over the summary rows
equal sums over the raw attendance, after seeding, imports, corrections and undo."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest
from sqlalchemy import distinct, func, select, text

from dashboard.db import session_scope
from dashboard.demo import seed_demo
from dashboard.derived import refresh_all
from dashboard.filters import Filters
from dashboard.models import AttendanceSummary, SurveyPair
from dashboard.queries import PeriodSplit, attendance_rows, split_period
from tests.test_importers import FILES, imp, loaded, networks  # noqa: F401 (fixtures)

D = dt.date


Y, Q, M = "year", "quarter", "month"


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # A fiscal year: one year's rows, nothing raw.
        (D(2025, 4, 1), D(2026, 3, 31), PeriodSplit(((Y, D(2025, 4, 1), D(2025, 4, 1)),), ())),
        # Five fiscal years.
        (D(2021, 4, 1), D(2026, 3, 31), PeriodSplit(((Y, D(2021, 4, 1), D(2025, 4, 1)),), ())),
        # A calendar year holds no whole fiscal year: four quarters.
        (D(2025, 1, 1), D(2025, 12, 31), PeriodSplit(((Q, D(2025, 1, 1), D(2025, 10, 1)),), ())),
        # Fiscal year to date on 2 Dec: two quarters, two months, two raw days.
        (
            D(2025, 4, 1),
            D(2025, 12, 2),
            PeriodSplit(
                ((Q, D(2025, 4, 1), D(2025, 7, 1)), (M, D(2025, 10, 1), D(2025, 11, 1))),
                ((D(2025, 12, 1), D(2025, 12, 2)),),
            ),
        ),
        # Inside one month: all raw.
        (D(2026, 1, 5), D(2026, 1, 20), PeriodSplit((), ((D(2026, 1, 5), D(2026, 1, 20)),))),
        # Both edges ragged around a whole quarter.
        (
            D(2025, 11, 15),
            D(2026, 5, 10),
            PeriodSplit(
                (
                    (M, D(2025, 12, 1), D(2025, 12, 1)),
                    (Q, D(2026, 1, 1), D(2026, 1, 1)),
                    (M, D(2026, 4, 1), D(2026, 4, 1)),
                ),
                ((D(2025, 11, 15), D(2025, 11, 30)), (D(2026, 5, 1), D(2026, 5, 10))),
            ),
        ),
        # The last 90 days: no whole quarter, two whole months.
        (
            D(2025, 12, 3),
            D(2026, 3, 2),
            PeriodSplit(
                ((M, D(2026, 1, 1), D(2026, 2, 1)),),
                ((D(2025, 12, 3), D(2025, 12, 31)), (D(2026, 3, 1), D(2026, 3, 2))),
            ),
        ),
        # A single last day of February in a leap year.
        (D(2024, 2, 29), D(2024, 2, 29), PeriodSplit((), ((D(2024, 2, 29), D(2024, 2, 29)),))),
        (D(2026, 2, 1), D(2026, 1, 1), PeriodSplit((), ())),
    ],
)
def test_split_period(start, end, expected):
    assert split_period(start, end) == expected


def test_split_period_for_a_series_stops_at_its_grain():
    assert split_period(D(2025, 4, 1), D(2026, 3, 31), "quarter") == PeriodSplit(
        ((Q, D(2025, 4, 1), D(2026, 1, 1)),), ()
    )
    assert split_period(D(2025, 4, 1), D(2026, 3, 31), "month") == PeriodSplit(
        ((M, D(2025, 4, 1), D(2026, 3, 1)),), ()
    )
    assert split_period(D(2025, 4, 1), D(2025, 4, 30), "day") == PeriodSplit(
        (), ((D(2025, 4, 1), D(2025, 4, 30)),)
    )


def _raw_outputs(conn, f: Filters) -> tuple:
    """Men reached, their key sum, presents, excused, rows and minutes, from the raw rows."""
    where = " AND n.name = :network" if f.networks else ""
    where += " AND m.age_band = :age" if f.age_bands else ""
    sql = f"""
        SELECT count(DISTINCT CASE WHEN a.status = 'present' THEN a.member_id END),
               sum(DISTINCT CASE WHEN a.status = 'present' THEN m.record_key END),
               sum(CASE WHEN a.status = 'present' THEN 1 ELSE 0 END),
               sum(CASE WHEN a.status = 'excused' THEN 1 ELSE 0 END), count(*),
               sum(CASE WHEN a.status = 'present' THEN s.duration_minutes ELSE 0 END)
        FROM attendance a JOIN session s ON s.id = a.session_id
        JOIN "group" g ON g.id = s.group_id JOIN network n ON n.id = g.network_id
        JOIN member m ON m.id = a.member_id
        WHERE s.cancelled = :no AND s.date >= :start AND s.date <= :end {where}"""
    params = {"no": False, "start": f.start, "end": f.end}
    params.update(network=f.networks[0] if f.networks else None)
    params.update(age=f.age_bands[0] if f.age_bands else None)
    return tuple(int(v or 0) for v in conn.execute(text(sql), params).one())


def _summary_outputs(conn, f: Filters) -> tuple:
    rows = attendance_rows(f)
    reached = rows.c.presents > 0
    from sqlalchemy import case

    query = select(
        func.count(distinct(case((reached, rows.c.member_id)))),
        func.sum(distinct(case((reached, rows.c.record_key)))),
        func.sum(rows.c.presents),
        func.sum(rows.c.excused),
        func.sum(rows.c.recorded),
        func.sum(rows.c.minutes),
    )
    return tuple(int(v or 0) for v in conn.execute(query).one())


def test_summary_rows_add_up_to_the_raw_rows_for_any_period(engine):
    seed_demo(engine, seed=3, scale=0.1, end=D(2026, 3, 31))
    rng = random.Random(5)
    periods = [(D(2021, 4, 1), D(2026, 3, 31)), (D(2025, 4, 1), D(2026, 3, 31))]
    for _ in range(25):
        start = D(2021, 1, 1) + dt.timedelta(days=rng.randrange(1900))
        periods.append((start, start + dt.timedelta(days=rng.randrange(1, 700))))
    with engine.connect() as conn:
        for start, end in periods:
            for extra in ({}, {"networks": ("Edmonton",)}, {"age_bands": ("25-34",)}):
                f = Filters(start=start, end=end, **extra)
                raw = _raw_outputs(conn, f)
                assert raw[0] > 0 or end < D(2021, 4, 1), (start, end)
                assert _summary_outputs(conn, f) == raw, (start, end, extra)


def _derived(engine) -> tuple[list, list]:
    with engine.connect() as conn:
        summary = conn.execute(
            select(AttendanceSummary).order_by(*AttendanceSummary.__table__.primary_key)
        ).all()
        pairs = conn.execute(select(SurveyPair).order_by(SurveyPair.later_id)).all()
    return summary, pairs


def _rebuilt(engine) -> tuple[list, list]:
    """The derived tables computed from scratch (in a transaction rolled back)."""
    with engine.connect() as conn:
        with conn.begin() as transaction:
            refresh_all(conn)
            summary = conn.execute(
                select(AttendanceSummary).order_by(*AttendanceSummary.__table__.primary_key)
            ).all()
            pairs = conn.execute(select(SurveyPair).order_by(SurveyPair.later_id)).all()
            transaction.rollback()
    return summary, pairs


def test_imports_corrections_and_undo_keep_the_summaries_exact(loaded):  # noqa: F811
    summary, pairs = _derived(loaded)
    assert summary and pairs, "the good files hold attendance and matched surveys"
    assert (summary, pairs) == _rebuilt(loaded)
    # A correction: one absent becomes present.
    attendance = (
        (FILES / "good_attendance.csv")
        .read_text()
        .replace(
            "2025-04-01,Calgary Tuesday Well-Being,CGY-0002,absent",
            "2025-04-01,Calgary Tuesday Well-Being,CGY-0002,present",
        )
    )
    report = imp(loaded, "attendance", attendance.encode())
    assert report.updated == {"attendance": 1}
    after = _derived(loaded)
    assert after != (summary, pairs) and after == _rebuilt(loaded)
    surveys = (
        (FILES / "good_surveys.csv")
        .read_bytes()
        .replace(b"exit,4,4,4,4,4,4,4", b"exit,5,5,5,5,5,5,5")
    )
    survey_report = imp(loaded, "surveys", surveys)
    assert survey_report.updated == {"survey_response": 1}
    assert _derived(loaded)[1] != after[1] and _derived(loaded) == _rebuilt(loaded)
    from dashboard.importing import undo_import

    undo_import(loaded, survey_report.batch_id, "tester")
    undo_import(loaded, report.batch_id, "tester")
    assert _derived(loaded) == (summary, pairs)
    with session_scope(loaded) as s:
        assert s.scalar(select(func.count()).select_from(AttendanceSummary)) == len(summary)


# ------------------------------------------------- the retention page against the raw rows


REFERENCE_FILTERS = [
    Filters(start=D(2025, 4, 1), end=D(2026, 3, 31)),
    Filters(start=D(2021, 4, 1), end=D(2026, 3, 31), grain="quarter"),
    Filters(start=D(2019, 1, 1), end=D(2026, 12, 31)),
    Filters(start=D(2023, 2, 10), end=D(2024, 8, 20), networks=("Edmonton",), grain="quarter"),
    Filters(start=D(2022, 1, 1), end=D(2025, 12, 31), age_bands=("35-44",)),
    Filters(start=D(2021, 4, 1), end=D(2026, 3, 31), communities=("Indigenous",)),
    Filters(start=D(2024, 11, 15), end=D(2025, 5, 10), program_types=("peer-support",)),
    Filters(start=D(2026, 4, 1), end=D(2026, 6, 30)),
]


def _raw_men(conn) -> tuple[pd.DataFrame, dt.date]:
    """Each man's first and last present, his first group (the lowest id on his first day),
    its name, network and program, his age band and communities: from the raw attendance."""
    held = pd.read_sql_query(
        text(
            """SELECT a.member_id, s.date, s.group_id FROM attendance a
            JOIN session s ON s.id = a.session_id
            WHERE a.status = 'present' AND s.cancelled = :no"""
        ),
        conn,
        params={"no": False},
    )
    held["date"] = pd.to_datetime(held["date"]).dt.date
    spans = held.groupby("member_id")["date"].agg(first="min", last="max").reset_index()
    on_first = held.merge(spans, on="member_id").query("date == first")
    spans = spans.merge(
        on_first.groupby("member_id")["group_id"].min().rename("group_id").reset_index()
    )
    groups = pd.read_sql_query(
        text(
            """SELECT g.id AS group_id, g.name AS "group", n.name AS network, g.program_type
            FROM "group" g JOIN network n ON n.id = g.network_id"""
        ),
        conn,
    )
    members = pd.read_sql_query(text("SELECT id AS member_id, age_band FROM member"), conn)
    communities = pd.read_sql_query(text("SELECT member_id, community FROM member_community"), conn)
    men = spans.merge(groups, on="group_id").merge(members, on="member_id")
    men["communities"] = [
        set(communities.loc[communities["member_id"] == m, "community"]) for m in men["member_id"]
    ]
    return men, max(held["date"])


def _new_men(men: pd.DataFrame, f: Filters) -> pd.DataFrame:
    keep = (men["first"] >= f.start) & (men["first"] <= f.end)
    for column, values in (
        ("network", f.networks),
        ("group", f.groups),
        ("program_type", f.program_types),
        ("age_band", f.age_bands),
    ):
        if values:
            keep &= men[column].isin(values)
    if f.communities:
        keep &= [bool(c & set(f.communities)) for c in men["communities"]]
    return men[keep]


def _index(day: dt.date, step: int) -> int:
    return (day.year * 12 + day.month - 1) // step


@pytest.mark.parametrize("rows_per_man", [0, 10**9])  # read by period span, read by member
def test_cohort_matrix_equals_the_raw_attendance(engine, monkeypatch, rows_per_man):
    from dashboard import metrics

    monkeypatch.setattr(metrics, "COHORT_ROWS_PER_MAN", rows_per_man)
    seed_demo(engine, seed=3, scale=0.1, end=D(2026, 3, 31))
    with engine.connect() as conn:
        men, end = _raw_men(conn)
        present = pd.read_sql_query(
            text(
                """SELECT DISTINCT a.member_id, s.date FROM attendance a
                JOIN session s ON s.id = a.session_id
                WHERE a.status = 'present' AND s.cancelled = :no"""
            ),
            conn,
            params={"no": False},
        )
        present["date"] = pd.to_datetime(present["date"]).dt.date
        for f in REFERENCE_FILTERS:
            step = 3 if f.grain == "quarter" else 1
            out = metrics.cohort_matrix(conn, f)
            cohort = _new_men(men, f)
            cohort = cohort.assign(c=[_index(d, step) for d in cohort["first"]])
            if cohort.empty:
                assert out.empty, f
                continue
            sizes = cohort.groupby("c").size()
            assert out["size"].tolist() == sizes.tolist(), f
            seen = present.merge(cohort[["member_id", "c"]], on="member_id")
            seen["k"] = [_index(d, step) for d in seen["date"]] - seen["c"]
            men_at = seen.drop_duplicates(["member_id", "k"]).groupby(["c", "k"]).size()
            offsets = [c for c in out.columns if isinstance(c, int)]
            assert offsets == list(range(_index(end, step) - sizes.index.min() + 1)), f
            for row, c in enumerate(sizes.index):
                for k in offsets:
                    expected = men_at.get((c, k), 0) / sizes[c]
                    if k > _index(end, step) - c:
                        assert pd.isna(out.loc[row, k]), (f, c, k)
                    else:
                        assert out.loc[row, k] == pytest.approx(expected, abs=1e-12), (f, c, k)


def test_survival_curves_equal_the_raw_attendance(engine):
    from dashboard import metrics
    from dashboard.stats import kaplan_meier

    seed_demo(engine, seed=3, scale=0.1, end=D(2026, 3, 31))
    with engine.connect() as conn:
        men, end = _raw_men(conn)
        group = men["group"].value_counts().index[0]
        for f in [
            *REFERENCE_FILTERS,
            Filters(start=D(2024, 4, 1), end=D(2026, 3, 31), groups=(group,)),
        ]:
            for by, window in ((None, 8), ("network", 8), ("group", 4)):
                new = _new_men(men, f)
                weeks = [
                    (last - first).days / 7
                    for first, last in zip(new["first"], new["last"], strict=True)
                ]
                lapsed = [(end - last).days >= window * 7 for last in new["last"]]
                frame = pd.DataFrame(
                    {"key": "All" if by is None else new[by], "weeks": weeks, "lapsed": lapsed}
                )
                expected = [
                    kaplan_meier(part["weeks"], part["lapsed"], label=str(key))
                    for key, part in frame.groupby("key", sort=True)
                ]
                curves = metrics.survival_curves(conn, f, by, window)
                assert [c.label for c in curves] == [c.label for c in expected], (f, by)
                for got, want in zip(curves, expected, strict=True):
                    assert (got.n, got.times, got.at_risk) == (want.n, want.times, want.at_risk)
                    assert got.survival == pytest.approx(want.survival, abs=1e-12)
                    assert sorted(zip(got.durations, got.events, strict=True)) == sorted(
                        zip(want.durations, want.events, strict=True)
                    )
                members = metrics.survival_members(conn, f, by, window)
                assert sorted(members["weeks"]) == sorted(weeks), (f, by)
                assert sorted(members["lapsed"]) == sorted(lapsed), (f, by)
                if by is None:
                    twelve = expected[0].at(12) if expected else None
                    assert metrics.retention_at(conn, f, 12, window) == (twelve, len(new))
