"""The audit log: sign-ins, failed sign-ins, imports, exports, user changes, refusals."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.models import AuditEvent

# Column widths of audit_event (dashboard/models.py): PostgreSQL refuses longer values, and
# a failed sign-in's username is whatever was typed.
_WIDTHS = {"username": 60, "action": 30, "detail": 2000, "address": 64}


def _clip(value: str | None, field: str) -> str | None:
    return None if value is None else str(value)[: _WIDTHS[field]]


def record(
    session: Session,
    action: str,
    username: str | None,
    detail: str = "",
    address: str | None = None,
) -> None:
    """Add one audit event to the session's transaction."""
    session.add(
        AuditEvent(
            at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            username=_clip(username, "username"),
            action=_clip(action, "action"),
            detail=_clip(detail or "", "detail"),
            address=_clip(address, "address"),
        )
    )


def recent(session: Session, limit: int = 200, action: str | None = None) -> list[dict]:
    """The latest events, newest first, optionally of one action only."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    return [
        {
            "at": e.at.strftime("%Y-%m-%d %H:%M:%S"),
            "user": e.username or "",
            "action": e.action,
            "detail": e.detail,
            "address": e.address or "",
        }
        for e in session.scalars(query)
    ]


def actions(session: Session) -> list[str]:
    """The actions the log holds, for a filter's choices."""
    return sorted(session.scalars(select(AuditEvent.action).distinct()))
