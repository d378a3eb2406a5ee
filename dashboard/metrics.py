"""Every figure of SPEC §3, one function each, computed in the database where it can."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
from sqlalchemy import (
    Connection,
    Date,
    Integer,
    String,
    Text,
    and_,
    case,
    cast,
    distinct,
    extract,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import aliased

from dashboard import queries as q
from dashboard.cellkey import key_column, without_keys
from dashboard.db import concurrently
from dashboard.filters import Filters
from dashboard.models import (
    FIXED_LENGTH_PROGRAMS,
    Attendance,
    AttendanceSummary,
    Enrollment,
    Group,
    GroupSession,
    Instrument,
    InstrumentBaseline,
    Member,
    Network,
    Presence,
    SurveyPair,
    SurveyResponse,
)
from dashboard.stats import SurvivalCurve, kaplan_meier, logrank, paired_change, survival_at

RETENTION_WEEKS = (4, 12, 26, 52)
AT_RISK_WEEKS = 3  # a member "at risk": no present in the last 3 weeks (issue 3)

_present = Attendance.status == "present"


def _attendance_base(f: Filters, with_group: bool = False):
    """Attendance rows of the sessions held in the selection, joined to what filters need
    (the group and network only when a filter or a column asks for them)."""
    query = (
        select()
        .select_from(Attendance)
        .join(GroupSession, GroupSession.id == Attendance.session_id)
    )
    if with_group or q.group_conditions(f):
        query = query.join(Group, Group.id == GroupSession.group_id).join(
            Network, Network.id == Group.network_id
        )
    query = query.where(*q.held_sessions_in(f))
    query = query.join(Member, Member.id == Attendance.member_id)
    if q.has_member_filter(f):
        query = query.where(*q.member_conditions(f))
    return query


def sessions_held(conn: Connection, f: Filters) -> int:
    """Sessions in the period, not cancelled."""
    query = (
        select(func.count(GroupSession.id))
        .join(Group, Group.id == GroupSession.group_id)
        .join(Network, Network.id == Group.network_id)
        .where(*q.held_sessions_in(f))
    )
    return int(conn.scalar(query) or 0)


def outputs(conn: Connection, f: Filters) -> dict:
    """Sessions held, men reached, new members, attendance (count, average, hours, rate)."""
    return outputs_by_network(conn, f, [])[1]


def _sessions_held_by(conn: Connection, f: Filters, column) -> dict:
    """Sessions held in the selection per network or group name (`column`)."""
    return dict(
        conn.execute(
            select(column, func.count(GroupSession.id))
            .join(Group, Group.id == GroupSession.group_id)
            .join(Network, Network.id == Group.network_id)
            .where(*q.held_sessions_in(f))
            .group_by(column)
        ).all()
    )


def outputs_by_network(conn: Connection, f: Filters, names: list[str]) -> tuple[dict, dict]:
    """`outputs` of each network in `names` (narrowed to it) and of the whole selection,
    from the period's attendance rows (`queries.attendance_rows`: summaries of its whole
    quarters and months, raw rows of its edge days): one pass per network, one combined."""
    held = _sessions_held_by(conn, f, Network.name)
    men_apart = conn.dialect.name == "sqlite"  # the men reached by _men_and_key's look-up
    rows = q.attendance_rows(f, keyed=not men_apart)
    reached = rows.c.presents > 0
    men = (
        ()
        if men_apart
        else (
            func.count(distinct(case((reached, rows.c.member_id)))),
            func.sum(distinct(case((reached, rows.c.record_key)))),
        )
    )
    sums = (
        *men,
        func.sum(rows.c.presents),
        func.sum(rows.c.excused),
        func.sum(rows.c.recorded),
        func.sum(rows.c.minutes),
    )
    totals = {None: tuple(conn.execute(select(*sums)).one())}
    if names:
        per_network = (
            select(Network.name, *sums)
            .join(Network, Network.id == rows.c.network_id)
            .where(Network.name.in_(names))
            .group_by(Network.name)
        )
        totals.update((row[0], tuple(row[1:])) for row in conn.execute(per_network))
    if men_apart:
        for name in totals:
            narrowed = f if name is None else replace(f, networks=(name,), preset=None)
            totals[name] = (*_men_and_key(conn, narrowed), *totals[name])

    def figures(column: str | None, narrowed: Filters) -> dict:
        men, keys, attendance, excused, recorded, minutes = (
            int(value or 0) for value in totals.get(column, (0,) * 6)
        )
        sessions = sum(held.values()) if column is None else held.get(column, 0)
        new_count, new_keys = _new_members_and_key(conn, narrowed)
        return {
            "sessions_held": sessions,
            "men_reached": men,
            key_column("men_reached"): keys,
            "new_members": new_count,
            key_column("new_members"): new_keys,
            "attendance": attendance,
            "average_attendance": attendance / sessions if sessions else None,
            "attendance_hours": round(float(minutes) / 60, 2),
            "attendance_rate": attendance / recorded if recorded else None,
            "excused": excused,
            "excused_rate": excused / recorded if recorded else None,
        }

    by_network = {name: figures(name, replace(f, networks=(name,), preset=None)) for name in names}
    return by_network, figures(None, f)


def new_members(conn: Connection, f: Filters) -> int:
    """Men reached whose first ever present (in any group) falls in the period."""
    return _new_members_and_key(conn, f)[0]


def _new_members_and_key(conn: Connection, f: Filters) -> tuple[int, int]:
    """New members and their cell key (the sum of their record keys), in one query.

    Starts from the men whose first present is in the period (an index on the member table),
    so the cost follows the answer; a group selection then asks whether each was present in
    a selected group's session in the period."""
    query = (
        select(func.count(), func.sum(Member.record_key))
        .select_from(Member)
        .where(q.in_period(Member.first_present, f), *q.member_conditions(f))
    )
    if q.group_conditions(f):
        rows = q.attendance_rows(f)
        query = query.where(Member.id.in_(select(rows.c.member_id).where(rows.c.presents > 0)))
    count, keys = conn.execute(query).one()
    return int(count or 0), int(keys or 0)


def active_window(f: Filters, on: dt.date, window_weeks: int) -> Filters:
    """The selection narrowed to the `window_weeks` weeks up to `on` (the active window)."""
    start = on - dt.timedelta(weeks=window_weeks) + dt.timedelta(days=1)
    return replace(f, start=start, end=on, preset=None)


def active_members(conn: Connection, f: Filters, on: dt.date, window_weeks: int = 8) -> int:
    """Distinct members with a present in the `window_weeks` weeks up to `on`."""
    return _active_members_and_key(conn, f, on, window_weeks)[0]


def _active_members_and_key(
    conn: Connection, f: Filters, on: dt.date, window_weeks: int
) -> tuple[int, int]:
    """Active members and their cell key (the sum of their record keys), in one query."""
    return _men_and_key(conn, active_window(f, on, window_weeks))


def _men_and_key(conn: Connection, f: Filters) -> tuple[int, int]:
    """The distinct men with a present in the selection's attendance rows, and their cell key.

    On SQLite the men are found first, then each one's record key: one look-up per man rather
    than per raw row of the edge days, and no second distinct (30x: 2-3x faster for five
    years or an 8-week window). PostgreSQL's planner does worse with that shape (it hashes the
    whole member table): there, distinct counts over the keyed rows."""
    if conn.dialect.name == "sqlite":
        rows = q.attendance_rows(f, keyed=False)
        men = select(rows.c.member_id).where(rows.c.presents > 0)
        query = select(func.count(), func.sum(Member.record_key)).where(Member.id.in_(men))
    else:
        rows = q.attendance_rows(f)
        query = select(
            func.count(distinct(rows.c.member_id)), func.sum(distinct(rows.c.record_key))
        ).where(rows.c.presents > 0)
    count, keys = conn.execute(query).one()
    return int(count or 0), int(keys or 0)


def bucket_start(dates: pd.Series, grain: str) -> pd.Series:
    """The start of each date's week (Monday), month or quarter."""
    if grain == "week":
        return (dates - pd.to_timedelta(dates.dt.weekday, unit="D")).dt.normalize()
    return dates.dt.to_period("M" if grain == "month" else "Q").dt.start_time


def attendance_over_time(conn: Connection, f: Filters, by: str | None = None) -> pd.DataFrame:
    """Per time bucket (the filters' grain) and network or group: sessions held, attendance
    (presents), distinct men present and average attendance."""
    # Grouped by network or group id, then day, and named and bucketed here: SQLite plans
    # that order from its indexes, and a date function per row cost more than the answer.
    session_key = GroupSession.group_id if by == "group" else Group.network_id
    sessions = pd.DataFrame(
        conn.execute(
            select(session_key, GroupSession.date, func.count(GroupSession.id))
            .join(Group, Group.id == GroupSession.group_id)
            .join(Network, Network.id == Group.network_id)
            .where(*q.held_sessions_in(f))
            .group_by(session_key, GroupSession.date)
        ).all(),
        columns=["key", "day", "sessions"],
    )
    coarsest = {"week": "day"}.get(f.grain, f.grain)
    rows = q.attendance_rows(f, coarsest=coarsest)
    split = q.split_period(f.start, f.end, coarsest)
    if not split.days and all(span == f.grain for span, _, _ in split.runs):
        row_period = rows.c.day.label("period")  # whole units of the grain: the day is its start
    else:
        row_period = q.bucket(rows.c.day, f.grain, conn.dialect.name).label("period")
    # Men are counted per network or group, or once over all (a man may be in both).
    row_key = {"group": rows.c.group_id, "network": rows.c.network_id}.get(by or "")
    keyed = [row_key] if row_key is not None else []
    present = select(
        row_key if row_key is not None else literal(0),
        row_period,
        func.sum(rows.c.presents).label("attendance"),
        func.count(distinct(case((rows.c.presents > 0, rows.c.member_id)))).label("men"),
    ).group_by(*keyed, row_period)
    counts = pd.DataFrame(
        conn.execute(present).all(), columns=["key", "period", "attendance", "men"]
    )
    columns = ["period", "key", "sessions", "attendance", "men", "average_attendance"]
    if sessions.empty:
        return pd.DataFrame(columns=columns)
    if by in ("network", "group"):
        table = Network if by == "network" else Group
        names = dict(conn.execute(select(table.id, table.name)).all())
        sessions["key"] = sessions["key"].map(names)
        counts["key"] = counts["key"].map(names)
    else:
        sessions["key"] = counts["key"] = "All"
    sessions["period"] = bucket_start(pd.to_datetime(sessions.pop("day")), f.grain)
    frame = sessions.groupby(["period", "key"], as_index=False, sort=False)["sessions"].sum()
    counts["period"] = pd.to_datetime(counts["period"])
    frame = frame.merge(counts, on=["period", "key"], how="left").fillna(
        {"attendance": 0, "men": 0}
    )
    frame[["attendance", "men"]] = frame[["attendance", "men"]].astype(int)
    frame["average_attendance"] = frame["attendance"] / frame["sessions"]
    return frame[columns].sort_values(["key", "period"]).reset_index(drop=True)


def group_table(conn: Connection, f: Filters) -> pd.DataFrame:
    """Per group: sessions held/cancelled, attendance, men reached, rate, excused, capacity use."""
    sessions = (
        select(
            Group.id.label("group_id"),
            Group.name.label("group"),
            Network.name.label("network"),
            Group.program_type,
            Group.capacity,
            func.sum(case((GroupSession.cancelled.is_(False), 1), else_=0)).label("sessions_held"),
            func.sum(case((GroupSession.cancelled.is_(True), 1), else_=0)).label("cancelled"),
        )
        .join(Group, Group.id == GroupSession.group_id)
        .join(Network, Network.id == Group.network_id)
        .where(q.in_period(GroupSession.date, f), *q.group_conditions(f))
        .group_by(Group.id, Group.name, Network.name, Group.program_type, Group.capacity)
    )
    rows = q.attendance_rows(f)
    reached = rows.c.presents > 0
    people = select(
        rows.c.group_id,
        func.count(distinct(case((reached, rows.c.member_id)))).label("men_reached"),
        func.sum(rows.c.presents).label("attendance"),
        func.sum(rows.c.excused).label("excused"),
        func.sum(rows.c.recorded).label("recorded"),
        func.sum(distinct(case((reached, rows.c.record_key)))).label(key_column("men_reached")),
    ).group_by(rows.c.group_id)
    frame = pd.DataFrame(
        [r._mapping for r in conn.execute(sessions)],
        columns=[
            "group_id",
            "group",
            "network",
            "program_type",
            "capacity",
            "sessions_held",
            "cancelled",
        ],
    )
    counts = pd.DataFrame(
        [r._mapping for r in conn.execute(people)],
        columns=[
            "group_id",
            "men_reached",
            "attendance",
            "excused",
            "recorded",
            key_column("men_reached"),
        ],
    )
    frame = frame.merge(counts, on="group_id", how="left")
    for column in ("men_reached", "attendance", "excused", "recorded", key_column("men_reached")):
        frame[column] = frame[column].fillna(0).astype(int)
    held = frame["sessions_held"].where(frame["sessions_held"] > 0)
    frame["average_attendance"] = frame["attendance"] / held
    recorded = frame["recorded"].where(frame["recorded"] > 0)
    frame["attendance_rate"] = frame["attendance"] / recorded
    frame["excused_rate"] = frame["excused"] / recorded
    frame["capacity_use"] = frame["average_attendance"] / frame["capacity"].where(
        frame["capacity"] > 0
    )
    return (
        frame.drop(columns=["group_id", "recorded"])
        .sort_values(["network", "group"])
        .reset_index(drop=True)
    )


def last_session_by_group(conn: Connection, f: Filters) -> dict[str, dt.date]:
    """Each group's last session in the period, held or cancelled (the heatmap's last week)."""
    query = (
        select(Group.name, func.max(GroupSession.date))
        .join(Group, Group.id == GroupSession.group_id)
        .join(Network, Network.id == Group.network_id)
        .where(q.in_period(GroupSession.date, f), *q.group_conditions(f))
        .group_by(Group.name)
    )
    return dict(conn.execute(query).all())


def weekly_heatmap(
    conn: Connection, f: Filters, groups: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Group x week: attendance of sessions held, and whether a session was cancelled.

    groups: only these groups (names) of the selection, e.g. those the chart draws (the
    rows of the others are left out; the selection itself, and so what is audited and
    cached for it, stays the same)."""
    only = [] if groups is None else [Group.name.in_(groups)]
    query = (
        select(
            Group.name.label("group"),
            Network.name.label("network"),
            GroupSession.id,
            GroupSession.date,
            GroupSession.cancelled,
        )
        .join(Group, Group.id == GroupSession.group_id)
        .join(Network, Network.id == Group.network_id)
        .where(q.in_period(GroupSession.date, f), *q.group_conditions(f), *only)
    )
    sessions = pd.DataFrame(
        conn.execute(query).all(), columns=["group", "network", "session_id", "date", "cancelled"]
    )
    present = (
        _attendance_base(f, with_group=bool(only))
        .add_columns(GroupSession.id, func.count(), func.sum(Member.record_key))
        .where(_present, *only)
        .group_by(GroupSession.id)
    )
    rows = conn.execute(present).all()
    counts = {session: n for session, n, _ in rows}
    keys = {session: int(key or 0) for session, _, key in rows}
    if sessions.empty:
        return pd.DataFrame(columns=["group", "network", "week", "attendance", "cancelled"])
    sessions["attendance"] = sessions["session_id"].map(counts).fillna(0).astype(int)
    sessions[key_column("attendance")] = sessions["session_id"].map(keys).fillna(0).astype(int)
    sessions["week"] = bucket_start(pd.to_datetime(sessions["date"]), "week")
    return sessions.groupby(["group", "network", "week"], as_index=False).agg(
        attendance=("attendance", "sum"),
        cancelled=("cancelled", "all"),
        **{key_column("attendance"): (key_column("attendance"), "sum")},
    )


def member_dosage(conn: Connection, f: Filters) -> pd.DataFrame:
    """Per member: sessions attended / sessions held in his groups while enrolled (in period).

    Counted per enrolment, then summed per man (the men with a session held). An enrolment
    whose held sessions all fall in the period reads its stored counts; one whose held
    sessions cross an edge of the period counts those in the period (_crossing_edges)."""
    inside = select(
        Enrollment.member_id.label("member_id"),
        Enrollment.held.label("held"),
        Enrollment.presents.label("attended"),
    ).where(
        Enrollment.first_held >= f.start,
        Enrollment.last_held <= f.end,
        *q.in_selected_groups(Enrollment.group_id, f),
    )
    per_enrolment = union_all(inside, _crossing_edges(f)).subquery()
    held = func.sum(per_enrolment.c.held)
    query = (
        select(
            Member.id,
            Member.record_key,
            cast(held, Integer),
            cast(func.sum(per_enrolment.c.attended), Integer),
        )
        .join(per_enrolment, per_enrolment.c.member_id == Member.id)
        .where(*q.member_conditions(f))
        .group_by(Member.id)
        .having(held > 0)
        .order_by(Member.id)  # by the database: sorting 95,000 rows in Python took a second
    )
    frame = pd.DataFrame(
        conn.execute(query).all(), columns=["member_id", "record_key", "held", "attended"]
    )
    frame["attended"] = frame["attended"].fillna(0).astype(int)
    frame["dosage"] = frame["attended"] / frame["held"]
    return frame


def _crossing_edges(f: Filters):
    """Member, sessions held in the period while enrolled (maybe none) and his presents at
    them, of each enrolment whose held sessions cross an edge of the period: one search
    each of the group's sessions and of his presences, from the later of its start and the
    period's to the earlier of its end and the period's."""
    start = case((Enrollment.enrolled_from > f.start, Enrollment.enrolled_from), else_=f.start)
    end = case((Enrollment.enrolled_to < f.end, Enrollment.enrolled_to), else_=f.end)
    held = select(func.count()).where(
        GroupSession.group_id == Enrollment.group_id,
        GroupSession.date >= start,
        GroupSession.date <= end,
        GroupSession.cancelled.is_(False),
    )
    attended = select(func.count()).where(
        Presence.member_id == Enrollment.member_id,
        Presence.group_id == Enrollment.group_id,
        Presence.date >= start,
        Presence.date <= end,
    )
    crossing = or_(
        and_(Enrollment.first_held < f.start, Enrollment.last_held >= f.start),
        and_(Enrollment.first_held <= f.end, Enrollment.last_held > f.end),
    )
    return select(
        Enrollment.member_id,
        held.scalar_subquery().label("held"),
        attended.scalar_subquery().label("attended"),
    ).where(crossing, *q.in_selected_groups(Enrollment.group_id, f))


def completion(conn: Connection, f: Filters, threshold: float = 0.7) -> pd.DataFrame:
    """Fixed-length programs: enrollments ended in the period, and whether each completed.

    Completed = attended at least `threshold` of the program's sessions (e.g. 7 of 10): his
    presents at the group's held sessions within the enrolment (stored per enrolment).
    """
    fixed = [p for p in FIXED_LENGTH_PROGRAMS if not f.program_types or p in f.program_types]
    columns = ["group", "network", "member_id", "attended", "program_sessions", "completed"]
    if not fixed:
        return pd.DataFrame(columns=columns)
    query = (
        select(
            Group.name,
            Network.name,
            Enrollment.member_id,
            Enrollment.presents,
            Group.program_type,
            Member.record_key,
        )
        .select_from(Enrollment)
        .join(Member, Member.id == Enrollment.member_id)
        .join(Group, Group.id == Enrollment.group_id)
        .join(Network, Network.id == Group.network_id)
        .where(
            Group.program_type.in_(fixed),
            Enrollment.enrolled_to.is_not(None),
            q.in_period(Enrollment.enrolled_to, f),
            *q.group_conditions(f),
        )
    )
    query = query.where(*q.member_conditions(f))
    rows = conn.execute(query).all()
    frame = pd.DataFrame(
        [(g, n, m, int(a or 0), FIXED_LENGTH_PROGRAMS[p], k) for g, n, m, a, p, k in rows],
        columns=[*columns[:-1], "record_key"],
    )
    frame["completed"] = frame["attended"] >= threshold * frame["program_sessions"] - 1e-9
    return frame


def completion_rate(frame: pd.DataFrame) -> float | None:
    return float(frame["completed"].mean()) if len(frame) else None


def completion_figures(frame: pd.DataFrame) -> dict:
    """Completion as SPEC §3 defines it, the one place every page, download and report reads:
    the rate over the enrollments (of `completion`'s frame, or any part of it, e.g. one group)
    and its privacy base, the distinct men of those enrollments."""
    figures = {
        "completion_base": int(frame["member_id"].nunique()) if len(frame) else 0,
        "completion_enrolments": len(frame),
        "completion_rate": completion_rate(frame),
    }
    if "record_key" in frame.columns:
        men = frame.drop_duplicates("member_id")["record_key"]
        figures[key_column("completion_base")] = int(men.fillna(0).astype("int64").sum())
    return figures


def completion_figures_by(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`completion_figures` of each part of `completion`'s frame (e.g. per network and
    group), one row per part sorted by `keys`, computed for all parts at once."""
    if frame.empty:
        return pd.DataFrame()
    parts = frame.groupby(keys, sort=True)
    figures = pd.DataFrame(
        {
            "completion_base": parts["member_id"].nunique().astype("int64"),
            "completion_enrolments": parts.size().astype("int64"),
            "completion_rate": parts["completed"].mean().astype(float),
        }
    )
    if "record_key" in frame.columns:
        men = frame.drop_duplicates([*keys, "member_id"])
        men = men.assign(record_key=men["record_key"].fillna(0).astype("int64"))
        figures[key_column("completion_base")] = men.groupby(keys, sort=True)["record_key"].sum()
    return figures.reset_index()


# Days a man can be followed, at most (358 years): packs his key, lapse and days in one int.
_FOLLOWED_DAYS = 1 << 17


def _new_members(conn: Connection, f: Filters, window_weeks: int, *columns):
    """`columns` of the period's new members (first present in it, first group selected)
    with the days from his first to his last present and whether he lapsed (1: his last
    present at least the window before the data's end; 0: censored), from the member spans;
    None when no session was held."""
    end = q.data_end(conn)
    if end is None:
        return None
    dialect = conn.dialect.name
    idle = q.days_between(Member.last_present, literal(end, Date), dialect)
    return (
        select(
            *columns,
            q.days_between(Member.first_present, Member.last_present, dialect).label("days"),
            case((idle >= window_weeks * 7, 1), else_=0).label("lapsed"),
        )
        .join(Group, Group.id == Member.first_group_id)
        .join(Network, Network.id == Group.network_id)
        .where(
            q.in_period(Member.first_present, f), *q.group_conditions(f), *q.member_conditions(f)
        )
    )


def survival_members(
    conn: Connection, f: Filters, by: str | None = None, window_weeks: int = 8
) -> pd.DataFrame:
    """New members of the period (first present in it, first group selected), followed to
    the data's end: duration in weeks and whether he lapsed (False = censored)."""
    key = {"network": Network.name, "group": Group.name}.get(by or "", Network.name)
    query = _new_members(
        conn, f, window_weeks, Member.id, Member.first_present, Member.last_present, key
    )
    rows = conn.execute(query).all() if query is not None else []
    if not rows:
        frame = pd.DataFrame(columns=["member_id", "first", "last", "key"])
        return frame.assign(weeks=pd.Series(dtype=float), lapsed=pd.Series(dtype=bool))
    frame = pd.DataFrame(rows, columns=["member_id", "first", "last", "key", "days", "lapsed"])
    if by is None:
        frame["key"] = "All"
    frame["weeks"] = frame.pop("days") / 7
    frame["lapsed"] = frame.pop("lapsed").astype(bool)
    return frame


def survival_curves(
    conn: Connection, f: Filters, by: str | None = None, window_weeks: int = 8
) -> list[SurvivalCurve]:
    """Kaplan-Meier curve per network or group (or one overall) of the period's new members.

    Each man comes as one integer (his key's id, lapse and days packed), in the database's
    order: at 30x all time a hundred thousand men, as plain ints rather than rows."""
    frame = _followed(conn, f, by, window_weeks)
    return [
        kaplan_meier(part["weeks"], part["lapsed"], label=str(key))
        for key, part in frame.groupby("key", sort=True)
    ]


def _followed(conn: Connection, f: Filters, by: str | None, window_weeks: int) -> pd.DataFrame:
    """The period's new members followed (survival_curves): key, weeks and lapsed, one row per
    man in the database's order, read as one packed integer each."""
    key_id = {"network": Group.network_id, "group": Group.id}.get(by or "")
    empty = pd.DataFrame({"key": [], "weeks": [], "lapsed": []})
    query = _new_members(conn, f, window_weeks)
    if query is None:
        return empty
    days, lapsed = query.selected_columns
    packed = ((key_id if key_id is not None else 0) * 2 + lapsed) * _FOLLOWED_DAYS + days
    values = np.fromiter(conn.scalars(query.with_only_columns(packed)), dtype=np.int64)
    if not len(values):
        return empty
    names = {0: "All"}
    if by == "network":
        names = dict(conn.execute(select(Network.id, Network.name)).all())
    elif by == "group":
        names = dict(conn.execute(select(Group.id, Group.name)).all())
    pair, days = np.divmod(values, _FOLLOWED_DAYS)
    return pd.DataFrame(
        {
            "key": [names[i] for i in pair // 2],
            "weeks": days / 7,
            "lapsed": (pair % 2).astype(bool),
        }
    )


def retention(conn: Connection, f: Filters, by: str | None = None, window_weeks: int = 8) -> dict:
    """Curves, retention at 4/12/26/52 weeks per curve, and the log-rank comparison of the
    networks (None by group: the page compares the few group curves it draws, and a test
    across every group — 1,200 at 30x — would cost seconds for nothing shown)."""
    curves = survival_curves(conn, f, by, window_weeks)
    at_weeks = {c.label: {w: c.at(w) for w in RETENTION_WEEKS} for c in curves}
    return {
        "curves": curves,
        "at_weeks": at_weeks,
        "logrank": logrank(curves) if len(curves) > 1 and by != "group" else None,
    }


def retention_at(
    conn: Connection, f: Filters, weeks: int = 12, window_weeks: int = 8
) -> tuple[float | None, int]:
    """Overall retention at `weeks` and the number of men the curve covers."""
    curves = survival_curves(conn, f, None, window_weeks)
    if not curves:
        return None, 0
    return curves[0].at(weeks), curves[0].n


# The cohort matrix reads its men's summary rows by member when the men times this are fewer
# than the summary rows from the period's start (a man has about a dozen rows, all spans).
COHORT_ROWS_PER_MAN = 10


def cohort_matrix(conn: Connection, f: Filters) -> pd.DataFrame:
    """Cohort (month or quarter of first present) x k: share present in the k-th period after.

    Against the data's end (the latest session held): a cell whose month (quarter) lies after
    it is not known yet (NaN, never 0%), and `partial_offset` names the k of the cohort's cell
    whose month (quarter) holds the data's end when the data do not reach its last day — a
    share "so far", not a drop-out (NA when that period is complete)."""
    grain = "quarter" if f.grain == "quarter" else "month"
    step = 3 if grain == "quarter" else 1
    cohort = (
        select(Member.id, Member.first_present)
        .join(Group, Group.id == Member.first_group_id)
        .join(Network, Network.id == Group.network_id)
        .where(
            q.in_period(Member.first_present, f), *q.group_conditions(f), *q.member_conditions(f)
        )
    )

    def period_index(date):
        year = cast(extract("year", date), Integer)
        return (year * 12 + cast(extract("month", date), Integer) - 1) // step

    first = period_index(Member.first_present)
    size_rows = conn.execute(
        cohort.with_only_columns(first, func.count(), func.sum(Member.record_key))
        .group_by(first)
        .order_by(first)
    ).all()
    if not size_rows:
        return pd.DataFrame(columns=["cohort", "size"])
    index = pd.Index([int(i) for i, _, _ in size_rows], name="index")
    sizes = pd.Series([n for _, n, _ in size_rows], index=index)
    size_keys = [int(key or 0) for _, _, key in size_rows]
    # The men present per month (quarter): the summary rows of that span with a present (one
    # per man, group and period), counted in the database per day of first present and
    # period, then per cohort and k, so the men's periods never reach pandas (at 30x all
    # time, a million rows). A man is present on or after his first present, so only the
    # summary rows from the period holding the start can count.
    s = AttendanceSummary
    first_month = _period_of(f.start, step) * step
    since = dt.date(first_month // 12, first_month % 12 + 1, 1)
    in_range = conn.scalar(select(func.count()).where(s.span == grain, s.period_start >= since))
    if sizes.sum() * COHORT_ROWS_PER_MAN < in_range:
        # Few men for the rows: read each man's rows by member (span || '' keeps SQLite
        # from scanning the period's rows by span instead).
        span = s.span.concat("") == grain
    else:
        span = and_(s.span == grain, s.period_start >= since)
    per_day = (
        cohort.with_only_columns(
            Member.first_present.label("first"),
            s.period_start.label("period"),
            func.count(distinct(s.member_id)).label("men"),
        )
        .join(s, s.member_id == Member.id)
        .where(span, s.presents > 0)
        .group_by(Member.first_present, s.period_start)
        .subquery()
    )
    cohort_of = period_index(per_day.c.first)
    k = period_index(per_day.c.period) - cohort_of
    cells = pd.DataFrame(
        conn.execute(select(cohort_of, k, func.sum(per_day.c.men)).group_by(cohort_of, k)).all(),
        columns=["index_cohort", "k", "men"],
    ).astype(int)
    counts = cells.set_index(["index_cohort", "k"])["men"].unstack(fill_value=0)
    shares = counts.div(sizes, axis=0).reindex(sizes.index)
    shares.columns = [int(k) for k in shares.columns]
    out = shares.reset_index(drop=False).rename(
        columns={"index": "cohort", "index_cohort": "cohort"}
    )
    out.insert(1, "size", sizes.values)
    out["cohort"] = [_cohort_label(int(i), grain) for i in sizes.index]
    out = _mark_unfinished(out, [int(i) for i in sizes.index], q.data_end(conn), step)
    out[key_column("size")] = size_keys
    return out


def _period_of(day: dt.date, step: int) -> int:
    """The index of the month (step 1) or quarter (step 3) holding `day`, from year 0."""
    return (day.year * 12 + day.month - 1) // step


def _mark_unfinished(
    out: pd.DataFrame, cohorts: list[int], end: dt.date | None, step: int
) -> pd.DataFrame:
    """Blank the cells after the data's end and name each cohort's incomplete cell."""
    out["partial_offset"] = pd.array([None] * len(out), dtype="Int64")
    if end is None:
        return out
    end_index = (end.year * 12 + end.month - 1) // step
    following = (end_index + 1) * step  # months since year 0 of the next period's start
    period_last = dt.date(following // 12, following % 12 + 1, 1) - dt.timedelta(days=1)
    reached = [end_index - c for c in cohorts]
    # Every k up to the latest reached: a k at which nobody came is a column of 0%.
    for k in range(max(reached) + 1):
        if k not in out.columns:
            out[k] = 0.0
    offsets = sorted(c for c in out.columns if isinstance(c, int))
    out = out[["cohort", "size", *offsets, "partial_offset"]].copy()
    for k in offsets:
        out[k] = out[k].fillna(0.0).where([k <= r for r in reached])
    if end < period_last:
        out["partial_offset"] = pd.array(reached, dtype="Int64")
    return out


def _cohort_label(index: int, grain: str) -> str:
    if grain == "quarter":
        month = index * 3
        return f"{month // 12}-Q{month % 12 // 3 + 1}"
    return f"{index // 12}-{index % 12 + 1:02d}"


def at_risk_members(
    conn: Connection, f: Filters, on: dt.date, window_weeks: int = 8
) -> pd.DataFrame:
    """Members (pseudonymous codes) with no present in the last 3 weeks, still active on `on`:
    one pass over the window's presents per man, then, for the men at risk only, the group
    of their last present (the last by name when there were two that day)."""
    window = active_window(f, on, window_weeks)
    last = func.max(GroupSession.date)
    per_man = (
        _attendance_base(window)
        .add_columns(
            Attendance.member_id.label("member_id"),
            last.label("last_present"),
            func.count().label("sessions_present"),
        )
        .where(_present)
        .group_by(Attendance.member_id)
        .having(last <= on - dt.timedelta(weeks=AT_RISK_WEEKS))
        .subquery()
    )
    details = (
        select(
            per_man.c.member_id,
            per_man.c.last_present,
            per_man.c.sessions_present,
            Member.code,
            Group.name,
            Network.name,
        )
        .join(Member, Member.id == per_man.c.member_id)
        .join(
            Attendance,
            and_(Attendance.member_id == per_man.c.member_id, _present),
        )
        .join(
            GroupSession,
            and_(
                GroupSession.id == Attendance.session_id,
                GroupSession.date == per_man.c.last_present,
            ),
        )
        .join(Group, Group.id == GroupSession.group_id)
        .join(Network, Network.id == Group.network_id)
        .where(*q.held_sessions_in(window))
    )
    columns = ["member_code", "network", "group", "last_present", "weeks_since", "sessions_present"]
    info = pd.DataFrame(
        conn.execute(details).all(),
        columns=[
            "member_id",
            "last_present",
            "sessions_present",
            "member_code",
            "group",
            "network",
        ],
    )
    if info.empty:
        return pd.DataFrame(columns=columns)
    frame = info.sort_values(["member_id", "group"]).groupby("member_id").tail(1)
    frame = frame.assign(weeks_since=[(on - d).days // 7 for d in frame["last_present"]])
    return frame.sort_values(["last_present", "member_code"])[columns].reset_index(drop=True)


def instrument(conn: Connection, instrument_id: str) -> dict | None:
    row = (
        conn.execute(select(Instrument.__table__).where(Instrument.id == instrument_id))
        .mappings()
        .first()
    )
    return dict(row) if row else None


def instrument_ids(conn: Connection) -> list[str]:
    return list(conn.scalars(select(Instrument.id).order_by(Instrument.id)))


def reference_sd(conn: Connection, instrument_id: str, spec: dict | None = None) -> float | None:
    """SD_ref of reliable change (SPEC §3): the instrument's published reference SD when its
    data gives one, else the sample SD of all scored baseline responses to it in the database
    — never of the current selection, so a man's classification is the same in every view
    (kept by dashboard.derived whenever surveys are written). None with fewer than two."""
    spec = spec if spec is not None else instrument(conn, instrument_id)
    if spec is not None and spec.get("reference_sd") is not None:
        return float(spec["reference_sd"])
    spread = conn.execute(
        select(InstrumentBaseline.baselines, InstrumentBaseline.squares).where(
            InstrumentBaseline.instrument_id == instrument_id
        )
    ).one_or_none()
    if spread is None or spread.baselines < 2:
        return None
    return math.sqrt(float(spread.squares) / (spread.baselines - 1))


def _latest_pairs(f: Filters, instrument_id: str):
    """The period's `survey_pair` rows of the selection's men that are each man's latest up to
    the period's end (ties on a date to the larger wave): those whose next later response, if
    any, comes after the end. The matched pairs are those whose baseline is on or before the
    later response (`_is_matched`)."""
    return (
        select(
            SurveyPair.member_id,
            Network.name.label("network"),
            SurveyPair.baseline_score,
            SurveyPair.later_score,
            SurveyPair.baseline_date,
            SurveyPair.later_date,
            SurveyPair.baseline_id,
            SurveyPair.later_id,
            Member.record_key,
        )
        .join(Member, Member.id == SurveyPair.member_id)
        .join(Network, Network.id == Member.home_network_id)
        .where(
            SurveyPair.instrument_id == instrument_id,
            q.in_period(SurveyPair.later_date, f),
            or_(SurveyPair.next_later_date.is_(None), SurveyPair.next_later_date > f.end),
            *q.home_network_conditions(f),
        )
        .subquery()
    )


def _is_matched(r):
    """Of `_latest_pairs` (its columns r), the rows that are matched pairs."""
    return r.baseline_date <= r.later_date


def matched_pairs(
    conn: Connection, f: Filters, instrument_id: str, answers: bool = True
) -> pd.DataFrame:
    """Each member's first scored baseline and his latest scored later response up to the
    period's end (ties on a date: the larger wave), kept when that later response falls in
    the period and the baseline is on or before it. One row per pair, by member id.

    Read from the derived `survey_pair` rows (dashboard/derived.py): a man's latest later
    response up to the period's end is the one whose next comes after the end (or has none),
    kept when it lies in the period. answers=False leaves the item answers and the dates out
    (their columns hold None): the figures of change never read them, and reading them is
    most of the cost of a large selection."""
    r = _latest_pairs(f, instrument_id).c
    columns = [
        "member_id",
        "network",
        "baseline",
        "later",
        "baseline_date",
        "later_date",
        "baseline_answers",
        "later_answers",
        "record_key",
    ]
    order = [*columns[:4], "change", *columns[4:]]
    read = [r.member_id, r.network, r.baseline_score, r.later_score, r.record_key]
    if answers:
        base, later = aliased(SurveyResponse), aliased(SurveyResponse)
        # Dates as the driver gives them and answers as the stored text, converted below
        # (`_dates`, `_decoded`): much faster than their types' conversion of each value.
        read += [
            type_coerce(r.baseline_date, String),
            type_coerce(r.later_date, String),
            cast(base.answers, Text),
            cast(later.answers, Text),
        ]
    query = select(*read).where(_is_matched(r)).order_by(r.member_id)
    if answers:
        query = query.join(base, base.id == r.baseline_id).join(later, later.id == r.later_id)
    values = q.fetch_columns(conn, query)
    if not values[0]:
        return pd.DataFrame(columns=order)
    member_id, network, baseline, later_score, record_key, *extra = values
    out = pd.DataFrame(
        {
            "member_id": np.array(member_id, dtype="int64"),
            "network": network,
            "baseline": np.array(baseline, dtype=float),
            "later": np.array(later_score, dtype=float),
        }
    )
    out["change"] = out["later"] - out["baseline"]
    none = pd.Series([None] * len(out), dtype=object)
    if answers:
        out["baseline_date"], out["later_date"] = _dates(extra[0]), _dates(extra[1])
        out["baseline_answers"], out["later_answers"] = _decoded(extra[2]), _decoded(extra[3])
    else:
        for column in ("baseline_date", "later_date", "baseline_answers", "later_answers"):
            out[column] = none
    out["record_key"] = np.array(record_key, dtype="int64")
    return out[order]


def _dates(values: list) -> pd.Series:
    """Dates as SQLite gives them (ISO text) or as other drivers do (dates), as dates: the
    Date type's parsing of each value is the slowest part of reading many pairs."""
    return pd.Series(
        [v if v is None or isinstance(v, dt.date) else dt.date.fromisoformat(v) for v in values],
        dtype=object,
    )


def _decoded(texts: list) -> pd.Series:
    """JSON texts (None for SQL NULL) as the values they hold, decoded in one call."""
    values = json.loads("[" + ",".join("null" if t is None else t for t in texts) + "]")
    return pd.Series(values, dtype=object)


def survey_change(
    conn: Connection,
    f: Filters,
    instrument_id: str,
    pairs: pd.DataFrame | None = None,
    sd_ref: float | None = None,
) -> dict:
    """Matched pairs, mean change with 95% CI, d_z and reliable change shares (against the
    instrument's reference SD, `sd_ref`, looked up when not given)."""
    spec = instrument(conn, instrument_id)
    if spec is None:
        raise ValueError(f"unknown instrument {instrument_id!r}")
    if pairs is None:
        pairs = matched_pairs(conn, f, instrument_id, answers=False)
    if sd_ref is None:
        sd_ref = reference_sd(conn, instrument_id, spec)
    change = paired_change(
        pairs["baseline"].tolist(),
        pairs["later"].tolist(),
        spec["alpha"],
        spec["higher_is_better"],
        reference_sd=_no_sd(sd_ref),
    )
    change[key_column("matched_pairs")] = pairs_cell_key(pairs)
    return change


def survey_change_by(
    conn: Connection,
    f: Filters,
    instrument_id: str,
    pairs: pd.DataFrame | None = None,
    sd_ref: float | None = None,
) -> pd.DataFrame:
    """survey_change per home network, plus the combined row (each with its pairs' cell key):
    one reference SD for all, so the combined shares lie between the networks' shares."""
    spec = instrument(conn, instrument_id)
    if pairs is None:
        pairs = matched_pairs(conn, f, instrument_id, answers=False)
    if sd_ref is None:
        sd_ref = reference_sd(conn, instrument_id, spec)
    args = (spec["alpha"], spec["higher_is_better"], _no_sd(sd_ref))
    rows = []
    for network, part in pairs.groupby("network", sort=True):
        rows.append(
            {
                "key": network,
                **paired_change(part["baseline"], part["later"], *args),
                key_column("matched_pairs"): pairs_cell_key(part),
            }
        )
    rows.append(
        {
            "key": "All",
            **paired_change(pairs["baseline"], pairs["later"], *args),
            key_column("matched_pairs"): pairs_cell_key(pairs),
        }
    )
    return pd.DataFrame(rows)


def pairs_cell_key(pairs: pd.DataFrame) -> int:
    """The cell key (sum of record keys) of the men of some matched pairs."""
    return int(pairs["record_key"].sum()) if len(pairs) else 0


def _no_sd(sd_ref: float | None) -> float:
    """The reference SD for paired_change; NaN when there is none (fewer than two scored
    baselines), so that no reliable change is given rather than one against the selection."""
    return float("nan") if sd_ref is None else sd_ref


def item_distribution(pairs: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """Per item and answer: how many baseline and later responses gave it (missing left out)."""
    rows = []
    for side, column in (("baseline", "baseline_answers"), ("later", "later_answers")):
        for answers in pairs[column]:
            for item, answer in enumerate(answers or [], start=1):
                if answer is not None:
                    rows.append((item, side, int(answer)))
    frame = pd.DataFrame(rows, columns=["item", "side", "answer"])
    if frame.empty:
        return pd.DataFrame(columns=["item", "side", "answer", "count"])
    return (
        frame.groupby(["item", "side", "answer"], as_index=False)
        .size()
        .rename(columns={"size": "count"})
    )


def score_range(spec: dict) -> tuple[float, float]:
    """The lowest and highest possible score of an instrument."""
    low, high = spec["min_answer"], spec["max_answer"]
    if spec["scoring"] == "mean":
        return float(low), float(high)
    items = len(spec["items"])
    low, high = low * items, high * items
    conversion = spec.get("conversion")
    if conversion:
        return float(conversion[str(low)]), float(conversion[str(high)])
    return float(low), float(high)


def score_bins(spec: dict) -> np.ndarray:
    """The edges of the score histogram: one bar per score on a short summed scale."""
    low, high = score_range(spec)
    if spec["scoring"] == "sum" and not spec.get("conversion") and high - low <= 30:
        return np.arange(low - 0.5, high + 1.0, 1.0)
    if spec["scoring"] == "mean":
        return np.linspace(low, high, int((high - low) * 2) + 1)
    return np.linspace(low, high, 15)


def score_distribution(pairs: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """Per score range (bin_low, bin_high): the share of the matched pairs whose baseline and
    whose later score fell in it (catalogue `score_share`), beside their base `matched_pairs`."""
    edges = score_bins(spec)
    frame = pd.DataFrame({"bin_low": edges[:-1], "bin_high": edges[1:]})
    n = len(pairs)
    frame["matched_pairs"] = n
    frame[key_column("matched_pairs")] = pairs_cell_key(pairs)
    for side in ("baseline", "later"):
        scores = pairs[side].astype(float).to_numpy()
        counts, _ = np.histogram(np.clip(scores, edges[0], edges[-1]), bins=edges)
        frame[side] = counts / n if n else None
    return frame


def item_shares(pairs: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """Per item and side: the men who answered it (`item_answers`, with their cell key) and
    the shares of their answers below, at and above the scale's midpoint (`item_share`);
    None when nobody did."""
    mid = (spec["min_answer"] + spec["max_answer"]) / 2
    items = len(spec["items"])
    keys = (
        pairs["record_key"].fillna(0).to_numpy(dtype=np.int64)
        if "record_key" in pairs.columns
        else np.zeros(len(pairs), dtype=np.int64)
    )
    # Per side, one row per pair and one column per item: the answer as a whole number
    # (int() of what was given), NaN where it is missing.
    answered = {}
    for side in ("baseline", "later"):
        responses = pairs[f"{side}_answers"].tolist()
        padded = (
            responses  # the usual case: every response a list of one answer per item
            if all(type(answers) is list and len(answers) == items for answers in responses)
            else [
                [None] * items
                if not answers
                else list(answers[:items]) + [None] * (items - len(answers))
                for answers in responses
            ]
        )
        answered[side] = np.trunc(np.array(padded, dtype=float).reshape(len(padded), items))
    rows = []
    for item in range(1, items + 1):
        for side in ("baseline", "later"):
            answers = answered[side][:, item - 1]
            given = ~np.isnan(answers)
            total = int(given.sum())
            if not total:
                rows.append((item, side, 0, 0, None, None, None))
                continue
            key = int(keys[given].sum())
            below = int((answers < mid).sum()) / total
            at = int((answers == mid).sum()) / total
            above = int((answers > mid).sum()) / total
            rows.append((item, side, total, key, below, at, above))
    columns = ["item", "side", "item_answers", key_column("item_answers"), "below", "at", "above"]
    return pd.DataFrame(rows, columns=columns)


def summary(conn: Connection, f: Filters, window_weeks: int = 8) -> dict:
    """The figures `python -m dashboard summary` prints (SPEC §5)."""
    figures = outputs(conn, f)
    figures.pop("excused")
    figures.pop("excused_rate")
    figures["active_members"] = active_members(conn, f, f.end, window_weeks)
    figures["retention_12w"], figures["retention_base"] = retention_at(conn, f, 12, window_weeks)
    figures["surveys"] = {
        iid: without_keys(survey_change(conn, f, iid)) for iid in instrument_ids(conn)
    }
    return without_keys(figures)


HEADLINE_INSTRUMENT = "swemwbs"  # "share of men reliably improved on well-being"


def headline(conn: Connection, f: Filters, window_weeks: int = 8) -> dict:
    """The overview's cards: outputs, active members, 12-week retention, well-being (the
    four at the same time, `concurrently`)."""
    figures, active, retention, wellbeing = concurrently(
        conn,
        (outputs, f),
        (_active_by_network, f, (), window_weeks),
        (retention_at, f, 12, window_weeks),
        (survey_change, f, HEADLINE_INSTRUMENT),
    )
    return _cards(figures, active[None], retention, wellbeing)


def headline_by_network(
    conn: Connection, f: Filters, names: tuple[str, ...], window_weeks: int = 8
) -> tuple[dict[str, dict], dict]:
    """`headline` of each network in `names` (the selection narrowed to it) and of the whole
    selection, sharing their scans: the outputs from one pass over the attendance, the
    well-being pairs fetched once and split by home network, the new members followed once
    and split by the network of their first group (the four at the same time)."""
    (by_network, combined), active, pairs, followed = concurrently(
        conn,
        (outputs_by_network, f, list(names)),
        (_active_by_network, f, names, window_weeks),
        (matched_pairs, f, HEADLINE_INSTRUMENT, False),
        (_followed, f, "network", window_weeks),
    )
    sd_ref = reference_sd(conn, HEADLINE_INSTRUMENT)

    def retention_of(men: pd.DataFrame) -> tuple[float | None, int]:
        """retention_at's answer for these men: the same curve, fitted to the same men."""
        if not len(men):
            return None, 0
        curve = kaplan_meier(men["weeks"], men["lapsed"])
        return curve.at(12), curve.n

    def cards(name: str | None, narrowed: Filters, men: pd.DataFrame, part: pd.DataFrame):
        wellbeing = survey_change(conn, narrowed, HEADLINE_INSTRUMENT, part, sd_ref)
        figures = combined if name is None else by_network[name]
        return _cards(figures, active[name], retention_of(men), wellbeing)

    return {
        name: cards(
            name,
            replace(f, networks=(name,), preset=None),
            followed[followed["key"] == name],
            pairs[pairs["network"] == name],
        )
        for name in names
    }, cards(None, f, followed, pairs)


def _active_on(conn: Connection, f: Filters) -> dt.date:
    """Active on the period's last day, or on the data's last day if earlier: a period that
    runs into the future (leadership's "this fiscal year") would otherwise show none."""
    return min(f.end, q.data_end(conn) or f.end)


def _active_by_network(
    conn: Connection, f: Filters, names: tuple[str, ...], window_weeks: int
) -> dict[str | None, tuple[int, int]]:
    """Active members and their cell key on `_active_on`, of each network in `names` (the
    selection narrowed to it) and of the whole selection (None)."""
    on = _active_on(conn, f)
    active = {None: _active_members_and_key(conn, f, on, window_weeks)}
    for name in names:
        narrowed = replace(f, networks=(name,), preset=None)
        active[name] = _active_members_and_key(conn, narrowed, on, window_weeks)
    return active


def _cards(
    figures: dict,
    active: tuple[int, int],
    retention: tuple[float | None, int],
    wellbeing: dict,
) -> dict:
    """The cards' figures: a selection's outputs, its active members (with their cell key),
    12-week retention with its base, and its well-being change (survey_change)."""
    figures = dict(figures)
    figures["active_members"], figures[key_column("active_members")] = active
    figures["retention_12w"], figures["retention_base"] = retention
    figures["wellbeing_pairs"] = wellbeing["matched_pairs"]
    figures[key_column("wellbeing_pairs")] = wellbeing[key_column("matched_pairs")]
    figures["wellbeing_improved"] = wellbeing["share_improved"]
    return figures


def survey_change_by_group(
    conn: Connection,
    f: Filters,
    instrument_id: str,
    pairs: pd.DataFrame | None = None,
    sd_ref: float | None = None,
) -> pd.DataFrame:
    """survey_change per group (of the selection): a pair belongs to every group its member
    was enrolled in at some point between his baseline and his later response. A man in two
    groups counts in both, so the rows need not add up to the combined figure."""
    spec = instrument(conn, instrument_id)
    if spec is None:
        raise ValueError(f"unknown instrument {instrument_id!r}")
    if pairs is None:
        pairs = matched_pairs(conn, f, instrument_id, answers=False)
    keys = list(paired_change([], [], spec["alpha"], spec["higher_is_better"]))
    if sd_ref is None and not pairs.empty:
        sd_ref = reference_sd(conn, instrument_id, spec)
    columns = ["network", "group", *keys, key_column("matched_pairs")]
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    # The enrollments of the period's paired men that overlap their pair (from on or before
    # the later response, to open or on or after the baseline), in the selection's groups:
    # the overlap is decided in the database, so only the (man, group) ids leave it.
    r = _latest_pairs(f, instrument_id).c
    query = (
        select(r.member_id, Enrollment.group_id)
        .distinct()
        .join(Enrollment, Enrollment.member_id == r.member_id)
        .join(Group, Group.id == Enrollment.group_id)
        .join(Network, Network.id == Group.network_id)
        .where(
            _is_matched(r),
            Enrollment.enrolled_from <= r.later_date,
            or_(Enrollment.enrolled_to.is_(None), Enrollment.enrolled_to >= r.baseline_date),
            *q.group_conditions(f),
        )
    )
    member_ids, group_ids = (np.array(c, dtype="int64") for c in q.fetch_columns(conn, query))
    if not len(member_ids):
        return pd.DataFrame(columns=columns)
    # Groups in (network, group) name order; each group's pairs in the order of `pairs`
    # (what a mean over them adds up in; `pairs` is sorted by member id).
    named = conn.execute(
        select(Group.id, Network.name, Group.name)
        .join(Network, Network.id == Group.network_id)
        .where(Group.id.in_(np.unique(group_ids).tolist()))
        .order_by(Network.name, Group.name)
    ).all()
    rank = {group_id: i for i, (group_id, _, _) in enumerate(named)}
    group_rank = np.array([rank[g] for g in group_ids.tolist()], dtype="int64")
    order = np.searchsorted(pairs["member_id"].to_numpy(dtype="int64"), member_ids)
    sort = np.lexsort((order, group_rank))
    order, group_rank = order[sort], group_rank[sort]
    baseline = pairs["baseline"].to_numpy(dtype=float)[order]
    later = pairs["later"].to_numpy(dtype=float)[order]
    record_keys = pairs["record_key"].to_numpy()[order]
    bounds = np.flatnonzero(np.diff(group_rank)) + 1
    rows = []
    for first, stop in zip([0, *bounds], [*bounds, len(group_rank)], strict=True):
        _, network, group = named[group_rank[first]]
        rows.append(
            {
                "network": network,
                "group": group,
                **paired_change(
                    baseline[first:stop],
                    later[first:stop],
                    spec["alpha"],
                    spec["higher_is_better"],
                    reference_sd=_no_sd(sd_ref),
                ),
                key_column("matched_pairs"): int(record_keys[first:stop].sum()),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def survey_tables(
    conn: Connection, f: Filters, instrument_id: str, answers: bool = True, groups: bool = True
) -> dict:
    """Everything the surveys page shows, from one set of matched pairs: the pairs, the
    combined change, and the change per network and per group. answers=False leaves the
    pairs' item answers out (see `matched_pairs`): only the item view reads them;
    groups=False leaves the rows per group empty: only the forest plot draws them."""
    pairs = matched_pairs(conn, f, instrument_id, answers=answers)
    sd_ref = reference_sd(conn, instrument_id)
    return {
        "pairs": pairs,
        "overall": survey_change(conn, f, instrument_id, pairs, sd_ref),
        "by_network": survey_change_by(conn, f, instrument_id, pairs, sd_ref),
        "by_group": survey_change_by_group(
            conn, f, instrument_id, pairs if groups else pairs.iloc[:0], sd_ref
        ),
    }


def headline_by_group(conn: Connection, f: Filters, window_weeks: int = 8) -> pd.DataFrame:
    """The overview's card figures per group of the selection that held a session in the
    period: for each group the values `headline` gives with the selection narrowed to that
    group (cell keys included), from one query per figure rather than one headline per group."""
    held = _sessions_held_by(conn, f, Group.name)
    groups = sorted(held)
    rows = q.attendance_rows(f)
    reached_men = rows.c.presents > 0
    per_group = select(Group.name).join(Group, Group.id == rows.c.group_id).group_by(Group.name)
    people = conn.execute(
        per_group.add_columns(
            func.count(distinct(case((reached_men, rows.c.member_id)))),
            func.sum(distinct(case((reached_men, rows.c.record_key)))),
            func.sum(rows.c.presents),
            func.sum(rows.c.minutes),
        )
    ).all()
    reached = {
        name: (men, keys, attendance, minutes) for name, men, keys, attendance, minutes in people
    }
    # New members: of the men whose first present is in the period, those present in the group.
    first_in_period = select(Member.id).where(q.in_period(Member.first_present, f))
    new = dict(
        (name, (men, keys))
        for name, men, keys in conn.execute(
            per_group.add_columns(
                func.count(distinct(rows.c.member_id)), func.sum(distinct(rows.c.record_key))
            ).where(reached_men, rows.c.member_id.in_(first_in_period))
        ).all()
    )
    on = min(f.end, q.data_end(conn) or f.end)
    window = q.attendance_rows(active_window(f, on, window_weeks))
    active = dict(
        (name, (men, keys))
        for name, men, keys in conn.execute(
            select(
                Group.name,
                func.count(distinct(window.c.member_id)),
                func.sum(distinct(window.c.record_key)),
            )
            .join(Group, Group.id == window.c.group_id)
            .where(window.c.presents > 0)
            .group_by(Group.name)
        ).all()
    )
    # Narrowed to one group, the survival curve follows the men whose first group it is.
    followed = {
        name: (survival_at(part["weeks"], part["lapsed"], 12), len(part))
        for name, part in _followed(conn, f, "group", window_weeks).groupby("key")
    }
    wellbeing = _wellbeing_by_group(conn, f, groups)
    rows = []
    for name in groups:
        men, keys, attendance, minutes = reached.get(name, (0, 0, 0, 0))
        attendance = int(attendance or 0)
        retention, base = followed.get(name, (None, 0))
        rows.append(
            {
                "group": name,
                "sessions_held": held[name],
                "men_reached": int(men or 0),
                key_column("men_reached"): int(keys or 0),
                "new_members": int(new.get(name, (0, 0))[0] or 0),
                key_column("new_members"): int(new.get(name, (0, 0))[1] or 0),
                "attendance": attendance,
                "average_attendance": attendance / held[name] if held[name] else None,
                "attendance_hours": round(float(minutes or 0) / 60, 2),
                "active_members": int(active.get(name, (0, 0))[0] or 0),
                key_column("active_members"): int(active.get(name, (0, 0))[1] or 0),
                "retention_12w": retention,
                "retention_base": base,
                **wellbeing[name],
            }
        )
    return pd.DataFrame(rows)


def _wellbeing_by_group(conn: Connection, f: Filters, groups: list[str]) -> dict[str, dict]:
    """Per group, the headline's well-being figures: the matched pairs of the men ever
    enrolled in it (as a group filter keeps them), against one reference SD."""
    spec = instrument(conn, HEADLINE_INSTRUMENT)
    pairs = matched_pairs(conn, f, HEADLINE_INSTRUMENT, answers=False) if spec else pd.DataFrame()
    enrolled: dict[str, set] = {}
    if len(pairs):
        query = (
            select(Group.name, Enrollment.member_id)
            .join(Group, Group.id == Enrollment.group_id)
            .where(Group.name.in_(groups))
        )
        for name, member_id in conn.execute(query).all():
            enrolled.setdefault(name, set()).add(member_id)
    sd_ref = reference_sd(conn, HEADLINE_INSTRUMENT, spec) if len(pairs) else None
    result = {}
    for name in groups:
        part = pairs[pairs["member_id"].isin(enrolled.get(name, set()))] if len(pairs) else pairs
        if spec is None:
            change = {"matched_pairs": 0, "share_improved": None}
        else:
            change = paired_change(
                part["baseline"].tolist() if len(part) else [],
                part["later"].tolist() if len(part) else [],
                spec["alpha"],
                spec["higher_is_better"],
                reference_sd=_no_sd(sd_ref),
            )
        result[name] = {
            "wellbeing_pairs": change["matched_pairs"],
            key_column("wellbeing_pairs"): pairs_cell_key(part) if len(part) else 0,
            "wellbeing_improved": change["share_improved"],
        }
    return result
