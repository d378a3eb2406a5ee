"""Carrying out a valid plan, recording it as an ImportBatch, and undoing a batch.

Undo rule: a batch can be undone when no later batch that is not undone touched the same
rows — updated or added one of its rows, or added rows that point at a row it added (say,
attendance at a session the batch created). Otherwise undo refuses and names the later
batches to undo first.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Date, delete, select, tuple_
from sqlalchemy.orm import Session

from dashboard.db import bump_data_version
from dashboard.derived import (
    refresh_attendance_summary,
    refresh_baseline_spread,
    refresh_enrolment_counts,
    refresh_member_spans,
    refresh_presence,
    refresh_survey_pairs,
)
from dashboard.importing.report import ImportError_
from dashboard.importing.validate import Plan, chunked
from dashboard.models import (
    Attendance,
    AuditEvent,
    Enrollment,
    Group,
    GroupSession,
    ImportBatch,
    Member,
    MemberCommunity,
    Network,
    SurveyResponse,
)

MODELS = {
    "group": Group,
    "member": Member,
    "enrollment": Enrollment,
    "session": GroupSession,
    "attendance": Attendance,
    "survey_response": SurveyResponse,
}
TABLE_OF = {model: table for table, model in MODELS.items()}
# Rows a new row points at: (table of the new row, its column, table pointed at).
REFERENCES = [
    ("attendance", "session_id", "session"),
    ("attendance", "member_id", "member"),
    ("enrollment", "member_id", "member"),
    ("enrollment", "group_id", "group"),
    ("session", "group_id", "group"),
    ("survey_response", "member_id", "member"),
]


def now() -> dt.datetime:
    """The current time in UTC, naive (as stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _key(obj):
    if isinstance(obj, Attendance):
        return [obj.session_id, obj.member_id]
    return obj.id


def _jsonable(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def _restore(model, column: str, value):
    if value is not None and isinstance(model.__table__.c[column].type, Date):
        return dt.date.fromisoformat(value)
    return value


class Writer:
    """Adds and updates rows, remembering what undo needs."""

    def __init__(self, session: Session):
        self.session = session
        self.new: dict[str, list] = defaultdict(list)
        self.previous: dict[str, list] = defaultdict(list)  # table -> [[key, {col: old}]]
        self.members_marked: set[int] = set()  # members whose attendance changed
        self.members_surveyed: set[int] = set()  # members whose survey responses changed
        self.members_enrolled: set[int] = set()  # members whose enrollments changed
        self.groups_scheduled: set[int] = set()  # groups whose sessions changed

    def add(self, obj) -> None:
        self.session.add(obj)
        self.new[TABLE_OF[type(obj)]].append(obj)

    def update(self, obj, values: dict, extra_previous: dict | None = None) -> bool:
        old = dict(extra_previous or {})
        for column, value in values.items():
            current = getattr(obj, column)
            if current != value:
                old[column] = _jsonable(current)
                setattr(obj, column, value)
        if old:
            self.previous[TABLE_OF[type(obj)]].append([_key(obj), old])
        return bool(old)

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        added = {t: len(rows) for t, rows in self.new.items() if rows}
        updated = {t: len(rows) for t, rows in self.previous.items() if rows}
        return added, updated

    def undo_record(self, networks: set[str]) -> dict:
        """What undo_import needs, as JSON: keys added, old values updated, rows pointed at."""
        refs: dict[str, set] = defaultdict(set)
        for table, column, target in REFERENCES:
            for obj in self.new.get(table, []):
                refs[target].add(getattr(obj, column))
        return {
            "version": 1,
            "networks": sorted(networks),
            "added": {t: [_key(o) for o in rows] for t, rows in self.new.items() if rows},
            "updated": {t: rows for t, rows in self.previous.items() if rows},
            "refs": {t: sorted(ids) for t, ids in refs.items()},
        }


# ---------------------------------------------------------------- one kind at a time


def write_plan(writer: Writer, plan: Plan) -> None:
    """Carry out a plan, parents first, flushing so that children get their ids."""
    s = writer.session
    for item in plan.groups:
        group = item["existing"]
        if group is None:
            writer.add(Group(name=item["name"], network_id=item["network_id"], **item["values"]))
        else:
            writer.update(group, item["values"])
    members = _write_members(writer, plan)
    s.flush()
    for item in plan.enrollments:
        values = item["values"]
        if item["existing"] is None:
            writer.add(
                Enrollment(member_id=members[item["code"]].id, group_id=item["group_id"], **values)
            )
            writer.members_enrolled.add(members[item["code"]].id)
        elif writer.update(item["existing"], values):
            writer.members_enrolled.add(item["existing"].member_id)
    if plan.enrollments:
        s.flush()
        settle_home_networks(writer, {members[i["code"]] for i in plan.enrollments})
    sessions = {}
    for key, item in plan.sessions.items():
        session = item["existing"]
        if session is None:
            session = GroupSession(group_id=item["group_id"], date=item["date"], **item["values"])
            writer.add(session)
            writer.groups_scheduled.add(item["group_id"])
        elif writer.update(session, item["values"]) and "cancelled" in item["values"]:
            query = select(Attendance.member_id).where(Attendance.session_id == session.id)
            writer.members_marked.update(s.scalars(query))
            writer.groups_scheduled.add(session.group_id)
        sessions[key] = session
    s.flush()
    for item in plan.attendance:
        member = members[item["code"]]
        mark = item["existing"]
        if mark is None:
            writer.add(
                Attendance(
                    session_id=sessions[item["session"]].id,
                    member_id=member.id,
                    status=item["status"],
                )
            )
            writer.members_marked.add(member.id)
        elif writer.update(mark, {"status": item["status"]}):
            writer.members_marked.add(member.id)
    for item in plan.surveys:
        if item["existing"] is None:
            writer.add(SurveyResponse(member_id=item["member_id"], **item["values"]))
            writer.members_surveyed.add(item["member_id"])
        elif writer.update(item["existing"], item["values"]):
            writer.members_surveyed.add(item["member_id"])
    s.flush()


def settle_home_networks(writer: Writer, members: set[Member]) -> None:
    """Home network = the network of the man's earliest enrollment (SPEC §5), whatever the
    order of the rows or of the imports: an import that adds an earlier enrollment in another
    network moves him there (undo moves him back). On a tie of earliest dates, the network
    first by name, so that the row order never decides. Men without enrollments keep theirs."""
    s = writer.session
    earliest: dict[int, tuple] = {}
    for chunk in chunked([m.id for m in members]):
        query = (
            select(Enrollment.member_id, Enrollment.enrolled_from, Network.name, Network.id)
            .join(Group, Group.id == Enrollment.group_id)
            .join(Network, Network.id == Group.network_id)
            .where(Enrollment.member_id.in_(chunk))
        )
        for member_id, start, name, network_id in s.execute(query):
            candidate = (start, name, network_id)
            if member_id not in earliest or candidate < earliest[member_id]:
                earliest[member_id] = candidate
    added = {id(m) for m in writer.new.get("member", [])}
    for member in members:
        if member.id not in earliest:
            continue
        network_id = earliest[member.id][2]
        if id(member) in added:
            member.home_network_id = network_id  # undo deletes the row: nothing to remember
        else:
            writer.update(member, {"home_network_id": network_id})


def _write_members(writer: Writer, plan: Plan) -> dict[str, Member]:
    """Members by code: those the plan names (added or updated) and those already stored."""
    s = writer.session
    members: dict[str, Member] = {}
    communities: list[tuple[Member, list[str]]] = []
    for code, item in plan.members.items():
        member = item["existing"]
        values = dict(item["values"])
        wanted = values.pop("communities", None)
        if member is None:
            member = Member(code=code, home_network_id=item["network_id"], **values)
            writer.add(member)
            if wanted:
                communities.append((member, wanted))
        else:
            old = item["current"]["communities"]
            changed = wanted is not None and sorted(wanted) != sorted(old)
            writer.update(member, values, {"communities": old} if changed else None)
            if changed:
                s.execute(delete(MemberCommunity).where(MemberCommunity.member_id == member.id))
                communities.append((member, wanted))
        members[code] = member
    s.flush()
    for member, wanted in communities:
        s.add_all(MemberCommunity(member_id=member.id, community=c) for c in wanted)
    codes = {i["code"] for i in plan.enrollments + plan.attendance} - set(members)
    for chunk in chunked(codes):
        for member in s.scalars(select(Member).where(Member.code.in_(chunk))):
            members[member.code] = member
    return members


def finish(
    writer: Writer,
    *,
    kind: str,
    filename: str,
    checksum: str,
    username: str | None,
    networks: set[str],
    rows: int,
) -> ImportBatch:
    """Record the batch and its audit event, refresh derived columns, move the data version."""
    s = writer.session
    added, updated = writer.counts()
    batch = ImportBatch(
        at=now(),
        username=username,
        kind=kind,
        filename=filename[:255],
        checksum=checksum,
        rows_added=sum(added.values()),
        rows_updated=sum(updated.values()),
        undo=writer.undo_record(networks),
        undone=False,
    )
    s.add(batch)
    s.flush()
    s.add(
        AuditEvent(
            at=batch.at,
            username=username,
            action="import",
            detail=f"batch {batch.id}: {kind} file {filename!r} ({rows} rows), "
            f"added {batch.rows_added}, updated {batch.rows_updated}, "
            f"sha256 {checksum}",
        )
    )
    new_members = [m.id for m in writer.new.get("member", [])]
    affected = writer.members_marked | set(new_members)
    if affected:
        refresh_member_spans(s, affected)
        refresh_attendance_summary(s, affected)
        refresh_presence(s, affected)
    if affected or writer.members_enrolled or writer.groups_scheduled:
        refresh_enrolment_counts(s, affected | writer.members_enrolled, writer.groups_scheduled)
    if writer.members_surveyed:
        refresh_survey_pairs(s, writer.members_surveyed)
        refresh_baseline_spread(s)
    bump_data_version(s)
    return batch


# ---------------------------------------------------------------- undo


def _keys(record: dict, part: str) -> set[str]:
    """'table:key' strings of the rows a batch added or updated (part 'added'/'updated')."""
    found = set()
    for table, rows in (record.get(part) or {}).items():
        for row in rows:
            key = row[0] if part == "updated" else row
            found.add(f"{table}:{_key_text(key)}")
    return found


def _key_text(key) -> str:
    return "-".join(map(str, key)) if isinstance(key, list) else str(key)


def touched(record: dict) -> set[str]:
    """Rows a batch added or updated."""
    return _keys(record, "added") | _keys(record, "updated")


def used(record: dict) -> set[str]:
    """Rows the new rows of a batch point at (the session and member of an attendance...)."""
    return {f"{t}:{i}" for t, ids in (record.get("refs") or {}).items() for i in ids}


def blocks(mine: dict, later: dict) -> bool:
    """Whether a later batch stops `mine` from being undone: it touched one of the same rows,
    or its new rows use a row that `mine` added (undo would delete it under them)."""
    return bool(touched(mine) & touched(later) or _keys(mine, "added") & used(later))


def blockers(session: Session, batch: ImportBatch) -> list[ImportBatch]:
    """Later batches, not undone, that touched or used the rows of `batch`."""
    later = session.scalars(
        select(ImportBatch)
        .where(ImportBatch.id > batch.id, ImportBatch.undone.is_(False))
        .order_by(ImportBatch.id)
    )
    return [b for b in later if blocks(batch.undo or {}, b.undo or {})]


def undo_batch(session: Session, batch: ImportBatch, username: str | None) -> None:
    """Delete what the batch added and restore what it updated (caller checked blockers)."""
    record = batch.undo or {}
    added = record.get("added") or {}
    updated = record.get("updated") or {}
    affected: set[int] = set()
    surveyed: set[int] = set()  # men whose survey pairs change
    enrolled: set[int] = set()  # men whose enrollments change
    scheduled: set[int] = set()  # groups whose sessions change
    for table, rows in updated.items():
        model = MODELS[table]
        for key, old in rows:
            obj = session.get(model, tuple(key) if isinstance(key, list) else key)
            if obj is None:
                continue
            old = dict(old)
            communities = old.pop("communities", None)
            for column, value in old.items():
                setattr(obj, column, _restore(model, column, value))
            if communities is not None:
                session.execute(delete(MemberCommunity).where(MemberCommunity.member_id == obj.id))
                session.add_all(MemberCommunity(member_id=obj.id, community=c) for c in communities)
            if table == "attendance":
                affected.add(key[1])
            elif table == "survey_response":
                surveyed.add(obj.member_id)
            elif table == "enrollment":
                enrolled.add(obj.member_id)
            elif table == "session":  # a date, duration or cancellation restored
                query = select(Attendance.member_id).where(Attendance.session_id == key)
                affected.update(session.scalars(query))
                scheduled.add(obj.group_id)
    session.flush()
    marks = added.get("attendance", [])
    affected.update(member_id for _, member_id in marks)
    for chunk in chunked(added.get("survey_response", [])):
        query = select(SurveyResponse.member_id).where(SurveyResponse.id.in_(chunk))
        surveyed.update(session.scalars(query))
    for chunk in chunked(added.get("session", [])):
        query = select(GroupSession.group_id).where(GroupSession.id.in_(chunk))
        scheduled.update(session.scalars(query))
    for chunk in chunked(marks):
        session.execute(
            delete(Attendance).where(
                tuple_(Attendance.session_id, Attendance.member_id).in_([tuple(k) for k in chunk])
            )
        )
    for model, table in (
        (SurveyResponse, "survey_response"),
        (Enrollment, "enrollment"),
        (GroupSession, "session"),
    ):
        for chunk in chunked(added.get(table, [])):
            session.execute(delete(model).where(model.id.in_(chunk)))
    gone = set(added.get("member", []))
    if affected - gone:
        refresh_member_spans(session, affected - gone)
        refresh_attendance_summary(session, affected - gone)
        refresh_presence(session, affected - gone)
    if (affected | enrolled) - gone or scheduled:
        refresh_enrolment_counts(session, (affected | enrolled) - gone, scheduled)
    if surveyed:
        refresh_survey_pairs(session, surveyed - gone)
        refresh_baseline_spread(session)
    for chunk in chunked(gone):
        session.execute(delete(MemberCommunity).where(MemberCommunity.member_id.in_(chunk)))
        session.execute(delete(Member).where(Member.id.in_(chunk)))
    for chunk in chunked(added.get("group", [])):
        session.execute(delete(Group).where(Group.id.in_(chunk)))
    batch.undone = True
    session.add(
        AuditEvent(
            at=now(),
            username=username,
            action="import-undo",
            detail=f"batch {batch.id}: {batch.kind} file {batch.filename!r}, "
            f"removed {batch.rows_added} added rows, restored "
            f"{batch.rows_updated} updated rows",
        )
    )
    bump_data_version(session)


def check_undo(
    session: Session, batch: ImportBatch | None, batch_id: int, allowed_networks: set[str] | None
) -> None:
    """Raise ImportError_ with a clear message when this batch can't be undone."""
    if batch is None:
        raise ImportError_(f"There is no import batch {batch_id}.")
    if batch.undone:
        raise ImportError_(f"Import batch {batch_id} ({batch.filename}) is already undone.")
    networks = set((batch.undo or {}).get("networks") or [])
    if allowed_networks is not None and not networks <= set(allowed_networks):
        raise ImportError_(
            f"Import batch {batch_id} has rows for "
            f"{', '.join(sorted(networks - set(allowed_networks)))}: you can "
            f"undo only imports for {' and '.join(sorted(allowed_networks))}."
        )
    later = blockers(session, batch)
    if later:
        names = "; ".join(
            f"batch {b.id} ({b.kind} file {b.filename!r}"
            f"{', by ' + b.username if b.username else ''}, {b.at:%Y-%m-%d %H:%M})"
            for b in later
        )
        raise ImportError_(
            f"Import batch {batch_id} can't be undone: later imports changed or "
            f"used the same rows: {names}. Undo those first (newest first)."
        )


def history(session: Session, limit: int, allowed_networks: set[str] | None) -> list[dict]:
    """The latest batches, newest first, with whether each can be undone now."""
    query = select(ImportBatch).order_by(ImportBatch.id.desc())
    later_touched: set[str] = set()
    later_used: set[str] = set()
    out = []
    for batch in session.scalars(query):
        record = batch.undo or {}
        networks = list(record.get("networks") or [])
        undoable = not batch.undone and not (
            touched(record) & later_touched or _keys(record, "added") & later_used
        )
        if not batch.undone:
            later_touched |= touched(record)
            later_used |= used(record)
        if allowed_networks is not None and not set(networks) <= set(allowed_networks):
            continue
        out.append(
            {
                "id": batch.id,
                "at": batch.at.isoformat(timespec="seconds"),
                "username": batch.username,
                "kind": batch.kind,
                "filename": batch.filename,
                "checksum": batch.checksum,
                "rows_added": batch.rows_added,
                "rows_updated": batch.rows_updated,
                "undone": batch.undone,
                "networks": networks,
                "can_undo": undoable,
            }
        )
        if len(out) >= limit:
            break
    return out
