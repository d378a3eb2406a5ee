"""Compare designs for the attendance outputs of long periods, side by side on the same data.

    python bench/designs.py [--scale 30] [--repeat 5] [--engine sqlite|postgresql]
                            [--database-url URL] [--copies data/bench/designs]

(DuckDB and pyarrow come from requirements-dev.txt; the Parquet copies go to --copies.)

On the bench database at the scale (bench.py's: seeded if empty, reused if seeded), computes
the attendance outputs per network and combined (men reached, the sum of their record keys,
presents, excused, recorded rows, minutes present; held sessions only) of bench.py's filter
sets, each period and its previous one, with each design:

  raw      hand-written SQL over attendance, session, group and member (bench.py's BARE);
  summary  hand-written SQL over attendance_summary: the period's whole fiscal years, quarters
           and months, and the raw rows of the days left over at either edge (UNION ALL);
  duck-raw DuckDB over a Parquet copy of the raw tables;
  duck-sum DuckDB over a Parquet copy of attendance_summary (the edges from the raw copy);
  pandas   numpy/pandas over attendance_summary loaded once into memory (the edges' raw rows
           read from the primary database).

Asserts that every design gives exactly the numbers of `raw` for every filter set, then prints
p50/p95 per filter set (both periods, per network and combined), the build or load time of
each copy, its size, and the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from bench import END, bare_outputs, bare_sql, bench_database, filter_sets, percentile  # noqa: E402
from dashboard.db import session_scope  # noqa: E402
from dashboard.derived import refresh_attendance_summary  # noqa: E402
from dashboard.filters import Filters  # noqa: E402
from dashboard.models import (  # noqa: E402
    Attendance,
    AttendanceSummary,
    Group,
    GroupSession,
    Member,
    Network,
)
from dashboard.queries import split_period  # noqa: E402
from dashboard.settings import DATA_DIR  # noqa: E402

COMBINED = "(combined)"


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


# ------------------------------------------------------------------- the period's pieces


def pieces(start: dt.date, end: dt.date) -> dict[str, list[tuple[dt.date, dt.date]]]:
    """The period as runs (first, last) of whole fiscal years, quarters and months, and the
    days left over, per span (the app's own cut: dashboard.queries.split_period)."""
    split = split_period(start, end)
    out: dict[str, list] = {"year": [], "quarter": [], "month": [], "day": list(split.days)}
    for span, first, last in split.runs:
        out[span].append((first, last))
    return out


# --------------------------------------------------------------------- SQL (b) and (d)

RAW_ROWS = """
SELECT g.network_id, a.member_id, m.record_key,
       CASE WHEN a.status = 'present' THEN 1 ELSE 0 END AS presents,
       CASE WHEN a.status = 'excused' THEN 1 ELSE 0 END AS excused, 1 AS recorded,
       CASE WHEN a.status = 'present' THEN s.duration_minutes ELSE 0 END AS minutes
FROM attendance a JOIN session s ON s.id = a.session_id JOIN "group" g ON g.id = s.group_id
JOIN member m ON m.id = a.member_id
WHERE s.cancelled = :no AND ({ranges}){where}"""

SUMMARY_ROWS = """
SELECT network_id, member_id, record_key, presents, excused, recorded, minutes
FROM attendance_summary WHERE span = '{span}' AND ({ranges}){where}"""

OUTPUTS = """
SELECT {columns}count(DISTINCT CASE WHEN presents > 0 THEN member_id END),
       sum(DISTINCT CASE WHEN presents > 0 THEN record_key END),
       sum(presents), sum(excused), sum(recorded), sum(minutes)
FROM ({parts}) parts{group_by}"""


def rows_sql(span: str, ranges: list, network_id, group_id) -> tuple[str, dict]:
    """The summary-shaped rows of the quarters, months or days ranges, and their parameters."""
    params: dict = {"no": False}
    clauses = []
    column = "s.date" if span == "day" else "period_start"
    for i, (first, last) in enumerate(ranges):
        params[f"{span}{i}a"], params[f"{span}{i}b"] = first, last
        clauses.append(f"{column} BETWEEN :{span}{i}a AND :{span}{i}b")
    where = ""
    for name, value in (("network", network_id), ("group", group_id)):
        if value is not None:
            table = ("g." if name == "network" else "s.") if span == "day" else ""
            where += f" AND {table}{name}_id = :{name}"
            params[name] = value
    template = RAW_ROWS if span == "day" else SUMMARY_ROWS
    return template.format(span=span, ranges=" OR ".join(clauses), where=where), params


def summary_sql(start: dt.date, end: dt.date, network_id, group_id) -> tuple[str, str, dict]:
    """SQL for the outputs per network and combined from the summary, and its parameters."""
    parts, params = [], {}
    for span, ranges in pieces(start, end).items():
        if ranges:
            sql, more = rows_sql(span, ranges, network_id, group_id)
            parts.append(sql)
            params.update(more)
    union = "\nUNION ALL".join(parts)
    per_network = OUTPUTS.format(
        columns="network_id, ", parts=union, group_by=" GROUP BY network_id"
    )
    return per_network, OUTPUTS.format(columns="", parts=union, group_by=""), params


def row_values(row) -> tuple[int, ...]:
    """One output row's six numbers as ints (None, a Decimal or a hugeint as an int)."""
    return tuple(int(v or 0) for v in row)


# -------------------------------------------------------------------------- the designs


class Context:
    """What every design needs: the names and ids, and the filter sets' periods."""

    def __init__(self, engine, group: str):
        self.engine = engine
        with engine.connect() as conn:
            self.networks = dict(conn.execute(select(Network.id, Network.name)).all())
            self.groups = {
                name: (gid, nid)
                for gid, name, nid in conn.execute(select(Group.id, Group.name, Group.network_id))
            }
        self.network_ids = {name: nid for nid, name in self.networks.items()}
        self.sets = {}
        for label, search in filter_sets(group).items():
            f = Filters.from_query(search, END, None, "fy")
            self.sets[label] = [f, f.previous()]

    def ids(self, f: Filters) -> tuple[int | None, int | None]:
        network = self.network_ids[f.networks[0]] if f.networks else None
        group = self.groups[f.groups[0]][0] if f.groups else None
        return network, group

    def named(self, per_network, combined) -> dict:
        """{network name or COMBINED: six ints}, networks without rows left out."""
        out = {self.networks[row[0]]: row_values(row[1:]) for row in per_network}
        out[COMBINED] = row_values(combined)
        return out


def design_raw(ctx: Context):
    def run(f: Filters) -> dict:
        with ctx.engine.connect() as conn:
            per_network = bare_outputs(conn, f, by_network=True)
            combined = bare_outputs(conn, f)[0]
        out = {row[0]: row_values(row[1:]) for row in per_network}
        out[COMBINED] = row_values(combined)
        return out

    return run, {}


def design_summary(ctx: Context):
    def run(f: Filters) -> dict:
        per_network, combined, params = summary_sql(f.start, f.end, *ctx.ids(f))
        with ctx.engine.connect() as conn:
            rows = conn.execute(text(per_network), params).all()
            total = conn.execute(text(combined), params).one()
        return ctx.named(rows, total)

    # What the import pays: the summary of 1,000 men recomputed, in a transaction rolled back.
    with ctx.engine.connect() as conn:
        men = list(conn.scalars(select(Member.id).order_by(Member.id).limit(1000)))
        rows = conn.scalar(select(func.count()).select_from(AttendanceSummary))
        size = table_mb(conn, "attendance_summary")
    with ctx.engine.connect() as conn:
        transaction = conn.begin()
        started = time.perf_counter()
        refresh_attendance_summary(conn, men)
        refresh = time.perf_counter() - started
        transaction.rollback()
    info = {
        "build": f"{refresh * 1000:,.0f} ms per 1,000 men (in the import)",
        "size": f"{rows:,} rows" + (f", {size:,.0f} MB" if size else ""),
    }
    return run, info


def table_mb(conn, table: str) -> float | None:
    """The table and its indexes on disk, MB (None where the engine doesn't say)."""
    try:
        if conn.dialect.name == "postgresql":
            size = conn.scalar(text("SELECT pg_total_relation_size(:t)"), {"t": table})
        else:
            size = conn.scalar(
                text(
                    "SELECT sum(pgsize) FROM dbstat WHERE name IN "
                    "(SELECT name FROM sqlite_master WHERE tbl_name = :t)"
                ),
                {"t": table},
            )
    except Exception:  # SQLite built without dbstat
        return None
    return size / 2**20 if size else None


# The raw tables' columns that the outputs read, as the replica would hold them.
RAW_COPY = {
    "attendance": (Attendance.session_id, Attendance.member_id, Attendance.status),
    "session": (
        GroupSession.id,
        GroupSession.group_id,
        GroupSession.date,
        GroupSession.cancelled,
        GroupSession.duration_minutes,
    ),
    "group": (Group.id, Group.network_id, Group.name),
    "network": (Network.id, Network.name),
    "member": (Member.id, Member.record_key),
}
SUMMARY_COPY = {"attendance_summary": tuple(AttendanceSummary.__table__.columns)}


def fetch_arrow(conn, columns) -> pa.Table:
    """The columns of one table from the primary database, as an Arrow table."""
    rows = conn.execute(select(*columns)).all()
    values = list(zip(*rows, strict=True)) if rows else [[] for _ in columns]
    return pa.table({c.name: pa.array(v) for c, v in zip(columns, values, strict=True)})


def copy_parquet(ctx: Context, tables: dict, folder: Path) -> tuple[float, float]:
    """Write the tables as Parquet files; (seconds, MB on disk)."""
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with ctx.engine.connect() as conn:
        for name, columns in tables.items():
            pq.write_table(fetch_arrow(conn, columns), folder / f"{name}.parquet")
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20
    return seconds, size


def duck_mb(duck) -> str:
    """DuckDB's own memory after the runs (its buffers), MB."""
    used = duck.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
    return f"DuckDB buffers {int(used or 0) / 2**20:,.1f} MB"


def duck_views(folder: Path) -> duckdb.DuckDBPyConnection:
    duck = duckdb.connect()
    for path in sorted(folder.glob("*.parquet")):
        duck.execute(f"CREATE VIEW \"{path.stem}\" AS SELECT * FROM read_parquet('{path}')")
    return duck


def duck_rows(duck, sql: str, params: dict) -> list:
    """Run SQL written for SQLAlchemy (:name parameters) in DuckDB ($name, only those used)."""
    sql = re.sub(r"(?<![:\w]):(\w+)", r"$\1", sql)
    used = set(re.findall(r"\$(\w+)", sql))
    return duck.execute(sql, {k: v for k, v in params.items() if k in used}).fetchall()


def design_duck_raw(ctx: Context, folder: Path):
    seconds, size = copy_parquet(ctx, RAW_COPY, folder / "raw")
    duck = duck_views(folder / "raw")

    def run(f: Filters) -> dict:
        per_network = duck_rows(duck, *bare_sql(f, by_network=True))
        combined = duck_rows(duck, *bare_sql(f))[0]
        out = {row[0]: row_values(row[1:]) for row in per_network}
        out[COMBINED] = row_values(combined)
        return out

    info = {"build": f"{seconds:.1f} s", "size": f"{size:,.1f} MB Parquet", "duck": duck}
    return run, info


def design_duck_summary(ctx: Context, folder: Path):
    seconds, size = copy_parquet(ctx, SUMMARY_COPY, folder / "summary")
    # The edges' raw rows come from the raw copy (built and timed for duck-raw).
    for path in (folder / "raw").glob("*.parquet"):
        shutil.copy(path, folder / "summary" / path.name)
    duck = duck_views(folder / "summary")

    def run(f: Filters) -> dict:
        per_network, combined, params = summary_sql(f.start, f.end, *ctx.ids(f))
        rows = duck_rows(duck, per_network, params)
        total = duck_rows(duck, combined, params)[0]
        return ctx.named(rows, total)

    info = {
        "build": f"{seconds:.1f} s (+ the raw copy for edges)",
        "size": f"{size:,.1f} MB Parquet",
        "duck": duck,
    }
    return run, info


# The edges' raw rows per man and network, for pandas (the database aggregates them).
EDGE_ROWS = """
SELECT network_id, member_id, record_key, sum(presents) AS presents, sum(excused) AS excused,
       sum(recorded) AS recorded, sum(minutes) AS minutes
FROM ({rows}) edge GROUP BY network_id, member_id, record_key"""

NUMBERS = ["network_id", "member_id", "record_key", "presents", "excused", "recorded", "minutes"]


def design_pandas(ctx: Context):
    started = time.perf_counter()
    with ctx.engine.connect() as conn:
        table = fetch_arrow(conn, SUMMARY_COPY["attendance_summary"])
    frame = table.to_pandas(date_as_object=False)
    del table
    types = {c: np.int32 for c in NUMBERS if c != "record_key"} | {"group_id": np.int32}
    frame = frame.astype(types | {"record_key": np.int64})
    spans = {
        span: part.drop(columns="span").sort_values("period_start").reset_index(drop=True)
        for span, part in frame.groupby("span")
    }
    del frame
    starts = {span: part["period_start"].to_numpy() for span, part in spans.items()}
    seconds = time.perf_counter() - started
    size = sum(part.memory_usage(deep=True).sum() for part in spans.values()) / 2**20

    def run(f: Filters) -> dict:
        network, group = ctx.ids(f)
        frames = []
        plan = pieces(f.start, f.end)
        for span in ("year", "quarter", "month"):
            for first, last in plan[span]:
                lo = np.searchsorted(starts[span], np.datetime64(first), side="left")
                hi = np.searchsorted(starts[span], np.datetime64(last), side="right")
                part = spans[span].iloc[lo:hi]
                if network is not None:
                    part = part[part["network_id"].to_numpy() == network]
                if group is not None:
                    part = part[part["group_id"].to_numpy() == group]
                frames.append(part[NUMBERS])
        if plan["day"]:  # the leftover days: their raw rows, per man, from the database
            rows, params = rows_sql("day", plan["day"], network, group)
            with ctx.engine.connect() as conn:
                edge = conn.execute(text(EDGE_ROWS.format(rows=rows)), params).all()
            frames.append(pd.DataFrame(edge, columns=NUMBERS).astype(np.int64))
        return outputs_pandas(ctx, pd.concat(frames, ignore_index=True))

    return run, {"build": f"{seconds:.1f} s load", "size": f"{size:,.1f} MB in memory"}


def outputs_pandas(ctx: Context, parts: pd.DataFrame) -> dict:
    """The six outputs per network and combined from summary-shaped rows."""
    present = parts[parts["presents"].to_numpy() > 0]
    sums = parts.groupby("network_id")[["presents", "excused", "recorded", "minutes"]].sum()
    men = present.groupby("network_id")["member_id"].nunique()
    keys = present.drop_duplicates(["network_id", "record_key"])
    keys = keys.groupby("network_id")["record_key"].sum()
    out = {}
    for network_id, row in sums.iterrows():
        out[ctx.networks[network_id]] = row_values(
            (men.get(network_id, 0), keys.get(network_id, 0), *row.tolist())
        )
    out[COMBINED] = row_values(
        (
            present["member_id"].nunique(),
            present["record_key"].drop_duplicates().sum(),
            *parts[["presents", "excused", "recorded", "minutes"]].sum().tolist(),
        )
    )
    return out


# -------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--copies", default=str(DATA_DIR / "bench" / "designs"))
    args = parser.parse_args()

    # Reuse the bench database as it is (keep): every design reads the same rows.
    engine = bench_database(args.scale, args.engine, args.pg_server, args.database_url, True)
    with session_scope(engine) as session:
        if session.scalar(select(AttendanceSummary.member_id).limit(1)) is None:
            print("attendance_summary is empty (seeded before it existed): filling it")
            refresh_attendance_summary(session.connection())
        group = session.scalar(select(Group.name).order_by(Group.id).limit(1))
        rows = session.scalar(select(func.count()).select_from(Attendance))
    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {engine.dialect.name}, scale "
        f"{args.scale:g} ({rows:,} attendance rows), {args.repeat} repeats; load {load()}"
    )
    ctx = Context(engine, group)
    folder = Path(args.copies) / f"{engine.dialect.name}-{args.scale:g}"
    shutil.rmtree(folder, ignore_errors=True)
    designs = {}
    for name, make in (
        ("raw", lambda: design_raw(ctx)),
        ("summary", lambda: design_summary(ctx)),
        ("duck-raw", lambda: design_duck_raw(ctx, folder)),
        ("duck-sum", lambda: design_duck_summary(ctx, folder)),
        ("pandas", lambda: design_pandas(ctx)),
    ):
        designs[name] = make()
        print(f"  {name}: ready ({designs[name][1].get('build', '')}); load {load()}")

    # Agreement: every design, every filter set, both periods, the numbers of raw.
    for label, periods in ctx.sets.items():
        for f in periods:
            expected = designs["raw"][0](f)
            for name, (run, _) in designs.items():
                got = run(f)
                assert got == expected, f"{name} differs on {label} {f.start}..{f.end}: " + (
                    f"{got} != {expected}"
                )
    print("all designs agree")

    times: dict[tuple[str, str], list[float]] = {}
    loads = []
    for _ in range(args.repeat):
        for label, periods in ctx.sets.items():
            for name, (run, _) in designs.items():  # interleaved: the same load for each
                started = time.perf_counter()
                for f in periods:
                    run(f)
                times.setdefault((name, label), []).append((time.perf_counter() - started) * 1000)
        loads.append(os.getloadavg()[0])
    for _, info in designs.values():
        if "duck" in info:
            info["memory"] = duck_mb(info.pop("duck"))

    print(
        f"\nms per filter set (the period and the previous one, per network and combined), "
        f"p50 / p95 of {args.repeat}; load during the runs {min(loads):.2f}-{max(loads):.2f}"
    )
    labels = list(ctx.sets)
    print("| design | " + " | ".join(labels) + " | all p95 | build / load | size |")
    print("|---|" + "---:|" * (len(labels) + 1) + "---|---|")
    for name, (_, info) in designs.items():
        cells = [
            f"{statistics.median(times[name, label]):,.0f} / "
            f"{percentile(times[name, label], 95):,.0f}"
            for label in labels
        ]
        every = [t for label in labels for t in times[name, label]]
        size = ", ".join(v for v in (info.get("size"), info.get("memory")) if v)
        print(
            f"| {name} | " + " | ".join(cells) + f" | {percentile(every, 95):,.0f} | "
            f"{info.get('build', '-')} | {size or '-'} |"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process (all designs, the copies' builds): {peak:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
