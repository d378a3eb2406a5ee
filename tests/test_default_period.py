"""Each role opens on the period it works in (SPEC §5); a URL with a period still wins."""

from __future__ import annotations

import datetime as dt

import pytest

from callbacks.shell import SYNCED
from dashboard.filters import DEFAULT_PRESET, Filters, default_preset, preset_range
from tests.dash_calls import run_callback

TODAY = dt.date(2026, 3, 15)  # inside the demo data (it ends 2026-03-31), FY2025-26


@pytest.mark.parametrize(
    "role, preset, start, end",
    [
        ("coordinator", "fy-to-date", "2025-04-01", "2026-03-15"),
        ("admin", "fy-to-date", "2025-04-01", "2026-03-15"),
        ("leadership", "this-fy", "2025-04-01", "2026-03-31"),
        ("funder", DEFAULT_PRESET, "2024-04-01", "2025-03-31"),  # left alone: releases
        (None, DEFAULT_PRESET, "2024-04-01", "2025-03-31"),
    ],
)
def test_default_preset_per_role(role, preset, start, end):
    assert default_preset(role) == preset
    f = Filters.from_query("", TODAY, default=default_preset(role))
    assert (f.preset, f.start.isoformat(), f.end.isoformat()) == (preset, start, end)


@pytest.mark.parametrize(
    "today, start",
    [
        (dt.date(2026, 4, 1), dt.date(2026, 4, 1)),  # the fiscal year's first day
        (dt.date(2026, 3, 31), dt.date(2025, 4, 1)),  # its last day
        (dt.date(2026, 12, 1), dt.date(2026, 4, 1)),
    ],
)
def test_fiscal_year_to_date(today, start):
    assert preset_range("fy-to-date", today) == (start, today)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("from=2025-01-01&to=2025-01-31", (None, "2025-01-01", "2025-01-31")),
        ("period=last-fy", ("last-fy", "2024-04-01", "2025-03-31")),
        ("period=no-such-preset", ("fy-to-date", "2025-04-01", "2026-03-15")),
        ("network=Calgary", ("fy-to-date", "2025-04-01", "2026-03-15")),
    ],
)
def test_the_url_wins_over_the_role_default(query, expected):
    f = Filters.from_query(query, TODAY, default="fy-to-date")
    assert (f.preset, f.start.isoformat(), f.end.isoformat()) == expected


# --- Through the app: the filter bar and a page's figures, signed in as each role ---------


@pytest.fixture
def fixed_today(monkeypatch):
    import callbacks.shell

    monkeypatch.setattr(callbacks.shell, "today", lambda: TODAY)
    return TODAY


def filter_bar(client, app, search: str) -> dict:
    """The shell's URL -> filter bar callback, as the browser calls it on opening a page."""
    inputs = [("url", "search", search)]
    inputs += [(c, "value", None) for c in SYNCED]
    inputs += [("filter-dates", "start_date", None), ("filter-dates", "end_date", None)]
    return run_callback(client, app, "filter-summary.children", inputs)


@pytest.mark.parametrize(
    "user, preset, start, end",
    [
        ("coord-calgary", "fy-to-date", "2025-04-01", "2026-03-15"),
        ("leadership", "this-fy", "2025-04-01", "2026-03-31"),
        ("admin", "fy-to-date", "2025-04-01", "2026-03-15"),
        ("funder", DEFAULT_PRESET, "2024-04-01", "2025-03-31"),
    ],
)
def test_each_role_opens_on_its_period(demo_app, client_for, fixed_today, user, preset, start, end):
    bar = filter_bar(client_for(user), demo_app, "")
    assert bar["filter-preset"]["value"] == preset
    assert bar["filter-dates"] == {"start_date": start, "end_date": end}
    assert f"{dt.date.fromisoformat(start):%d %b %Y}" in bar["filter-summary"]["children"]


@pytest.mark.parametrize("user", ["coord-calgary", "leadership"])
def test_explicit_dates_in_the_url_win(demo_app, client_for, fixed_today, user):
    bar = filter_bar(client_for(user), demo_app, "?from=2025-01-01&to=2025-01-31")
    assert bar["filter-preset"]["value"] == "custom"
    assert bar["filter-dates"] == {"start_date": "2025-01-01", "end_date": "2025-01-31"}
    bar = filter_bar(client_for(user), demo_app, "?period=last-fy")
    assert bar["filter-preset"]["value"] == "last-fy"
    assert bar["filter-dates"] == {"start_date": "2024-04-01", "end_date": "2025-03-31"}


def test_a_page_without_a_period_shows_the_roles_period(
    demo_app, demo_settings, client_for, fixed_today
):
    """The overview's cards for a coordinator with a bare URL are those of his fiscal year to
    date; with the same URL, leadership's are those of the whole fiscal year."""
    from dashboard import metrics
    from dashboard.db import get_engine

    cards = "overview-value-sessions_held.children"
    coordinator = run_callback(
        client_for("coord-calgary"), demo_app, cards, [("overview-url", "search", "")]
    )
    admin = run_callback(client_for("admin"), demo_app, cards, [("overview-url", "search", "")])
    to_date = Filters(start=dt.date(2025, 4, 1), end=TODAY, networks=("Calgary",))
    whole = Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31))
    with get_engine(demo_settings.database_url).connect() as conn:
        expected = metrics.headline(conn, to_date)["sessions_held"]
        admin_expected = metrics.headline(conn, Filters(start=to_date.start, end=TODAY))
        whole_year = metrics.headline(conn, whole)["sessions_held"]
    held = int(coordinator["overview-value-sessions_held"]["children"].replace(",", ""))
    assert held == expected
    assert (
        int(admin["overview-value-sessions_held"]["children"].replace(",", ""))
        == (admin_expected["sessions_held"])
    )
    assert admin_expected["sessions_held"] < whole_year  # the last two weeks are left out
