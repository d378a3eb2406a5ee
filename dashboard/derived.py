"""Columns derived from attendance, kept up to date after every write that changes it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, case, delete, func, insert, literal, or_, select, true, update
from sqlalchemy.orm import Session, aliased

from dashboard.models import (
    Attendance,
    AttendanceSummary,
    Enrollment,
    Group,
    GroupSession,
    Instrument,
    InstrumentBaseline,
    Member,
    Presence,
    SurveyPair,
    SurveyResponse,
)
from dashboard.queries import bucket


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


# ------------------------------------------------- summaries read by long periods (issue 14)

CHUNK = 5000  # member ids per statement: far under every database's parameter limit


def _member_chunks(member_ids: Iterable[int] | None) -> list[list[int] | None]:
    """The ids in chunks, or [None] for every member."""
    if member_ids is None:
        return [None]
    ids = sorted(set(member_ids))
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def refresh_attendance_summary(conn, member_ids: Iterable[int] | None = None) -> None:
    """Recompute the attendance summary rows (per man, group, and month, quarter or fiscal
    year) of the given members, or of all; `conn` is a Connection or a Session inside the
    writing transaction. The quarters are summed from the months, the years from those."""
    dialect = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    present = Attendance.status == "present"
    # The order of the selects below (not the table's).
    columns = ["span", "period_start", "network_id", "group_id", "member_id", "record_key"]
    columns += ["presents", "excused", "recorded", "minutes"]
    for chunk in _member_chunks(member_ids):
        gone = delete(AttendanceSummary)
        if chunk is not None:
            gone = gone.where(AttendanceSummary.member_id.in_(chunk))
        conn.execute(gone)
        month = bucket(GroupSession.date, "month", dialect)
        months = (
            select(
                literal("month"),
                month,
                Group.network_id,
                GroupSession.group_id,
                Attendance.member_id,
                Member.record_key,
                func.sum(case((present, 1), else_=0)),
                func.sum(case((Attendance.status == "excused", 1), else_=0)),
                func.count(),
                func.sum(case((present, GroupSession.duration_minutes), else_=0)),
            )
            .join(GroupSession, GroupSession.id == Attendance.session_id)
            .join(Group, Group.id == GroupSession.group_id)
            .join(Member, Member.id == Attendance.member_id)
            .where(GroupSession.cancelled.is_(False))
            .group_by(month, Group.network_id, GroupSession.group_id, Attendance.member_id)
            .group_by(Member.record_key)
        )
        if chunk is not None:
            months = months.where(Attendance.member_id.in_(chunk))
        conn.execute(insert(AttendanceSummary).from_select(columns, months))
        s = AttendanceSummary
        for span, finer in (("quarter", "month"), ("year", "quarter")):
            unit = bucket(s.period_start, span, dialect)
            coarser = (
                select(
                    literal(span),
                    unit,
                    s.network_id,
                    s.group_id,
                    s.member_id,
                    s.record_key,
                    func.sum(s.presents),
                    func.sum(s.excused),
                    func.sum(s.recorded),
                    func.sum(s.minutes),
                )
                .where(s.span == finer)
                .group_by(unit, s.network_id, s.group_id, s.member_id, s.record_key)
            )
            if chunk is not None:
                coarser = coarser.where(s.member_id.in_(chunk))
            conn.execute(insert(AttendanceSummary).from_select(columns, coarser))


LATER_WAVES = ("mid", "exit", "follow-up")


def refresh_survey_pairs(conn, member_ids: Iterable[int] | None = None) -> None:
    """Recompute the survey pair candidates of the given members, or of all: each scored later
    response of a man with his first scored baseline to the same instrument, and the date of
    his next scored later response to it."""
    later = aliased(SurveyResponse)
    base = aliased(SurveyResponse)
    first = aliased(SurveyResponse)
    first_baseline = (
        select(func.min(first.date))
        .where(
            first.member_id == later.member_id,
            first.instrument_id == later.instrument_id,
            first.wave == "baseline",
            first.score.is_not(None),
        )
        .scalar_subquery()
    )
    columns = [c.name for c in SurveyPair.__table__.columns]
    for chunk in _member_chunks(member_ids):
        gone = delete(SurveyPair)
        if chunk is not None:
            gone = gone.where(SurveyPair.member_id.in_(chunk))
        conn.execute(gone)
        pairs = (
            select(
                later.id,
                base.id,
                later.member_id,
                later.instrument_id,
                later.date,
                later.wave,
                later.score,
                base.date,
                base.score,
                func.lead(later.date).over(
                    partition_by=(later.member_id, later.instrument_id),
                    order_by=(later.date, later.wave),
                ),
            )
            .join(
                base,
                and_(
                    base.member_id == later.member_id,
                    base.instrument_id == later.instrument_id,
                    base.wave == "baseline",
                    base.score.is_not(None),
                    base.date == first_baseline,
                ),
            )
            .where(later.wave.in_(LATER_WAVES), later.score.is_not(None))
        )
        if chunk is not None:
            pairs = pairs.where(later.member_id.in_(chunk))
        conn.execute(insert(SurveyPair).from_select(columns, pairs))


def refresh_baseline_spread(conn) -> None:
    """Recompute every instrument's baseline spread: the count of its scored baseline
    responses and the sum of their squared deviations from their mean (SD_ref, SPEC §3)."""
    score = SurveyResponse.score
    conn.execute(delete(InstrumentBaseline))
    for instrument_id in list(conn.execute(select(Instrument.id)).scalars()):
        scored_baselines = (
            SurveyResponse.instrument_id == instrument_id,
            SurveyResponse.wave == "baseline",
            score.is_not(None),
        )
        # Two passes (deviations from the mean), both in the database: exact where the scores
        # are all equal. The mean is a one-row subquery joined once (a scalar subquery written
        # twice in the sum would be a third pass).
        mean = select(func.avg(score).label("mean")).where(*scored_baselines).subquery()
        deviation = score - mean.c.mean
        baselines, squares = conn.execute(
            select(func.count(score), func.sum(deviation * deviation))
            .select_from(SurveyResponse)
            .join(mean, true())
            .where(*scored_baselines)
        ).one()
        conn.execute(
            insert(InstrumentBaseline).values(
                instrument_id=instrument_id,
                baselines=int(baselines or 0),
                squares=None if squares is None else float(squares),
            )
        )


def refresh_enrolment_counts(
    conn, member_ids: Iterable[int] | None = None, group_ids: Iterable[int] | None = None
) -> None:
    """Recompute the counts of the enrolments of the given men and of the given groups (both
    None: of all): the group's sessions held within the enrolment (from its start to its end,
    or on if open), the first and last of their dates, and the man's presents among them."""
    e = aliased(Enrollment)
    within = and_(
        GroupSession.group_id == e.group_id,
        GroupSession.cancelled.is_(False),
        GroupSession.date >= e.enrolled_from,
        or_(e.enrolled_to.is_(None), GroupSession.date <= e.enrolled_to),
    )
    present = and_(
        Attendance.session_id == GroupSession.id,
        Attendance.member_id == e.member_id,
        Attendance.status == "present",
    )
    counts = (
        select(
            e.id.label("id"),
            func.count(GroupSession.id).label("held"),
            func.min(GroupSession.date).label("first_held"),
            func.max(GroupSession.date).label("last_held"),
            func.count(Attendance.member_id).label("presents"),
        )
        .outerjoin(GroupSession, within)
        .outerjoin(Attendance, present)
        .group_by(e.id)
    )
    parts = [counts] if member_ids is None and group_ids is None else []
    for column, ids in ((e.member_id, member_ids), (e.group_id, group_ids)):
        for chunk in _member_chunks(ids) if ids is not None else []:
            parts.append(counts.where(column.in_(chunk)))
    for part in parts:
        rows = part.subquery()
        table = Enrollment.__table__  # a plain UPDATE ... FROM, without the ORM's bookkeeping
        conn.execute(
            update(table)
            .where(table.c.id == rows.c.id)
            .values(
                held=rows.c.held,
                first_held=rows.c.first_held,
                last_held=rows.c.last_held,
                presents=rows.c.presents,
            )
        )


def refresh_presence(conn, member_ids: Iterable[int] | None = None) -> None:
    """Recompute the presences (each present at a held session, by man, group and date) of
    the given members, or of all."""
    columns = ["member_id", "group_id", "date"]
    for chunk in _member_chunks(member_ids):
        gone = delete(Presence)
        if chunk is not None:
            gone = gone.where(Presence.member_id.in_(chunk))
        conn.execute(gone)
        presents = (
            select(Attendance.member_id, GroupSession.group_id, GroupSession.date)
            .join(GroupSession, GroupSession.id == Attendance.session_id)
            .where(Attendance.status == "present", GroupSession.cancelled.is_(False))
        )
        if chunk is not None:
            presents = presents.where(Attendance.member_id.in_(chunk))
        conn.execute(insert(Presence).from_select(columns, presents))


def refresh_all(conn) -> None:
    """Every derived summary, from scratch (a migration, the demo seed, a repair)."""
    refresh_enrolment_counts(conn)
    refresh_presence(conn)
    refresh_attendance_summary(conn)
    refresh_survey_pairs(conn)
    refresh_baseline_spread(conn)
