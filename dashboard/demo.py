"""Synthetic demo data: two city networks, five years of groups, men, attendance and surveys.

The generator works in two passes so that it can run at 30x scale in little memory:

1. Plan (in memory, small): groups and their session calendars, then men joining over time
   through one chronological event queue (new arrivals, returns after a gap, second groups),
   each enrollment with how long the man stays.
2. Write (streamed): group by group, the sessions and the attendance of the men enrolled
   are drawn and inserted in batches with SQLAlchemy Core; then the survey responses, then
   the members' first/last `present` (computed while streaming, equal to what
   `dashboard.derived.refresh_member_spans` computes).

Everything runs in one transaction, so a failure leaves the database as it was. The same
seed, scale and end date give the same rows: every draw comes from `random.Random` instances
seeded from `seed`, consumed in a fixed order.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from dashboard import targets
from dashboard.cellkey import KEY_SPACE
from dashboard.db import bump_data_version, refresh_statistics, session_scope
from dashboard.derived import refresh_all
from dashboard.filters import Filters, fiscal_year_label, fiscal_year_start
from dashboard.instruments import score_response
from dashboard.models import (
    COMMUNITIES,
    FIXED_LENGTH_PROGRAMS,
    PROGRAM_TYPES,
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

YEARS = 5
BATCH_ROWS = 10_000
# Network name -> member code prefix (codes like CGY-000123).
NETWORKS = {"Calgary": "CGY", "Edmonton": "EDM"}
GROUPS_PER_SCALE = 40  # scale 1: about 40 groups, which yields about 3,000 men in 5 years
CANCEL_RATE = 0.03
SUMMER_PRESENCE = 0.78  # July-August: a man's chance of coming is multiplied by this
EXCUSED_SHARE = 0.4  # of the sessions a man misses, the share he sends word about
COMPLETION_SHARE = 0.7  # COMPLETION_THRESHOLD's default (dashboard.settings)
# New arrivals per week, as a share of capacity: with a mean stay of about a year this would
# fill an open group's roster past its capacity; arrivals are turned away (wait-listed) once
# the roster reaches ROSTER_LIMIT x capacity, since about a quarter of the roster is away on
# any given evening.
ARRIVALS_PER_WEEK = 1.1 / 40
ROSTER_LIMIT = 1.4
# Intake through the year: September and January starts, quiet summers and Decembers.
SEASON = (1.3, 1.1, 1.0, 1.0, 0.9, 0.8, 0.5, 0.5, 1.4, 1.2, 1.0, 0.7)  # January to December
RETURN_RATE = 0.08  # men who leave and come back months later (a new enrollment)
SECOND_GROUP_RATE = 0.05  # men who stay a while and also join another group
OTHER_NETWORK_SHARE = 0.25  # of those second groups, the share in the other city
PATHWAY_RATE = 0.22  # Well-Being Group graduates who move on to an open group
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
NEIGHBOURHOODS = {  # for readable, unique group names
    "Calgary": "Bowness|Forest Lawn|Marlborough|Beltline|Bridgeland|Ogden|Shawnessy|Saddle Ridge|"
    "Varsity|Inglewood|Huntington Hills|Sunnyside|Evergreen|Temple|Crescent Heights".split("|"),
    "Edmonton": "Beverly|Mill Woods|Strathcona|Oliver|Alberta Avenue|Castle Downs|Clareview|"
    "Bonnie Doon|Westmount|Glenora|Riverdale|Terwillegar|The Meadows|Highlands|Norwood".split("|"),
}
AGE_WEIGHTS = {  # share of men per age band, by program type (default: "*")
    "*": {"18-24": 8, "25-34": 18, "35-44": 25, "45-54": 22, "55-64": 16, "65+": 11},
    "fathers": {"18-24": 10, "25-34": 38, "35-44": 37, "45-54": 12, "55-64": 3, "65+": 0},
    "mens-shed": {"18-24": 2, "25-34": 6, "35-44": 12, "45-54": 20, "55-64": 28, "65+": 32},
}
# Share of men who self-identify with each community (Indigenous: most of a healing circle).
COMMUNITY_RATES = {
    "Indigenous": 0.07,
    "South Asian": 0.07,
    "Latino": 0.03,
    "Black": 0.05,
    "East Asian": 0.05,
    "newcomer": 0.10,
    "GBT2SQ+": 0.05,
}
AGE_MISSING = 0.2  # men who left the age question blank
COMMUNITY_NOT_ASKED = 0.3  # men whose form has no community answer at all


@dataclass(frozen=True)
class _Profile:
    label: str
    weekdays: tuple[int, ...]
    minutes: tuple[int, ...]
    cadences: tuple[int, ...]  # weeks between sessions
    capacity: tuple[int, int]
    summer_pause: float  # chance the group takes July-August off
    baseline_rate: float  # chance a new man fills in the baseline surveys
    relationships_rate: float  # chance the healthy-relationships scale is part of his set


PROFILES = {
    "wellbeing-10": _Profile(
        "Men's Well-Being Group", (0, 1, 2, 3), (120,), (1,), (10, 14), 1.0, 0.85, 0.8
    ),
    "peer-support": _Profile(
        "Peer Support", (0, 1, 2, 3), (90, 120), (1,), (10, 20), 0.2, 0.65, 0.35
    ),
    "mens-shed": _Profile("Men's Shed", (5, 5, 5, 1, 3), (180,), (1,), (12, 20), 0.3, 0.6, 0.3),
    "fathers": _Profile(
        "Fathers' Circle", (1, 2, 3, 5), (90, 120), (1, 2), (10, 16), 0.5, 0.75, 0.8
    ),
    "healing-circle": _Profile(
        "Healing Circle", (0, 1, 2, 3, 4), (120,), (1, 1, 2), (10, 18), 0.4, 0.6, 0.45
    ),
}
DEFAULT_PROFILE = _Profile("Group", (0, 1, 2, 3), (90, 120), (1,), (10, 16), 0.3, 0.65, 0.4)
# The mix of 20 groups a network of scale 1 runs; any program type added to models later is
# appended so that every type has at least one group.
TYPE_MIX = (
    "peer-support wellbeing-10 mens-shed fathers healing-circle peer-support wellbeing-10 "
    "peer-support fathers wellbeing-10 mens-shed peer-support healing-circle wellbeing-10 "
    "peer-support fathers mens-shed wellbeing-10 peer-support healing-circle"
).split()

# Latent model of survey answers, in item units: a man's baseline level, the change by his
# latest wave (scaled by his dose of the program), item difficulties and answer noise.
# SWEMWBS: +0.34 per item ~ +2 metric points on average, SD ~4; UCLA-3 down a little.
SURVEY_MODEL = {
    "swemwbs": {
        "base": 3.0,
        "base_sd": 0.7,
        "delta": 0.34,
        "delta_sd": 0.6,
        "noise": 0.55,
        "offsets": [-0.25, 0.15, -0.35, 0.0, 0.2, -0.1, 0.3],
    },
    "ucla-3": {
        "base": 2.0,
        "base_sd": 0.45,
        "delta": -0.17,
        "delta_sd": 0.35,
        "noise": 0.45,
        "offsets": [0.0, -0.1, 0.05],
    },
    "healthy-relationships": {
        "base": 3.7,
        "base_sd": 0.45,
        "delta": 0.22,
        "delta_sd": 0.35,
        "noise": 0.6,
        "offsets": [-0.2, -0.1, 0.3, -0.3, 0.4, -0.2],
    },
}
SURVEY_INSTRUMENTS = ["swemwbs", "ucla-3", "healthy-relationships"]
# Targets for last and this fiscal year, per network, set as planners set them from the year
# before: last year's within 15% (a rate: 8 points) either side of what it reached, this
# year's of what last year reached; so /planning opens with some targets met and some not.
TARGET_METRICS = (
    "men_reached",
    "new_members",
    "sessions_held",
    "attendance_hours",
    "completion_rate",
)
TARGET_SPREAD = 0.15
RATE_SPREAD = 0.08
UCLA_RATE = 0.8  # share of surveyed men who also fill in the loneliness scale


@dataclass(slots=True)
class _Enrollment:
    id: int
    member_id: int
    group_id: int
    start: dt.date
    until: dt.date  # last day covered (the data's end for enrollments still open)
    enrolled_to: dt.date | None
    status: str | None  # None: decided by attendance (fixed-length programs)
    propensity: float  # chance of coming to a session
    fade: int = 0  # trailing sessions missed before being withdrawn
    dropout: int | None = None  # fixed-length: stops coming after this many sessions


@dataclass(slots=True)
class _Member:
    id: int
    code: str
    network_id: int
    age_band: str | None
    communities: list[str]
    first: _Enrollment | None = None
    first_present: dt.date | None = None
    last_present: dt.date | None = None
    first_group_id: int | None = None


@dataclass(slots=True)
class _Group:
    id: int
    network_id: int
    network: str
    program_type: str
    profile: _Profile
    weekday: int
    cadence: int
    capacity: int
    minutes: int
    summer_pause_from: int | None  # day of July the summer break starts
    holiday_from: int  # day of December the holiday break starts
    holiday_to: int  # day of January it ends
    inherited: bool  # existed before the data starts: begins with a roster
    name: str = ""
    start: dt.date | None = None
    end: dt.date | None = None
    sessions: list[tuple[dt.date, bool]] = field(default_factory=list)
    held: list[dt.date] = field(default_factory=list)
    cycles: list[tuple[dt.date, dt.date]] = field(default_factory=list)
    enrollments: list[_Enrollment] = field(default_factory=list)
    roster: list[dt.date] = field(default_factory=list)  # `until` of enrollments
    cycle_count: dict[int, int] = field(default_factory=dict)

    @property
    def fixed_length(self) -> bool:
        return self.program_type in FIXED_LENGTH_PROGRAMS

    def off(self, day: dt.date) -> bool:
        """No session on this day: the holiday break (or the summer break of open groups)."""
        if (day.month == 12 and day.day >= self.holiday_from) or (
            day.month == 1 and day.day <= self.holiday_to
        ):
            return True
        if self.summer_pause_from is not None and not self.fixed_length:
            return day.month == 8 or (day.month == 7 and day.day >= self.summer_pause_from)
        return False


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _next_weekday(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth), fine for the small rates used here."""
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class _Planner:
    """Groups, their calendars and who is enrolled when: everything but the attendance."""

    def __init__(self, seed: int, scale: float, end: dt.date, networks: dict[str, int]):
        self.seed = seed
        self.rng = random.Random(f"{seed}:plan")
        self.end = end
        self.start = _years_before(end, YEARS) + dt.timedelta(days=1)
        self.scale = scale
        self.networks = networks
        self.groups: list[_Group] = []
        self.groups_by_network: dict[int, list[_Group]] = {nid: [] for nid in networks.values()}
        self.members: list[_Member] = []
        self.n_enrollments = 0
        self.busy: dict[tuple[int, int], dt.date] = {}  # (member, group) -> enrolled until
        self.code_numbers = {nid: 0 for nid in networks.values()}
        self.prefixes = {
            nid: NETWORKS.get(name, name[:3].upper()) for name, nid in networks.items()
        }
        self._queue: list[tuple] = []
        self._seq = 0

    # -- groups --------------------------------------------------------------------------
    def plan_groups(self) -> None:
        mix = TYPE_MIX + [t for t in PROGRAM_TYPES if t not in TYPE_MIX]
        n_types = len(set(mix))
        n_groups = max(n_types, round(GROUPS_PER_SCALE * self.scale))
        names: set[str] = set()
        network_items = list(self.networks.items())
        span = (self.end - self.start).days
        rng = self.rng
        for k in range(n_groups):
            program_type = mix[k % len(mix)]
            # Alternate networks, and swap the pattern on every round of the mix so that
            # both cities get the same kinds of groups.
            net_name, net_id = network_items[(k + k // len(mix)) % len(network_items)]
            profile = PROFILES.get(program_type, DEFAULT_PROFILE)
            group = _Group(
                id=k + 1,
                network_id=net_id,
                network=net_name,
                program_type=program_type,
                profile=profile,
                weekday=rng.choice(profile.weekdays),
                cadence=rng.choice(profile.cadences),
                capacity=rng.randint(*profile.capacity),
                minutes=rng.choice(profile.minutes),
                summer_pause_from=rng.choice((1, 15))
                if rng.random() < profile.summer_pause
                else None,
                holiday_from=rng.randint(17, 22),
                holiday_to=rng.randint(2, 7),
                inherited=False,
            )
            # Most groups run the whole five years; some start later, some close early.
            if k < n_types or rng.random() < 0.7:
                planned_start = self.start + dt.timedelta(days=rng.randint(0, 13))
                group.inherited = not group.fixed_length
            else:
                planned_start = self.start + dt.timedelta(days=rng.randint(90, span - 240))
            planned_end = None
            if k >= n_types and rng.random() < 0.15:
                low = planned_start + dt.timedelta(days=300)
                high = self.end - dt.timedelta(days=30)
                if low < high:
                    planned_end = low + dt.timedelta(days=rng.randint(0, (high - low).days))
            if group.fixed_length:
                self._cycles(group, planned_start, planned_end)
            else:
                self._weekly(group, planned_start, planned_end)
            if not group.sessions:  # too late a start to hold anything: no such group
                continue
            group.held = [day for day, cancelled in group.sessions if not cancelled]
            group.start = group.sessions[0][0]
            group.end = group.sessions[-1][0] if planned_end else None
            group.name = self._name(group, names)
            group.id = len(self.groups) + 1
            self.groups.append(group)
            self.groups_by_network[net_id].append(group)

    def _name(self, group: _Group, taken: set[str]) -> str:
        """A name like "Calgary Peer Support - Tuesday"; a neighbourhood (and number) if taken."""
        base = f"{group.network} {group.profile.label} - {WEEKDAYS[group.weekday]}"
        hoods = list(NEIGHBOURHOODS.get(group.network) or ["North", "South", "East", "West"])
        self.rng.shuffle(hoods)
        candidates = itertools.chain(
            [base],
            (
                f"{base} ({hood}{f' {n}' if n > 1 else ''})"
                for n in itertools.count(1)
                for hood in hoods
            ),
        )
        name = next(name for name in candidates if name not in taken)
        taken.add(name)
        return name

    def _weekly(self, group: _Group, planned_start: dt.date, planned_end: dt.date | None):
        day = _next_weekday(planned_start, group.weekday)
        stop = min(planned_end or self.end, self.end)
        step = dt.timedelta(weeks=group.cadence)
        while day <= stop:
            if not group.off(day):
                group.sessions.append((day, self.rng.random() < CANCEL_RATE))
            day += step

    def _cycles(self, group: _Group, planned_start: dt.date, planned_end: dt.date | None):
        """Ten weekly sessions a cycle, two to six weeks apart, none starting in summer."""
        sessions_per_cycle = FIXED_LENGTH_PROGRAMS[group.program_type]
        day = _next_weekday(planned_start, group.weekday)
        week = dt.timedelta(weeks=1)
        while day <= min(planned_end or self.end, self.end):
            if (day.month == 5 and day.day >= 8) or day.month in (6, 7, 8):
                september = dt.date(day.year, 9, 1) + dt.timedelta(days=self.rng.randint(0, 13))
                day = _next_weekday(september, group.weekday)
                continue
            if group.off(day):
                day += week
                continue
            dates, cursor = [], day
            while len(dates) < sessions_per_cycle:
                if not group.off(cursor):
                    dates.append(cursor)
                cursor += week
            if planned_end and dates[-1] > planned_end:
                break
            group.cycles.append((dates[0], dates[-1]))
            group.sessions.extend(
                (d, self.rng.random() < CANCEL_RATE) for d in dates if d <= self.end
            )
            day = dates[-1] + week * self.rng.randint(3, 7)

    # -- men and enrollments -------------------------------------------------------------
    def _push(self, day: dt.date, priority: int, kind: str, *args) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (day, priority, self._seq, kind, args))

    def plan_enrollments(self) -> None:
        for group in self.groups:
            if group.fixed_length:
                for index, (first, _last) in enumerate(group.cycles):
                    if first <= self.end:
                        self._push(first, 1, "cycle", group, index)
            else:
                for index, day in enumerate(group.held):
                    self._push(day, 1, "arrivals", group, index)
        while self._queue:
            day, _priority, _seq, kind, args = heapq.heappop(self._queue)
            getattr(self, "_on_" + kind)(day, *args)

    def _on_arrivals(self, day: dt.date, group: _Group, index: int) -> None:
        rng = self.rng
        group.roster = [until for until in group.roster if until >= day]
        inherited = group.inherited and index == 0
        if inherited:  # the men who were already coming when the records start
            wanted = round(group.capacity * rng.uniform(0.55, 0.85))
        else:
            years = (day - self.start).days / 365.25
            trend = 0.85 + 0.3 * years / YEARS  # the network grows
            rate = (
                group.capacity * ARRIVALS_PER_WEEK * group.cadence * SEASON[day.month - 1] * trend
            )
            wanted = _poisson(rng, rate)
        for _ in range(min(wanted, round(ROSTER_LIMIT * group.capacity) - len(group.roster))):
            member = self._new_member(group)
            self._enroll_open(member, group, day, inherited)

    def _on_cycle(self, day: dt.date, group: _Group, index: int) -> None:
        wanted = sum(self.rng.random() < 0.78 for _ in range(group.capacity))
        for _ in range(max(0, wanted - group.cycle_count.get(index, 0))):
            self._enroll_cycle(self._new_member(group), group, index)

    def _on_join(
        self,
        day: dt.date,
        member: _Member,
        group: _Group | None,
        network_id: int,
        exclude: int,
        open_only: bool,
    ) -> None:
        """A known man (re)joins a group: a given one, or one of a network's."""
        if group is None:
            group = self._pick_group(day, member, network_id, exclude, open_only)
            if group is None:
                return
        if self.busy.get((member.id, group.id), dt.date.min) >= day:
            return
        if group.fixed_length:
            starts = [first for first, _last in group.cycles]
            index = bisect.bisect_left(starts, day)
            if index < len(starts) and starts[index] <= self.end:
                self._push(starts[index], 0, "join_cycle", member, group, index)
            return
        index = bisect.bisect_left(group.held, day)
        if index == len(group.held):
            return
        if group.held[index] > day:
            self._push(group.held[index], 0, "join", member, group, network_id, exclude, open_only)
            return
        group.roster = [until for until in group.roster if until >= day]
        self._enroll_open(member, group, day, False)

    def _on_join_cycle(self, day: dt.date, member: _Member, group: _Group, index: int) -> None:
        if self.busy.get((member.id, group.id), dt.date.min) < day:
            self._enroll_cycle(member, group, index)

    def _pick_group(
        self, day: dt.date, member: _Member, network_id: int, exclude: int, open_only: bool
    ) -> _Group | None:
        candidates = self.groups_by_network[network_id]
        soon = day + dt.timedelta(days=28)  # started, or about to, and not about to close
        for _ in range(25):  # a few random tries rather than a scan of every group
            group = self.rng.choice(candidates)
            if (
                group.id != exclude
                and not (open_only and group.fixed_length)
                and group.held
                and group.held[0] <= soon <= group.held[-1]
                and self.busy.get((member.id, group.id), dt.date.min) < day
            ):
                return group
        return None

    def _new_member(self, group: _Group) -> _Member:
        rng = self.rng
        age_band = None
        if rng.random() >= AGE_MISSING:
            weights = AGE_WEIGHTS.get(group.program_type, AGE_WEIGHTS["*"])
            age_band = rng.choices(list(weights), weights=list(weights.values()))[0]
        communities = []
        for community in COMMUNITIES:
            rate = COMMUNITY_RATES.get(community, 0.03)
            if community == "Indigenous" and group.program_type == "healing-circle":
                rate = 0.85
            if rng.random() < rate:
                communities.append(community)
        if rng.random() < COMMUNITY_NOT_ASKED:
            communities = []
        self.code_numbers[group.network_id] += 1
        code = f"{self.prefixes[group.network_id]}-{self.code_numbers[group.network_id]:06d}"
        member = _Member(
            id=len(self.members) + 1,
            code=code,
            network_id=group.network_id,
            age_band=age_band,
            communities=communities,
        )
        self.members.append(member)
        return member

    def _add(self, member: _Member, group: _Group, enrollment: _Enrollment) -> None:
        group.enrollments.append(enrollment)
        group.roster.append(enrollment.until)
        self.busy[(member.id, group.id)] = (
            dt.date.max if enrollment.enrolled_to is None else enrollment.until
        )
        if member.first is None:
            member.first = enrollment

    def _enroll_open(self, member: _Member, group: _Group, day: dt.date, inherited: bool):
        """Enroll a man in an open group from `day` (a session held) for as long as he stays."""
        rng = self.rng
        # How long men stay: many try a session or a few and leave within the month; the
        # others follow a Weibull curve with a long tail of a year or more.
        if not inherited and rng.random() < 0.3:
            sessions = 1
            while sessions < 4 and rng.random() < 0.55:
                sessions += 1
            stay = 7 * group.cadence * (sessions - 1)
        else:
            stay = (0 if inherited else 28) + round(7 * rng.weibullvariate(75, 0.8))
        until = day + dt.timedelta(days=stay)
        if group.end is None and until > self.end:
            enrolled_to, status, until = None, "active", self.end
        elif group.end is not None and until >= group.end:
            enrolled_to, status, until = group.held[-1], "completed", group.end
        else:
            enrolled_to = group.held[bisect.bisect_right(group.held, until) - 1]
            until = enrolled_to
            moved_on = (enrolled_to - day).days >= 182 and rng.random() < 0.4
            status = "completed" if moved_on else "withdrawn"
        attended = bisect.bisect_right(group.held, until) - bisect.bisect_left(group.held, day)
        fade = rng.choice((0, 0, 1, 1, 2)) if status == "withdrawn" and attended >= 5 else 0
        self.n_enrollments += 1
        enrollment = _Enrollment(
            self.n_enrollments,
            member.id,
            group.id,
            day,
            until,
            enrolled_to,
            status,
            rng.betavariate(7.4, 2.6),
            fade,
        )
        self._add(member, group, enrollment)
        if enrolled_to is not None and rng.random() < RETURN_RATE:
            back = enrolled_to + dt.timedelta(weeks=rng.randint(8, 78))
            if back <= self.end:
                target = group if rng.random() < 0.7 else None
                self._push(back, 0, "join", member, target, group.network_id, group.id, False)
        if (
            enrolled_to is None or (enrolled_to - day).days >= 56
        ) and rng.random() < SECOND_GROUP_RATE:
            known = (until - day).days
            when = day + dt.timedelta(days=rng.randint(14, max(14, min(known, 365))))
            network_id = group.network_id
            if len(self.networks) > 1 and rng.random() < OTHER_NETWORK_SHARE:
                others = [nid for nid in self.groups_by_network if nid != network_id]
                network_id = rng.choice(others)
            if when <= self.end:
                self._push(when, 0, "join", member, None, network_id, group.id, False)

    def _enroll_cycle(self, member: _Member, group: _Group, index: int) -> None:
        """Enroll a man in one cycle of a fixed-length program, first to last session."""
        rng = self.rng
        first, last = group.cycles[index]
        group.cycle_count[index] = group.cycle_count.get(index, 0) + 1
        enrolled_to = last if last <= self.end else None
        dropout = rng.randint(1, 6) if rng.random() < 0.28 else None
        self.n_enrollments += 1
        enrollment = _Enrollment(
            self.n_enrollments,
            member.id,
            group.id,
            first,
            min(last, self.end),
            enrolled_to,
            None if enrolled_to else "active",
            rng.betavariate(8.5, 1.8),
            dropout=dropout,
        )
        self._add(member, group, enrollment)
        if enrolled_to is None:
            return
        if dropout is None and rng.random() < PATHWAY_RATE:
            when = last + dt.timedelta(days=rng.randint(7, 42))
            if when <= self.end:
                self._push(when, 0, "join", member, None, group.network_id, group.id, True)
        elif dropout is not None and rng.random() < 0.12:  # tries the program again later
            when = last + dt.timedelta(weeks=rng.randint(8, 52))
            if when <= self.end:
                self._push(when, 0, "join", member, group, group.network_id, group.id, False)


class _Writer:
    """Buffers rows per table and inserts them in batches, parents before children."""

    ORDER = [
        "network",
        "group",
        "member",
        "member_community",
        "session",
        "enrollment",
        "attendance",
        "survey_response",
    ]

    def __init__(self, conn: Connection):
        self.conn = conn
        self.tables = {
            table.name: table
            for table in (
                Network.__table__,
                Group.__table__,
                Member.__table__,
                MemberCommunity.__table__,
                GroupSession.__table__,
                Enrollment.__table__,
                Attendance.__table__,
                SurveyResponse.__table__,
            )
        }
        self.buffers: dict[str, list[dict]] = {name: [] for name in self.ORDER}
        self.counts = dict.fromkeys(self.ORDER, 0)

    def add(self, table: str, row: dict) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        for name in self.ORDER:
            rows = self.buffers[name]
            if rows:
                self.conn.execute(insert(self.tables[name]), rows)
                self.counts[name] += len(rows)
                self.buffers[name] = []


def _check_empty(conn: Connection) -> None:
    for model, what in ((Member, "members"), (Group, "groups")):
        if conn.scalar(select(func.count()).select_from(model)):
            raise ValueError(
                f"the database already has {what}: demo data is only generated "
                "into an empty database"
            )


def _networks(conn: Connection, writer: _Writer) -> dict[str, int]:
    """Ids of the demo networks, creating the ones not there yet."""
    existing = dict(conn.execute(select(Network.name, Network.id)).all())
    next_id = max(existing.values(), default=0) + 1
    ids = {}
    for name in NETWORKS:
        if name not in existing:
            existing[name] = next_id
            writer.add("network", {"id": next_id, "name": name})
            next_id += 1
        ids[name] = existing[name]
    return ids


def _instruments(conn: Connection) -> dict[str, dict]:
    rows = conn.execute(select(Instrument).where(Instrument.id.in_(SURVEY_INSTRUMENTS)))
    found = {row.id: dict(row._mapping) for row in rows}
    missing = [name for name in SURVEY_INSTRUMENTS if name not in found]
    if missing:
        raise ValueError(f"instrument(s) {', '.join(missing)} not loaded: run init-db first")
    return found


def _write_plan(plan: _Planner, writer: _Writer) -> None:
    for group in plan.groups:
        writer.add(
            "group",
            {
                "id": group.id,
                "network_id": group.network_id,
                "name": group.name,
                "program_type": group.program_type,
                "start_date": group.start,
                "end_date": group.end,
                "weekday": group.weekday,
                "capacity": group.capacity,
                "session_minutes": group.minutes,
            },
        )
    # Record keys from their own seeded stream: the same seed gives the same keys (and so the
    # same protected figures), without changing any other draw.
    keys = random.Random(f"{plan.seed}:record-keys")
    for member in plan.members:
        writer.add(
            "member",
            {
                "id": member.id,
                "code": member.code,
                "home_network_id": member.network_id,
                "age_band": member.age_band,
                "first_present": None,
                "last_present": None,
                "first_group_id": None,
                "record_key": 1 + keys.randrange(KEY_SPACE - 1),
            },
        )
        for community in member.communities:
            writer.add("member_community", {"member_id": member.id, "community": community})
    writer.flush()


def _write_attendance(
    plan: _Planner, writer: _Writer, seed: int, say: Callable[[str], None]
) -> None:
    """Sessions, attendance and enrollments, group by group; tracks each man's spans."""
    rng = random.Random(f"{seed}:attendance")
    members = plan.members
    session_id = 0
    for number, group in enumerate(plan.groups, 1):
        held_ids = []
        for day, cancelled in group.sessions:
            session_id += 1
            minutes = group.minutes
            if not cancelled and minutes > 90 and rng.random() < 0.05:
                minutes -= 30  # cut short now and then
            writer.add(
                "session",
                {
                    "id": session_id,
                    "group_id": group.id,
                    "date": day,
                    "duration_minutes": minutes,
                    "cancelled": cancelled,
                },
            )
            if not cancelled:
                held_ids.append(session_id)
        held = group.held
        for enrollment in group.enrollments:
            low = bisect.bisect_left(held, enrollment.start)
            high = bisect.bisect_right(held, enrollment.until)
            member = members[enrollment.member_id - 1]
            n_sessions, presents = high - low, 0
            for j in range(n_sessions):
                day = held[low + j]
                if j == 0:  # a man joins by turning up
                    status = "present"
                elif (
                    enrollment.dropout is not None and j >= enrollment.dropout
                ) or j >= n_sessions - enrollment.fade:
                    status = "excused" if rng.random() < 0.15 else "absent"
                else:
                    chance = enrollment.propensity
                    if day.month in (7, 8):
                        chance *= SUMMER_PRESENCE
                    draw = rng.random()
                    if draw < chance:
                        status = "present"
                    elif draw < chance + (1 - chance) * EXCUSED_SHARE:
                        status = "excused"
                    else:
                        status = "absent"
                writer.add(
                    "attendance",
                    {"session_id": held_ids[low + j], "member_id": member.id, "status": status},
                )
                if status == "present":
                    presents += 1
                    if member.first_present is None or day < member.first_present:
                        member.first_present, member.first_group_id = day, group.id
                    elif day == member.first_present and group.id < member.first_group_id:
                        member.first_group_id = group.id
                    if member.last_present is None or day > member.last_present:
                        member.last_present = day
            if enrollment.status is None:  # fixed-length: completed by attendance
                needed = math.ceil(COMPLETION_SHARE * n_sessions - 1e-9)
                enrollment.status = (
                    "completed" if n_sessions and presents >= needed else "withdrawn"
                )
            writer.add(
                "enrollment",
                {
                    "id": enrollment.id,
                    "member_id": enrollment.member_id,
                    "group_id": enrollment.group_id,
                    "enrolled_from": enrollment.start,
                    "enrolled_to": enrollment.enrolled_to,
                    "status": enrollment.status,
                },
            )
        if number % 50 == 0:
            say(
                f"attendance: {number}/{len(plan.groups)} groups, "
                f"{writer.counts['attendance'] + len(writer.buffers['attendance']):,} rows"
            )
    writer.flush()


def _answers(rng: random.Random, instrument: dict, model: dict, level: float) -> list:
    low, high = instrument["min_answer"], instrument["max_answer"]
    reverse = set(instrument["reverse_items"] or [])
    answers: list[int | None] = []
    for item, offset in enumerate(model["offsets"][: len(instrument["items"])], 1):
        value = level + offset + rng.gauss(0, model["noise"])
        if item in reverse:
            value = low + high - value
        answers.append(min(high, max(low, math.floor(value + 0.5))))
    while len(answers) < len(instrument["items"]):  # more items than the model knows
        answers.append(min(high, max(low, math.floor(level + 0.5))))
    draw = rng.random()
    for _ in range(2 if draw < 0.015 else 1 if draw < 0.075 else 0):
        answers[rng.randrange(len(answers))] = None
    return answers


def _write_surveys(
    plan: _Planner, writer: _Writer, seed: int, instruments: dict[str, dict]
) -> None:
    """Baseline near a man's first session; exit, mid and follow-up for some who stayed."""
    rng = random.Random(f"{seed}:surveys")
    groups = {group.id: group for group in plan.groups}
    end = plan.end
    response_id = 0
    for member in plan.members:
        first = member.first
        if first is None or member.first_present is None:
            continue
        group = groups[first.group_id]
        profile = group.profile
        start = member.first_present
        baseline = rng.random() < profile.baseline_rate
        later, dose = None, 1.0
        if group.fixed_length:
            if first.status == "completed" and rng.random() < 0.85:
                later, dose = first.enrolled_to + dt.timedelta(days=rng.randint(0, 7)), 1.2
            elif first.status == "withdrawn" and rng.random() < 0.15:
                later, dose = first.enrolled_to, 0.4
        else:
            stayed_to = first.enrolled_to or end
            if (stayed_to - start).days >= 84 and rng.random() < 0.65:
                later = start + dt.timedelta(days=84 + rng.randint(-7, 14))
                dose = 0.6 + 0.6 * min((stayed_to - start).days / 7, 52) / 52
        if later is not None and (later > end or (not baseline and rng.random() < 0.6)):
            later = None
        if not baseline and later is None:
            continue
        waves = []
        if baseline:
            lag = 0 if rng.random() < 0.6 else rng.randint(1, 14)
            waves.append(("baseline", min(end, start + dt.timedelta(days=lag)), 0.0))
        if later is not None:
            if rng.random() < 0.12:
                waves.append(("mid", start + (later - start) / 2, 0.5))
            waves.append(("exit", later, 1.0))
            follow_up = later + dt.timedelta(days=rng.randint(90, 180))
            if rng.random() < 0.4 and follow_up <= end:
                waves.append(("follow-up", follow_up, rng.uniform(0.5, 1.3)))
        chosen = ["swemwbs"]
        if rng.random() < UCLA_RATE:
            chosen.append("ucla-3")
        if rng.random() < profile.relationships_rate:
            chosen.append("healthy-relationships")
        for instrument_id in chosen:
            model, instrument = SURVEY_MODEL[instrument_id], instruments[instrument_id]
            level = rng.gauss(model["base"], model["base_sd"])
            change = rng.gauss(model["delta"] * dose, model["delta_sd"])
            for wave, day, share in waves:
                if wave != "baseline" and rng.random() < 0.04:
                    continue  # skipped this questionnaire this time
                answers = _answers(rng, instrument, model, level + change * share)
                response_id += 1
                writer.add(
                    "survey_response",
                    {
                        "id": response_id,
                        "member_id": member.id,
                        "instrument_id": instrument_id,
                        "date": day,
                        "wave": wave,
                        "answers": answers,
                        "score": score_response(answers, instrument),
                    },
                )
    writer.flush()


def _write_spans(conn: Connection, plan: _Planner) -> None:
    table = Member.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            first_present=bindparam("b_first"),
            last_present=bindparam("b_last"),
            first_group_id=bindparam("b_group"),
        )
    )
    rows = [
        {
            "b_id": m.id,
            "b_first": m.first_present,
            "b_last": m.last_present,
            "b_group": m.first_group_id,
        }
        for m in plan.members
        if m.first_present
    ]
    for start in range(0, len(rows), BATCH_ROWS):
        conn.execute(statement, rows[start : start + BATCH_ROWS])


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: move the id sequences past the ids set here, for rows added later; the
    targets' (written next, into an empty table) back to 1, as SQLite numbers them, so the same
    seed gives the same rows whatever the database held before."""
    if conn.dialect.name != "postgresql":
        return
    tables = ("network", "group", "member", "enrollment", "session", "survey_response", "target")
    for table in tables:
        quoted = f'"{table}"'
        top = conn.scalar(text(f"SELECT MAX(id) FROM {quoted}"))
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, :called)"),
            {"t": quoted, "v": max(top or 0, 1), "called": bool(top)},
        )


def seed_demo(
    engine: Engine,
    seed: int = 42,
    scale: float = 1.0,
    end: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Generate synthetic demo data into an initialised, empty database; return row counts.

    The data covers the five years up to `end` (default today) in the networks Calgary and
    Edmonton; `scale` 1 is about 40 groups and 3,000 men, and the number of groups (and so
    of men) grows with it. The same seed, scale and end give the same rows. Raises
    ValueError when the database already has members or groups, or when scale <= 0.
    `progress` receives a short message now and then. Returns rows inserted per table.
    """
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int | float)
        or not math.isfinite(scale)
        or scale <= 0
    ):
        raise ValueError(f"scale must be a number greater than 0, not {scale!r}")
    if end is None:
        end = dt.date.today()
    elif isinstance(end, dt.datetime):
        end = end.date()
    say = progress or (lambda _message: None)
    with session_scope(engine) as session:
        conn = session.connection()
        _check_empty(conn)
        instruments = _instruments(conn)
        writer = _Writer(conn)
        networks = _networks(conn, writer)
        say(
            f"planning groups and members (seed {seed}, scale {scale:g}, "
            f"{_years_before(end, YEARS) + dt.timedelta(days=1)} to {end})"
        )
        plan = _Planner(seed, scale, end, networks)
        plan.plan_groups()
        plan.plan_enrollments()
        say(
            f"{len(plan.groups):,} groups, {len(plan.members):,} members, "
            f"{plan.n_enrollments:,} enrollments planned"
        )
        _write_plan(plan, writer)
        _write_attendance(plan, writer, seed, say)
        say(f"{writer.counts['attendance']:,} attendance rows; writing survey responses")
        _write_surveys(plan, writer, seed, instruments)
        say(f"{writer.counts['survey_response']:,} survey responses; member spans")
        _write_spans(conn, plan)
        _reset_sequences(conn)
        say("summaries of attendance and survey pairs")
        refresh_all(conn)
        say("targets for last and this fiscal year")
        counts = {**writer.counts, "target": seed_targets(session, seed, end)}
        bump_data_version(session)
    refresh_statistics(engine)
    say("demo data committed")
    return counts


def _round_target(value: float) -> float:
    """A target as people set them: two significant figures, to the nearest half step
    (12,345 -> 12,500; 87 -> 87)."""
    step = max(1, 10 ** (len(str(int(value))) - 2) // 2)
    return float(round(value / step) * step)


def seed_targets(session: Session, seed: int, end: dt.date) -> int:
    """Targets for the fiscal year holding `end` and the one before, per network, near what
    the demo data reach there; the same seed and data give the same targets. Returns how
    many were set."""
    rng = random.Random(f"{seed}:targets")
    this_year = fiscal_year_start(end)
    labels = [
        fiscal_year_label(this_year.replace(year=this_year.year - 1)),
        fiscal_year_label(this_year),
    ]
    conn = session.connection()
    before: dict[tuple[str, str], float] = {}  # (network, metric) -> what last year reached
    count = 0
    for label in labels:
        start, stop = targets.parse_period(label)
        actuals = targets.network_actuals(
            conn, Filters(start=start, end=min(stop, end)), COMPLETION_SHARE
        )
        for network in NETWORKS:
            figures = actuals.get(network, {})
            for metric in TARGET_METRICS:
                actual = figures.get(metric)
                if actual is None:
                    continue
                # This year: from last year's figure; without one, from this year's pace.
                pace = targets.project(actual, targets.metric_kind(metric), start, stop, end)
                reference = before.get((network, metric), pace if pace is not None else actual)
                before[(network, metric)] = actual
                # Away from the reference by at least a point (2% of a count), so that a
                # target never reads the same as the figure it was set from.
                sign = rng.choice((-1, 1))
                if targets.metric_kind(metric) == "rate":
                    value = round(reference + sign * rng.uniform(0.01, RATE_SPREAD), 2)
                    value = min(max(value, 0.05), 0.95)
                elif reference:
                    spread = 1 + sign * rng.uniform(0.02, TARGET_SPREAD)
                    value = _round_target(reference * spread)
                else:
                    continue
                targets.set_target(session, network, metric, label, value)
                count += 1
    return count
