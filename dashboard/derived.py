"""Columns derived from attendance, kept up to date after every write that changes it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from dashboard.models import Attendance, GroupSession, Member


def refresh_member_spans(session: Session, member_ids: Iterable[int] | None = None) -> None:
    """Recompute first/last `present` and the first group of the given members (or all)."""
    present = (
        select(
            Attendance.member_id.label("member_id"),
            func.min(GroupSession.date).label("first"),
            func.max(GroupSession.date).label("last"),
        )
        .join(GroupSession, GroupSession.id == Attendance.session_id)
        .where(Attendance.status == "present", GroupSession.cancelled.is_(False))
        .group_by(Attendance.member_id)
    )
    ids = None if member_ids is None else sorted(set(member_ids))
    if ids is not None:
        present = present.where(Attendance.member_id.in_(ids))
    spans = {row.member_id: (row.first, row.last) for row in session.execute(present)}
    # The group of the first present: the lowest group id among sessions on that first date.
    first_group = (
        select(Attendance.member_id, func.min(GroupSession.group_id))
        .join(GroupSession, GroupSession.id == Attendance.session_id)
        .join(Member, Member.id == Attendance.member_id)
        .where(
            Attendance.status == "present",
            GroupSession.cancelled.is_(False),
            and_(GroupSession.date == Member.first_present),
        )
        .group_by(Attendance.member_id)
    )
    targets = ids if ids is not None else list(session.scalars(select(Member.id)))
    for chunk_start in range(0, len(targets), 5000):
        chunk = targets[chunk_start : chunk_start + 5000]
        session.execute(
            update(Member),
            [
                {
                    "id": mid,
                    "first_present": spans.get(mid, (None, None))[0],
                    "last_present": spans.get(mid, (None, None))[1],
                }
                for mid in chunk
            ],
        )
    session.flush()
    if ids is not None:
        first_group = first_group.where(Attendance.member_id.in_(ids))
    groups = dict(session.execute(first_group).all())
    for chunk_start in range(0, len(targets), 5000):
        chunk = targets[chunk_start : chunk_start + 5000]
        session.execute(
            update(Member), [{"id": mid, "first_group_id": groups.get(mid)} for mid in chunk]
        )
