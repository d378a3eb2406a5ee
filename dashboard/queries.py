"""Filters turned into SQL: the one place a selection becomes WHERE clauses."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, and_, exists, func, select
from sqlalchemy.sql.elements import ColumnElement

from dashboard.filters import Filters
from dashboard.models import Enrollment, Group, GroupSession, Member, MemberCommunity, Network

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
    """SQL for the start of the week (Monday), month or quarter holding a date column."""
    from sqlalchemy import Date, Integer, cast

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


def sa_string():
    from sqlalchemy import String

    return String()
