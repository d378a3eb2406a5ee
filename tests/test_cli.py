"""The command line: summary JSON keys, suppression, and one-line errors for bad input."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.cli import main
from tests.factories import Builder

ROOT = Path(__file__).resolve().parent.parent
SUMMARY_KEYS = {
    "sessions_held",
    "men_reached",
    "new_members",
    "attendance",
    "average_attendance",
    "attendance_hours",
    "attendance_rate",
    "active_members",
    "retention_12w",
    "surveys",
}
SURVEY_KEYS = {
    "matched_pairs",
    "mean_change",
    "ci_low",
    "ci_high",
    "d_z",
    "share_improved",
    "share_unchanged",
    "share_worse",
}

# What `summary --suppress` hides for the small dataset below (Calgary, January to April 2025):
# no active members at the end of April, and no survey pairs (with what rests on them).
SUPPRESSED = [
    "active_members",
    *(
        f"surveys.{instrument}.{key}"
        for instrument in ("healthy-relationships", "swemwbs", "ucla-3")
        for key in (
            "matched_pairs",
            "mean_change",
            "ci_low",
            "ci_high",
            "d_z",
            "share_improved",
            "share_unchanged",
            "share_worse",
            "mean_baseline",
            "mean_later",
        )
    ),
]


@pytest.fixture
def small(session):
    b = Builder(session)
    b.network("Calgary")
    b.network("Edmonton")
    b.group("Calgary Peer", "Calgary")
    for i in range(6):
        b.member(f"CGY-00000{i}", "Calgary")
    b.session("Calgary Peer", "2025-01-06", {f"CGY-00000{i}": "present" for i in range(6)})
    b.session("Calgary Peer", "2025-01-13", {"CGY-000000": "present", "CGY-000001": "absent"})
    b.done()


def run_cli(args, database_url, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_json_has_every_key(small, database_url, capsys, monkeypatch):
    code, out, _ = run_cli(
        ["summary", "--from", "2025-01-01", "--to", "2025-01-31", "--format", "json"],
        database_url,
        capsys,
        monkeypatch,
    )
    assert code == 0
    result = json.loads(out)
    assert SUMMARY_KEYS <= set(result)
    for survey in result["surveys"].values():
        assert SURVEY_KEYS <= set(survey)
    assert (result["sessions_held"], result["men_reached"], result["attendance"]) == (2, 6, 7)
    assert result["attendance_rate"] == pytest.approx(7 / 8)


def test_summary_suppressed(small, database_url, capsys, monkeypatch):
    code, out, _ = run_cli(
        [
            "summary",
            "--from",
            "2025-01-01",
            "--to",
            "2025-04-30",
            "--network",
            "Calgary",
            "--suppress",
        ],
        database_url,
        capsys,
        monkeypatch,
    )
    result = json.loads(out)
    assert code == 0
    assert result["men_reached"] == 6  # 6 men: shown
    assert result["active_members"] is None  # none active at the end of April: below 5
    assert "active_members" in result["suppressed"]
    assert result["surveys"]["swemwbs"]["matched_pairs"] is None
    # Exactly the gate's summary for a protected user with k = 5 (no rounding, no noise).
    assert result["suppressed"] == SUPPRESSED
    assert (result["new_members"], result["attendance"], result["sessions_held"]) == (6, 7, 2)


def test_summary_suppressed_is_the_gate(small, database_url, capsys, monkeypatch):
    """`summary --suppress` is Gate.summary of the exact summary, for a protected scope."""
    from dashboard import metrics
    from dashboard.access import Scope
    from dashboard.db import get_engine
    from dashboard.filters import Filters
    from dashboard.gate import Gate

    args = ["summary", "--from", "2025-01-01", "--to", "2025-04-30", "--network", "Calgary"]
    _, out, _ = run_cli([*args, "--suppress"], database_url, capsys, monkeypatch)
    result = json.loads(out)
    f = Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 4, 30), networks=("Calgary",))
    with get_engine(database_url).connect() as conn:
        exact = metrics.summary(conn, f)
    expected = Gate(Scope(role="leadership"), 5, exact_values=True).summary(exact)
    for key in SUMMARY_KEYS - {"surveys"}:
        assert result[key] == expected[key], key
    assert result["suppressed"] == expected["suppressed"]
    for instrument_id, survey in result["surveys"].items():
        assert survey == {k: expected["surveys"][instrument_id][k] for k in survey}


def test_unknown_network_is_one_line(small, database_url, capsys, monkeypatch):
    code, _, err = run_cli(
        ["summary", "--from", "2025-01-01", "--to", "2025-01-31", "--network", "Red Deer"],
        database_url,
        capsys,
        monkeypatch,
    )
    assert code == 1
    assert err.count("\n") == 1 and "unknown network Red Deer" in err


def test_unknown_program_type_is_an_error_listing_the_known_ones(
    small, database_url, capsys, monkeypatch
):
    """Like an unknown group: no summary of zeros for a program type that does not exist."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    args = ["summary", "--from", "2025-01-01", "--to", "2025-01-31"]
    with pytest.raises(SystemExit) as stopped:
        main([*args, "--program", "no-such-program"])
    out, err = capsys.readouterr()
    assert stopped.value.code == 2 and out == ""
    assert err.count("\n") == 1
    assert "unknown program type 'no-such-program'; known: wellbeing-10, peer-support" in err
    code, out, _ = run_cli([*args, "--program", "peer-support"], database_url, capsys, monkeypatch)
    assert code == 0 and json.loads(out)["from"] == "2025-01-01"


def cli(*args, env=None):
    """Run `python -m dashboard` as a user would, in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["seed-demo", "--seed", "abc"], {}, "not a whole number: 'abc'"),
        (["summary", "--from", "2025-13-01", "--to", "2025-01-01"], {}, "not a date"),
        (["--no-such-option"], {}, "error:"),
        (
            ["init-db"],
            {"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"},
            "cannot connect",
        ),
        (["init-db"], {"DATABASE_URL": "notadriver://x"}, "error:"),
        (["seed-demo", "--scale", "-1"], {}, "must be above zero"),
    ],
)
def test_bad_input_one_line_no_traceback(args, env, message, tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", **env}
    result = cli(*args, env=env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_help_lists_commands():
    result = cli("--help")
    assert result.returncode == 0
    for command in ("init-db", "seed-demo", "summary", "create-user", "deactivate-user"):
        assert command in result.stdout


def test_create_user_reads_password_from_stdin(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'u.db'}"}
    assert cli("init-db", env=env).returncode == 0
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from dashboard.db import *; from dashboard.models import Network;"
            "e=get_engine(__import__('os').environ['DATABASE_URL']);"
            "s=session_scope(e).__enter__(); s.add(Network(name='Calgary')); s.commit()",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard",
            "create-user",
            "sam",
            "--role",
            "coordinator",
            "--network",
            "Calgary",
        ],
        input="a-long-password\n",
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    again = subprocess.run(
        [sys.executable, "-m", "dashboard", "create-user", "sam", "--role", "admin"],
        input="a-long-password\n",
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 1 and "already exists" in again.stderr
