"""`python -m dashboard import KIND FILE`, `import-history` and `undo-import` (SPEC §5)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dashboard.cli import CliError, Parser
from dashboard.cli_import import COMMANDS, cmd_import, cmd_import_history, cmd_undo_import, register
from dashboard.db import session_scope
from dashboard.models import AuditEvent, Group, ImportBatch, Network
from dashboard.settings import Settings
from tests.test_importers import FILES, table_fingerprint

GROUPS = FILES / "good_groups_cp1252.csv"


@pytest.fixture
def networks(engine):
    with session_scope(engine) as s:
        s.add_all([Network(name="Calgary"), Network(name="Edmonton")])
    return engine


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url, demo_mode=False, secret_key="x")


def args(kind, path, **options) -> argparse.Namespace:
    return argparse.Namespace(
        command="import",
        kind=kind,
        file=str(path),
        dry_run=options.get("dry_run", False),
        add_new_members=options.get("add_new_members", False),
        enroll_missing=options.get("enroll_missing", False),
        user=options.get("user", "tester"),
    )


def groups_count(engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(Group))


def test_good_file_imports_and_prints_what_was_added(networks, settings, capsys):
    assert cmd_import(args("groups", GROUPS), settings) == 0
    out = capsys.readouterr().out
    assert "Imported as batch" in out and "added 3 group(s)" in out
    assert groups_count(networks) == 3
    with session_scope(networks) as s:
        batch = s.scalars(select(ImportBatch)).one()
        assert (batch.username, batch.filename, batch.kind) == (
            "tester",
            "good_groups_cp1252.csv",
            "groups",
        )
        assert s.scalar(select(func.count()).where(AuditEvent.action == "import")) == 1


def test_bad_file_exits_1_names_row_and_column_and_writes_nothing(networks, settings, capsys):
    assert cmd_import(args("groups", GROUPS), settings) == 0
    capsys.readouterr()
    before = table_fingerprint(networks)
    code = cmd_import(args("roster", FILES / "bad_roster_values.csv"), settings)
    out = capsys.readouterr().out
    assert code == 1
    assert "row 2, column status" in out and "row 3, column network" in out
    assert out.rstrip().endswith("Nothing was written: fix the errors and import again.")
    assert table_fingerprint(networks) == before


def test_dry_run_writes_nothing(networks, settings, capsys):
    before = table_fingerprint(networks)
    assert cmd_import(args("groups", GROUPS, dry_run=True), settings) == 0
    out = capsys.readouterr().out
    assert "Dry run, nothing written; an import would: added 3 group(s)" in out
    assert table_fingerprint(networks) == before


def test_bad_file_in_a_dry_run_still_exits_1(networks, settings, capsys):
    code = cmd_import(args("groups", FILES / "unknown_network.csv", dry_run=True), settings)
    assert code == 1
    assert "row 3, column network" in capsys.readouterr().out


def test_options_reach_the_importer(networks, settings, capsys, tmp_path):
    assert cmd_import(args("groups", GROUPS), settings) == 0
    path = tmp_path / "new-man.csv"
    path.write_text(
        "date,group,member_code,status\n2025-04-01,Calgary Tuesday Well-Being,CGY-0999,present\n"
    )
    assert cmd_import(args("attendance", path), settings) == 1
    assert "No member has the code 'CGY-0999'" in capsys.readouterr().out
    assert cmd_import(args("attendance", path, add_new_members=True), settings) == 0
    assert "1 member(s)" in capsys.readouterr().out


def test_row_limit_comes_from_the_settings(networks, database_url, capsys):
    small = Settings(database_url=database_url, demo_mode=False, secret_key="x", import_max_rows=2)
    assert cmd_import(args("groups", GROUPS), small) == 1
    out = capsys.readouterr().out
    assert "more than 2 data rows" in out and groups_count(networks) == 0


@pytest.mark.parametrize("name", ["missing.csv", "."])
def test_missing_or_unreadable_file_is_a_one_line_error(networks, settings, tmp_path, name):
    path = tmp_path / name
    with pytest.raises(CliError) as caught:
        cmd_import(args("groups", path), settings)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("cannot read")


def test_history_and_undo(networks, settings, capsys):
    assert cmd_import(args("groups", GROUPS), settings) == 0
    capsys.readouterr()
    with session_scope(networks) as s:
        batch_id = s.scalar(select(ImportBatch.id))
    assert cmd_import_history(argparse.Namespace(limit=5), settings) == 0
    assert f"#{batch_id}" in capsys.readouterr().out
    undo = argparse.Namespace(batch_id=batch_id, user="tester")
    assert cmd_undo_import(undo, settings) == 0
    assert f"undid import batch {batch_id}" in capsys.readouterr().out
    assert groups_count(networks) == 0
    with pytest.raises(CliError, match="already undone"):
        cmd_undo_import(undo, settings)
    with pytest.raises(CliError, match="no import batch 999"):
        cmd_undo_import(argparse.Namespace(batch_id=999, user="tester"), settings)


def test_parser_wiring(networks, settings, capsys):
    parser = Parser(prog="python -m dashboard")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    register(sub)
    parsed = parser.parse_args(["import", "Groups", str(GROUPS), "--dry-run", "--user", "ann"])
    assert (parsed.kind, parsed.dry_run, parsed.user, parsed.enroll_missing) == (
        "groups",
        True,
        "ann",
        False,
    )
    assert COMMANDS[parsed.command](parsed, settings) == 0
    parsed = parser.parse_args(["undo-import", "#7"])
    assert parsed.batch_id == 7 and parsed.command in COMMANDS
    for bad in (["import", "payments", "x.csv"], ["undo-import", "seven"]):
        with pytest.raises(SystemExit) as caught:
            parser.parse_args(bad)
        assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "'payments' is not a kind of import" in err


def test_main_runs_the_import_when_registered(networks, database_url, capsys, monkeypatch):
    """Through `python -m dashboard` once cli_extra registers these commands."""
    import dashboard.cli_extra as extra

    monkeypatch.setattr(extra, "register", register)
    monkeypatch.setattr(extra, "COMMANDS", COMMANDS)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("DEMO_MODE", "0")
    from dashboard.cli import main

    assert main(["import", "groups", str(GROUPS)]) == 0
    assert "added 3 group(s)" in capsys.readouterr().out
    assert main(["import", "groups", str(Path("no/such/file.csv"))]) == 1
    assert capsys.readouterr().err.strip() == "error: cannot read no/such/file.csv: no such file"
