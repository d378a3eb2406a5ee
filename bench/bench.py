"""Benchmark every page's callbacks: p50/p95 server time and peak memory.

    python bench/bench.py --scale 1 [--repeat 5] [--database-url URL] [--keep]

Generates demo data at the scale (into a fresh SQLite file under data/bench/ unless
--database-url is given), builds the app, signs in, and posts to Dash's callback endpoint
with a Flask test client for each callback that reads the URL's filters, over several filter
sets. The cache is cleared before every call, so the figures are the cost of computing, not
of a cache hit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.app_factory import create_app  # noqa: E402
from dashboard.db import get_engine, init_db, session_scope  # noqa: E402
from dashboard.demo import seed_demo  # noqa: E402
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


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if pct == 50:
        return statistics.median(ordered)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--role", default="admin", choices=["admin", "leadership"])
    parser.add_argument("--keep", action="store_true", help="reuse an existing bench database")
    parser.add_argument("--only", default="", help="only callbacks whose outputs contain this")
    args = parser.parse_args()

    url = args.database_url
    if url is None:
        path = DATA_DIR / "bench" / f"scale-{args.scale:g}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and not args.keep:
            path.unlink()
        url = f"sqlite:///{path}"
    engine = get_engine(url)
    init_db(engine)
    from sqlalchemy import select

    from dashboard.models import Group, Member, User

    with session_scope(engine) as session:
        seeded = session.scalar(select(Member.id).limit(1)) is not None
    if not seeded:
        started = time.perf_counter()
        counts = seed_demo(engine, seed=1, scale=args.scale, end=END)
        print(
            f"seeded scale {args.scale:g} in {time.perf_counter() - started:.0f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
    with session_scope(engine) as session:
        if session.scalar(select(User).where(User.username == "bench")) is None:
            create_user(session, "bench", args.role, [], PASSWORD)
        group = session.scalar(select(Group.name).order_by(Group.id).limit(1))

    app = create_app(Settings(database_url=url, secret_key="bench", demo_mode=False), prepare=False)
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
        results.append(
            (
                percentile(cold, 95),
                percentile(cold, 50),
                percentile(warm, 95),
                percentile(warm, 50),
                key,
            )
        )
    del cache
    print(
        f"\nscale {args.scale:g}, role {args.role}, {args.repeat} x 5 filter sets per "
        f"callback; cold = cache cleared before the call, warm = the same call again; "
        f"{dt.date.today()}"
    )
    print(f"{'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9}  callback")
    for cold95, cold50, warm95, warm50, key in sorted(results, reverse=True):
        label = key if len(key) < 70 else key[:67] + "..."
        print(f"{cold50:9.1f} {cold95:9.1f} {warm50:9.1f} {warm95:9.1f}  {label}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS of this process): {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
