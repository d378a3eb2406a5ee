"""Load on a running server: signed-in users changing filters (SPEC §6: 50 users, 60 s).

    python bench/load.py --url http://127.0.0.1:8050 --user bench --users 50 --seconds 60

The server runs as in production (`gunicorn -c gunicorn.conf.py app:server`, e.g.
WEB_CONCURRENCY=4, REDIS_URL set); the password of --user is read from standard input. Each
simulated user signs in once, then posts the pages' filter callbacks one after the other,
with filter sets drawn at random (seeded). Prints requests, errors, throughput, p50 and p95.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import sys
import threading
import time
import urllib.parse

# bench.py, beside this file (the script's folder is first on the path).
from bench import body_for, filter_sets, percentile  # noqa: E402


class Client:
    """One simulated user: its own connection per request and its own session cookie."""

    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.cookie = ""

    def request(self, method: str, path: str, body: str | None = None, kind: str = "json"):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = (
                "application/json" if kind == "json" else "application/x-www-form-urlencoded"
            )
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheader("Set-Cookie") or "", response.read()
        finally:
            conn.close()

    def sign_in(self, username: str, password: str) -> None:
        _, cookie, page = self.request("GET", "/login")
        self.cookie = cookie.split(";", 1)[0]  # the form's CSRF token lives in this session
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        fields = {"username": username, "password": password, "csrf_token": token}
        form = urllib.parse.urlencode(fields)
        status, cookie, _ = self.request("POST", "/login", form, kind="form")
        if status != 302:
            raise SystemExit(f"sign-in as {username} failed: HTTP {status}")
        self.cookie = cookie.split(";", 1)[0]


def url_callbacks(client: Client) -> list[tuple[str, dict]]:
    """The callbacks that read the URL's filters, from the server's own dependency list."""
    status, _, data = client.request("GET", "/_dash-dependencies")
    if status != 200:
        raise SystemExit(f"/_dash-dependencies: HTTP {status}")
    found = []
    for spec in json.loads(data):
        key = spec["output"]
        if key.startswith(("..url.search", "{")) or "search@" in key:
            continue
        if any(i["property"] == "search" for i in spec.get("inputs", [])):
            found.append((key, spec))
    return sorted(found)


def simulate(url, username, password, callbacks, searches, until, seed, times, errors):
    client = Client(url)
    client.sign_in(username, password)
    rng = random.Random(seed)
    while time.monotonic() < until:
        key, spec = rng.choice(callbacks)
        body = json.dumps(body_for(key, spec, rng.choice(searches)))
        started = time.perf_counter()
        try:
            status, _, _ = client.request("POST", "/_dash-update-component", body)
        except OSError:
            status = 0
        times.append((time.perf_counter() - started) * 1000)
        if status not in (200, 204):
            errors.append(status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8050")
    parser.add_argument("--user", required=True, help="an admin or leadership account")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--group", default="", help="a group name for the one-group filter")
    args = parser.parse_args()
    password = sys.stdin.readline().rstrip("\r\n")

    probe = Client(args.url)
    probe.sign_in(args.user, password)
    callbacks = url_callbacks(probe)
    searches = list(filter_sets(args.group).values())
    times: list[float] = []
    errors: list[int] = []
    until = time.monotonic() + args.seconds
    threads = [
        threading.Thread(
            target=simulate,
            args=(args.url, args.user, password, callbacks, searches, until, n, times, errors),
        )
        for n in range(args.users)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    print(
        f"{args.users} users, {elapsed:.0f} s, {len(callbacks)} callbacks: {len(times):,} "
        f"requests, {len(errors)} errors, {len(times) / elapsed:.1f} requests/s, "
        f"p50 {percentile(times, 50):.0f} ms, p95 {percentile(times, 95):.0f} ms"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
