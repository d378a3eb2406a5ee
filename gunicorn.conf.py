"""gunicorn settings: `gunicorn -c gunicorn.conf.py app:server` (README "Production serving").

Each worker is a separate process: with more than one, set REDIS_URL so they share the
cache and the sign-in throttling (sessions are signed cookies; users are read from the
database on every request, so a deactivation is seen by every worker at once).
"""

from __future__ import annotations

import multiprocessing
import os

# gunicorn's rule of thumb (2 x cores + 1), capped: each worker holds its own cache of
# figures and database connections (SPEC §6: under 500 MB each).
MAX_WORKERS = 8

bind = os.environ.get("BIND", "127.0.0.1:8050")
workers = int(
    os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, MAX_WORKERS)
)
# The impact PDF takes a few seconds (SPEC §6); a worker silent for this long is restarted.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Access log on stdout; the path only (%(U)s): query strings are not written.
accesslog = "-"
access_log_format = '%(h)s pid=%(p)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# gunicorn's control socket is one path per user (~/.gunicorn/): two instances would clash.
control_socket_disable = True
# The app is built once, in the master (the schema check runs once; workers share its memory
# until they write to it), then each worker is forked from it.
preload_app = True


def post_fork(server, worker) -> None:
    """Each worker opens database connections of its own, never the master's."""
    from dashboard.db import get_engine
    from dashboard.settings import Settings

    get_engine(Settings.from_env().database_url).dispose(close=False)
