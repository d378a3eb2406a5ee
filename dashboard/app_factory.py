"""The application factory: Flask server, Dash app, database, sign-in, cache, callbacks."""

from __future__ import annotations

import logging

import flask
from dash import Dash
from flask_caching import Cache
from sqlalchemy import select

from dashboard.auth import init_auth
from dashboard.db import get_engine, init_db, is_initialised, session_scope
from dashboard.models import Member
from dashboard.ops import init_ops
from dashboard.redis_fallback import with_timeouts
from dashboard.service import DataService
from dashboard.settings import PROJECT_DIR, Settings
from dashboard.web_security import init_web_security

log = logging.getLogger(__name__)


def prepare_database(engine, settings: Settings) -> None:
    """Create or upgrade the schema; in demo mode, seed demo data and accounts when empty."""
    init_db(engine)
    if not settings.demo_mode:
        return
    with session_scope(engine) as session:
        empty = session.scalar(select(Member.id).limit(1)) is None
    if empty:
        from dashboard.demo import seed_demo

        log.warning(
            "Demo mode: generating demo data (seed %s, scale %s)...",
            settings.demo_seed,
            settings.demo_scale,
        )
        seed_demo(engine, seed=settings.demo_seed, scale=settings.demo_scale)
        publish_demo_release(engine, settings)
    from dashboard.demo_accounts import DEMO_PASSWORD, create_demo_accounts

    create_demo_accounts(engine)
    log.warning(
        "Demo mode: sign in as admin, leadership, funder, coord-calgary or "
        "coord-edmonton, password %r (see README).",
        DEMO_PASSWORD,
    )


def publish_demo_release(engine, settings: Settings) -> None:
    """Demo mode: publish the last complete fiscal year's release, so the demo funder has one
    to read (a real network prepares and publishes its own on /impact)."""
    import datetime as dt

    from dashboard import releases
    from dashboard.filters import fiscal_year_start

    start = fiscal_year_start(dt.date.today())
    last = f"FY{start.year - 1}-{str(start.year)[2:]}"
    draft = releases.prepare(engine, last, user=releases.CLI_SCOPE, settings=settings)
    releases.publish(engine, draft["id"], releases.CLI_SCOPE)


def create_app(settings: Settings | None = None, prepare: bool = True) -> Dash:
    """Build the whole app for these settings (default: from the environment)."""
    settings = settings or Settings.from_env()
    engine = get_engine(settings.database_url)
    if prepare:
        prepare_database(engine, settings)
    elif not is_initialised(engine):
        init_db(engine)

    server = flask.Flask("dashboard", root_path=str(PROJECT_DIR))
    cache_config = (
        {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": with_timeouts(settings.redis_url)}
        if settings.redis_url
        else {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 300}
    )
    cache = Cache(server, config={**cache_config, "CACHE_DEFAULT_TIMEOUT": 3600})
    init_auth(server, engine, settings, redis_url=settings.redis_url)
    service = server.extensions["dashboard"] = DataService(engine, settings, cache)
    if settings.warm_cache:
        from dashboard.warm import Warmer

        service.warmer = Warmer(server)
    init_web_security(server)
    init_ops(server, engine, settings)

    app = Dash(
        __name__,
        server=server,
        title="Network Dashboard",
        assets_folder=str(PROJECT_DIR / "assets"),
        suppress_callback_exceptions=True,
        update_title=None,
        serve_locally=True,
    )
    from callbacks import register_all
    from layouts.shell import layout

    app.layout = layout
    register_all(app)
    return app
