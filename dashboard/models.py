"""Database models: one class per entity of SPEC §2."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dashboard.cellkey import new_record_key

PROGRAM_TYPES = ["wellbeing-10", "peer-support", "mens-shed", "fathers", "healing-circle"]
# Fixed-length programs and their number of sessions: completion applies to these only.
FIXED_LENGTH_PROGRAMS = {"wellbeing-10": 10}
AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
COMMUNITIES = ["Indigenous", "South Asian", "Latino", "Black", "East Asian", "newcomer", "GBT2SQ+"]
ENROLLMENT_STATUSES = ["active", "completed", "withdrawn"]
ATTENDANCE_STATUSES = ["present", "excused", "absent"]
WAVES = ["baseline", "mid", "exit", "follow-up"]
ROLES = ["coordinator", "leadership", "funder", "admin"]
MEMBER_CODE_PATTERN = r"^[A-Z0-9-]{3,20}$"


class Base(DeclarativeBase):
    pass


class Network(Base):
    __tablename__ = "network"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)


class Group(Base):
    __tablename__ = "group"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), index=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    program_type: Mapped[str] = mapped_column(String(40), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday
    capacity: Mapped[int | None] = mapped_column(Integer)
    session_minutes: Mapped[int] = mapped_column(Integer, default=120)


class Member(Base):
    __tablename__ = "member"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    home_network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), index=True)
    age_band: Mapped[str | None] = mapped_column(String(8), index=True)
    # Derived from attendance (refresh_member_spans), so that "new members" and survival
    # cost what the answer costs rather than a scan of the whole history.
    first_present: Mapped[dt.date | None] = mapped_column(Date, index=True)
    last_present: Mapped[dt.date | None] = mapped_column(Date)
    first_group_id: Mapped[int | None] = mapped_column(ForeignKey("group.id"))
    # Secret, never sent: the cell-key method's record key (dashboard/cellkey.py).
    record_key: Mapped[int] = mapped_column(BigInteger, default=new_record_key)


class MemberCommunity(Base):
    __tablename__ = "member_community"
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    community: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class Enrollment(Base):
    __tablename__ = "enrollment"
    __table_args__ = (UniqueConstraint("member_id", "group_id", "enrolled_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group.id"), index=True)
    enrolled_from: Mapped[dt.date] = mapped_column(Date)
    enrolled_to: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    # Derived from the sessions and attendance (dashboard.derived.refresh_enrolment_counts):
    # the group's sessions held within the enrolment (from its start to its end, or on if
    # open), the first and last of their dates, and the man's presents among them; so that
    # completion and dosage read one row per enrolment, not the raw history.
    held: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_held: Mapped[dt.date | None] = mapped_column(Date)
    last_held: Mapped[dt.date | None] = mapped_column(Date)
    presents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class GroupSession(Base):
    __tablename__ = "session"
    __table_args__ = (
        UniqueConstraint("group_id", "date"),
        Index("ix_session_date_group", "date", "group_id"),
        # Covers counting a group's held sessions between two dates (member_dosage).
        Index("ix_session_group_date_cancelled", "group_id", "date", "cancelled"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group.id"))
    date: Mapped[dt.date] = mapped_column(Date)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (
        Index("ix_attendance_member_status", "member_id", "status"),
        Index("ix_attendance_session_status_member", "session_id", "status", "member_id"),
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("session.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(8))


class Presence(Base):
    """Each present of a man at a held session, by man, group and date: derived from the
    attendance by dashboard.derived and kept in step with every write, so that his presents
    at a group between two dates are one search of this key."""

    __tablename__ = "presence"
    __table_args__ = ({"sqlite_with_rowid": False},)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(ForeignKey("group.id"), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)


class AttendanceSummary(Base):
    """Attendance of held sessions per man, group and calendar month, quarter or fiscal year
    (`span`), derived from the attendance rows by dashboard.derived and kept in step with
    every write: the figures of a long period read these rows, not the raw history."""

    # The key's order is the order the figures read the rows in: a period's rows by network
    # and then by man, so counting distinct men needs no sort (on SQLite the table is stored
    # in that order, without a rowid).
    __tablename__ = "attendance_summary"
    __table_args__ = (
        Index("ix_attendance_summary_member", "member_id"),
        {"sqlite_with_rowid": False},
    )
    span: Mapped[str] = mapped_column(String(8), primary_key=True)  # "month", "quarter", "year"
    period_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(ForeignKey("group.id"), primary_key=True)
    record_key: Mapped[int] = mapped_column(BigInteger)  # the member's, copied: no join
    presents: Mapped[int] = mapped_column(Integer)
    excused: Mapped[int] = mapped_column(Integer)
    recorded: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)  # minutes of the sessions he was present at


class Instrument(Base):
    __tablename__ = "instrument"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    construct: Mapped[str] = mapped_column(String(80))
    items: Mapped[list] = mapped_column(JSON)  # item wordings, in order
    min_answer: Mapped[int] = mapped_column(Integer)
    max_answer: Mapped[int] = mapped_column(Integer)
    reverse_items: Mapped[list] = mapped_column(JSON, default=list)  # 1-based item numbers
    scoring: Mapped[str] = mapped_column(String(8))  # "sum" or "mean"
    conversion: Mapped[dict | None] = mapped_column(JSON)  # raw sum -> converted score
    higher_is_better: Mapped[bool] = mapped_column(Boolean)
    alpha: Mapped[float] = mapped_column(Float)
    alpha_source: Mapped[str] = mapped_column(Text)
    # Published reference-population SD for reliable change (SPEC §3); null: the SD of all
    # scored baseline responses to the instrument in the database is used instead.
    reference_sd: Mapped[float | None] = mapped_column(Float)
    reference_sd_source: Mapped[str | None] = mapped_column(Text)


class SurveyResponse(Base):
    __tablename__ = "survey_response"
    __table_args__ = (
        UniqueConstraint("member_id", "instrument_id", "date", "wave"),
        Index("ix_survey_instrument_date", "instrument_id", "date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    instrument_id: Mapped[str] = mapped_column(ForeignKey("instrument.id"))
    date: Mapped[dt.date] = mapped_column(Date)
    wave: Mapped[str] = mapped_column(String(12))
    answers: Mapped[list] = mapped_column(JSON)  # one int or null per item
    # Derived by dashboard.scoring when the response is stored; null when not scorable.
    score: Mapped[float | None] = mapped_column(Float)


class SurveyPair(Base):
    """Each scored later response (mid, exit, follow-up) of a man who has a scored baseline to
    the same instrument, with that baseline (his first): the candidates of matched pairs,
    derived by dashboard.derived when surveys are written (issue 14)."""

    __tablename__ = "survey_pair"
    __table_args__ = (Index("ix_survey_pair_instrument_date", "instrument_id", "later_date"),)
    later_id: Mapped[int] = mapped_column(
        ForeignKey("survey_response.id", ondelete="CASCADE"), primary_key=True
    )
    baseline_id: Mapped[int] = mapped_column(
        ForeignKey("survey_response.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    instrument_id: Mapped[str] = mapped_column(ForeignKey("instrument.id"))
    later_date: Mapped[dt.date] = mapped_column(Date)
    later_wave: Mapped[str] = mapped_column(String(12))
    later_score: Mapped[float] = mapped_column(Float)
    baseline_date: Mapped[dt.date] = mapped_column(Date)
    baseline_score: Mapped[float] = mapped_column(Float)
    # The date of his next such response (in date and wave order; None for his last): a
    # period's latest pair of a man is then a range condition, not a ranking.
    next_later_date: Mapped[dt.date | None] = mapped_column(Date)


class InstrumentBaseline(Base):
    """The spread of all scored baseline responses to an instrument (their count and sum of
    squared deviations from their mean), derived by dashboard.derived whenever surveys are
    written: reliable change's SD_ref when the instrument has no published one."""

    __tablename__ = "instrument_baseline"
    instrument_id: Mapped[str] = mapped_column(ForeignKey("instrument.id"), primary_key=True)
    baselines: Mapped[int] = mapped_column(Integer)
    squares: Mapped[float | None] = mapped_column(Float)


class Target(Base):
    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("network_id", "metric", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int | None] = mapped_column(ForeignKey("network.id"))  # null: combined
    metric: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(20))  # FY2025-26 or FY2025-26-Q1
    value: Mapped[float] = mapped_column(Float)


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    network_ids: Mapped[list] = mapped_column(JSON, default=list)  # coordinator's scope
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on deactivation or password reset so existing sessions stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)


class AuditEvent(Base):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    username: Mapped[str | None] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(30), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(String(64))


class ImportBatch(Base):
    __tablename__ = "import_batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    username: Mapped[str | None] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    checksum: Mapped[str] = mapped_column(String(64))
    rows_added: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    # What undo needs: rows added (to delete) and previous values of rows updated.
    undo: Mapped[dict] = mapped_column(JSON, default=dict)
    undone: Mapped[bool] = mapped_column(Boolean, default=False)


class DataVersion(Base):
    """One row whose counter moves on every write, so caches know when to forget."""

    __tablename__ = "data_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Release(Base):
    """A frozen, published impact summary for funders (SPEC §2 release, §4).

    `figures` holds exactly what report.impact_figures returned for a funder's scope when the
    release was prepared (dates as ISO text); nothing ever recomputes or edits it.
    """

    __tablename__ = "release"
    __table_args__ = (Index("ix_release_period_status", "period", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(20))  # FY2025-26 or FY2025-26-Q1
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    # {"networks": [...], "combined": bool, "program_types": [...] (empty: all)}
    breakdown: Mapped[dict] = mapped_column(JSON)
    figures: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))  # draft, published, superseded
    prepared_by: Mapped[str] = mapped_column(String(60))
    prepared_at: Mapped[dt.datetime] = mapped_column(DateTime)
    published_by: Mapped[str | None] = mapped_column(String(60))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("release.id"))
