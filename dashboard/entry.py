"""Entering a session by hand: the groups a user may pick and a session's roster, queried
within the networks he may write to (callbacks pass `Scope.writable_networks`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, and_, or_, select

from dashboard.models import Attendance, Enrollment, Group, GroupSession, Member, Network


def entry_groups(conn: Connection, networks: tuple[str, ...] | None) -> list[dict]:
    """Groups (of these networks; None = all) with their network and dates."""
    query = (
        select(Group.name, Network.name.label("network"), Group.start_date, Group.end_date)
        .join(Network, Network.id == Group.network_id)
        .order_by(Network.name, Group.name)
    )
    if networks is not None:
        query = query.where(Network.name.in_(networks))
    return [dict(row._mapping) for row in conn.execute(query)]


def session_roster(
    conn: Connection, group_name: str, day: str, networks: tuple[str, ...] | None
) -> dict | None:
    """A group's session on a day: the group, the session if recorded, and its men; None
    when the group is not one of `networks` (None = all).

    The men are those enrolled that day (an enrollment without an end that is marked
    withdrawn is left out) plus anyone already marked at that session.
    """
    on = dt.date.fromisoformat(day)
    group = conn.execute(
        select(
            Group.id,
            Group.name,
            Group.start_date,
            Group.end_date,
            Group.session_minutes,
            Network.name.label("network"),
        )
        .join(Network, Network.id == Group.network_id)
        .where(
            Group.name == group_name, *([] if networks is None else [Network.name.in_(networks)])
        )
    ).one_or_none()
    if group is None:
        return None
    session = conn.execute(
        select(GroupSession.id, GroupSession.duration_minutes, GroupSession.cancelled).where(
            GroupSession.group_id == group.id, GroupSession.date == on
        )
    ).one_or_none()
    marks = {}
    if session is not None:
        marks = dict(
            conn.execute(
                select(Member.code, Attendance.status)
                .join(Member, Member.id == Attendance.member_id)
                .where(Attendance.session_id == session.id)
            ).all()
        )
    enrolled = set(
        conn.scalars(
            select(Member.code)
            .join(Enrollment, Enrollment.member_id == Member.id)
            .where(
                Enrollment.group_id == group.id,
                Enrollment.enrolled_from <= on,
                or_(
                    Enrollment.enrolled_to >= on,
                    and_(Enrollment.enrolled_to.is_(None), Enrollment.status != "withdrawn"),
                ),
            )
            .distinct()
        )
    )
    members = [
        {"code": code, "status": marks.get(code), "enrolled": code in enrolled}
        for code in sorted(enrolled | set(marks))
    ]
    return {
        "group": group.name,
        "network": group.network,
        "start": group.start_date,
        "end": group.end_date,
        "minutes": group.session_minutes,
        "session": None if session is None else dict(session._mapping),
        "members": members,
    }
