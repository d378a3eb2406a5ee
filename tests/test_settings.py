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
        ({"SUPPRESSION_THRESHOLD": "0"}, "at least 1"),
    ],
)
def test_bad_settings_are_refused(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)
