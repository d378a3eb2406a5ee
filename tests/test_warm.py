"""Warming the cache after an import (issue 14, dashboard/warm.py): each scope's default view
of each page is computed before anyone asks, once for all the workers sharing a cache, and
nobody's query is audited or counted for it."""

from __future__ import annotations

import logging
from dataclasses import replace

import flask
import pytest
from flask_caching.backends import SimpleCache
from sqlalchemy import func, select

from dashboard import warm
from dashboard.db import bump_data_version, get_engine, session_scope
from dashboard.models import AuditEvent
from dashboard.redis_fallback import ResilientCache
from tests.conftest import login
from tests.dash_calls import run_callback
from tests.test_hardening import private_redis  # noqa: F401 - a fixture

CARDS = "overview-value-sessions_held.children"
DEFAULT = [("overview-url", "search", "")]  # the overview's URL without a query string


def new_data_version(url: str) -> None:
    """What an import, a seed or an undo does to the cached figures."""
    with session_scope(get_engine(url)) as session:
        bump_data_version(session)


def app_counting_fetches(settings):
    """The app, and the figures each request fetched (0: answered from the view cache)."""
    from dashboard.app_factory import create_app

    app = create_app(settings, prepare=False)
    fetched: list[int] = []

    @app.server.after_request
    def remember(response):
        fetched.append(getattr(flask.g, "figures_fetched", 0))
        return response

    return app, fetched


def open_overview(app, fetched, username: str) -> tuple[dict, int]:
    """Sign in, open the overview at its default period: (its cards, figures fetched)."""
    client = app.server.test_client()
    assert login(client, username).status_code == 302
    cards = run_callback(client, app, CARDS, DEFAULT)
    return cards, fetched[-1]


def cache_keys(app) -> list[str]:
    return list(app.server.extensions["dashboard"].cache.cache.cache._cache)


def audit_count(url: str) -> int:
    with session_scope(get_engine(url)) as session:
        return session.scalar(select(func.count(AuditEvent.id)))


def test_after_an_import_a_warmed_default_view_is_a_cache_hit(demo_settings):
    app, fetched = app_counting_fetches(demo_settings)
    new_data_version(demo_settings.database_url)
    report = warm.warm(app.server, usernames=["coord-calgary"])
    assert report.scopes == ["coordinator of Calgary"] and not report.failed
    assert report.views >= 20  # overview, attendance, retention, surveys, impact

    cards, computed = open_overview(app, fetched, "coord-calgary")
    assert computed == 0  # from the cache: nothing fetched
    assert cards["overview-value-sessions_held"]["children"]
    # The other coordinator's scope was not warmed: his default overview is computed.
    _, computed = open_overview(app, fetched, "coord-edmonton")
    assert computed > 0


def test_warming_audits_no_query_and_counts_no_selection(demo_settings):
    """Leadership's queries are audited and rate counted (SPEC §4): warming his views is
    nobody's query; his own first look, answered from the cache, is audited as always."""
    app, fetched = app_counting_fetches(demo_settings)
    new_data_version(demo_settings.database_url)
    before = audit_count(demo_settings.database_url)
    report = warm.warm(app.server, usernames=["leadership"])
    assert report.views > 0 and not report.failed
    assert audit_count(demo_settings.database_url) == before  # no query, no sign-in
    keys = cache_keys(app)
    assert not [k for k in keys if k.startswith(("('query'", "('query-rate'"))]
    assert any("role='leadership'" in k for k in keys if k.startswith("('view'"))

    _, computed = open_overview(app, fetched, "leadership")
    assert computed == 0
    with session_scope(get_engine(demo_settings.database_url)) as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.id > before)))
    assert actions.count("login") == 1 and actions.count("query") >= 1


def test_warming_a_coordinator_fills_only_his_networks_views(demo_settings):
    app, _ = app_counting_fetches(demo_settings)
    new_data_version(demo_settings.database_url)
    warm.warm(app.server, usernames=["coord-calgary"])
    keys = cache_keys(app)
    views = [k for k in keys if k.startswith("('view'")]
    # Per scope, not per account: every coordinator of Calgary gets these views.
    scope = "Scope(role='coordinator', networks=('Calgary',), username=None)"
    assert views and all(scope in k for k in views)
    assert not [k for k in keys if "Edmonton" in k]
    for module in ("overview", "attendance", "retention", "surveys", "impact"):
        assert any(f"'callbacks.{module}." in k for k in views), module


def test_funders_are_not_warmed_and_each_scope_once(demo_settings):
    engine = get_engine(demo_settings.database_url)
    labels = [account.label for account in warm.accounts(engine)]
    assert "funder" not in labels
    assert len(labels) == len(set(labels))
    assert {"admin", "leadership", "coordinator of Calgary", "coordinator of Edmonton"} <= set(
        labels
    )
    assert warm.accounts(engine, ["funder"]) == []


def _started(monkeypatch) -> list[int]:
    """Warmer threads started (the warming itself replaced by a note of its version)."""
    started: list[int] = []
    monkeypatch.setattr(warm, "IN_BACKGROUND", True)
    monkeypatch.setattr(warm.Warmer, "run", lambda self, version: started.append(version))
    return started


def test_only_one_of_two_workers_sharing_a_cache_warms_a_version(demo_settings, monkeypatch):
    from dashboard.app_factory import create_app

    started = _started(monkeypatch)
    shared = ResilientCache(SimpleCache())
    services = []
    for _ in range(2):
        service = create_app(demo_settings, prepare=False).server.extensions["dashboard"]
        service.cache = shared
        services.append(service)
    for service in services * 2:  # each worker sees version 1001 twice
        service.warmer.seen(1001)
    for thread in [s.warmer.thread for s in services if s.warmer.thread]:
        thread.join(5)
    assert started == [1001]
    for service in services:
        service.warmer.seen(1002)
    assert started == [1001, 1002]


def test_with_redis_one_worker_of_all_warms_a_version(demo_settings, private_redis, monkeypatch):  # noqa: F811
    from dashboard.app_factory import create_app

    started = _started(monkeypatch)
    settings = replace(demo_settings, redis_url=f"redis://127.0.0.1:{private_redis.port}/0")
    services = [
        create_app(settings, prepare=False).server.extensions["dashboard"] for _ in range(3)
    ]
    for service in services:
        service.warmer.seen(2001)
    assert started == [2001]


def test_a_request_on_a_new_version_warms_in_the_background(demo_settings, monkeypatch):
    """The first request after an import starts the warming; the next visitor is served
    from the cache."""
    monkeypatch.setattr(warm, "IN_BACKGROUND", True)
    monkeypatch.setattr(warm, "PAGES", ("/",))  # the overview is enough here
    app, fetched = app_counting_fetches(demo_settings)
    new_data_version(demo_settings.database_url)
    client = app.server.test_client()
    assert login(client, "admin").status_code == 302
    run_callback(client, app, "filter-group.options", [("filter-network", "value", [])])
    thread = app.server.extensions["dashboard"].warmer.thread
    assert thread is not None
    thread.join(120)
    assert not thread.is_alive()
    _, computed = open_overview(app, fetched, "coord-edmonton")
    assert computed == 0


def test_warming_errors_are_logged_not_raised(demo_settings, monkeypatch, caplog):
    from dashboard.app_factory import create_app

    monkeypatch.setattr(warm, "IN_BACKGROUND", True)
    service = create_app(demo_settings, prepare=False).server.extensions["dashboard"]

    def broken(*args, **kwargs):
        raise RuntimeError("no database")

    monkeypatch.setattr(warm, "warm", broken)
    with caplog.at_level(logging.ERROR, logger="dashboard.warm"):
        assert service.warmer.run(3001) is None
        monkeypatch.setattr(warm, "claim", broken)
        service.warmer.seen(3002)  # does not raise
    assert "failed" in caplog.text and "did not start" in caplog.text


def test_the_warm_command_needs_a_shared_cache(demo_settings, monkeypatch, capsys):
    from dashboard.cli import main

    monkeypatch.setenv("DATABASE_URL", demo_settings.database_url)
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["warm"]) == 1
    assert "REDIS_URL is not set" in capsys.readouterr().err


def test_the_warm_command_fills_redis(demo_settings, private_redis, monkeypatch, capsys):  # noqa: F811
    from dashboard.cli import main

    monkeypatch.setenv("DATABASE_URL", demo_settings.database_url)
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{private_redis.port}/0")
    assert main(["warm", "--user", "coord-calgary"]) == 0
    out = capsys.readouterr().out
    assert "views of coordinator of Calgary" in out
    assert private_redis.keys() > 20


@pytest.mark.parametrize("raw, on", [("0", False), ("1", True)])
def test_warming_can_be_turned_off(demo_settings, raw, on):
    from dashboard.app_factory import create_app
    from dashboard.settings import Settings

    settings = Settings.from_env({"DATABASE_URL": demo_settings.database_url, "WARM_CACHE": raw})
    assert settings.warm_cache is on
    app = create_app(replace(demo_settings, warm_cache=on), prepare=False)
    assert (app.server.extensions["dashboard"].warmer is not None) is on


def test_a_view_from_the_cache_audits_a_refused_network_again(demo_settings):
    """Views are shared per scope, so a hit replays what building the view audited: a
    coordinator's link naming another network is audited on every opening (SPEC §4)."""
    app, fetched = app_counting_fetches(demo_settings)
    client = app.server.test_client()
    assert login(client, "coord-calgary").status_code == 302
    url = demo_settings.database_url
    with session_scope(get_engine(url)) as session:
        before = session.scalar(select(func.max(AuditEvent.id)))
    link = [("overview-url", "search", "?from=2025-04-01&to=2025-06-30&network=Edmonton")]
    for _ in range(2):
        run_callback(client, app, CARDS, link)
    assert fetched[-1] == 0  # the second opening came from the cache
    with session_scope(get_engine(url)) as session:
        refused = session.scalars(
            select(AuditEvent.detail).where(
                AuditEvent.id > before,
                AuditEvent.action == "refused",
                AuditEvent.username == "coord-calgary",
            )
        ).all()
    assert len(refused) >= 2 and all("Edmonton" in detail for detail in refused)
    assert len(refused) % 2 == 0  # as many from the cache as from computing


def test_warming_sends_what_the_browser_sends_on_opening_a_page(demo_settings, monkeypatch):
    """The bodies Chromium sent on opening /surveys (recorded 2026-12-02): the page URL's
    search as "" and the instrument the options callback chose, both marked changed."""
    app, _ = app_counting_fetches(demo_settings)
    sent = []

    @app.server.before_request
    def record():
        if flask.request.path == warm.CALLBACK_PATH:
            sent.append(flask.request.get_json())

    monkeypatch.setattr(warm, "PAGES", ("/surveys",))
    warm.warm(app.server, usernames=["coord-calgary"])
    forest = next(b for b in sent if b["output"].startswith("..surveys-forest.figure"))
    assert [(i["id"], i["value"]) for i in forest["inputs"]] == [
        ("surveys-url", ""),
        ("surveys-instrument", "swemwbs"),
    ]
    assert forest["changedPropIds"] == ["surveys-url.search", "surveys-instrument.value"]
    assert [b["output"] for b in sent][0] == "..page.children...filter-bar.style.."
