"""Benchmark every page's callbacks: p50/p95 server time and peak memory.

    python bench/bench.py --scale 1 [--repeat 5] [--engine sqlite|postgresql]
                          [--database-url URL] [--keep]

Generates demo data at the scale (into a fresh SQLite file under data/bench/, or a fresh
PostgreSQL database `bench_<scale>` on --pg-server, unless --database-url is given), builds
the app, signs in, and posts to Dash's callback endpoint with a Flask test client for each
callback that reads the URL's filters, over several filter sets. The cache is cleared before
every call, so "cold" is the cost of computing, not of a cache hit; "warm" is the same call
again. Beside the callbacks whose figures rest on the attendance outputs, the script times a
bare SQL aggregation of those outputs written by hand (BARE) over the same filter sets and
prints the ratio callback / bare.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import re
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from dashboard.app_factory import create_app  # noqa: E402
from dashboard.db import get_engine, init_db, session_scope  # noqa: E402
from dashboard.demo import seed_demo  # noqa: E402
from dashboard.filters import Filters  # noqa: E402
from dashboard.settings import DATA_DIR, Settings  # noqa: E402
from dashboard.users import create_user  # noqa: E402

PASSWORD = "bench-password"
END = dt.date(2026, 3, 31)


def filter_sets(group: str) -> dict[str, str]:
    return {
        "all, FY2025-26": "?from=2025-04-01&to=2026-03-31",
        "one network": "?from=2025-04-01&to=2026-03-31&network=Edmonton",
        "one group": f"?from=2025-04-01&to=2026-03-31&group={group}",
        "90 days, weeks": "?from=2026-01-01&to=2026-03-31&grain=week",
        "all time, quarters": "?from=2021-04-01&to=2026-03-31&grain=quarter",
    }


def url_callbacks(app) -> list[tuple[str, dict]]:
    """Callbacks that take the URL's filters as an input (the pages' figures)."""
    found = []
    for key, spec in app.callback_map.items():
        inputs = spec.get("inputs", [])
        if key.startswith(("..url.search", "{")) or "search@" in key:
            continue  # the shell's own sync, pattern-matching ids, cross-filters (URL writers)
        if any(i["property"] == "search" for i in inputs):
            found.append((key, spec))
    return sorted(found)


def body_for(key: str, spec: dict, search: str) -> dict:
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    outputs = [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]
    inputs = []
    for item in spec["inputs"]:
        value = search if item["property"] == "search" else None
        if item["property"] == "pathname":
            value = "/"
        inputs.append({"id": item["id"], "property": item["property"], "value": value})
    state = [
        {"id": s["id"], "property": s["property"], "value": None} for s in spec.get("state", [])
    ]
    changed = f"{inputs[0]['id']}.{inputs[0]['property']}"
    return {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": [changed],
    }


# The attendance outputs (sessions held aside) of one selection, written by hand: the scan
# that dominates the cards, the networks side by side and the impact summary.
BARE_OUTPUTS = """
SELECT {columns}count(DISTINCT CASE WHEN a.status = 'present' THEN a.member_id END),
       sum(DISTINCT CASE WHEN a.status = 'present' THEN m.record_key END),
       sum(CASE WHEN a.status = 'present' THEN 1 ELSE 0 END),
       sum(CASE WHEN a.status = 'excused' THEN 1 ELSE 0 END), count(*),
       sum(CASE WHEN a.status = 'present' THEN s.duration_minutes ELSE 0 END)
FROM attendance a JOIN session s ON s.id = a.session_id JOIN "group" g ON g.id = s.group_id
JOIN network n ON n.id = g.network_id JOIN member m ON m.id = a.member_id
WHERE s.cancelled = :no AND s.date >= :start AND s.date <= :end {where}{group_by}
"""


def bare_sql(f: Filters, by_network: bool = False) -> tuple[str, dict]:
    """BARE_OUTPUTS for the filters' period, network and group (combined, or per network):
    the SQL text and its parameters."""
    where = "".join(
        f" AND {column} = :{name}"
        for column, name, value in (
            ("n.name", "network", f.networks),
            ("g.name", "group", f.groups),
        )
        if value
    )
    sql = BARE_OUTPUTS.format(
        columns="n.name, " if by_network else "",
        where=where,
        group_by=" GROUP BY n.name" if by_network else "",
    )
    params = {"no": False, "start": f.start, "end": f.end}
    params.update({k: v[0] for k, v in (("network", f.networks), ("group", f.groups)) if v})
    return sql, params


def bare_outputs(conn, f: Filters, by_network: bool = False) -> list:
    """The rows of BARE_OUTPUTS for the filters (combined, or per network)."""
    sql, params = bare_sql(f, by_network)
    return conn.execute(text(sql), params).all()


def bare_cards(conn, f: Filters) -> None:
    bare_outputs(conn, f)
    bare_outputs(conn, f.previous())


def bare_networks(conn, f: Filters) -> None:
    bare_outputs(conn, f, by_network=True)
    bare_outputs(conn, f)


def bare_impact(conn, f: Filters) -> None:
    for period in (f, f.previous()):
        bare_networks(conn, period)


# Callback (a part of its output ids) -> the bare aggregation of its attendance outputs.
BARE = {
    "overview-value-": bare_cards,
    "overview-networks": bare_networks,
    "impact-content": bare_impact,
}


def bare_time(conn, key: str, searches: list[str], repeat: int) -> float | None:
    """Median milliseconds of the bare aggregation for this callback, or None."""
    function = next((fn for part, fn in BARE.items() if part in key), None)
    if function is None:
        return None
    times = []
    for _ in range(repeat):
        for search in searches:
            f = Filters.from_query(search, END, None, "fy")
            started = time.perf_counter()
            function(conn, f)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def fresh_postgresql(server: str, name: str, keep: bool) -> str:
    """The URL of database `name` on the server (created, or dropped and created anew)."""
    from sqlalchemy import create_engine

    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and not keep:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not exists or not keep:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return f"{server}/{name}"


def bench_database(
    scale: float, engine_name: str, pg_server: str, database_url: str | None, keep: bool
):
    """The engine of the bench database at the scale: a fresh SQLite file under data/bench/
    or PostgreSQL database `bench_<scale>` (reused as it is with `keep`), seeded if empty."""
    from sqlalchemy import select

    from dashboard.models import Member

    url = database_url
    if url is None and engine_name == "postgresql":
        url = fresh_postgresql(pg_server, f"bench_{scale:g}".replace(".", "_"), keep)
    if url is None:
        path = DATA_DIR / "bench" / f"scale-{scale:g}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and not keep:
            path.unlink()
        url = f"sqlite:///{path}"
    engine = get_engine(url)
    init_db(engine)
    with session_scope(engine) as session:
        seeded = session.scalar(select(Member.id).limit(1)) is not None
    if not seeded:
        started = time.perf_counter()
        counts = seed_demo(engine, seed=1, scale=scale, end=END)
        print(
            f"seeded scale {scale:g} in {time.perf_counter() - started:.0f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
    return engine


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if pct == 50:
        return statistics.median(ordered)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def chart_browser_ready(timeout: float = 60) -> None:
    """Start the PDF's chart browser and wait for it, as a worker has it running once /impact
    was first opened: otherwise its start (seconds of CPU, once per process) lands in the
    times of the callbacks measured after the impact summary's first call."""
    from dashboard.chart_images import RENDERER

    RENDERER.warm_up()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (RENDERER.kaleido is None or RENDERER.lock.locked()):
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--pg-server",
        default="postgresql+psycopg://postgres@127.0.0.1:5432",
        help="PostgreSQL server (no database) for --engine postgresql",
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--role", default="admin", choices=["admin", "leadership"])
    parser.add_argument("--keep", action="store_true", help="reuse an existing bench database")
    parser.add_argument("--only", default="", help="only callbacks whose outputs contain this")
    args = parser.parse_args()

    engine = bench_database(args.scale, args.engine, args.pg_server, args.database_url, args.keep)
    url = engine.url.render_as_string(hide_password=False)
    from sqlalchemy import select

    from dashboard.models import Group, User

    with session_scope(engine) as session:
        if session.scalar(select(User).where(User.username == "bench")) is None:
            create_user(session, "bench", args.role, [], PASSWORD)
        group = session.scalar(select(Group.name).order_by(Group.id).limit(1))

    # No warming: every call here measures its own cold cost.
    settings = Settings(database_url=url, secret_key="bench", demo_mode=False, warm_cache=False)
    app = create_app(settings, prepare=False)
    gc.freeze()  # as app.py does after start-up
    chart_browser_ready()
    cache = app.server.extensions["cache"] if "cache" in app.server.extensions else None
    service = app.server.extensions["dashboard"]
    client = app.server.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    signed_in = client.post(
        "/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}
    )
    assert signed_in.status_code == 302
    results = []
    for key, spec in url_callbacks(app):
        if args.only not in key:
            continue
        cold, warm = [], []
        for _ in range(args.repeat):
            for search in filter_sets(group).values():
                if service.cache is not None:
                    service.cache.clear()
                service.forget()
                body = body_for(key, spec, search)
                for times in (cold, warm):  # the same request twice: computed, then cached
                    started = time.perf_counter()
                    response = client.post("/_dash-update-component", json=body)
                    times.append((time.perf_counter() - started) * 1000)
                if response.status_code not in (200, 204):
                    print(f"  {key}: HTTP {response.status_code}", file=sys.stderr)
        with engine.connect() as conn:
            bare = bare_time(conn, key, list(filter_sets(group).values()), args.repeat)
        results.append(
            (
                percentile(cold, 95),
                percentile(cold, 50),
                percentile(warm, 95),
                percentile(warm, 50),
                key,
                bare,
            )
        )
    del cache
    with engine.connect() as conn:
        rows = conn.scalar(text("SELECT count(*) FROM attendance"))
    print(
        f"\nscale {args.scale:g} ({rows:,} attendance rows), role {args.role}, "
        f"{args.repeat} x 5 filter sets per callback; cold = cache cleared before the call, "
        f"warm = the same call again; "
        f"{dt.date.today()}"
    )
    print(f"engine {engine.dialect.name}; load average {os.getloadavg()[0]:.2f} (1 min)")
    print(
        f"{'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9} "
        f"{'bare p50':>9} {'ratio':>6}  callback"
    )
    for cold95, cold50, warm95, warm50, key, bare in sorted(results, reverse=True):
        label = key if len(key) < 60 else key[:57] + "..."
        versus = f"{bare:9.1f} {cold50 / bare:6.1f}" if bare else f"{'':9} {'':6}"
        print(f"{cold50:9.1f} {cold95:9.1f} {warm50:9.1f} {warm95:9.1f} {versus}  {label}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS of this process): {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
