"""Targets (SPEC §2): fiscal periods, set/edit/delete, the actuals they are held against, and
actual against target with a projection to the period's end at the current pace.

A target's figure is a catalogue figure (dashboard/catalogue.py): its label and whether it is a
rate (a share or survival point, never projected) or a count come from there.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pandas as pd
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from dashboard import catalogue, metrics, queries
from dashboard.cellkey import key_column
from dashboard.filters import Filters, fiscal_year_label, fiscal_year_start
from dashboard.models import Network, Target

# The figures a target can be set for (catalogue keys), in the order lists show them.
METRICS: tuple[str, ...] = (
    "men_reached",
    "new_members",
    "sessions_held",
    "attendance_hours",
    "retention_12w",
    "completion_rate",
)
COMBINED = "Combined"  # a target whose network is null: both networks together


def metric_kind(metric: str) -> str:
    """ "rate" for a share or survival point (a target between 0 and 100%, no pace to project),
    "count" for the rest (projected to the period's end)."""
    rates = (catalogue.SHARE, catalogue.SURVIVAL)
    return "rate" if catalogue.figure(metric).kind in rates else "count"


_PERIOD = re.compile(r"^FY(\d{4})-(\d{2})(?:-Q([1-4]))?$")


class TargetError(ValueError):
    """A target that can't be stored, with a message for the person who typed it."""


# --- Fiscal periods: FY2025-26 = 2025-04-01..2026-03-31; Q1 = April-June ---


def parse_period(label: str) -> tuple[dt.date, dt.date]:
    """FY2025-26 or FY2025-26-Q1 -> (first day, last day); ValueError on any other form."""
    match = _PERIOD.match((label or "").strip().upper())
    if not match:
        raise ValueError(f"not a period like FY2025-26 or FY2025-26-Q1: {label!r}")
    year = int(match[1])
    if int(match[2]) != (year + 1) % 100:
        raise ValueError(f"fiscal year {label!r} must span two consecutive years")
    if not match[3]:
        return dt.date(year, 4, 1), dt.date(year + 1, 3, 31)
    month = 4 + 3 * (int(match[3]) - 1)  # 4, 7, 10, 13 (= January of the next year)
    start = dt.date(year + (month > 12), (month - 1) % 12 + 1, 1)
    after = dt.date(start.year + (start.month + 3 > 12), (start.month + 2) % 12 + 1, 1)
    return start, after - dt.timedelta(days=1)


def normalise_period(label: str) -> str:
    """The canonical spelling of a period (upper case); ValueError when it isn't one."""
    parse_period(label)
    return label.strip().upper()


def period_label(start: dt.date, end: dt.date) -> str | None:
    """FY2025-26 or FY2025-26-Q2 when the dates are exactly that period, else None."""
    fy = fiscal_year_label(fiscal_year_start(start))
    for label in (fy, *(f"{fy}-Q{q}" for q in range(1, 5))):
        if parse_period(label) == (start, end):
            return label
    return None


def fiscal_years(first: dt.date, last: dt.date) -> list[str]:
    """FY labels from the one holding `first` to the one holding `last`, oldest first."""
    start, stop = fiscal_year_start(first).year, fiscal_year_start(last).year
    return [fiscal_year_label(dt.date(year, 4, 1)) for year in range(start, stop + 1)]


def quarters(fiscal_year: str) -> list[str]:
    return [f"{normalise_period(fiscal_year)[:9]}-Q{q}" for q in range(1, 5)]


def quarter_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The fiscal quarter holding `day` (Q1 = April-June)."""
    fy = fiscal_year_label(fiscal_year_start(day))
    return parse_period(f"{fy}-Q{(day.month - 4) % 12 // 3 + 1}")


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The fiscal year or quarter before an exact one; otherwise the same length just before."""
    label = period_label(start, end)
    before = start - dt.timedelta(days=1)
    if label and len(label) == len("FY2025-26"):
        return parse_period(fiscal_year_label(fiscal_year_start(before)))
    if label:
        return quarter_of(before)
    return before - dt.timedelta(days=(end - start).days), before


# --- Storing targets ---


def _network_id(session: Session, network: str | None) -> int | None:
    if network in (None, "", COMBINED):
        return None
    found = session.scalar(select(Network.id).where(Network.name == network))
    if found is None:
        raise TargetError(f"unknown network {network!r}")
    return found


def _find(session: Session, network_id: int | None, metric: str, period: str) -> Target | None:
    network = Target.network_id.is_(None) if network_id is None else Target.network_id == network_id
    return session.scalar(
        select(Target).where(network, Target.metric == metric, Target.period == period)
    )


def check_target(metric: str, period: str, value) -> tuple[str, float]:
    """The period's canonical label and the value as a number; TargetError when wrong."""
    if metric not in METRICS:
        raise TargetError(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
    try:
        period = normalise_period(period)
    except ValueError as exc:
        raise TargetError(str(exc)) from None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TargetError(f"the target must be a number, not {value!r}") from None
    if number != number or number < 0:  # NaN or negative
        raise TargetError("the target must be zero or more")
    if metric_kind(metric) == "rate" and number > 1:
        raise TargetError(f"{catalogue.label(metric)} is a share: give it between 0 and 100%")
    return period, number


def set_target(session: Session, network: str | None, metric: str, period: str, value) -> Target:
    """Create or change the target of a network (None = combined), metric and period."""
    period, number = check_target(metric, period, value)
    network_id = _network_id(session, network)
    target = _find(session, network_id, metric, period)
    if target is None:
        target = Target(network_id=network_id, metric=metric, period=period, value=number)
        session.add(target)
    else:
        target.value = number
    session.flush()
    return target


def delete_target(session: Session, network: str | None, metric: str, period: str) -> bool:
    """Remove a target; False when there was none."""
    try:
        period = normalise_period(period)
    except ValueError as exc:
        raise TargetError(str(exc)) from None
    target = _find(session, _network_id(session, network), metric, period)
    if target is None:
        return False
    session.delete(target)
    session.flush()
    return True


def list_targets(session: Session, fiscal_year: str | None = None) -> list[dict]:
    """Targets (of one fiscal year and its quarters, or all) as plain dicts."""
    query = select(Target.id, Network.name, Target.metric, Target.period, Target.value).outerjoin(
        Network, Network.id == Target.network_id
    )
    if fiscal_year:
        query = query.where(Target.period.startswith(normalise_period(fiscal_year)[:9]))
    rows = [
        {"id": id_, "network": name or COMBINED, "metric": metric, "period": period, "value": value}
        for id_, name, metric, period, value in session.execute(query)
    ]
    order = list(METRICS)
    # The year before its quarters; combined before the networks; metrics in METRICS order.
    return sorted(
        rows,
        key=lambda r: (
            r["period"],
            r["network"] != COMBINED,
            r["network"],
            order.index(r["metric"]) if r["metric"] in order else len(order),
        ),
    )


# --- What targets are held against: figures per network and combined ---


def actual_record(
    conn: Connection, f: Filters, completion_threshold: float = 0.7, window_weeks: int | None = None
) -> dict:
    """One column's figures a target can be held against, with the counts of men they rest
    on (catalogue keys); with `window_weeks`, 12-week retention too (the slow part)."""
    outputs = metrics.outputs(conn, f)
    keys = ("sessions_held", "men_reached", "new_members", "attendance", "attendance_hours")
    # The cell keys of the counts of men go along to the gate (never beyond it), so the same
    # men get the same protected count here as on every other page.
    keys += (key_column("men_reached"), key_column("new_members"))
    record = {key: outputs[key] for key in keys}
    record.update(metrics.completion_figures(metrics.completion(conn, f, completion_threshold)))
    if window_weeks is not None:
        record["retention_12w"], record["retention_base"] = metrics.retention_at(
            conn, f, 12, window_weeks
        )
    return record


def network_actuals(
    conn: Connection, f: Filters, completion_threshold: float = 0.7, window_weeks: int | None = None
) -> dict[str, dict]:
    """actual_record per network of the selection (name order) and, with two or more, for
    their combined column (COMBINED)."""
    names = [name for name in queries.network_names(conn) if not f.networks or name in f.networks]
    columns = [*names, COMBINED] if len(names) > 1 else (names or [COMBINED])
    return {
        column: actual_record(
            conn,
            f if column == COMBINED else replace(f, networks=(column,), preset=None),
            completion_threshold,
            window_weeks,
        )
        for column in columns
    }


def fiscal_year_actuals(
    conn: Connection,
    f: Filters,
    labels: tuple[str, ...],
    completion_threshold: float = 0.7,
    window_weeks: int | None = None,
) -> dict[str, dict[str, dict]]:
    """network_actuals for each fiscal year (or quarter) label: year-on-year trends."""
    result = {}
    for label in labels:
        start, end = parse_period(label)
        result[label] = network_actuals(
            conn, replace(f, start=start, end=end, preset=None), completion_threshold, window_weeks
        )
    return result


# --- Actual against target ---


def days_elapsed(start: dt.date, end: dt.date, today: dt.date) -> int:
    """Days of the period up to and including today (0 before it starts)."""
    if today < start:
        return 0
    return (min(today, end) - start).days + 1


def project(actual, kind: str, start: dt.date, end: dt.date, today: dt.date) -> float | None:
    """The period's end value at the current pace: actual x days in period / days elapsed.

    Only counts are projected (a rate has no pace); nothing before the period starts.
    """
    if actual is None or kind != "count":
        return None
    elapsed = days_elapsed(start, end, today)
    if elapsed == 0:
        return None
    return float(actual) * ((end - start).days + 1) / elapsed


def status(actual, projection, target: float, kind: str, elapsed: int) -> str:
    """A plain word for a meeting: met, on track, behind, not started or hidden."""
    if elapsed == 0:
        return "not started"
    if actual is None:
        return "hidden"
    if actual >= target:
        return "met"
    if kind == "count" and projection is not None and projection >= target:
        return "on track"
    return "behind" if kind == "count" else "below target"


def actual_vs_target(
    targets: list[dict], actuals: dict[str, dict[str, dict]], today: dt.date
) -> pd.DataFrame:
    """One row per target: actual, projection, share of target reached and projected.

    actuals: period label -> column (network name or COMBINED) -> figures (as the user may
    see them: a hidden figure is None).
    """
    rows = []
    for target in targets:
        start, end = parse_period(target["period"])
        kind = metric_kind(target["metric"])
        figures = actuals.get(target["period"], {}).get(target["network"], {})
        actual = figures.get(target["metric"])
        elapsed = days_elapsed(start, end, today)
        projection = project(actual, kind, start, end, today)
        value = target["value"]
        rows.append(
            {
                "id": target.get("id"),
                "network": target["network"],
                "metric": target["metric"],
                "figure": catalogue.label(target["metric"]),
                "kind": kind,
                "period": target["period"],
                "target": value,
                "actual": None if elapsed == 0 else actual,
                "projection": projection,
                "reached": actual / value if actual is not None and value and elapsed else None,
                "projected": projection / value if projection is not None and value else None,
                "status": status(actual, projection, value, kind, elapsed),
            }
        )
    return pd.DataFrame(
        rows,
        dtype=object,
        columns=[
            "id",
            "network",
            "metric",
            "figure",
            "kind",
            "period",
            "target",
            "actual",
            "projection",
            "reached",
            "projected",
            "status",
        ],
    )
