"""Settings: declared once, read from the environment (or a `.env` file), documented from here."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_DIR / "data"
DEFAULT_DATABASE_URL = f"sqlite:///{DATA_DIR / 'dashboard.db'}"

# (name, default, help): the single table the code, the README and a test read.
SETTINGS: list[tuple[str, str | None, str]] = [
    (
        "DATABASE_URL",
        None,
        "SQLAlchemy URL; default an embedded SQLite file data/dashboard.db "
        "(demo mode). PostgreSQL: postgresql+psycopg://user@host/db",
    ),
    (
        "SECRET_KEY",
        None,
        "Signs session cookies. Required unless in demo mode, where a random "
        "key is generated once and kept in data/secret_key",
    ),
    (
        "DEMO_MODE",
        None,
        "1 to seed demo data and demo accounts on first start; default on when "
        "DATABASE_URL is unset",
    ),
    ("SUPPRESSION_THRESHOLD", "5", "k: a count of distinct men below k is shown as <k (SPEC §4)"),
    ("ACTIVE_WINDOW_WEEKS", "8", "A member is active with a present in this many weeks (SPEC §3)"),
    (
        "COMPLETION_THRESHOLD",
        "0.7",
        "Share of a fixed-length program's sessions attended to count as completed",
    ),
    (
        "REDIS_URL",
        None,
        "Optional store shared by several workers: callback cache and sign-in throttling "
        "(e.g. redis://127.0.0.1:6379/0)",
    ),
    ("SESSION_IDLE_MINUTES", "30", "Sign-out after this many minutes without a request"),
    (
        "TRUSTED_PROXIES",
        "0",
        "Reverse proxies in front of the app (e.g. 1 behind nginx) whose X-Forwarded-For/-Proto "
        "headers are believed, so audit addresses and sign-in throttling see the client",
    ),
    ("IMPORT_MAX_ROWS", "50000", "Largest import file, in data rows"),
    ("IMPORT_MAX_COLUMNS", "60", "Widest import file, in columns"),
    ("DEMO_SEED", "42", "Seed of the demo data generated on first start"),
    (
        "DEMO_SCALE",
        "1",
        "Scale of the demo data generated on first start (1 = ~40 groups, 3,000 men, 5 years)",
    ),
]


class SettingsError(ValueError):
    """A setting has a value the app cannot use."""


def _load_dotenv() -> None:
    env_file = PROJECT_DIR / ".env"
    if env_file.exists():
        from dotenv import load_dotenv

        load_dotenv(env_file, override=False)


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


@dataclass
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str | None = None
    demo_mode: bool = True
    suppression_threshold: int = 5
    active_window_weeks: int = 8
    completion_threshold: float = 0.7
    redis_url: str | None = None
    session_idle_minutes: int = 30
    trusted_proxies: int = 0
    import_max_rows: int = 50000
    import_max_columns: int = 60
    demo_seed: int = 42
    demo_scale: float = 1.0
    extra: dict = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict | None = None) -> Settings:
        """Read every setting of SETTINGS from the environment, checking each."""
        if environ is None:
            _load_dotenv()
            environ = dict(os.environ)
        raw = {name: environ.get(name) or default for name, default, _ in SETTINGS}
        demo = raw["DEMO_MODE"]
        demo_mode = (demo == "1") if demo is not None else environ.get("DATABASE_URL") is None
        threshold = _int("SUPPRESSION_THRESHOLD", raw["SUPPRESSION_THRESHOLD"])
        if threshold < 1:
            raise SettingsError("SUPPRESSION_THRESHOLD must be at least 1")
        try:
            completion = float(raw["COMPLETION_THRESHOLD"])
            scale = float(raw["DEMO_SCALE"])
        except ValueError as exc:
            raise SettingsError(
                f"COMPLETION_THRESHOLD and DEMO_SCALE must be numbers: {exc}"
            ) from None
        settings = cls(
            database_url=raw["DATABASE_URL"] or DEFAULT_DATABASE_URL,
            secret_key=raw["SECRET_KEY"],
            demo_mode=demo_mode,
            suppression_threshold=threshold,
            active_window_weeks=_int("ACTIVE_WINDOW_WEEKS", raw["ACTIVE_WINDOW_WEEKS"]),
            completion_threshold=completion,
            redis_url=raw["REDIS_URL"],
            session_idle_minutes=_int("SESSION_IDLE_MINUTES", raw["SESSION_IDLE_MINUTES"]),
            trusted_proxies=_int("TRUSTED_PROXIES", raw["TRUSTED_PROXIES"]),
            import_max_rows=_int("IMPORT_MAX_ROWS", raw["IMPORT_MAX_ROWS"]),
            import_max_columns=_int("IMPORT_MAX_COLUMNS", raw["IMPORT_MAX_COLUMNS"]),
            demo_seed=_int("DEMO_SEED", raw["DEMO_SEED"]),
            demo_scale=scale,
        )
        return settings

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
