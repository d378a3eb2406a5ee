"""The figures' definitions the project carries: docs/definitions.md is the catalogue rendered
(never drifting from it), `python -m dashboard definitions` prints it, and every signed-in role
reads the same catalogue on /definitions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard import catalogue, definitions
from tests.dash_calls import run_callback

ROOT = Path(__file__).resolve().parent.parent


def strings(node) -> list[str]:
    """Every text in a component tree (as the callback endpoint returns it)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [text for item in node for text in strings(item)]
    if isinstance(node, dict):
        return [text for value in node.values() for text in strings(value)]
    return []


def test_the_committed_file_is_the_catalogue_rendered():
    committed = (ROOT / "docs" / "definitions.md").read_text()
    assert committed == definitions.markdown(), (
        "docs/definitions.md differs from the catalogue: run "
        "`python -m dashboard definitions > docs/definitions.md`"
    )


def test_the_markdown_lists_every_figure_once_with_its_definition_kind_and_privacy():
    text = definitions.markdown()
    rows = [line for line in text.splitlines() if line.startswith("| **")]
    assert len(rows) == len(catalogue.FIGURES)
    men = next(row for row in rows if "(`men_reached`)" in row)
    assert men == (
        "| **Men reached** (`men_reached`) | Different men who attended at least one session "
        "in the period. | count of men | Shown as <5 below 5 men; leadership and funders get "
        "a cell-key protected count. | attendance summaries |"
    )
    hours = next(row for row in rows if "(`attendance_hours`)" in row)
    assert hours.endswith(
        "| hours | Rests on Men reached: hidden when that count is below 5 or hidden. "
        "| attendance summaries |"
    )
    assert "| count of sessions | Not about men: never hidden. | sessions |" in next(
        row for row in rows if "(`sessions_held`)" in row
    )
    # Every figure sits under one heading, in the catalogue's order.
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        f"## {title}" for title, _ in catalogue.SECTIONS
    ]
    order = [row.split("(`", 1)[1].split("`)", 1)[0] for row in rows]
    assert order == list(catalogue.FIGURES)


def test_the_command_prints_the_definitions(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}"}
    env["SECRET_KEY"] = "x" * 32
    env["ACTIVE_WINDOW_WEEKS"] = "6"
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "definitions"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # With this deployment's settings: its active window.
    assert "Men with a 'present' in the 6 weeks up to the period's last day" in done.stdout
    assert "`ACTIVE_WINDOW_WEEKS` 6" in done.stdout
    assert done.stdout.count("\n| **") == len(catalogue.FIGURES)


@pytest.mark.parametrize("user", ["admin", "leadership", "funder", "coord-calgary"])
def test_every_role_reads_every_definition_on_the_page(demo_app, demo_settings, client_for, user):
    client = client_for(user)
    out = run_callback(client, demo_app, "page.children", [("url", "pathname", "/definitions")])
    texts = strings(out["page"]["children"])
    assert "Definitions" in texts
    for key, entry in catalogue.FIGURES.items():
        assert entry.label in texts, key
        assert catalogue.definition(key, demo_settings) in texts, key
    assert out["filter-bar"]["style"] == {"display": "none"}  # nothing to filter here
    # Linked from the navigation bar (beside the user's name) of every page.
    from dash._utils import to_json

    from dashboard.access import Scope
    from layouts.shell import navbar
    from tests.conftest import ROLE_USERS

    bar = json.loads(to_json(navbar(Scope(role=ROLE_USERS[user][0], username=user))))
    link = by_id(bar, "nav-help-definitions")
    assert (link["href"], link["children"]) == ("/definitions", "Definitions")


def by_id(node, component_id: str) -> dict | None:
    """The props of the component with this id in a component tree (JSON)."""
    if isinstance(node, list):
        return next((p for item in node if (p := by_id(item, component_id))), None)
    if isinstance(node, dict):
        props = node.get("props", {})
        if props.get("id") == component_id:
            return props
        return by_id(props.get("children"), component_id)
    return None


def test_every_figure_says_what_stored_data_it_reads():
    """Issue 14: the catalogue says which stored data (summaries, spans, pairs or raw rows)
    each figure is computed from; a metric without an entry fails here."""
    from dashboard import catalogue, metrics

    for entry in catalogue.FIGURES.values():
        assert entry.metric is None or hasattr(metrics, entry.metric), entry.key
        assert entry.reads, f"{entry.key}: catalogue.READS has no entry for {entry.metric}"
        assert set(entry.reads) <= set(catalogue.SOURCES), entry.key
        # A figure's own list is part of what its metric reads.
        assert set(entry.reads) <= set(catalogue.READS[entry.metric]), entry.key


def test_figures_read_from_the_summaries_need_no_raw_attendance_for_whole_years(engine):
    """The figures the catalogue says read the attendance summaries give the same values for
    a fiscal year with every raw attendance row gone (the summaries kept): they read them."""
    import datetime as dt

    from sqlalchemy import delete

    from dashboard import metrics
    from dashboard.demo import seed_demo
    from dashboard.filters import Filters
    from dashboard.models import Attendance

    seed_demo(engine, seed=2, scale=0.05, end=dt.date(2026, 3, 31))
    f = Filters(start=dt.date(2024, 4, 1), end=dt.date(2025, 3, 31), grain="quarter")
    with engine.connect() as conn:
        before = metrics.outputs(conn, f), metrics.group_table(conn, f)
        trend = metrics.attendance_over_time(conn, f, "network")
        with conn.begin_nested() if conn.in_transaction() else conn.begin() as transaction:
            conn.execute(delete(Attendance))
            assert metrics.outputs(conn, f)["men_reached"] == before[0]["men_reached"] > 0
            assert metrics.outputs(conn, f) == before[0]
            assert metrics.group_table(conn, f).equals(before[1])
            assert metrics.attendance_over_time(conn, f, "network").equals(trend)
            transaction.rollback()
