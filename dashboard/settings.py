"""Settings: declared once, read from the environment (or a `.env` file), documented from here."""

from __future__ import annotations

import os
import secrets
from dataclasses import Field, dataclass, field, fields
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_DIR / "data"
DEFAULT_DATABASE_URL = f"sqlite:///{DATA_DIR / 'dashboard.db'}"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting has a value the app cannot use."""


def _load_dotenv() -> None:
    env_file = PROJECT_DIR / ".env"
    if env_file.exists():
        from dotenv import load_dotenv

        load_dotenv(env_file, override=False)


def setting(default, help: str, low: float | None = None, high: float | None = None):
    """A dataclass field that is also an environment setting (its name upper-cased), with the
    help text the README's table is checked against and the bounds start-up enforces."""
    return field(default=default, metadata={"help": help, "low": low, "high": high})


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _parse(spec: Field, raw: str):
    """One environment value as its field's type, within its bounds."""
    name = spec.name.upper()
    if spec.type == "bool":
        if raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        raise SettingsError(f"{name} must be 1 or 0 (or true/false), got {raw!r}")
    if spec.type not in ("int", "float"):
        return raw
    try:
        value = int(raw) if spec.type == "int" else float(raw)
    except ValueError:
        what = "a whole number" if spec.type == "int" else "a number"
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None
    low, high = spec.metadata["low"], spec.metadata["high"]
    if (low is not None and value < low) or (high is not None and value > high):
        raise SettingsError(f"{name} must be between {_number(low)} and {_number(high)}, got {raw}")
    return value


@dataclass
class Settings:
    """Every setting, declared once: a field's name upper-cased is its environment name."""

    database_url: str = setting(
        DEFAULT_DATABASE_URL,
        "SQLAlchemy URL; default an embedded SQLite file data/dashboard.db (demo mode). "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    secret_key: str | None = setting(
        None,
        "Signs session cookies. Required unless in demo mode, where a random key is "
        "generated once and kept in data/secret_key",
    )
    demo_mode: bool = setting(
        True,
        "1 to seed demo data and demo accounts on first start; default on when DATABASE_URL "
        "is unset",
    )
    suppression_threshold: int = setting(
        5, "k: a count of distinct men below k is shown as <k (SPEC §4)", 1, 100
    )
    survey_min_pairs: int = setting(
        10, "Survey outcomes reach leadership only with this many pairs (SPEC §4)", 1, 1000
    )
    query_rate_per_minute: int = setting(
        30,
        "Different selections a leadership or funder user may ask per minute before his "
        "answers are slowed down (SPEC §4)",
        1,
        10_000,
    )
    active_window_weeks: int = setting(
        8, "A member is active with a present in this many weeks (SPEC §3)", 1, 104
    )
    completion_threshold: float = setting(
        0.7,
        "Share of a fixed-length program's sessions attended to count as completed",
        0.01,
        1.0,
    )
    redis_url: str | None = setting(
        None,
        "Optional store shared by several workers: callback cache and sign-in throttling "
        "(e.g. redis://127.0.0.1:6379/0)",
    )
    trusted_proxies: int = setting(
        0,
        "Reverse proxies in front of the app (e.g. 1 behind nginx) whose X-Forwarded-For/-Proto "
        "headers are believed, so audit addresses and sign-in throttling see the client",
        0,
        10,
    )
    warm_cache: bool = setting(
        True,
        "1 to compute each role's default view of each page in the background after an "
        "import (a new data version) and on a new day, so the first visitor does not wait; "
        "0 to turn it off",
    )
    session_idle_minutes: int = setting(
        30, "Sign-out after this many minutes without a request", 1, 24 * 60
    )
    import_max_rows: int = setting(50000, "Largest import file, in data rows", 1, 10_000_000)
    import_max_columns: int = setting(60, "Widest import file, in columns", 5, 1000)
    demo_seed: int = setting(42, "Seed of the demo data generated on first start", 0, 2**31)
    demo_scale: float = setting(
        1.0,
        "Scale of the demo data generated on first start (1 = ~40 groups, 3,000 men, 5 years)",
        0.01,
        100,
    )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict | None = None) -> Settings:
        """Every setting from the environment, each checked: a bad value raises
        SettingsError with a one-line message naming the setting."""
        if environ is None:
            _load_dotenv()
            environ = dict(os.environ)
        values = {}
        for spec in fields(cls):
            raw = (environ.get(spec.name.upper()) or "").strip()
            if raw:
                values[spec.name] = _parse(spec, raw)
        values.setdefault("demo_mode", not environ.get("DATABASE_URL"))
        return cls(**values)

    def resolved_secret_key(self) -> str:
        """The session-signing key: from the environment, or in demo mode kept under data/."""
        if self.secret_key:
            return self.secret_key
        if not self.demo_mode:
            raise SettingsError("SECRET_KEY must be set when not in demo mode")
        key_file = DATA_DIR / "secret_key"
        DATA_DIR.mkdir(exist_ok=True)
        if not key_file.exists():
            # Created readable by the owner only, before the key is written.
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
        return key_file.read_text().strip()

    def cell_key_secret(self) -> str:
        """The secret that keys the gate's fallback cell keys: the session-signing key, or
        none where there is no key yet (a test's settings outside demo mode)."""
        try:
            return self.resolved_secret_key()
        except SettingsError:
            return ""


def _shown_default(spec: Field) -> str | None:
    if spec.default is None or spec.name in ("database_url", "demo_mode"):
        return None
    return f"{spec.default:g}" if isinstance(spec.default, float) else str(spec.default)


# (environment name, default as text, help): what the README's table and its test read.
SETTINGS: list[tuple[str, str | None, str]] = [
    (spec.name.upper(), _shown_default(spec), spec.metadata["help"]) for spec in fields(Settings)
]
