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
from dashboard.models import AttendanceSummary, Enrollment, InstrumentBaseline, SurveyPair
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


DERIVED = (AttendanceSummary, SurveyPair, InstrumentBaseline)


def _enrolment_counts(conn) -> list:
    e = Enrollment
    return conn.execute(
        select(e.id, e.held, e.first_held, e.last_held, e.presents).order_by(e.id)
    ).all()


def _rows(conn) -> dict[str, list]:
    rows = {
        model.__tablename__: conn.execute(
            select(model).order_by(*model.__table__.primary_key)
        ).all()
        for model in DERIVED
    }
    return rows | {"enrolment_counts": _enrolment_counts(conn)}


def _derived(engine) -> dict[str, list]:
    """The derived tables as stored."""
    with engine.connect() as conn:
        return _rows(conn)


def _rebuilt(engine) -> dict[str, list]:
    """The derived tables computed from scratch (in a transaction rolled back)."""
    with engine.connect() as conn:
        with conn.begin() as transaction:
            refresh_all(conn)
            rows = _rows(conn)
            transaction.rollback()
    return rows


def test_imports_corrections_and_undo_keep_the_summaries_exact(loaded):  # noqa: F811
    before = _derived(loaded)
    assert all(before.values()), "the good files hold attendance and matched surveys"
    assert before == _rebuilt(loaded)
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
    assert after["attendance_summary"] != before["attendance_summary"]
    assert after == _rebuilt(loaded)
    # A later response and a baseline corrected: the pairs and the baselines' spread move.
    surveys = (
        (FILES / "good_surveys.csv")
        .read_bytes()
        .replace(b"exit,4,4,4,4,4,4,4", b"exit,5,5,5,5,5,5,5")
        .replace(b"swemwbs,baseline,3,3,3,3,3,3,3", b"swemwbs,baseline,2,3,3,3,3,3,3")
    )
    survey_report = imp(loaded, "surveys", surveys)
    assert survey_report.updated == {"survey_response": 2}
    corrected = _derived(loaded)
    assert corrected["survey_pair"] != after["survey_pair"]
    assert corrected["instrument_baseline"] != after["instrument_baseline"]
    assert corrected == _rebuilt(loaded)
    from dashboard.importing import undo_import

    undo_import(loaded, survey_report.batch_id, "tester")
    undo_import(loaded, report.batch_id, "tester")
    assert _derived(loaded) == before
    with session_scope(loaded) as s:
        count = s.scalar(select(func.count()).select_from(AttendanceSummary))
        assert count == len(before["attendance_summary"])


def test_sessions_and_enrolments_written_and_undone_keep_the_enrolment_counts_exact(
    loaded,  # noqa: F811
):
    before = _derived(loaded)
    assert any(row.presents for row in before["enrolment_counts"])
    assert before == _rebuilt(loaded)
    # A new session of the peer circle (held for its men, none marked) and a cancelled one
    # held after all.
    sessions = imp(
        loaded,
        "sessions",
        b"group,date,duration_minutes,cancelled\n"
        b"Calgary Peer Circle,2025-04-21,,\n"
        b"Calgary Tuesday Well-Being,2025-04-15,,false\n",
    )
    assert sessions.ok, sessions.as_text()
    scheduled = _derived(loaded)
    assert scheduled["enrolment_counts"] != before["enrolment_counts"]
    assert scheduled == _rebuilt(loaded)
    # An enrolment's end moved earlier: fewer sessions held and attended within it.
    roster = (
        (FILES / "good_roster_utf8bom_semicolon.csv")
        .read_bytes()
        .replace(b"1 April 2025;2025-05-06", b"1 April 2025;2025-04-10")
        .replace(
            b"CGY-0001;Calgary;Calgary Tuesday Well-Being;2025-04-01;;",
            b"CGY-0001;Calgary;Calgary Tuesday Well-Being;2025-04-01;2025-04-09;",
        )
    )
    enrolments = imp(loaded, "roster", roster)
    assert enrolments.updated.get("enrollment") == 2, enrolments.as_text()
    ended = _derived(loaded)
    assert ended["enrolment_counts"] != scheduled["enrolment_counts"]
    assert ended == _rebuilt(loaded)
    from dashboard.importing import undo_import

    undo_import(loaded, enrolments.batch_id, "tester")
    assert _derived(loaded) == scheduled
    undo_import(loaded, sessions.batch_id, "tester")
    assert _derived(loaded) == before


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


# --- The attendance page's figures (issue 14): equal to plain references on a demo ---------

PAGE_FILTERS = [
    {},
    {"networks": ("Edmonton",)},
    {"age_bands": ("25-34",)},
    {"program_types": ("wellbeing-10",)},
]
PAGE_PERIODS = [
    (D(2021, 4, 1), D(2026, 3, 31)),  # five years: whole quarters from the summaries
    (D(2025, 4, 1), D(2026, 3, 31)),
    (D(2024, 11, 15), D(2025, 5, 10)),  # ragged edges: months and raw days too
    (D(2026, 1, 5), D(2026, 1, 20)),  # inside one month: raw rows only
]


def _raw_frames(conn) -> dict:
    """The raw tables of a small demo as frames, dates as dates."""
    import pandas as pd

    def read(sql: str, dates=()) -> pd.DataFrame:
        frame = pd.DataFrame(conn.execute(text(sql)).mappings().all())
        for column in dates:
            frame[column] = [
                None if v is None else dt.date.fromisoformat(str(v)[:10]) for v in frame[column]
            ]
        return frame

    sessions = read(
        'SELECT s.id AS session_id, s.group_id, s.date, s.cancelled, g.name AS "group", '
        "g.program_type, n.name AS network FROM session s "
        'JOIN "group" g ON g.id = s.group_id JOIN network n ON n.id = g.network_id',
        ["date"],
    )
    sessions["cancelled"] = sessions["cancelled"].astype(bool)
    return {
        "sessions": sessions,
        "attendance": read("SELECT session_id, member_id, status FROM attendance"),
        "members": read("SELECT id AS member_id, code, record_key, age_band FROM member"),
        "enrolments": read(
            "SELECT member_id, group_id, enrolled_from, enrolled_to FROM enrollment",
            ["enrolled_from", "enrolled_to"],
        ),
    }


def _selected(frame, f: Filters):
    """Rows (with network, group, program_type and age_band) inside the selection."""
    keep = frame["network"].isin(f.networks) if f.networks else frame["network"].notna()
    if f.groups:
        keep &= frame["group"].isin(f.groups)
    if f.program_types:
        keep &= frame["program_type"].isin(f.program_types)
    if f.age_bands and "age_band" in frame.columns:
        keep &= frame["age_band"].isin(f.age_bands)
    return frame[keep]


def _held_presents(raw: dict, f: Filters, start: dt.date, end: dt.date):
    """Attendance rows of held sessions from start to end, with session, group and member."""
    s = raw["sessions"]
    s = s[~s["cancelled"] & (s["date"] >= start) & (s["date"] <= end)]
    rows = raw["attendance"].merge(s, on="session_id").merge(raw["members"], on="member_id")
    return _selected(rows, f)


def _reference_group_counts(raw: dict, f: Filters):
    rows = _held_presents(raw, f, f.start, f.end)
    present = rows[rows["status"] == "present"]
    counts = rows.groupby("group").agg(
        attendance=("status", lambda v: int((v == "present").sum())),
        excused=("status", lambda v: int((v == "excused").sum())),
        recorded=("status", "size"),
    )
    counts["men_reached"] = present.groupby("group")["member_id"].nunique()
    keys = present.drop_duplicates(["group", "record_key"]).groupby("group")["record_key"].sum()
    counts["key"] = keys
    return counts.fillna(0).astype(int)


def _reference_dosage(raw: dict, f: Filters):
    s = raw["sessions"]
    s = s[~s["cancelled"] & (s["date"] >= f.start) & (s["date"] <= f.end)]
    pairs = raw["enrolments"].merge(s, on="group_id").merge(raw["members"], on="member_id")
    until = pairs["enrolled_to"].where(pairs["enrolled_to"].notna(), f.end)
    pairs = _selected(
        pairs[(pairs["date"] >= pairs["enrolled_from"]) & (pairs["date"] <= until)], f
    )
    present = raw["attendance"][raw["attendance"]["status"] == "present"].assign(attended=1)
    pairs = pairs.merge(present[["session_id", "member_id", "attended"]], how="left")
    per = pairs.groupby(["member_id", "record_key"], as_index=False).agg(
        held=("session_id", "size"), attended=("attended", "sum")
    )
    per["attended"] = per["attended"].fillna(0).astype(int)
    per["dosage"] = per["attended"] / per["held"]
    return per.sort_values("member_id").reset_index(drop=True)


def _reference_at_risk(raw: dict, f: Filters, on: dt.date, weeks: int):
    rows = _held_presents(raw, f, on - dt.timedelta(weeks=weeks) + dt.timedelta(days=1), on)
    rows = rows[rows["status"] == "present"]
    per = rows.groupby("member_id").agg(
        last_present=("date", "max"), sessions_present=("date", "size")
    )
    per = per[per["last_present"] <= on - dt.timedelta(weeks=3)]
    last = rows.merge(per.reset_index(), on=["member_id"])
    last = last[last["date"] == last["last_present"]].sort_values(["member_id", "group"])
    last = last.groupby("member_id").tail(1)
    last = last.assign(weeks_since=[(on - d).days // 7 for d in last["last_present"]])
    columns = ["member_code", "network", "group", "last_present", "weeks_since", "sessions_present"]
    last = last.rename(columns={"code": "member_code"})
    return last.sort_values(["last_present", "member_code"])[columns].reset_index(drop=True)


def _reference_completion(raw: dict, f: Filters, threshold: float):
    s = raw["sessions"]
    groups = s.drop_duplicates("group_id")[["group_id", "group", "network", "program_type"]]
    places = raw["enrolments"].merge(groups, on="group_id").merge(raw["members"], on="member_id")
    places = places[
        (places["program_type"] == "wellbeing-10")
        & places["enrolled_to"].notna()
        & (places["enrolled_to"] >= f.start)
        & (places["enrolled_to"] <= f.end)
    ]
    places = _selected(places, f)
    held = s[~s["cancelled"]]
    present = raw["attendance"][raw["attendance"]["status"] == "present"].merge(held)
    attended = []
    for place in places.itertuples():
        mine = present[
            (present["member_id"] == place.member_id)
            & (present["group_id"] == place.group_id)
            & (present["date"] >= place.enrolled_from)
            & (present["date"] <= place.enrolled_to)
        ]
        attended.append(len(mine))
    places = places.assign(attended=attended)
    places["completed"] = places["attended"] >= threshold * 10 - 1e-9
    # A man may hold two places in one group: the rows in the order of all their values.
    columns = ["group", "network", "member_id", "attended", "completed", "record_key"]
    return places[columns].sort_values(columns).reset_index(drop=True)


def test_attendance_page_figures_equal_plain_references(engine):
    """group_table, member_dosage, at_risk_members and completion (which read summaries or
    narrower plans since issue 14) against pandas over the raw rows, for periods whose
    attendance comes from summaries, raw rows or both, and for filters on network, member
    and program."""
    import pandas as pd

    from dashboard import metrics

    seed_demo(engine, seed=3, scale=0.1, end=D(2026, 3, 31))
    with engine.connect() as conn:
        raw = _raw_frames(conn)
        for start, end in PAGE_PERIODS:
            for extra in PAGE_FILTERS:
                f = Filters(start=start, end=end, **extra)
                where = (start, end, extra)
                table = metrics.group_table(conn, f).set_index("group")
                expected = _reference_group_counts(raw, f)
                got = table.loc[table["attendance"].index.isin(expected.index)]
                assert (table.drop(expected.index)[["attendance", "men_reached"]] == 0).all().all()
                for column in ("attendance", "excused", "men_reached"):
                    assert got[column].to_dict() == expected[column].to_dict(), (column, where)
                assert got["men_reached__cellkey"].to_dict() == expected["key"].to_dict(), where
                rate = expected["attendance"] / expected["recorded"]
                assert got["attendance_rate"].to_dict() == pytest.approx(rate.to_dict()), where

                dosage = metrics.member_dosage(conn, f)
                pd.testing.assert_frame_equal(
                    dosage, _reference_dosage(raw, f), check_dtype=False, obj=str(where)
                )
                completion = metrics.completion(conn, f, 0.7)
                columns = ["group", "network", "member_id", "attended", "completed", "record_key"]
                pd.testing.assert_frame_equal(
                    completion[columns].sort_values(columns).reset_index(drop=True),
                    _reference_completion(raw, f, 0.7),
                    check_dtype=False,
                    obj=str(where),
                )
                for on, weeks in ((end, 8), (end - dt.timedelta(days=40), 12)):
                    at_risk = metrics.at_risk_members(conn, f, on, weeks)
                    expected_risk = _reference_at_risk(raw, f, on, weeks)
                    assert len(at_risk) == len(expected_risk), where
                    if len(at_risk):
                        pd.testing.assert_frame_equal(
                            at_risk, expected_risk, check_dtype=False, obj=str(where)
                        )


def test_heatmap_of_the_largest_groups_is_the_full_heatmaps(engine):
    """tables.heatmap_largest computes the weeks of few groups: the groups it finds largest,
    their cells, the count of groups and whether any cell is hidden are those of the heatmap
    of every group, for exact, protected and threshold-only gates."""
    import pandas as pd

    from dashboard import metrics, tables
    from dashboard.access import Scope
    from dashboard.gate import Gate

    seed_demo(engine, seed=3, scale=0.1, end=D(2026, 3, 31))
    gates = [
        Gate(Scope(role="admin"), threshold=5),
        Gate(Scope(role="leadership"), threshold=5, secret="s"),
        Gate(Scope(role="leadership"), threshold=5, exact_values=True),
        Gate(Scope(role="leadership"), threshold=40, secret="s"),
    ]
    with engine.connect() as conn:
        for start, end in PAGE_PERIODS:
            for extra in PAGE_FILTERS[:2]:
                f = Filters(start=start, end=end, **extra)
                raw = metrics.group_table(conn, f)
                full = metrics.weekly_heatmap(conn, f)
                names = sorted(full["group"].unique())[:2]
                subset = full[full["group"].isin(names)].reset_index(drop=True)
                pd.testing.assert_frame_equal(metrics.weekly_heatmap(conn, f, tuple(names)), subset)
                if raw.empty:
                    continue
                for gate in gates:
                    groups = gate.table(raw)
                    cells, small = tables.heatmap_table(gate, full, groups)
                    for limit in (1, 2, 3):
                        asked = []

                        def cells_of(batch, f=f, asked=asked):
                            asked.append(batch)
                            return metrics.weekly_heatmap(conn, f, batch)

                        rows = tables.heatmap_largest(gate, raw, groups, cells_of, limit)
                        totals = cells.groupby("group")["present"].sum()
                        largest = list(
                            totals.sort_values(ascending=False, kind="stable").index[:limit]
                        )
                        where = (start, end, extra, gate.scope.role, gate.k, limit)
                        assert rows.names == largest, where
                        assert rows.small == small, where
                        assert rows.groups == cells["group"].nunique(), where
                        assert rows.any_hidden == bool(cells["hidden"].any()), where
                        keep = ["group", "week", "present", "hidden", "cancelled"]
                        mine = rows.cells[rows.cells["group"].isin(largest)][keep]
                        theirs = cells[cells["group"].isin(largest)][keep]
                        pd.testing.assert_frame_equal(
                            mine.sort_values(["group", "week"]).reset_index(drop=True),
                            theirs.sort_values(["group", "week"]).reset_index(drop=True),
                            check_dtype=bool(largest),  # none: empty frames
                            obj=str(where),
                        )
                        assert sum(len(b) for b in asked) <= rows.groups


def test_completion_figures_by_part_equal_completion_figures_of_each_part(engine):
    import pandas as pd

    from dashboard import metrics

    seed_demo(engine, seed=3, scale=0.1, end=D(2026, 3, 31))
    with engine.connect() as conn:
        frame = metrics.completion(conn, Filters(start=D(2021, 4, 1), end=D(2026, 3, 31)))
    assert frame["attended"].nunique() > 1
    for keys in (["network", "group"], ["attended"]):
        expected = pd.DataFrame(
            [
                {
                    **dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True)),
                    **metrics.completion_figures(part),
                }
                for key, part in frame.groupby(keys, sort=True)
            ]
        )
        pd.testing.assert_frame_equal(metrics.completion_figures_by(frame, keys), expected)


def test_heatmap_largest_allows_for_the_perturbation_of_every_week():
    """A group with fewer presents than another, over more weeks each perturbed upwards,
    draws more: the bound on drawn presents holds the largest adjustment per week held."""
    import pandas as pd

    from dashboard import tables
    from dashboard.access import Scope
    from dashboard.cellkey import KEY_SPACE
    from dashboard.gate import Gate

    up, down = int(0.9 * KEY_SPACE), int(0.1 * KEY_SPACE)  # cell keys: +2 and -2
    weeks = pd.date_range("2025-01-06", periods=20, freq="7D")
    weekly = {  # group: (presents per week, key sum per week)
        "A": ([10] * 10 + [3], [up] * 11),  # 103 presents, drawn 120 (a week hidden)
        "B": ([5] * 19 + [4], [up] * 20),  # 99 presents, drawn 19 x 7 = 133
        "C": ([5] * 2, [down] * 2),
    }
    cells = pd.DataFrame(
        [
            {
                "group": g,
                "network": "Calgary",
                "week": weeks[i],
                "attendance": n,
                "cancelled": False,
                "attendance__cellkey": key,
            }
            for g, (counts, keys) in weekly.items()
            for i, (n, key) in enumerate(zip(counts, keys, strict=True))
        ]
    )
    raw = pd.DataFrame(
        {
            "group": list(weekly),
            "network": "Calgary",
            "men_reached": 20,
            "attendance": [sum(c) for c, _ in weekly.values()],
            "sessions_held": [len(c) for c, _ in weekly.values()],
        }
    )
    gate = Gate(Scope(role="leadership"), threshold=5, secret="s")
    groups = gate.table(raw[["group", "network", "men_reached"]])

    def cells_of(names):
        return cells[cells["group"].isin(names)].reset_index(drop=True)

    rows = tables.heatmap_largest(gate, raw, groups, cells_of, 1)
    assert rows.names == ["B"]
    drawn = rows.cells.groupby("group")["present"].sum()
    assert drawn["B"] == 133 and drawn["A"] == 120
