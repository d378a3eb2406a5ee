"""Operations: health checks, the request log, the client's address behind a proxy, and a
database that goes away and comes back."""

from __future__ import annotations

import logging
import os
import socket

import pytest
from sqlalchemy import create_engine, make_url, select, text

from dashboard.app_factory import create_app
from dashboard.db import get_engine, session_scope
from dashboard.models import AuditEvent
from dashboard.settings import Settings
from dashboard.users import create_user
from tests.conftest import TEST_PASSWORD, _fresh_database, form_token, login
from tests.dash_calls import callback_body

USERS_OUTPUTS = [
    ("admin-users", "rowData"),
    ("admin-edit-user", "options"),
    ("admin-new-networks", "options"),
    ("admin-edit-networks", "options"),
]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_on(database_url: str, **settings):
    return create_app(
        Settings(database_url=database_url, secret_key="test-secret", demo_mode=False, **settings),
        prepare=False,
    )


def test_healthz_and_readyz_need_no_sign_in(demo_app):
    client = demo_app.server.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["database"] == "ok"


def test_redis_that_does_not_answer_is_not_ready(demo_url):
    port = closed_port()
    app = app_on(demo_url, redis_url=f"redis://127.0.0.1:{port}/0")
    client = app.server.test_client()
    live = client.get("/healthz")
    assert live.status_code == 200  # the process lives: no restart for a Redis outage
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "degraded", "database": "ok", "redis": "down"}
    assert str(port) not in ready.get_data(as_text=True)  # no addresses revealed


def test_one_log_line_per_request_without_query_strings(client_for, caplog):
    client = client_for("admin")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="dashboard.requests"):
        client.get("/attendance?member=CGY-000123")
        users_callback(client)
        client.get("/assets/app.css")
    lines = [r.getMessage() for r in caplog.records if r.name == "dashboard.requests"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("user=admin GET /attendance 200 ")
    assert lines[0].endswith("ms") and "CGY" not in lines[0]
    assert lines[1].startswith(
        "user=admin POST /_dash-update-component "
        "admin-users,admin-edit-user,admin-new-networks,admin-edit-networks 200 "
    )


@pytest.fixture
def failed_sign_ins(demo_url):
    """fail(app, address) -> the status of a wrong password sent through a proxy."""

    def fail(app, forwarded_for: str, username: str = "nobody") -> int:
        client = app.server.test_client()
        response = client.post(
            "/login",
            data={
                "username": username,
                "password": "wrong-password",
                "csrf_token": form_token(client),
            },
            headers={"X-Forwarded-For": forwarded_for},
        )
        return response.status_code

    return fail


def last_failed_address(url: str) -> str:
    with session_scope(get_engine(url)) as session:
        return session.scalar(
            select(AuditEvent.address)
            .where(AuditEvent.action == "login-failed")
            .order_by(AuditEvent.id.desc())
        )


def test_behind_a_trusted_proxy_the_client_address_counts(demo_url, failed_sign_ins):
    app = app_on(demo_url, trusted_proxies=1)
    assert failed_sign_ins(app, "203.0.113.7", "proxy-a-1") == 401
    assert last_failed_address(demo_url) == "203.0.113.7"
    for i in range(2, 6):
        assert failed_sign_ins(app, "203.0.113.7", f"proxy-a-{i}") == 401
    # The sixth from that client is throttled; another client behind the same proxy is not.
    assert failed_sign_ins(app, "203.0.113.7", "proxy-a-6") == 429
    assert failed_sign_ins(app, "198.51.100.9", "proxy-b-1") == 401


def test_without_trusted_proxies_the_header_is_ignored(demo_url, failed_sign_ins):
    app = app_on(demo_url)
    assert failed_sign_ins(app, "203.0.113.8", "spoof-1") == 401
    assert last_failed_address(demo_url) == "127.0.0.1"


# --- the database goes away and comes back (PostgreSQL) -------------------------------------

needs_postgresql = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)


@pytest.fixture
def pg_app(tmp_path_factory):
    """An app on a fresh PostgreSQL database with one admin; (app, url, admin engine)."""
    for url in _fresh_database(tmp_path_factory, "restart"):
        from dashboard.db import init_db

        init_db(get_engine(url))
        with session_scope(get_engine(url)) as session:
            create_user(session, "ada", "admin", [], TEST_PASSWORD)
        admin = create_engine(os.environ["TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
        yield app_on(url), url, admin
        with admin.connect() as conn:
            name = make_url(url).database
            conn.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        admin.dispose()


def drop_connections(admin, database: str) -> int:
    with admin.connect() as conn:
        return len(
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            ).all()
        )


def users_callback(client):
    body = callback_body(USERS_OUTPUTS, [("admin-changed", "data", 0)])
    return client.post("/_dash-update-component", json=body)


@needs_postgresql
def test_dropped_connections_are_survived(pg_app):
    app, url, admin = pg_app
    client = app.server.test_client()
    assert login(client, "ada").status_code == 302
    assert client.get("/").status_code == 200
    assert drop_connections(admin, make_url(url).database) >= 1
    # The pool's pre-ping finds the dead connections and opens new ones: no error shown.
    assert client.get("/").status_code == 200
    assert client.get("/readyz").status_code == 200


@needs_postgresql
def test_a_clear_page_while_the_database_is_down(pg_app):
    app, url, admin = pg_app
    client = app.server.test_client()
    assert login(client, "ada").status_code == 302
    name = make_url(url).database
    with admin.connect() as conn:
        conn.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
    drop_connections(admin, name)
    page = client.get("/attendance")
    assert page.status_code == 503
    assert "cannot reach its database" in page.get_data(as_text=True)
    assert users_callback(client).status_code == 503
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").get_json()["database"] == "down"
    with admin.connect() as conn:
        conn.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
    # Back without a restart of the app, and still signed in.
    assert client.get("/attendance").status_code == 200
    assert users_callback(client).status_code == 200
