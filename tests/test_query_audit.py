"""SPEC §4: every query of a leadership or funder user is audited (who, page, filters), and
more than QUERY_RATE_PER_MINUTE different selections a minute slows him down, audited too."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from dashboard.db import get_engine, session_scope
from dashboard.models import AuditEvent
from tests.conftest import login
from tests.dash_calls import run_callback

TREND = "overview-trend.figure"


def events(url: str, username: str, action: str) -> list[str]:
    with session_scope(get_engine(url)) as session:
        return list(
            session.scalars(
                select(AuditEvent.detail)
                .where(AuditEvent.username == username, AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


def signed_in(app, username: str):
    client = app.server.test_client()
    assert login(client, username).status_code == 302
    return client


def test_leadership_queries_are_audited_once_per_selection(demo_settings):
    from dashboard.app_factory import create_app

    app = create_app(demo_settings, prepare=False)
    client = signed_in(app, "leadership")
    before = len(events(demo_settings.database_url, "leadership", "query"))
    for search in (
        "?from=2025-04-01&to=2025-06-30",
        "?from=2025-04-01&to=2025-06-30",
        "?from=2025-04-01&to=2025-06-29",
    ):
        run_callback(client, app, TREND, [("overview-url", "search", search)])
    logged = events(demo_settings.database_url, "leadership", "query")[before:]
    assert len(logged) == 2  # the repeated selection is logged once
    assert logged[0].startswith("/ ?") and "from=2025-04-01" in logged[0]
    assert "to=2025-06-29" in logged[1]


def test_coordinator_queries_are_not_logged_as_protected_queries(demo_settings, client_for):
    from dashboard.app_factory import create_app

    app = create_app(demo_settings, prepare=False)
    client = signed_in(app, "coord-calgary")
    run_callback(client, app, TREND, [("overview-url", "search", "?from=2025-05-01&to=2025-05-31")])
    assert events(demo_settings.database_url, "coord-calgary", "query") == []


def test_too_many_selections_a_minute_are_slowed_and_audited(demo_settings):
    from dashboard.app_factory import create_app

    settings = dataclasses.replace(demo_settings, query_rate_per_minute=2)
    app = create_app(settings, prepare=False)
    client = signed_in(app, "leadership")
    before = len(events(settings.database_url, "leadership", "query-slowed"))
    for day in (1, 2, 3):
        search = f"?from=2024-05-0{day}&to=2024-06-30"
        run_callback(client, app, TREND, [("overview-url", "search", search)])
    slowed = events(settings.database_url, "leadership", "query-slowed")[before:]
    assert len(slowed) == 1 and slowed[0].startswith("3 different selections this minute")


def test_a_view_served_from_the_cache_is_audited_like_a_computed_one(demo_settings):
    """The second opening of a view is answered from the view cache (no figures fetched), and
    a protected user's selection is still audited: here once the ten minutes of "already
    logged" are over (their mark removed)."""
    import flask

    from dashboard.app_factory import create_app
    from dashboard.filters import Filters

    app = create_app(demo_settings, prepare=False)
    fetched = []

    @app.server.after_request
    def remember(response):
        fetched.append(getattr(flask.g, "figures_fetched", 0))
        return response

    client = signed_in(app, "leadership")
    search = "?from=2025-02-01&to=2025-03-31"
    before = len(events(demo_settings.database_url, "leadership", "query"))
    first = run_callback(client, app, TREND, [("overview-url", "search", search)])
    service = app.server.extensions["dashboard"]
    f = Filters.from_query(search, dt.date(2026, 3, 31), None)  # explicit dates: any today
    service.cache.cache.delete(repr(("query", "leadership", "/", f.key())))
    second = run_callback(client, app, TREND, [("overview-url", "search", search)])
    assert second == first
    assert fetched[-2] > 0 and fetched[-1] == 0  # computed, then the finished figure
    logged = events(demo_settings.database_url, "leadership", "query")[before:]
    assert len(logged) == 2 and all("from=2025-02-01" in text for text in logged)
