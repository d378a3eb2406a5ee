"""Releases for funders (SPEC §2 release, §4): the impact summary of one fiscal year or
quarter, computed once as a funder sees it, reviewed, published, and then frozen.

- `prepare` computes `report.impact_figures` with a funder's scope (protected counts) and
  stores it as a draft; `publish` makes a draft the release funders read and supersedes the
  published release of the same period and breakdown (both are kept).
- Only leadership and admin users prepare and publish; a funder reads published (and
  superseded) releases only. Both are checked here, whatever the caller checked before.
- Stored figures are never recomputed: a release shows the same numbers whatever is imported
  after it (`figures` is written once, by `prepare`).
"""

from __future__ import annotations

import datetime as dt
import math
import re

from sqlalchemy import Engine, event, inspect, select
from sqlalchemy.orm import Session

from dashboard import audit, report
from dashboard.access import Scope
from dashboard.db import session_scope
from dashboard.filters import Filters
from dashboard.models import PROGRAM_TYPES, Release, User
from dashboard.targets import normalise_period, parse_period
from dashboard.wording import program_label

DRAFT, PUBLISHED, SUPERSEDED = "draft", "published", "superseded"
# What a funder may read: releases that were published, the current and the corrected ones.
FUNDER_STATUSES = (PUBLISHED, SUPERSEDED)
PREPARERS = ("leadership", "admin")
# The command line acts as an admin when no user is named (it runs on the server).
CLI_SCOPE = Scope(role="admin", username="cli")
_QUARTER = re.compile(r"^(FY\d{4}-\d{2})[\s-]*(Q[1-4])$")


class ReleaseError(ValueError):
    """A release request that cannot be done; the message is one line for the user."""


class ReleaseRefused(PermissionError):
    """The user's role may not do this with releases."""


# What a release is, fixed when it is prepared: only its status and publication move after.
FROZEN = ("period", "start", "end", "breakdown", "figures", "prepared_by", "prepared_at")


@event.listens_for(Release, "before_update")
def _refuse_changes(mapper, connection, target: Release) -> None:
    """No code path may rewrite a stored release (its figures above all)."""
    state = inspect(target)
    for name in FROZEN:
        if state.attrs[name].history.has_changes():
            raise ReleaseError(f"release #{target.id} is frozen: its {name} cannot change")


# --- Periods ---


def period_of(fiscal_year: str, quarter: str | None = None) -> str:
    """FY2025-26 (+ "Q1") or "FY2025-26 Q1" / "FY2025-26-Q1" -> the canonical label."""
    text = (fiscal_year or "").strip().upper()
    if quarter:
        q = quarter.strip().upper()
        q = q if q.startswith("Q") else f"Q{q}"
        if q not in ("Q1", "Q2", "Q3", "Q4"):
            raise ReleaseError(f"not a fiscal quarter (Q1 to Q4): {quarter!r}")
        if "Q" in text[2:]:
            raise ReleaseError(f"give the quarter once: {fiscal_year!r} and {quarter!r}")
        text = f"{text}-{q}"
    match = _QUARTER.match(text)
    if match:
        text = f"{match[1]}-{match[2]}"
    try:
        return normalise_period(text)
    except ValueError as exc:
        raise ReleaseError(str(exc)) from None


# --- Who may do what ---


def _scope_of(session: Session, user: Scope | str) -> Scope:
    """A Scope as given, or an active user's by username."""
    if isinstance(user, Scope):
        return user
    row = session.scalar(select(User).where(User.username == user))
    if row is None or not row.active:
        raise ReleaseError(f"no active user {user!r}")
    return Scope(role=row.role, username=row.username)


def _check_preparer(scope: Scope, action: str) -> None:
    if scope.role not in PREPARERS:
        raise ReleaseRefused(f"only leadership and admin users may {action} releases")


def may_read(scope: Scope, status: str) -> bool:
    """Funders read published releases only; leadership and admin read drafts too."""
    if scope.role in PREPARERS:
        return True
    return scope.role == "funder" and status in FUNDER_STATUSES


# --- Freezing the figures as JSON ---

_DATE_KEYS = ("start", "end")


def freeze(figures: dict) -> dict:
    """impact_figures as plain JSON: dates as ISO text, numbers as Python numbers, NaN None."""

    def plain(value):
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
            value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
        return value

    return plain(figures)


def thaw(stored: dict) -> dict:
    """Stored figures back in the form report's writers and the page read (dates as dates)."""
    figures = dict(stored)
    for key in ("period", "previous"):
        part = dict(figures[key])
        for date_key in _DATE_KEYS:
            part[date_key] = dt.date.fromisoformat(part[date_key])
        figures[key] = part
    figures["generated"] = dt.datetime.fromisoformat(figures["generated"])
    return figures


# --- Reading ---


def as_dict(release: Release, successor: Release | None = None, figures: bool = True) -> dict:
    """A release as plain data, with its figures ready for report's writers."""
    result = {
        "id": release.id,
        "period": release.period,
        "start": release.start,
        "end": release.end,
        "breakdown": release.breakdown,
        "status": release.status,
        "prepared_by": release.prepared_by,
        "prepared_at": release.prepared_at,
        "published_by": release.published_by,
        "published_at": release.published_at,
        "supersedes_id": release.supersedes_id,
        "superseded_by_id": successor.id if successor else None,
    }
    if figures:
        result["figures"] = thaw(release.figures)
    return result


def describe(release: dict) -> str:
    """One line naming a release: its number, period, breakdown and state."""
    programs = release["breakdown"].get("program_types") or []
    text = f"#{release['id']} {release['period']}"
    if programs:
        text += f" · {', '.join(program_label(p) for p in programs)}"
    if release["status"] == DRAFT:
        return f"{text} · draft prepared {release['prepared_at']:%Y-%m-%d %H:%M} by " + str(
            release["prepared_by"]
        )
    when = f"{release['published_at']:%Y-%m-%d}"
    text += f" · published {when}"
    return text + (" · superseded" if release["status"] == SUPERSEDED else "")


def _successor(session: Session, release: Release) -> Release | None:
    return session.scalar(select(Release).where(Release.supersedes_id == release.id))


def get(engine: Engine, release_id: int, user: Scope | str) -> dict:
    """One release, if this user may read it (a funder: published or superseded only)."""
    with session_scope(engine) as session:
        scope = _scope_of(session, user)
        release = session.get(Release, release_id)
        if release is None or not may_read(scope, release.status):
            # A funder asking for a draft learns nothing, not even that it exists.
            raise ReleaseError(f"no release #{release_id}")
        return as_dict(release, _successor(session, release))


def list_releases(engine: Engine, user: Scope | str, period: str | None = None) -> list[dict]:
    """The releases this user may read, newest first (figures left out: see `get`)."""
    with session_scope(engine) as session:
        scope = _scope_of(session, user)
        query = select(Release).order_by(Release.id.desc())
        if scope.role not in PREPARERS:
            query = query.where(Release.status.in_(FUNDER_STATUSES))
        if period:
            query = query.where(Release.period == period)
        rows = [r for r in session.scalars(query) if may_read(scope, r.status)]
        return [as_dict(r, _successor(session, r), figures=False) for r in rows]


def published(engine: Engine, user: Scope | str) -> list[dict]:
    """The releases a funder reads, latest published first: current ones, then corrected."""
    found = [r for r in list_releases(engine, user) if r["status"] in FUNDER_STATUSES]
    return sorted(found, key=lambda r: (r["published_at"], r["id"]), reverse=True)


def latest(engine: Engine, user: Scope | str, period: str | None = None) -> dict | None:
    """The latest published (not superseded) release, of a period if given, with figures."""
    for item in published(engine, user):
        if item["status"] == PUBLISHED and (period is None or item["period"] == period):
            return get(engine, item["id"], user)
    return None


# --- Preparing and publishing ---


def _breakdown(figures: dict, program_types: tuple[str, ...]) -> dict:
    columns = figures["columns"]
    return {
        "networks": [c for c in columns if c != report.COMBINED],
        "combined": report.COMBINED in columns,
        "program_types": list(program_types),
    }


def prepare(
    engine: Engine,
    period: str,
    program_types=(),
    user: Scope | str = CLI_SCOPE,
    settings=None,
) -> dict:
    """Compute the impact summary of a fiscal year or quarter as a funder sees it (every
    network and combined; only these program types when given) and store it as a draft."""
    from dashboard.settings import Settings

    period = period_of(period)
    program_types = tuple(sorted(set(program_types or ())))
    if unknown := [p for p in program_types if p not in PROGRAM_TYPES]:
        raise ReleaseError(
            f"unknown program type {', '.join(unknown)}; known: {', '.join(PROGRAM_TYPES)}"
        )
    with session_scope(engine) as session:
        scope = _scope_of(session, user)
    _check_preparer(scope, "prepare")
    start, end = parse_period(period)
    # A funder's scope: every network, protected counts (SPEC §4), nothing exact.
    funder = Scope(role="funder", username=scope.username)
    figures = report.impact_figures(
        engine,
        funder,
        Filters(start=start, end=end, program_types=program_types),
        settings or Settings.from_env(),
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    figures = {**figures, "generated": now}
    with session_scope(engine) as session:
        release = Release(
            period=period,
            start=start,
            end=end,
            breakdown=_breakdown(figures, program_types),
            figures=freeze(figures),
            status=DRAFT,
            prepared_by=scope.username or scope.role,
            prepared_at=now,
        )
        session.add(release)
        session.flush()
        audit.record(
            session,
            "release-prepare",
            scope.username,
            f"release #{release.id} {period}; {figures['selection']}",
        )
        return as_dict(release)


def _same_series(release: Release, other: Release) -> bool:
    """Two releases of the same period and breakdown: one corrects the other."""
    return other.period == release.period and sorted(
        other.breakdown.get("program_types") or []
    ) == sorted(release.breakdown.get("program_types") or [])


def publish(engine: Engine, release_id: int, user: Scope | str) -> dict:
    """Publish a draft: funders see it from now on; the published release of the same
    period and breakdown becomes superseded (kept, with a pointer from its successor)."""
    with session_scope(engine) as session:
        scope = _scope_of(session, user)
        _check_preparer(scope, "publish")
        release = session.get(Release, release_id)
        if release is None:
            raise ReleaseError(f"no release #{release_id}")
        if release.status != DRAFT:
            raise ReleaseError(f"release #{release_id} is already {release.status}")
        current = [
            r
            for r in session.scalars(
                select(Release).where(Release.period == release.period, Release.status == PUBLISHED)
            )
            if _same_series(release, r)
        ]
        for old in current:
            old.status = SUPERSEDED
            release.supersedes_id = old.id
        release.status = PUBLISHED
        release.published_by = scope.username or scope.role
        release.published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        detail = f"release #{release.id} {release.period}"
        if release.supersedes_id:
            detail += f"; supersedes #{release.supersedes_id}"
        audit.record(session, "release-publish", scope.username, detail)
        session.flush()
        return as_dict(release)


def predecessor_of_draft(engine: Engine, release: dict) -> dict | None:
    """The published release a draft would supersede, if any (for the preview)."""
    with session_scope(engine) as session:
        draft = session.get(Release, release["id"])
        for row in session.scalars(
            select(Release)
            .where(Release.period == draft.period, Release.status == PUBLISHED)
            .order_by(Release.id.desc())
        ):
            if _same_series(draft, row):
                return as_dict(row)
    return None


# --- What changed between two releases ---


def difference(old: dict, new: dict) -> list[dict]:
    """The figures whose shown text differs between two releases' figures (of the same
    period): section, figure, network column, period, and the text before and after."""
    changes = []
    columns = list(dict.fromkeys([*old["columns"], *new["columns"]]))
    ids = list(dict.fromkeys([s["id"] for s in old["sections"] + new["sections"]]))
    for section_id in ids:
        parts = [
            next((s for s in f["sections"] if s["id"] == section_id), None) for f in (old, new)
        ]
        base = parts[1] or parts[0]
        for figure in base["figures"]:
            if not figure["show"]:
                continue
            for period in ("current", "previous"):
                for column in columns:
                    texts = [
                        _text(f, part, section_id, column, figure["key"], period)
                        for f, part in zip((old, new), parts, strict=True)
                    ]
                    if texts[0] != texts[1]:
                        changes.append(
                            {
                                "section": base["title"],
                                "figure": figure["label"],
                                "column": column,
                                "period": new["period" if period == "current" else "previous"][
                                    "label"
                                ],
                                "old": texts[0],
                                "new": texts[1],
                            }
                        )
    return changes


def _text(figures: dict, part: dict | None, section_id, column, key, period) -> str:
    if part is None or column not in figures["columns"]:
        return "not in the release"
    if not any(f["key"] == key for f in part["figures"]):
        return "not in the release"
    return report.cell(figures, section_id, column, key, period)[0]
