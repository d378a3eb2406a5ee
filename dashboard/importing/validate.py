"""Checking every row of a file against the rules and the database, before anything is written.

Each kind's validator returns a plan (what to add or update, with the database rows it found)
and reports every problem it meets; the writer (write.py) runs the plan only if none is an
error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.importing.reading import (
    ISO_FIX,
    CellError,
    Table,
    cell_text,
    parse_bool,
    parse_choice,
    parse_date,
    parse_int,
    parse_weekday,
    refused,
)
from dashboard.importing.report import ImportReport
from dashboard.instruments import max_missing, score_response
from dashboard.models import (
    AGE_BANDS,
    ATTENDANCE_STATUSES,
    COMMUNITIES,
    ENROLLMENT_STATUSES,
    MEMBER_CODE_PATTERN,
    PROGRAM_TYPES,
    WAVES,
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
from dashboard.wording import with_article

CHUNK = 500
MAX_MINUTES = 600


# ---------------------------------------------------------------- cell parsers


def _member_code(value) -> str:
    code = cell_text(value).upper()
    if not re.fullmatch(MEMBER_CODE_PATTERN, code):
        raise CellError(
            f"{cell_text(value)!r} is not a member code",
            "a member code has 3-20 letters, digits or '-', e.g. CGY-000123",
        )
    return code


def _name(value) -> str:
    return " ".join(cell_text(value).split())


def _communities(value) -> list[str]:
    found = []
    for part in re.split(r"[;,]", cell_text(value)):
        if part.strip():
            found.append(parse_choice(part, COMMUNITIES, "community"))
    return [c for c in COMMUNITIES if c in found]


def _minutes(value) -> int:
    return parse_int(value, 1, MAX_MINUTES, f"the length in minutes, 1-{MAX_MINUTES}")


STATUS_ALIASES = {
    "p": "present",
    "attended": "present",
    "a": "absent",
    "no show": "absent",
    "e": "excused",
}
PARSERS: dict[str, Callable[[Any], Any]] = {
    "network": _name,
    "group": _name,
    "program_type": lambda v: parse_choice(v, PROGRAM_TYPES, "program type"),
    "start_date": parse_date,
    "end_date": parse_date,
    "weekday": parse_weekday,
    "capacity": lambda v: parse_int(v, 1, 1000, "the number of places, 1-1000"),
    "session_minutes": _minutes,
    "member_code": _member_code,
    "enrolled_from": parse_date,
    "enrolled_to": parse_date,
    "enrollment_status": lambda v: parse_choice(v, ENROLLMENT_STATUSES, "enrollment status"),
    "age_band": lambda v: parse_choice(v, AGE_BANDS, "age band", {"65 and over": "65+"}),
    "communities": _communities,
    "date": parse_date,
    "duration_minutes": _minutes,
    "cancelled": parse_bool,
    "attendance_status": lambda v: parse_choice(
        v, ATTENDANCE_STATUSES, "attendance status", STATUS_ALIASES
    ),
    "instrument": lambda v: cell_text(v).lower(),
    "wave": lambda v: parse_choice(v, WAVES, "wave", {"pre": "baseline", "post": "exit"}),
}

# Columns of each kind: (name, required, parser key). Required: column present, cell filled.
COLUMNS: dict[str, list[tuple[str, bool, str]]] = {
    "groups": [
        ("network", True, "network"),
        ("group", True, "group"),
        ("program_type", True, "program_type"),
        ("start_date", True, "start_date"),
        ("end_date", False, "end_date"),
        ("weekday", False, "weekday"),
        ("capacity", False, "capacity"),
        ("session_minutes", False, "session_minutes"),
    ],
    "roster": [
        ("member_code", True, "member_code"),
        ("network", True, "network"),
        ("group", True, "group"),
        ("enrolled_from", True, "enrolled_from"),
        ("enrolled_to", False, "enrolled_to"),
        ("status", True, "enrollment_status"),
        ("age_band", False, "age_band"),
        ("communities", False, "communities"),
    ],
    "sessions": [
        ("group", True, "group"),
        ("date", True, "date"),
        ("duration_minutes", False, "duration_minutes"),
        ("cancelled", False, "cancelled"),
    ],
    "attendance": [
        ("date", True, "date"),
        ("group", True, "group"),
        ("member_code", True, "member_code"),
        ("status", True, "attendance_status"),
        ("duration_minutes", False, "duration_minutes"),
    ],
    "surveys": [
        ("member_code", True, "member_code"),
        ("date", True, "date"),
        ("instrument", True, "instrument"),
        ("wave", True, "wave"),
    ],
}
ITEM = re.compile(r"item_(\d+)")


@dataclass
class Row:
    """One data row: its spreadsheet number, parsed values, and whether a cell failed."""

    number: int
    values: dict[str, Any]
    bad: bool = False
    items: dict[int, Any] = field(default_factory=dict)  # surveys: item number -> raw cell

    def __getitem__(self, key):
        return self.values.get(key)


def parse_rows(kind: str, table: Table, report: ImportReport) -> list[Row] | None:
    """Check the header and parse every cell; None when required columns are missing."""
    columns = COLUMNS[kind]
    known = {name for name, _, _ in columns}
    present = set(table.headers)
    missing = [name for name, required, _ in columns if required and name not in present]
    for name in missing:
        report.error(
            table.header_row,
            name,
            None,
            f"The required column {name!r} is missing.",
            f"add a column headed {name} (download the {kind} template to see all columns)",
        )
    items = {h: int(m.group(1)) for h in table.headers if (m := ITEM.fullmatch(h))}
    if kind == "surveys" and not items:
        report.error(
            table.header_row,
            "item_1",
            None,
            "The file has no item columns.",
            "add the answers in columns headed item_1, item_2, ...",
        )
        missing.append("item_1")
    for header in table.headers:
        if header and header not in known and not (kind == "surveys" and header in items):
            report.warning(
                table.header_row,
                header,
                header,
                f"The column {header!r} is not used by {with_article(kind)} import "
                "and was ignored.",
                "remove the column, or check its spelling",
            )
    if missing:
        return None
    parsed = []
    width = len(table.headers)
    for number, cells in table.rows:
        row = Row(number, {})
        for index, cell in enumerate(cells):
            header = table.headers[index] if index < width else None
            if problem := refused(cell):
                report.error(number, header, cell, *problem)
                row.bad = True
            elif cell is not None and not header:
                report.error(
                    number,
                    None,
                    cell,
                    f"The value {cell_text(cell)!r} is in a column without a header.",
                    "remove the value or give the column its header",
                )
                row.bad = True
        record = {h: c for h, c in zip(table.headers, cells, strict=False) if h}
        for name, required, parser in columns:
            cell = record.get(name)
            if refused(cell):
                continue
            if cell is None:
                if required:
                    report.error(number, name, None, f"The {name} is empty.", f"fill in the {name}")
                    row.bad = True
                continue
            try:
                row.values[name] = PARSERS[parser](cell)
            except CellError as exc:
                report.error(number, name, cell_text(cell), exc.message, exc.fix)
                row.bad = True
        if kind == "surveys":
            row.items = {n: record.get(h) for h, n in items.items()}
        parsed.append(row)
    return parsed


def preview(rows: list[Row], limit: int = 20) -> list[dict]:
    """The first rows as plain values (dates in ISO), for a table on the page."""
    out = []
    for row in rows[:limit]:
        item = {"row": row.number}
        for key, value in row.values.items():
            if isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, list):
                value = "; ".join(value)
            item[key] = value
        for number in sorted(row.items):
            item[f"item_{number}"] = cell_text(row.items[number]) or None
        out.append(item)
    return out


# ---------------------------------------------------------------- database context


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def chunked(values: Iterable, size: int = CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


class Context:
    """What validators share: the session, the report, the options, and looked-up rows."""

    def __init__(
        self,
        session: Session,
        report: ImportReport,
        *,
        today: dt.date,
        allowed_networks: set[str] | None,
        add_new_members: bool,
        enroll_missing: bool,
    ):
        self.session = session
        self.report = report
        self.today = today
        self.allowed = None if allowed_networks is None else {_key(n) for n in allowed_networks}
        self.allowed_names = sorted(allowed_networks or [])
        self.add_new_members = add_new_members
        self.enroll_missing = enroll_missing
        self.networks = {_key(n.name): n for n in session.scalars(select(Network))}
        self.network_by_id = {n.id: n for n in self.networks.values()}
        self.groups = {_key(g.name): g for g in session.scalars(select(Group))}
        self.touched_networks: set[str] = set()

    def error(self, row: Row, column, value, message, fix) -> None:
        row.bad = True
        self.report.error(row.number, column, value, message, fix)

    def network(self, row: Row, column: str, name: str | None) -> Network | None:
        if name is None:
            return None
        found = self.networks.get(_key(name))
        if found is None:
            known = ", ".join(sorted(n.name for n in self.networks.values())) or "none yet"
            self.error(
                row,
                column,
                name,
                f"The network {name!r} is not known.",
                f"write one of: {known} (an admin adds networks)",
            )
        return found

    def in_scope(self, row: Row, column: str, value, network: Network) -> bool:
        self.touched_networks.add(network.name)
        if self.allowed is None or _key(network.name) in self.allowed:
            return True
        mine = " and ".join(self.allowed_names) or "no network"
        self.error(
            row,
            column,
            value,
            f"This row is for {network.name}: you can import only for {mine}.",
            f"remove the rows for {network.name}, or ask {with_article(network.name)} coordinator "
            "or an admin to import them",
        )
        return False

    def group(self, row: Row, column: str = "group") -> Group | None:
        """The row's group, checked to exist and to be in the importer's scope."""
        name = row["group"]
        if name is None:
            return None
        found = self.groups.get(_key(name))
        if found is None:
            self.error(
                row,
                column,
                name,
                f"The group {name!r} is not known.",
                "check the spelling, or import the group first (groups file)",
            )
            return None
        if not self.in_scope(row, column, name, self.network_by_id[found.network_id]):
            return None
        return found

    def not_future(self, row: Row, column: str, day: dt.date | None) -> bool:
        if day is not None and day > self.today:
            self.error(
                row,
                column,
                day.isoformat(),
                f"{day.isoformat()} is in the future.",
                f"check the date (today is {self.today.isoformat()}); {ISO_FIX}",
            )
            return False
        return True

    def in_group_life(self, row: Row, column: str, day: dt.date | None, group: Group) -> None:
        if day is None:
            return
        if day < group.start_date:
            self.error(
                row,
                column,
                day.isoformat(),
                f"{day.isoformat()} is before the group {group.name!r} started "
                f"({group.start_date.isoformat()}).",
                "check the date, or correct the group's start date with a groups import",
            )
        elif group.end_date is not None and day > group.end_date:
            self.error(
                row,
                column,
                day.isoformat(),
                f"{day.isoformat()} is after the group {group.name!r} ended "
                f"({group.end_date.isoformat()}).",
                "check the date, or correct the group's end date with a groups import",
            )

    def duplicate(self, seen: dict, key, row: Row, column: str, value, what: str) -> bool:
        """True (and an error) when `key` was already on an earlier row of the file."""
        if key in seen:
            self.error(
                row,
                column,
                value,
                f"This {what} is already on row {seen[key]} of this file.",
                "keep one row for it (delete or merge the duplicate)",
            )
            return True
        seen[key] = row.number
        return False

    def members(self, codes: Iterable[str]) -> dict[str, Member]:
        found = {}
        for chunk in chunked(set(codes)):
            for member in self.session.scalars(select(Member).where(Member.code.in_(chunk))):
                found[member.code] = member
        return found

    def visible(self, members: dict[str, Member]) -> dict[str, Member]:
        """The members the importer may know of: home network or an enrollment in his networks.

        A man outside them is left out, so that his code reads as unknown and an import never
        tells whether another network's code exists."""
        if self.allowed is None:
            return members
        mine = {n.id for key, n in self.networks.items() if key in self.allowed}
        seen = {code: m for code, m in members.items() if m.home_network_id in mine}
        others = {m.id: code for code, m in members.items() if code not in seen}
        for chunk in chunked(others):
            query = (
                select(Enrollment.member_id)
                .join(Group, Group.id == Enrollment.group_id)
                .where(Enrollment.member_id.in_(chunk), Group.network_id.in_(mine))
            )
            for member_id in self.session.scalars(query):
                seen[others[member_id]] = members[others[member_id]]
        return seen

    def unknown_member(self, row: Row, code: str, fix: str) -> None:
        """The same error for a made-up code and for one outside the importer's networks."""
        whose = "" if self.allowed is None else f" of {' or '.join(self.allowed_names)}"
        self.error(row, "member_code", code, f"No member{whose} has the code {code!r}.", fix)

    def communities(self, member_ids: Iterable[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for chunk in chunked(set(member_ids)):
            query = select(MemberCommunity).where(MemberCommunity.member_id.in_(chunk))
            for row in self.session.scalars(query):
                found.setdefault(row.member_id, []).append(row.community)
        return {
            k: [c for c in COMMUNITIES if c in v] + sorted(set(v) - set(COMMUNITIES))
            for k, v in found.items()
        }

    def sessions(self, group_ids: set[int], days: set[dt.date]) -> dict[tuple, GroupSession]:
        if not group_ids or not days:
            return {}
        query = select(GroupSession).where(
            GroupSession.group_id.in_(group_ids), GroupSession.date.between(min(days), max(days))
        )
        return {(s.group_id, s.date): s for s in self.session.scalars(query)}


# ---------------------------------------------------------------- plans


@dataclass
class Plan:
    """What a valid file will do; filled by a validator, carried out by write.py."""

    groups: list[dict] = field(default_factory=list)
    members: dict[str, dict] = field(default_factory=dict)  # code -> what to set
    enrollments: list[dict] = field(default_factory=list)
    sessions: dict[tuple, dict] = field(default_factory=dict)  # (group id, date) -> values
    attendance: list[dict] = field(default_factory=list)
    surveys: list[dict] = field(default_factory=list)


def validate_groups(ctx: Context, rows: list[Row]) -> Plan:
    plan, seen = Plan(), {}
    for row in rows:
        network = ctx.network(row, "network", row["network"])
        if network is not None:
            ctx.in_scope(row, "network", row["network"], network)
        name = row["group"]
        if name is None:
            continue
        if ctx.duplicate(seen, _key(name), row, "group", name, "group"):
            continue
        existing = ctx.groups.get(_key(name))
        if existing is not None and network is not None and existing.network_id != network.id:
            other = ctx.network_by_id[existing.network_id].name
            ctx.error(
                row,
                "group",
                name,
                f"A group named {existing.name!r} already exists in {other}; group names "
                "are unique across networks.",
                "give this group a different name (e.g. add the city)",
            )
        start, end = row["start_date"], row["end_date"]
        if start and end and end < start:
            ctx.error(
                row,
                "end_date",
                end.isoformat(),
                f"The end date {end.isoformat()} is before the start date {start.isoformat()}.",
                "check both dates",
            )
        if row.bad or network is None:
            continue
        plan.groups.append(
            {
                "existing": existing,
                "name": name,
                "network_id": network.id,
                "values": {
                    "program_type": row["program_type"],
                    "start_date": start,
                    "end_date": end,
                    "weekday": row["weekday"],
                    "capacity": row["capacity"],
                    "session_minutes": row["session_minutes"] or 120,
                },
            }
        )
    return plan


def validate_roster(ctx: Context, rows: list[Row]) -> Plan:
    plan, seen = Plan(), {}
    members = ctx.members(row["member_code"] for row in rows if row["member_code"])
    current = ctx.communities(m.id for m in members.values())
    enrollments = {}
    for chunk in chunked([m.id for m in members.values()]):
        query = select(Enrollment).where(Enrollment.member_id.in_(chunk))
        for e in ctx.session.scalars(query):
            enrollments[(e.member_id, e.group_id, e.enrolled_from)] = e
    for row in rows:
        code, group = row["member_code"], ctx.group(row)
        network = ctx.network(row, "network", row["network"])
        if network is not None:
            ctx.in_scope(row, "network", row["network"], network)
        if group is not None and network is not None and group.network_id != network.id:
            actual = ctx.network_by_id[group.network_id].name
            ctx.error(
                row,
                "network",
                row["network"],
                f"The group {group.name!r} is in {actual}, not {network.name}.",
                f"write {actual}, or check the group",
            )
        start, end = row["enrolled_from"], row["enrolled_to"]
        ctx.not_future(row, "enrolled_from", start)
        if group is not None:
            if start and group.end_date and start > group.end_date:
                ctx.in_group_life(row, "enrolled_from", start, group)
            ctx.in_group_life(row, "enrolled_to", end, group)
        if start and end and end < start:
            ctx.error(
                row,
                "enrolled_to",
                end.isoformat(),
                f"enrolled_to {end.isoformat()} is before enrolled_from {start.isoformat()}.",
                "check both dates",
            )
        if code and group and start:
            ctx.duplicate(
                seen,
                (code, group.id, start),
                row,
                "member_code",
                code,
                f"enrollment of {code} in {group.name!r} from {start.isoformat()}",
            )
        if code:
            _plan_member(ctx, plan, row, code, members.get(code), network, current)
        if row.bad or group is None or code is None:
            continue
        member = members.get(code)
        existing = enrollments.get((member.id, group.id, start)) if member else None
        plan.enrollments.append(
            {
                "existing": existing,
                "code": code,
                "group_id": group.id,
                "values": {"enrolled_from": start, "enrolled_to": end, "status": row["status"]},
            }
        )
    return plan


def _plan_member(ctx, plan, row, code, member, network, current) -> None:
    """A member's demographic fields, the same on every row of the file that gives them."""
    entry = plan.members.get(code)
    if entry is None:
        if member is None and network is None:
            return
        entry = plan.members[code] = {
            "existing": member,
            "values": {},
            "rows": {},
            "network_id": member.home_network_id if member else network.id,
            "current": {"communities": current.get(member.id, []) if member else []},
        }
    for column in ("age_band", "communities"):
        value = row[column]
        if value is None:
            continue
        if column in entry["values"] and entry["values"][column] != value:
            ctx.error(
                row,
                column,
                "; ".join(value) if isinstance(value, list) else value,
                f"{code} has a different {column} on row {entry['rows'][column]}.",
                f"give the same {column} on every row of {code}",
            )
        else:
            entry["values"][column] = value
            entry["rows"][column] = row.number


def validate_sessions(ctx: Context, rows: list[Row]) -> Plan:
    plan, seen = Plan(), {}
    groups = {row.number: ctx.group(row) for row in rows}
    existing = ctx.sessions(
        {g.id for g in groups.values() if g}, {row["date"] for row in rows if row["date"]}
    )
    for row in rows:
        group, day = groups[row.number], row["date"]
        if group is None or day is None:
            continue
        if ctx.not_future(row, "date", day):
            ctx.in_group_life(row, "date", day, group)
        if (
            ctx.duplicate(
                seen,
                (group.id, day),
                row,
                "date",
                day.isoformat(),
                f"session of {group.name!r} on {day.isoformat()}",
            )
            or row.bad
        ):
            continue
        plan.sessions[(group.id, day)] = {
            "existing": existing.get((group.id, day)),
            "group_id": group.id,
            "date": day,
            "values": {
                "duration_minutes": row["duration_minutes"] or group.session_minutes,
                "cancelled": bool(row["cancelled"]),
            },
        }
    return plan


def validate_attendance(ctx: Context, rows: list[Row]) -> Plan:
    plan, seen = Plan(), {}
    groups = {row.number: ctx.group(row) for row in rows}
    members = ctx.members(row["member_code"] for row in rows if row["member_code"])
    if not ctx.add_new_members:
        # With 'add new members' a code outside his networks still links to that man: codes
        # are unique across networks, so a second man can't be created with it.
        members = ctx.visible(members)
    sessions = ctx.sessions(
        {g.id for g in groups.values() if g}, {row["date"] for row in rows if row["date"]}
    )
    enrolled = set()
    for chunk in chunked([m.id for m in members.values()]):
        query = select(Enrollment.member_id, Enrollment.group_id).where(
            Enrollment.member_id.in_(chunk)
        )
        enrolled.update(tuple(r) for r in ctx.session.execute(query))
    marks = {}
    for chunk in chunked([s.id for s in sessions.values()]):
        for mark in ctx.session.scalars(select(Attendance).where(Attendance.session_id.in_(chunk))):
            marks[(mark.session_id, mark.member_id)] = mark
    warned: set[tuple] = set()
    for row in rows:
        group, day, code = groups[row.number], row["date"], row["member_code"]
        if day is not None and ctx.not_future(row, "date", day) and group is not None:
            ctx.in_group_life(row, "date", day, group)
        member = members.get(code) if code else None
        # A row whose group is unknown or outside the importer's networks has its error; the
        # member's code is checked once the group is right.
        if code and member is None and code not in plan.members and (group or not row["group"]):
            if not ctx.add_new_members:
                ctx.unknown_member(
                    row,
                    code,
                    "check the code, import the roster first, or import again with "
                    "'add new members' to create him",
                )
            elif group is not None:
                plan.members[code] = {
                    "existing": None,
                    "values": {},
                    "current": {},
                    "network_id": group.network_id,
                }
        if group is None or day is None or code is None:
            continue
        if ctx.duplicate(
            seen,
            (group.id, day, code),
            row,
            "member_code",
            code,
            f"attendance of {code} at {group.name!r} on {day.isoformat()}",
        ):
            continue
        session = sessions.get((group.id, day))
        if session is not None and session.cancelled:
            ctx.error(
                row,
                "date",
                day.isoformat(),
                f"The session of {group.name!r} on {day.isoformat()} is marked cancelled.",
                "remove this row, or un-cancel the session with a sessions import",
            )
        _plan_session(ctx, plan, row, group, day, session)
        if (member is None or (member.id, group.id) not in enrolled) and (
            code,
            group.id,
        ) not in warned:
            warned.add((code, group.id))
            if member is None or ctx.enroll_missing:
                plan.enrollments.append(
                    {
                        "existing": None,
                        "code": code,
                        "group_id": group.id,
                        "values": {"enrolled_from": day, "enrolled_to": None, "status": "active"},
                    }
                )
            else:
                ctx.report.warning(
                    row.number,
                    "member_code",
                    code,
                    f"{code} is not enrolled in {group.name!r}.",
                    "add him to the roster, or import again with 'enroll "
                    "missing members' to enroll him",
                )
        if row.bad:
            continue
        mark = marks.get((session.id, member.id)) if session and member else None
        plan.attendance.append(
            {"existing": mark, "code": code, "session": (group.id, day), "status": row["status"]}
        )
    # An enrollment made here starts at the member's first row in the file for that group.
    first = {}
    for item in plan.attendance:
        key = (item["code"], item["session"][0])
        first[key] = min(first.get(key, item["session"][1]), item["session"][1])
    for item in plan.enrollments:
        item["values"]["enrolled_from"] = first.get(
            (item["code"], item["group_id"]), item["values"]["enrolled_from"]
        )
    return plan


def _plan_session(ctx, plan, row, group, day, session) -> None:
    key = (group.id, day)
    duration = row["duration_minutes"]
    entry = plan.sessions.get(key)
    if entry is None:
        values = {"duration_minutes": duration or group.session_minutes, "cancelled": False}
        if session is not None:
            values = {"duration_minutes": duration} if duration else {}
        plan.sessions[key] = entry = {
            "existing": session,
            "group_id": group.id,
            "date": day,
            "values": values,
            "row": row.number if duration else None,
        }
    elif duration:
        if entry["row"] is not None and entry["values"]["duration_minutes"] != duration:
            ctx.error(
                row,
                "duration_minutes",
                duration,
                f"Row {entry['row']} gives this session a different length.",
                "give the same duration_minutes on every row of the session",
            )
        else:
            entry["values"]["duration_minutes"] = duration
            entry["row"] = row.number


def validate_surveys(ctx: Context, rows: list[Row]) -> Plan:
    plan, seen = Plan(), {}
    instruments = {i.id: i for i in ctx.session.scalars(select(Instrument))}
    members = ctx.visible(ctx.members(row["member_code"] for row in rows if row["member_code"]))
    ids = {m.id for m in members.values()}
    days = {row["date"] for row in rows if row["date"]}
    existing = {}
    if ids and days:
        for chunk in chunked(ids):
            query = select(SurveyResponse).where(
                SurveyResponse.member_id.in_(chunk),
                SurveyResponse.date.between(min(days), max(days)),
            )
            for r in ctx.session.scalars(query):
                existing[(r.member_id, r.instrument_id, r.date, r.wave)] = r
    for row in rows:
        code, day = row["member_code"], row["date"]
        member = members.get(code) if code else None
        if code and member is None:
            ctx.unknown_member(row, code, "check the code, or import the roster first")
        elif member is not None:
            ctx.in_scope(row, "member_code", code, ctx.network_by_id[member.home_network_id])
        ctx.not_future(row, "date", day)
        instrument = instruments.get(row["instrument"]) if row["instrument"] else None
        if row["instrument"] and instrument is None:
            ctx.error(
                row,
                "instrument",
                row["instrument"],
                f"{row['instrument']!r} is not a known instrument.",
                f"write one of: {', '.join(sorted(instruments))}",
            )
        answers = _answers(ctx, row, instrument) if instrument else None
        if member is None or instrument is None or day is None or row["wave"] is None:
            continue
        key = (member.id, instrument.id, day, row["wave"])
        if (
            ctx.duplicate(
                seen,
                key,
                row,
                "member_code",
                code,
                f"{instrument.id} {row['wave']} response of {code} on {day.isoformat()}",
            )
            or row.bad
        ):
            continue
        plan.surveys.append(
            {
                "existing": existing.get(key),
                "member_id": member.id,
                "values": {
                    "instrument_id": instrument.id,
                    "date": day,
                    "wave": row["wave"],
                    "answers": answers,
                    "score": score_response(answers, instrument),
                },
            }
        )
    return plan


def _answers(ctx: Context, row: Row, instrument: Instrument) -> list[int | None] | None:
    n_items = len(instrument.items)
    low, high = instrument.min_answer, instrument.max_answer
    answers: list[int | None] = [None] * n_items
    for number, cell in sorted(row.items.items()):
        column = f"item_{number}"
        if cell is None or refused(cell):
            continue
        if not 1 <= number <= n_items:
            ctx.error(
                row,
                column,
                cell_text(cell),
                f"{instrument.id} has {n_items} items, so {column} must be empty.",
                f"leave {column} empty for {instrument.id}, or check the instrument",
            )
            continue
        try:
            answers[number - 1] = parse_int(cell, low, high, f"a whole number from {low} to {high}")
        except CellError as exc:
            ctx.error(
                row,
                column,
                cell_text(cell),
                f"{exc.message} (answers of {instrument.id} go from {low} to {high})",
                exc.fix,
            )
    answered = sum(a is not None for a in answers)
    if not answered and not row.bad:
        ctx.error(
            row,
            "item_1",
            None,
            "The response has no answers.",
            f"fill in the answers in item_1 ... item_{n_items}, or remove the row",
        )
    elif n_items - answered > max_missing(n_items) and not row.bad:
        ctx.report.warning(
            row.number,
            None,
            None,
            f"{n_items - answered} of {n_items} {instrument.id} items are "
            "empty: the response is stored but can't be scored.",
            "fill in the missing answers if you have them",
        )
    return answers


VALIDATORS = {
    "groups": validate_groups,
    "roster": validate_roster,
    "sessions": validate_sessions,
    "attendance": validate_attendance,
    "surveys": validate_surveys,
}
