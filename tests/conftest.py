"""Shared fixtures: a real database (SQLite by default, PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import shutil

import pytest
from sqlalchemy import create_engine, delete, make_url, text

from dashboard.db import get_engine, init_db, session_scope
from dashboard.models import Base, DataVersion


def pytest_setup_options():
    """Chromium flags for dash_duo: headless as root on a machine without internet."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1400,1000"):
        options.add_argument(flag)
    if os.path.exists("/usr/bin/chromium"):
        options.binary_location = "/usr/bin/chromium"
    return options


def pytest_collection_modifyitems(config, items):
    """Browser tests skip with a reason where chromium is absent (CI makes them mandatory)."""
    if shutil.which("chromedriver") and shutil.which("chromium"):
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise pytest.UsageError("REQUIRE_BROWSER=1 but chromium/chromedriver are not installed")
    skip = pytest.mark.skip(reason="chromium and chromium-driver are not installed "
                                   "(apt-get install chromium chromium-driver)")
    for item in items:
        if "dash_duo" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """SQLite in a temporary file, or a fresh PostgreSQL database made beside TEST_DATABASE_URL
    (so that two runs on one server never share tables)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    name = f"dashboard_test_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    get_engine.cache_clear()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session")
def _schema(database_url):
    engine = get_engine(database_url)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(_schema):
    """An initialised, empty database (instruments loaded) for one test."""
    engine = _schema
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in ("instrument", "data_version"):
                conn.execute(delete(table))
    with session_scope(engine) as session:
        session.merge(DataVersion(id=1, version=0))
    return engine


@pytest.fixture
def session(engine):
    with session_scope(engine) as s:
        yield s
