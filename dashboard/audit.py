"""The audit log: sign-ins, failed sign-ins, imports, exports, user changes, refusals."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.models import AuditEvent


def record(session: Session, action: str, username: str | None, detail: str = "",
           address: str | None = None) -> None:
    """Add one audit event to the session's transaction."""
    session.add(AuditEvent(at=dt.datetime.now(dt.UTC).replace(tzinfo=None), username=username,
                           action=action, detail=detail[:2000], address=address))


def recent(session: Session, limit: int = 200, action: str | None = None) -> list[dict]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    return [{"at": e.at.strftime("%Y-%m-%d %H:%M:%S"), "user": e.username or "",
             "action": e.action, "detail": e.detail, "address": e.address or ""}
            for e in session.scalars(query)]
