"""Filters turned into SQL: the one place a selection becomes WHERE clauses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, and_, case, exists, false, func, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from dashboard.filters import Filters
from dashboard.models import (
    Attendance,
    AttendanceSummary,
    Enrollment,
    Group,
    GroupSession,
    Member,
    MemberCommunity,
    Network,
)

# Aliased names the metric queries join on.


def group_conditions(f: Filters) -> list[ColumnElement[bool]]:
    """Conditions on the group (and its network) of a selection."""
    conds: list[ColumnElement[bool]] = []
    if f.networks:
        conds.append(Network.name.in_(f.networks))
    if f.groups:
        conds.append(Group.name.in_(f.groups))
    if f.program_types:
        conds.append(Group.program_type.in_(f.program_types))
    return conds


def in_selected_groups(group_id, f: Filters) -> list[ColumnElement[bool]]:
    """`group_id` (a column) is a selected group's: none when no group is singled out, else
    the selected groups' ids searched rather than joined (the rows drive, not the groups)."""
    conds = group_conditions(f)
    if not conds:
        return []
    return [
        group_id.in_(select(Group.id).join(Network, Network.id == Group.network_id).where(*conds))
    ]


def member_conditions(f: Filters) -> list[ColumnElement[bool]]:
    """Conditions on the member of a selection (age bands, communities)."""
    conds: list[ColumnElement[bool]] = []
    if f.age_bands:
        conds.append(Member.age_band.in_(f.age_bands))
    if f.communities:
        conds.append(
            exists().where(
                MemberCommunity.member_id == Member.id, MemberCommunity.community.in_(f.communities)
            )
        )
    return conds


def has_member_filter(f: Filters) -> bool:
    return bool(f.age_bands or f.communities)


def in_period(column, f: Filters) -> ColumnElement[bool]:
    return and_(column >= f.start, column <= f.end)


def held_sessions_in(f: Filters) -> list[ColumnElement[bool]]:
    """Sessions held (not cancelled) in the period, in the selected groups."""
    return [
        GroupSession.cancelled.is_(False),
        in_period(GroupSession.date, f),
        *group_conditions(f),
    ]


def member_in_selected_group(f: Filters) -> ColumnElement[bool] | None:
    """For member-based figures (surveys): the member was enrolled in a selected group."""
    if not (f.groups or f.program_types):
        return None
    conds = [Enrollment.member_id == Member.id, Enrollment.group_id == Group.id]
    if f.groups:
        conds.append(Group.name.in_(f.groups))
    if f.program_types:
        conds.append(Group.program_type.in_(f.program_types))
    return exists().where(*conds)


def home_network_conditions(f: Filters) -> list[ColumnElement[bool]]:
    """Member-based figures belong to the member's home network."""
    conds = list(member_conditions(f))
    if f.networks:
        conds.append(
            Member.home_network_id.in_(
                select(Network.id).where(Network.name.in_(f.networks)).scalar_subquery()
            )
        )
    enrolled = member_in_selected_group(f)
    if enrolled is not None:
        conds.append(enrolled)
    return conds


def fetch_columns(conn: Connection, query) -> list[tuple]:
    """A query's result as one tuple per column, read straight from the driver's cursor.

    For large results, where a Row object per row is most of the cost. The values are the
    driver's own, without SQLAlchemy's type conversion: read numbers and text with it, and
    dates as text (`type_coerce(column, String)`) to convert in one pass."""
    result = conn.execute(query)
    try:
        width = len(result.keys())
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]


def data_end(conn: Connection) -> dt.date | None:
    """The data's end: the latest session held in the database."""
    return conn.scalar(select(func.max(GroupSession.date)).where(GroupSession.cancelled.is_(False)))


def data_start(conn: Connection) -> dt.date | None:
    return conn.scalar(select(func.min(GroupSession.date)).where(GroupSession.cancelled.is_(False)))


def network_names(conn: Connection) -> list[str]:
    return list(conn.scalars(select(Network.name).order_by(Network.name)))


def group_options(conn: Connection, networks: tuple[str, ...] = ()) -> list[dict]:
    """Groups (name, network, program type), of the given networks or all."""
    query = (
        select(Group.name, Network.name.label("network"), Group.program_type)
        .join(Network, Network.id == Group.network_id)
        .order_by(Group.name)
    )
    if networks:
        query = query.where(Network.name.in_(networks))
    return [dict(row._mapping) for row in conn.execute(query)]


def community_names(conn: Connection) -> list[str]:
    return list(
        conn.scalars(
            select(MemberCommunity.community).distinct().order_by(MemberCommunity.community)
        )
    )


def bucket(column, grain: str, dialect: str):
    """SQL for the start of the week (Monday), month, quarter or fiscal year ("year",
    April-March) holding a date column."""
    from sqlalchemy import Date, Integer, cast, text

    if grain == "year":  # the year of the date three months earlier, from 1 April
        if dialect == "postgresql":
            shifted = func.date_trunc("year", column - text("interval '3 months'"))
            return cast(shifted + text("interval '3 months'"), Date)
        return func.strftime("%Y-04-01", column, "-3 months", type_=Date)
    if dialect == "postgresql":
        return cast(func.date_trunc(grain, column), Date)
    if grain == "week":
        weekday = (cast(func.strftime("%w", column), Integer) + 6) % 7
        return func.date(column, "-" + cast(weekday, sa_string()) + " days", type_=Date)
    if grain == "month":
        return func.strftime("%Y-%m-01", column, type_=Date)
    month = cast(func.strftime("%m", column), Integer)
    return func.printf(
        "%s-%02d-01", func.strftime("%Y", column), ((month - 1) // 3) * 3 + 1, type_=Date
    )


def days_between(start, end, dialect: str):
    """SQL for the whole days from date `start` to date `end` (an integer)."""
    from sqlalchemy import Integer, cast

    if dialect == "postgresql":
        return cast(end - start, Integer)
    return cast(func.julianday(end) - func.julianday(start), Integer)


def sa_string():
    from sqlalchemy import String

    return String()


# ------------------------------------------------- attendance rows of a period (issue 14)


# The summary spans, coarsest first: (name, length in months, first month of a unit). A
# fiscal year (April-March, filters.fiscal_year_start) is the period most views ask for.
SPANS = (("year", 12, 4), ("quarter", 3, 1), ("month", 1, 1))


@dataclass(frozen=True)
class PeriodSplit:
    """A period cut into whole fiscal years, quarters and months (runs of summary rows:
    span, first and last unit start) and the days left at its edges (raw rows)."""

    runs: tuple[tuple[str, dt.date, dt.date], ...]
    days: tuple[tuple[dt.date, dt.date], ...]


def _month_start(day: dt.date, months_later: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 + months_later
    return dt.date(index // 12, index % 12 + 1, 1)


def _whole_units(
    start: dt.date, end: dt.date, months: int, first_month: int
) -> tuple[dt.date, dt.date] | None:
    """The first and last start of the whole units (`months` long, starting in months
    `first_month`, `first_month` + `months`, ...) that lie within [start, end], or None."""
    first = _month_start(start, 0 if start.day == 1 else 1)
    while (first.month - first_month) % months:
        first = _month_start(first, 1)
    last = _month_start(end + dt.timedelta(days=1), -months)
    while (last.month - first_month) % months:
        last = _month_start(last, -1)
    return (first, last) if first <= last else None


def split_period(start: dt.date, end: dt.date, coarsest: str = "year") -> PeriodSplit:
    """[start, end] as whole units of the coarsest span allowed ("year", "quarter", "month";
    "day" for none), the rest by the next spans, and the days left at the edges."""
    names = [name for name, _, _ in SPANS]
    levels = SPANS[names.index(coarsest) :] if coarsest in names else ()
    runs: list[tuple[str, dt.date, dt.date]] = []
    days: list[tuple[dt.date, dt.date]] = []

    def cut(part_start: dt.date, part_end: dt.date, level: int) -> None:
        if part_end < part_start:
            return
        if level == len(levels):
            days.append((part_start, part_end))
            return
        name, months, first_month = levels[level]
        whole = _whole_units(part_start, part_end, months, first_month)
        if whole is None:
            cut(part_start, part_end, level + 1)
            return
        cut(part_start, whole[0] - dt.timedelta(days=1), level + 1)
        runs.append((name, *whole))
        cut(_month_start(whole[1], months), part_end, level + 1)

    cut(start, end, 0)
    return PeriodSplit(tuple(runs), tuple(days))


def attendance_rows(f: Filters, coarsest: str = "year", keyed: bool = True):
    """The attendance of held sessions in the selection, as a subquery of rows (network_id,
    group_id, member_id, record_key, day, presents, excused, recorded, minutes): summary rows
    for the period's whole fiscal years, quarters and months (dashboard/derived.py keeps
    them), raw rows for the days at its edges. Sums over them equal sums over the raw
    attendance; `day` is the row's date or its unit's start. `coarsest` "quarter" or "month"
    leaves out the coarser rows (a series by quarter or month), "day" every summary row.
    `keyed` False leaves out record_key: the edge days' rows then need no member look-up."""
    split = split_period(f.start, f.end, coarsest)
    parts = [_summary_rows(f, span, first, last, keyed) for span, first, last in split.runs]
    present = Attendance.status == "present"
    for first, last in split.days:
        part = (
            select(
                Group.network_id,
                GroupSession.group_id,
                Attendance.member_id,
                *((Member.record_key,) if keyed else ()),
                GroupSession.date.label("day"),
                case((present, 1), else_=0).label("presents"),
                case((Attendance.status == "excused", 1), else_=0).label("excused"),
                literal(1).label("recorded"),
                case((present, GroupSession.duration_minutes), else_=0).label("minutes"),
            )
            .select_from(Attendance)
            .join(GroupSession, GroupSession.id == Attendance.session_id)
            .join(Group, Group.id == GroupSession.group_id)
            .where(
                GroupSession.cancelled.is_(False),
                GroupSession.date >= first,
                GroupSession.date <= last,
            )
        )
        if keyed or has_member_filter(f):
            part = part.join(Member, Member.id == Attendance.member_id)
        if f.networks:
            part = part.join(Network, Network.id == Group.network_id)
        parts.append(part.where(*group_conditions(f), *member_conditions(f)))
    if not parts:  # an empty period: no rows, the same columns
        parts.append(_summary_rows(f, "month", f.start, f.end, keyed).where(false()))
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("attendance_rows")


def _summary_rows(f: Filters, span: str, first: dt.date, last: dt.date, keyed: bool = True):
    """The summary rows of one run of whole units, narrowed to the selection."""
    s = AttendanceSummary
    query = select(
        s.network_id,
        s.group_id,
        s.member_id,
        *((s.record_key,) if keyed else ()),
        s.period_start.label("day"),
        s.presents,
        s.excused,
        s.recorded,
        s.minutes,
    ).where(s.span == span, s.period_start >= first, s.period_start <= last)
    if f.groups or f.program_types:
        query = query.join(Group, Group.id == s.group_id)
    if f.networks:
        query = query.join(Network, Network.id == s.network_id)
    if has_member_filter(f):
        query = query.join(Member, Member.id == s.member_id)
    return query.where(*group_conditions(f), *member_conditions(f))
