"""Networks on the command line: create (idempotent), rename, templates, backups."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy import make_url, select

from dashboard.cli import main
from dashboard.models import AuditEvent, Network
from dashboard.networks import NetworkError, clean_name, create_network, rename_network
from tests.test_cli import ROOT, cli


def run(args, database_url, capsys, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def names(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(Network.name).order_by(Network.name)))


def actions(engine, action: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditEvent.username, AuditEvent.detail).where(AuditEvent.action == action)
        )
        return [tuple(r) for r in rows]


def test_create_network_twice_is_one_network(engine, database_url, capsys, monkeypatch):
    code, out, _ = run(["create-network", "Red Deer"], database_url, capsys, monkeypatch)
    assert (code, out.strip()) == (0, "created network Red Deer")
    code, out, _ = run(["create-network", "  red   deer "], database_url, capsys, monkeypatch)
    assert code == 0 and "exists already" in out
    assert names(engine) == ["Red Deer"]
    assert actions(engine, "network-create") == [("cli", "Red Deer")]


@pytest.mark.parametrize(
    "name", ["", "   ", "Calgary, Edmonton", "12 Mile", ".Calgary", "a" * 61, "Cal_gary"]
)
def test_bad_names_are_one_line_errors(name, engine, database_url, capsys, monkeypatch):
    code, out, err = run(["create-network", name], database_url, capsys, monkeypatch)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "not a network name" in err
    assert names(engine) == []


@pytest.mark.parametrize("name", ["Calgary", "St. Albert", "Medicine Hat", "Lac La Biche-2"])
def test_good_names(name):
    assert clean_name(name) == name


def test_rename_keeps_the_data_and_is_audited(session, engine, database_url, capsys, monkeypatch):
    create_network(session, "Calgary")
    create_network(session, "Edmonton")
    session.commit()
    code, out, _ = run(
        ["rename-network", "Calgary", "Calgary South"], database_url, capsys, monkeypatch
    )
    assert code == 0 and "renamed" in out
    assert names(engine) == ["Calgary South", "Edmonton"]
    assert actions(engine, "network-rename") == [("cli", "Calgary -> Calgary South")]
    code, _, err = run(
        ["rename-network", "Edmonton", "calgary south"], database_url, capsys, monkeypatch
    )
    assert code == 1 and "exists already" in err
    code, _, err = run(["rename-network", "Banff", "Canmore"], database_url, capsys, monkeypatch)
    assert code == 1 and "no network 'Banff'; known: Calgary South, Edmonton" in err


def test_rename_to_the_same_name_changes_nothing(session):
    create_network(session, "Calgary")
    assert rename_network(session, "calgary", "Calgary") is False
    with pytest.raises(NetworkError):
        rename_network(session, "Calgary", "")


def test_template_is_the_pages_template(tmp_path, engine, database_url, capsys, monkeypatch):
    out = tmp_path / "roster.csv"
    code, _, _ = run(["template", "roster", "--out", str(out)], database_url, capsys, monkeypatch)
    assert code == 0
    header, example = list(csv.reader(io.StringIO(out.read_text())))
    assert header[:4] == ["member_code", "network", "group", "enrolled_from"]
    assert example[0] == "CGY-000123"


def test_first_admin_on_an_empty_database(tmp_path):
    """Outside demo mode, on a new database: init-db, then the first admin (no network)."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}", "DEMO_MODE": ""}
    assert cli("init-db", env=env).returncode == 0
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "create-user", "ada", "--role", "admin"],
        input="a-long-password\n",
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "created ada (admin)" in done.stdout


def test_backup_is_a_copy_and_never_overwrites(
    tmp_path, session, database_url, capsys, monkeypatch
):
    create_network(session, "Calgary")
    session.commit()
    out = tmp_path / ("copy.dump" if not database_url.startswith("sqlite") else "copy.db")
    code, printed, err = run(["backup", str(out)], database_url, capsys, monkeypatch)
    assert code == 0, err
    assert "wrote" in printed and out.stat().st_size > 0
    if database_url.startswith("sqlite"):
        copy = sqlite3.connect(out)
        assert copy.execute("SELECT name FROM network").fetchall() == [("Calgary",)]
        copy.close()
    size = out.stat().st_size
    code, _, err = run(["backup", str(out)], database_url, capsys, monkeypatch)
    assert code == 1 and "exists already" in err and out.stat().st_size == size


def test_backup_without_pg_dump_says_so(tmp_path, monkeypatch):
    from dashboard import cli_deploy
    from dashboard.cli import CliError

    monkeypatch.setattr(cli_deploy.shutil, "which", lambda _name: None)
    url = make_url("postgresql+psycopg://someone@127.0.0.1:5432/somedb")
    with pytest.raises(CliError, match="pg_dump is not installed"):
        cli_deploy.backup_postgresql(url, tmp_path / "x.sql")
