"""A view's independent parts run at the same time (dashboard.db.concurrently) only on a
connection that only reads, and give the same figures as one after another."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import text

from dashboard import metrics, report_compute
from dashboard.db import concurrently, get_engine, reading
from dashboard.filters import Filters
from tests.conftest import DEMO_END


def where_run(conn, label: str) -> tuple[str, int, int]:
    return label, threading.get_ident(), id(conn)


def test_a_reading_connection_runs_each_part_on_a_connection_of_its_own(engine):
    with reading(engine) as conn:
        parts = concurrently(conn, (where_run, "a"), (where_run, "b"), (where_run, "c"))
    assert [label for label, _, _ in parts] == ["a", "b", "c"]  # in the order asked
    # The first here on the reading connection, the others in threads on their own.
    assert parts[0][1:] == (threading.get_ident(), id(conn))
    assert all(thread != threading.get_ident() for _, thread, _ in parts[1:])
    assert len({connection for _, _, connection in parts}) == 3


def nested(conn, label: str) -> list:
    return concurrently(conn, (where_run, label + "1"), (where_run, label + "2"))


def failing(conn) -> None:
    raise ValueError("a part failed")


def test_a_part_runs_its_own_parts_in_turn_and_a_failure_reaches_the_view(engine):
    with reading(engine) as conn:
        here, there = concurrently(conn, (nested, "a"), (nested, "b"))
        # In the view's thread the parts spread again; inside a part they run in turn (a
        # part never waits for a part: the shared threads cannot all be waiting).
        assert here[0][1] == threading.get_ident() and here[1][1] != threading.get_ident()
        assert there[0][1:] == there[1][1:]
        try:
            concurrently(conn, (where_run, "a"), (failing,))
        except ValueError as error:
            assert str(error) == "a part failed"
        else:
            raise AssertionError("the part's error was lost")


def test_any_other_connection_runs_the_parts_in_turn_and_sees_its_own_writes(engine):
    def networks(conn) -> int:
        return conn.scalar(text("SELECT count(*) FROM network"))

    with engine.connect() as conn:
        conn.execute(text("INSERT INTO network (name) VALUES ('Red Deer')"))  # not committed
        parts = concurrently(conn, (where_run, "a"), (where_run, "b"), (networks,))
        conn.rollback()
    assert [thread for _, thread, _ in parts[:2]] == [threading.get_ident()] * 2
    assert [connection for _, _, connection in parts[:2]] == [id(conn)] * 2
    assert parts[2] == 1  # a connection of its own would not have seen the new network


def test_the_figures_are_the_same_at_the_same_time_as_in_turn(demo_url):
    engine = get_engine(demo_url)
    year = Filters(start=dt.date(2024, 4, 1), end=DEMO_END)
    edmonton = Filters(
        start=DEMO_END - dt.timedelta(days=200), end=DEMO_END, networks=("Edmonton",)
    )
    for f in (year, edmonton):
        answers = []
        for connect in (engine.connect, lambda: reading(engine)):
            with connect() as conn:
                answers.append(
                    (
                        metrics.headline(conn, f),
                        metrics.headline_by_network(conn, f, ("Calgary", "Edmonton")),
                        report_compute.period_figures(conn, f),
                    )
                )
        assert repr(answers[0]) == repr(answers[1])
        assert answers[0][0]["men_reached"] > 0 and answers[0][0]["wellbeing_pairs"] > 0
