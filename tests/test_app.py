"""The running app: health, sign-in redirect, the shell's filters and routing."""

import datetime as dt

from dashboard.filters import Filters


def test_healthz_open_and_reports_database(demo_app):
    response = demo_app.server.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_anonymous_page_redirects_to_login(demo_app):
    response = demo_app.server.test_client().get("/attendance?network=Calgary")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_signed_in_page_and_layout(client_for):
    client = client_for("admin")
    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout").get_json()
    text = str(layout)
    assert "filter-network" in text and "Calgary" in text


def test_bootstrap_served_locally(demo_app):
    response = demo_app.server.test_client().get("/assets/00-bootstrap.min.css")
    assert response.status_code == 200 and b"Bootstrap" in response.data[:400]


def test_filters_round_trip_through_the_query_string():
    f = Filters(
        start=dt.date(2025, 4, 1),
        end=dt.date(2026, 3, 31),
        networks=("Edmonton",),
        groups=("A & B",),
        grain="week",
    )
    again = Filters.from_query(f.to_query(), dt.date(2026, 11, 21))
    assert again == f


def test_overview_cards_follow_the_network_filter(demo_app, client_for):
    from tests.dash_calls import run_callback

    client = client_for("admin")
    out = "overview-value-sessions_held.children"
    both = run_callback(
        client, demo_app, out, [("url", "search", "?from=2025-04-01&to=2026-03-31")]
    )
    edmonton = run_callback(
        client,
        demo_app,
        out,
        [("url", "search", "?from=2025-04-01&to=2026-03-31&network=Edmonton")],
    )
    total = int(both["overview-value-sessions_held"]["children"].replace(",", ""))
    part = int(edmonton["overview-value-sessions_held"]["children"].replace(",", ""))
    assert 0 < part < total
