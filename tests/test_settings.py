"""Settings are declared once, checked at start-up and documented in the README."""

from pathlib import Path

import pytest

from dashboard.settings import SETTINGS, Settings, SettingsError

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


@pytest.mark.parametrize("name", [name for name, _, _ in SETTINGS])
def test_every_setting_is_in_the_readme(name):
    assert f"`{name}`" in README


def test_defaults_are_demo_mode_on_sqlite():
    settings = Settings.from_env({})
    assert settings.demo_mode and settings.is_sqlite
    assert settings.suppression_threshold == 5 and settings.active_window_weeks == 8


def test_secret_key_required_outside_demo_mode():
    settings = Settings.from_env({"DATABASE_URL": "postgresql+psycopg://x@127.0.0.1/y"})
    assert not settings.demo_mode
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        settings.resolved_secret_key()


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SUPPRESSION_THRESHOLD": "five"}, "whole number"),
        ({"SUPPRESSION_THRESHOLD": "0"}, "between 1 and 100"),
        ({"ACTIVE_WINDOW_WEEKS": "-3"}, "ACTIVE_WINDOW_WEEKS must be between 1 and 104"),
        ({"COMPLETION_THRESHOLD": "7"}, "COMPLETION_THRESHOLD must be between 0.01 and 1"),
        ({"COMPLETION_THRESHOLD": "most"}, "COMPLETION_THRESHOLD must be a number"),
        ({"IMPORT_MAX_ROWS": "-1"}, "IMPORT_MAX_ROWS must be between 1 and 10,000,000"),
        ({"DEMO_MODE": "maybe"}, "DEMO_MODE must be 1 or 0"),
    ],
)
def test_bad_settings_are_refused(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize(
    "raw, expected",
    [("1", True), ("yes", True), ("true", True), ("0", False), ("no", False), ("off", False)],
)
def test_demo_mode_reads_the_usual_spellings(raw, expected):
    settings = Settings.from_env({"DEMO_MODE": raw, "DATABASE_URL": "sqlite:///x.db"})
    assert settings.demo_mode is expected


def test_a_bad_setting_stops_start_up_with_one_line(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {
        "PATH": "/usr/bin:/bin",
        "ACTIVE_WINDOW_WEEKS": "-3",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "SECRET_KEY": "x",
    }
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: ACTIVE_WINDOW_WEEKS must be between 1 and 104, got -3")
