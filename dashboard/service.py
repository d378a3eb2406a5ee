"""The one way to query with a user's scope: restrict, audit refusals, cache, run."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask_caching import Cache
from sqlalchemy import Engine

from dashboard import audit, queries
from dashboard.access import Scope
from dashboard.db import data_version, session_scope
from dashboard.filters import Filters
from dashboard.privacy import Suppressed, suppress
from dashboard.redis_fallback import ResilientCache
from dashboard.settings import Settings

VERSION_TTL = 2.0  # seconds a data version is trusted before it is read again


class DataService:
    """Runs metric functions for a user's scope, cached per filter set and data version."""

    def __init__(self, engine: Engine, settings: Settings, cache: Cache | None = None):
        self.engine = engine
        self.settings = settings
        self.cache = ResilientCache(cache) if cache is not None else None
        self._version: tuple[float, int] | None = None

    def version(self) -> int:
        now = time.monotonic()
        if self._version is None or now - self._version[0] > VERSION_TTL:
            with self.engine.connect() as conn:
                from sqlalchemy.orm import Session

                self._version = (now, data_version(Session(bind=conn)))
        return self._version[1]

    def forget(self) -> None:
        """After a write: read the data version again on the next call."""
        self._version = None

    def scoped(self, scope: Scope, filters: Filters) -> Filters:
        """Filters limited to the scope; a request for a network outside it is audited."""
        narrowed, refused = scope.restrict(filters)
        if refused:
            with session_scope(self.engine) as session:
                audit.record(
                    session,
                    "refused",
                    scope.username,
                    f"asked for network(s) {', '.join(refused)} outside scope",
                )
        return narrowed

    def run(
        self, scope: Scope, filters: Filters, metric: Callable, *args: Any, **kwargs: Any
    ) -> Any:
        """metric(conn, scoped_filters, *args, **kwargs), cached."""
        narrowed = self.scoped(scope, filters)
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
        with self.engine.connect() as conn:
            value = metric(conn, narrowed, *args, **kwargs)
        if key is not None:
            self.cache.set(key, value)
        return value

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

    def table(
        self,
        scope: Scope,
        frame,
        counts: list[str],
        derived: dict[str, str] | None = None,
        totals: tuple[str, ...] = (),
    ) -> Suppressed:
        """A table as this scope may receive it: suppressed for funders and leadership."""
        if scope.suppressed:
            return suppress(frame, self.settings.suppression_threshold, counts, derived, totals)
        return suppress(frame, 0, counts, derived, ())


def current_service() -> DataService:
    """The app's data service (inside a request)."""
    import flask

    return flask.current_app.extensions["dashboard"]
