"""Running in production: health checks, one log line per request, a clear page while the
database is down, and the client's address behind a reverse proxy."""

from __future__ import annotations

import json
import logging
import time

import flask
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.db import DatabaseError, check_connection
from dashboard.settings import Settings
from dashboard.warm import warming

request_log = logging.getLogger("dashboard.requests")
# Static files and probes are not worth a line each.
UNLOGGED_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico", "/healthz", "/readyz")
DOWN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Network Dashboard: not available</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>The dashboard cannot reach its database</h1>
<p>Nothing is lost: the database is restarting or out of reach. Try again in a minute;
if this page stays, tell the dashboard's admin.</p></body></html>"""


def trust_proxies(server: flask.Flask, hops: int) -> None:
    """Believe X-Forwarded-For/-Proto/-Host from this many proxies in front of the app."""
    if hops > 0:
        server.wsgi_app = ProxyFix(
            server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def health(engine: Engine, settings: Settings) -> dict:
    """What answers: "ok" or "down" for the database and (when set) Redis; no addresses."""
    try:
        check_connection(engine)
        report = {"database": "ok"}
    except DatabaseError:
        report = {"database": "down"}
    if settings.redis_url:
        report["redis"] = "ok" if redis_answers(settings.redis_url) else "down"
    ready = all(value == "ok" for value in report.values())
    return {"status": "ok" if ready else "degraded", **report}


def callback_outputs(body) -> str:
    """A callback's output ids, without the values of pattern-matching ids (no codes)."""
    if not isinstance(body, dict):
        return ""
    from dashboard.auth import _output_ids

    names = []
    for component_id in _output_ids(str(body.get("output", ""))):
        if component_id.startswith("{"):
            try:
                component_id = str(json.loads(component_id).get("type", "?"))
            except (ValueError, AttributeError):
                component_id = "?"
        names.append(component_id)
    return ",".join(names)[:200]


def log_line(response: flask.Response) -> str:
    """user, method, route (no query string), callback outputs, status, milliseconds."""
    request = flask.request
    user = getattr(flask.g, "_login_user", None)  # already loaded: no extra query
    username = getattr(user, "username", None) or "-"
    route = request.path
    if request.method == "POST" and route.endswith("/_dash-update-component"):
        try:
            body = request.get_json(silent=True)
        except HTTPException:  # a body refused as too large is not read to log it
            body = None
        route += " " + callback_outputs(body)
    started = flask.g.get("started", time.perf_counter())
    elapsed = (time.perf_counter() - started) * 1000
    return f"user={username} {request.method} {route} {response.status_code} {elapsed:.0f}ms"


def init_ops(server: flask.Flask, engine: Engine, settings: Settings) -> None:
    """Register /healthz, /readyz, the request log and the database-down page."""
    trust_proxies(server, settings.trusted_proxies)
    request_log.setLevel(logging.INFO)
    if not request_log.handlers:
        request_log.addHandler(logging.StreamHandler())  # stderr: gunicorn's error log

    @server.route("/healthz")
    def healthz():
        """Liveness: the process answers (200), and says what it can reach."""
        return flask.jsonify(health(engine, settings))

    @server.route("/readyz")
    def readyz():
        """Readiness: 503 until the database and (when set) Redis answer."""
        report = health(engine, settings)
        return flask.jsonify(report), 200 if report["status"] == "ok" else 503

    # First, so the time covers the sign-in check too.
    server.before_request_funcs.setdefault(None, []).insert(
        0, lambda: setattr(flask.g, "started", time.perf_counter())
    )

    @server.after_request
    def log_request(response: flask.Response) -> flask.Response:
        # Warming's own requests (dashboard/warm.py) are summed up in one line of their own.
        if not flask.request.path.startswith(UNLOGGED_PREFIXES) and not warming():
            request_log.info(log_line(response))
        return response

    # Connection errors only: a constraint error is a bug to see as one, not an outage.
    @server.errorhandler(OperationalError)
    @server.errorhandler(InterfaceError)
    @server.errorhandler(DatabaseError)
    def database_down(error):
        server.logger.error("database error: %s", str(error).splitlines()[0][:300])
        if flask.request.path.startswith(("/_dash-", "/download/")):
            return flask.Response("The database is not answering: try again in a minute.", 503)
        return flask.Response(DOWN_PAGE, status=503, mimetype="text/html")
