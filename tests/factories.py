"""Small hand-made datasets for metric tests: every row written out, nothing random."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from dashboard.db import bump_data_version
from dashboard.derived import refresh_all, refresh_member_spans
from dashboard.instruments import score_response
from dashboard.models import (
    Attendance,
    Enrollment,
    Group,
    GroupSession,
    Instrument,
    Member,
    MemberCommunity,
    Network,
    SurveyResponse,
)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


class Builder:
    """Writes networks, groups, members, sessions and responses by readable names."""

    def __init__(self, session: Session):
        self.s = session
        self.networks: dict[str, Network] = {}
        self.groups: dict[str, Group] = {}
        self.members: dict[str, Member] = {}

    def network(self, name: str) -> Network:
        row = Network(name=name)
        self.s.add(row)
        self.s.flush()
        self.networks[name] = row
        return row

    def group(
        self,
        name: str,
        network: str,
        program: str = "peer-support",
        minutes: int = 120,
        capacity: int = 10,
        start: str = "2020-01-01",
        end: str | None = None,
    ) -> Group:
        row = Group(
            name=name,
            network_id=self.networks[network].id,
            program_type=program,
            start_date=d(start),
            end_date=d(end) if end else None,
            weekday=0,
            capacity=capacity,
            session_minutes=minutes,
        )
        self.s.add(row)
        self.s.flush()
        self.groups[name] = row
        return row

    def member(
        self,
        code: str,
        network: str,
        age_band: str | None = None,
        communities: tuple[str, ...] = (),
    ) -> Member:
        row = Member(code=code, home_network_id=self.networks[network].id, age_band=age_band)
        self.s.add(row)
        self.s.flush()
        for community in communities:
            self.s.add(MemberCommunity(member_id=row.id, community=community))
        self.members[code] = row
        return row

    def enroll(
        self, code: str, group: str, start: str, end: str | None = None, status: str = "active"
    ) -> None:
        self.s.add(
            Enrollment(
                member_id=self.members[code].id,
                group_id=self.groups[group].id,
                enrolled_from=d(start),
                enrolled_to=d(end) if end else None,
                status=status,
            )
        )

    def session(
        self,
        group: str,
        date: str,
        marks: dict[str, str] | None = None,
        cancelled: bool = False,
        minutes: int | None = None,
    ) -> GroupSession:
        g = self.groups[group]
        row = GroupSession(
            group_id=g.id,
            date=d(date),
            cancelled=cancelled,
            duration_minutes=minutes or g.session_minutes,
        )
        self.s.add(row)
        self.s.flush()
        for code, status in (marks or {}).items():
            self.s.add(
                Attendance(session_id=row.id, member_id=self.members[code].id, status=status)
            )
        return row

    def survey(
        self, code: str, instrument: str, date: str, wave: str, answers: list[int | None]
    ) -> None:
        spec = self.s.get(Instrument, instrument)
        self.s.add(
            SurveyResponse(
                member_id=self.members[code].id,
                instrument_id=instrument,
                date=d(date),
                wave=wave,
                answers=answers,
                score=score_response(answers, spec),
            )
        )

    def done(self) -> None:
        self.s.flush()
        refresh_member_spans(self.s)
        refresh_all(self.s)
        bump_data_version(self.s)
        self.s.commit()
