"""The one way to query with a user's scope: restrict, audit refusals, cache, run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import flask
from flask_caching import Cache
from sqlalchemy import Engine

from dashboard import audit, queries
from dashboard.access import Scope
from dashboard.db import data_version, reading, session_scope
from dashboard.filters import Filters
from dashboard.gate import Gate
from dashboard.redis_fallback import ResilientCache
from dashboard.settings import Settings
from dashboard.warm import warming

VERSION_TTL = 2.0  # seconds a data version is trusted outside a request (scripts, benchmarks)
SLOW_DOWN_SECONDS = 0.5  # per selection over the per-minute limit ...
MAX_SLOW_DOWN_SECONDS = 5.0  # ... up to this much per answer


def _count(what: str) -> None:
    """Count, per request, what a callback did (the gate test checks fetched => gated)."""
    import flask

    if flask.has_request_context():
        setattr(flask.g, what, getattr(flask.g, what, 0) + 1)


def _current_page() -> str:
    """The page a callback serves (from its output ids), or the request's path."""
    import flask

    if not flask.has_request_context():
        return "(command line)"
    return getattr(flask.g, "callback_page", None) or flask.request.path


class DataService:
    """Runs metric functions for a user's scope, cached per filter set and data version."""

    def __init__(self, engine: Engine, settings: Settings, cache: Cache | None = None):
        self.engine = engine
        self.settings = settings
        self.cache = ResilientCache(cache) if cache is not None else None
        self._version: tuple[float, int] | None = None
        self._cell_key_secret = settings.cell_key_secret()
        # Told of each data version a request reads (dashboard.warm.Warmer, set by the app
        # factory when WARM_CACHE is on): warms the default views of a version once.
        self.warmer: Any = None

    def version(self) -> int:
        """The data version: read once per request, so a write by another worker or process
        (an import on the command line) is seen by the next request on every worker; a
        version not seen before starts warming its default views (dashboard/warm.py)."""
        if flask.has_request_context():
            if "data_version" not in flask.g:
                flask.g.data_version = self.read_version()
                if self.warmer is not None:
                    self.warmer.seen(flask.g.data_version)
            return flask.g.data_version
        now = time.monotonic()
        if self._version is None or now - self._version[0] > VERSION_TTL:
            self._version = (now, self.read_version())
        return self._version[1]

    def read_version(self) -> int:
        """The data version in the database now (one small query)."""
        with self.engine.connect() as conn:
            from sqlalchemy.orm import Session

            return data_version(Session(bind=conn))

    def forget(self) -> None:
        """After a write: read the data version again on the next call."""
        self._version = None
        if flask.has_request_context():
            flask.g.pop("data_version", None)

    def scoped(self, scope: Scope, filters: Filters) -> Filters:
        """Filters limited to the scope; a request for a network outside it is audited."""
        narrowed, refused = scope.restrict(filters)
        if refused:
            if flask.has_request_context() and "refused" in flask.g:
                flask.g.refused.append(refused)  # replayed by a hit of the view (self.view)
            self._audit_refusal(scope, refused)
        return narrowed

    def _audit_refusal(self, scope: Scope, refused: tuple[str, ...]) -> None:
        with session_scope(self.engine) as session:
            audit.record(
                session,
                "refused",
                scope.username,
                f"asked for network(s) {', '.join(refused)} outside scope",
            )

    def run(
        self, scope: Scope, filters: Filters, metric: Callable, *args: Any, **kwargs: Any
    ) -> Any:
        """metric(conn, scoped_filters, *args, **kwargs), cached."""
        narrowed = self.scoped(scope, filters)
        _count("figures_fetched")
        if not scope.sees_exact_figures:
            if flask.has_request_context() and "watched" in flask.g:
                flask.g.watched.append(narrowed)
            self.watch_query(scope, narrowed)
        key = None
        if self.cache is not None:
            key = repr(
                (
                    metric.__module__,
                    metric.__name__,
                    narrowed.key(),
                    args,
                    sorted(kwargs.items()),
                    self.version(),
                )
            )
            hit = self.cache.get(key)
            if hit is not None:
                return hit
        with reading(self.engine) as conn:
            value = metric(conn, narrowed, *args, **kwargs)
        if key is not None:
            self.cache.set(key, value)
        return value

    def view(self, scope: Scope, name: str, args: tuple, build: Callable[[], Any]) -> Any:
        """A callback's finished output (figures, components), cached per scope (role and
        networks: every user of a scope sees the same view), arguments and data version, so a
        view already opened is not rebuilt. A hit audits the user's refused networks and
        audits and counts the protected user's selections exactly as building it did (SPEC §4).
        """
        if self.cache is None or not flask.has_request_context():
            return build()
        key = repr(("view", name, replace(scope, username=None), args, self.version()))
        hit = self.cache.get(key)
        if hit is not None:
            value, watched, refused = hit
            for networks in refused:
                self._audit_refusal(scope, networks)
            for filters in watched:
                self.watch_query(scope, filters)
            return value
        outer = {name: flask.g.pop(name, None) for name in ("watched", "refused")}
        flask.g.watched, flask.g.refused = watched, refused = [], []
        try:
            value = build()
        finally:
            for name, mine in (("watched", watched), ("refused", refused)):
                flask.g.pop(name, None)
                if outer[name] is not None:
                    setattr(flask.g, name, outer[name] + mine)
        self.cache.set(key, (value, watched, refused))
        return value

    def watch_query(self, scope: Scope, filters: Filters) -> None:
        """SPEC §4: every query of a protected user is audited (user, page, filters), once per
        selection and page every ten minutes; more than QUERY_RATE_PER_MINUTE different
        selections in a minute slows his answers down (and is audited). Warming a view
        (dashboard/warm.py) is nobody's query: neither audited nor counted."""
        if self.cache is None or warming():
            return
        page = _current_page()
        seen = repr(("query", scope.username, page, filters.key()))
        if self.cache.get(seen) is not None:
            return
        self.cache.set(seen, 1, timeout=600)
        minute = repr(("query-rate", scope.username, int(time.time() // 60)))
        asked = (self.cache.get(minute) or 0) + 1
        self.cache.set(minute, asked, timeout=120)
        excess = asked - self.settings.query_rate_per_minute
        with session_scope(self.engine) as session:
            audit.record(session, "query", scope.username, f"{page} ?{filters.to_query()}")
            if excess > 0:
                audit.record(
                    session,
                    "query-slowed",
                    scope.username,
                    f"{asked} different selections this minute (limit "
                    f"{self.settings.query_rate_per_minute})",
                )
        if excess > 0:
            time.sleep(min(SLOW_DOWN_SECONDS * excess, MAX_SLOW_DOWN_SECONDS))

    def lookup(self, function: Callable, *args: Any) -> Any:
        """Option lists and other scope-free look-ups (network names, groups)."""
        key = repr(("lookup", function.__name__, args, self.version()))
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            return hit
        with self.engine.connect() as conn:
            value = function(conn, *args)
        if self.cache is not None:
            self.cache.set(key, value)
        return value

    def data_end(self):
        return self.lookup(queries.data_end)

    def gate(self, scope: Scope) -> Gate:
        """The privacy gate for this user (SPEC §4)."""
        return Gate(
            scope,
            self.settings.suppression_threshold,
            self.settings.survey_min_pairs,
            secret=self._cell_key_secret,
        )


def current_service() -> DataService:
    """The app's data service (inside a request)."""
    return flask.current_app.extensions["dashboard"]
