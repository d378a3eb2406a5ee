"""Shared fixtures: a real database (SQLite by default, PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil

import pytest
from sqlalchemy import create_engine, delete, make_url, text

from dashboard.db import get_engine, init_db, session_scope
from dashboard.models import Base, DataVersion


def pytest_setup_options():
    """Chromium flags for dash_duo: headless as root on a machine without internet."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    if os.path.exists("/usr/bin/chromium"):
        options.binary_location = "/usr/bin/chromium"
    return options


def pytest_collection_modifyitems(config, items):
    """Every dash_duo test is marked `browser` (`pytest -m "not browser"` is the fast loop);
    browser tests skip with a reason where chromium is absent (CI makes them mandatory)."""
    for item in items:
        if "dash_duo" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
    if shutil.which("chromedriver") and shutil.which("chromium"):
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise pytest.UsageError("REQUIRE_BROWSER=1 but chromium/chromedriver are not installed")
    skip = pytest.mark.skip(
        reason="chromium and chromium-driver are not installed "
        "(apt-get install chromium chromium-driver)"
    )
    for item in items:
        if "dash_duo" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


def _fresh_database(tmp_path_factory, suffix: str):
    """SQLite in a temporary file, or a fresh PostgreSQL database made beside
    TEST_DATABASE_URL (so two runs on one server never share tables). Yields its URL."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / (suffix + '.db')}"
        return
    name = f"dashboard_test_{os.getpid()}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    fresh = make_url(url).set(database=name).render_as_string(hide_password=False)
    yield fresh
    get_engine(fresh).dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(autouse=True)
def _no_background_warming(monkeypatch):
    """The apps of tests come and go with their databases: no warming threads behind them
    (tests/test_warm.py turns it on where it tests it)."""
    monkeypatch.setattr("dashboard.warm.IN_BACKGROUND", False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    yield from _fresh_database(tmp_path_factory, "unit")


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


# --- The demo database and the app on it (page, callback, sign-in and browser tests) ---

DEMO_END = dt.date(2026, 3, 31)  # the demo data's last day in tests: FY2025-26 is complete
TEST_PASSWORD = "test-password-1"
ROLE_USERS = {
    "admin": ("admin", []),
    "leadership": ("leadership", []),
    "funder": ("funder", []),
    "coord-calgary": ("coordinator", ["Calgary"]),
    "coord-edmonton": ("coordinator", ["Edmonton"]),
}


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory):
    """A database seeded once per run with small demo data and one user per role."""
    for url in _fresh_database(tmp_path_factory, "demo"):
        from dashboard.demo import seed_demo
        from dashboard.users import create_user

        engine = get_engine(url)
        init_db(engine)
        seed_demo(engine, seed=7, scale=0.25, end=DEMO_END)
        with session_scope(engine) as session:
            for username, (role, networks) in ROLE_USERS.items():
                create_user(session, username, role, networks, TEST_PASSWORD)
        yield url


@pytest.fixture
def demo_settings(demo_url):
    from dashboard.settings import Settings

    return Settings(database_url=demo_url, secret_key="test-secret", demo_mode=False)


@pytest.fixture
def demo_app(demo_settings):
    """A fresh Dash app on the demo database."""
    from dashboard.app_factory import create_app

    return create_app(demo_settings, prepare=False)


def form_token(client, path: str = "/login") -> str:
    """The CSRF token of the form a page shows (the sign-in or sign-out form)."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(client, username: str, password: str = TEST_PASSWORD, **fields):
    """Sign a Flask test client in through the form (with its token); returns the response."""
    data = {"username": username, "password": password, **fields}
    return client.post("/login", data={**data, "csrf_token": form_token(client)})


def logout(client):
    """Sign out through the sign-out form; returns the response."""
    return client.post("/logout", data={"csrf_token": form_token(client, "/logout")})


@pytest.fixture
def client_for(demo_app):
    """client_for('funder') -> a test client signed in as that role's test user."""

    def make(username: str):
        client = demo_app.server.test_client()
        response = login(client, username)
        assert response.status_code == 302, response.data[:200]
        return client

    return make
