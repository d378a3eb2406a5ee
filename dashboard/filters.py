"""The one filter model: parsed from and written to the URL query string, in one place."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlencode

from dashboard.models import AGE_BANDS, PROGRAM_TYPES
from dashboard.wording import with_article

GRAINS = ["week", "month", "quarter"]
PRESETS = {
    "last-90-days": "Last 90 days",
    "fy-to-date": "This fiscal year to date",
    "this-fy": "This fiscal year",
    "last-fy": "Last fiscal year",
    "this-quarter": "This quarter",
    "last-quarter": "Last quarter",
    "all": "All time",
}
DEFAULT_PRESET = "last-fy"
# Far wider than any data the network will hold; clamping to it keeps date arithmetic
# (the previous period, weekly series) from overflowing or running for minutes.
EARLIEST = dt.date(1990, 1, 1)
LATEST = dt.date(2100, 12, 31)
# Someone can pick a few dozen groups by hand; more values than this in one filter is a
# crafted URL, and each value costs a query parameter (PostgreSQL takes at most 65,535).
MAX_FILTER_VALUES = 200
MAX_VALUE_CHARS = 200
VALUE_FIELDS = ("networks", "groups", "program_types", "age_bands", "communities")


class FilterError(ValueError):
    """Filters that no control of the app could produce (answered 400 with this reason)."""


def check_values(name: str, values: tuple) -> None:
    """Raise FilterError for too many values, or one that isn't short plain text."""
    if len(values) > MAX_FILTER_VALUES:
        raise FilterError(
            f"too many values for the {name} filter ({len(values)}; at most "
            f"{MAX_FILTER_VALUES}): leave it empty to include all"
        )
    for value in values:
        if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
            raise FilterError(
                f"{with_article(name)} filter value must be text of at most 200 characters"
            )
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise FilterError(f"{with_article(name)} filter value holds a control character")


# Each role opens on the period it works in (SPEC §5): coordinators (and admins, who import
# and check data the same way) on the fiscal year to date, leadership on the fiscal year it
# plans; funders keep DEFAULT_PRESET (they see releases, not the filter bar).
ROLE_PRESETS = {"coordinator": "fy-to-date", "admin": "fy-to-date", "leadership": "this-fy"}


def default_preset(role: str | None) -> str:
    """The period a role's pages open on when the URL names none."""
    return ROLE_PRESETS.get(role or "", DEFAULT_PRESET)


def fiscal_year_start(day: dt.date) -> dt.date:
    """1 April of the fiscal year (April-March) that holds `day`."""
    return dt.date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def fiscal_year_label(start: dt.date) -> str:
    """FY2025-26 for the year starting 2025-04-01."""
    return f"FY{start.year}-{(start.year + 1) % 100:02d}"


def quarter_start(day: dt.date) -> dt.date:
    """First day of the calendar quarter holding `day`."""
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def preset_range(
    preset: str, today: dt.date, data_start: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """The date range of a period preset, relative to `today`."""
    if preset == "last-90-days":
        return today - dt.timedelta(days=89), today
    if preset == "fy-to-date":
        return fiscal_year_start(today), today
    if preset == "this-fy":
        start = fiscal_year_start(today)
        return start, dt.date(start.year + 1, 3, 31)
    if preset == "last-fy":
        start = fiscal_year_start(today)
        return dt.date(start.year - 1, 4, 1), dt.date(start.year, 3, 31)
    if preset in ("this-quarter", "last-quarter"):
        start = quarter_start(today)
        if preset == "last-quarter":
            start = quarter_start(start - dt.timedelta(days=1))
        end_month = start.month + 2
        end = dt.date(start.year + (end_month > 12), (end_month - 1) % 12 + 1, 1)
        next_start = dt.date(end.year + (end.month == 12), end.month % 12 + 1, 1)
        return start, next_start - dt.timedelta(days=1)
    if preset == "all":
        return data_start or dt.date(2000, 1, 1), today
    raise ValueError(f"unknown period preset {preset!r}")


@dataclass(frozen=True)
class Filters:
    """What the user selected; an empty tuple means "all"."""

    start: dt.date
    end: dt.date
    networks: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    program_types: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    grain: str = "month"
    preset: str | None = None

    def __post_init__(self) -> None:
        for name in VALUE_FIELDS:
            check_values(name.replace("_", " "), getattr(self, name))
        # Frozen, so set through object: the clamp belongs to every way filters are made.
        object.__setattr__(self, "start", min(max(self.start, EARLIEST), LATEST))
        object.__setattr__(self, "end", min(max(self.end, EARLIEST), LATEST))
        if self.start > self.end:
            raise ValueError(f"period starts {self.start} after it ends {self.end}")
        if self.grain not in GRAINS:
            raise ValueError(f"grain must be one of {', '.join(GRAINS)}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of the same length just before this one."""
        end = self.start - dt.timedelta(days=1)
        return replace(self, start=end - dt.timedelta(days=self.days - 1), end=end, preset=None)

    def key(self) -> tuple:
        """A hashable identity for caching."""
        return (
            self.start,
            self.end,
            self.networks,
            self.groups,
            self.program_types,
            self.age_bands,
            self.communities,
            self.grain,
        )

    def to_query(self) -> str:
        """The URL query string (without '?') that parses back to these filters."""
        pairs: list[tuple[str, str]] = []
        if self.preset:
            pairs.append(("period", self.preset))
        else:
            pairs += [("from", self.start.isoformat()), ("to", self.end.isoformat())]
        for key, values in (
            ("network", self.networks),
            ("group", self.groups),
            ("program", self.program_types),
            ("age", self.age_bands),
            ("community", self.communities),
        ):
            pairs += [(key, v) for v in values]
        if self.grain != "month":
            pairs.append(("grain", self.grain))
        return urlencode(pairs)

    @classmethod
    def from_query(
        cls,
        query: str | None,
        today: dt.date,
        data_start: dt.date | None = None,
        default: str = DEFAULT_PRESET,
    ) -> Filters:
        """Parse a query string; unknown or malformed values fall back to defaults (the period
        to the preset `default`: explicit dates or a known preset in the query win).

        FilterError when it holds what no control could produce (a control character, a
        filter with hundreds of values)."""
        if query is not None and not isinstance(query, str):
            raise FilterError("the filters must be a URL query string")
        args = parse_qs((query or "").lstrip("?"), keep_blank_values=False)

        def many(key: str, allowed: list[str] | None = None) -> tuple[str, ...]:
            values = [v for v in args.get(key, []) if v]
            check_values(key, tuple(values))
            if allowed is not None:
                values = [v for v in values if v in allowed]
            return tuple(dict.fromkeys(values))

        preset = (args.get("period") or [None])[0]
        start = end = None
        if "from" in args and "to" in args and not preset:
            try:
                start = dt.date.fromisoformat(args["from"][0])
                end = dt.date.fromisoformat(args["to"][0])
            except ValueError:
                start = end = None
            if start and end and start > end:
                start, end = end, start
        if start is None:
            preset = preset if preset in PRESETS else default
            start, end = preset_range(preset, today, data_start)
        else:
            preset = None
        grain = (args.get("grain") or ["month"])[0]
        return cls(
            start=start,
            end=end,
            networks=many("network"),
            groups=many("group"),
            program_types=many("program", PROGRAM_TYPES),
            age_bands=many("age", AGE_BANDS),
            communities=many("community"),
            grain=grain if grain in GRAINS else "month",
            preset=preset,
        )
