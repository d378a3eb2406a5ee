"""Schema migrations: a fresh database and an upgrade of an older one both work."""

from alembic import command
from sqlalchemy import inspect, text

from dashboard.db import alembic_config, get_engine, init_db


def script_head() -> str:
    """The newest revision of migrations/versions."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_upgrade_from_first_revision_backfills_member_spans(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = get_engine(url)
    config = alembic_config(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    assert "first_present" not in {c["name"] for c in inspect(engine).get_columns("member")}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO network (id, name) VALUES (1, 'Calgary')"))
        conn.execute(
            text(
                'INSERT INTO "group" (id, network_id, name, program_type, '
                "start_date, session_minutes) VALUES (1, 1, 'G', 'peer-support', "
                "'2024-01-01', 120)"
            )
        )
        conn.execute(
            text("INSERT INTO member (id, code, home_network_id) VALUES (1, 'CGY-000001', 1)")
        )
        for sid, day, cancelled, status in (
            (1, "2024-02-05", 0, "present"),
            (2, "2024-02-12", 1, "present"),
            (3, "2024-03-04", 0, "present"),
            (4, "2024-03-11", 0, "absent"),
        ):
            conn.execute(
                text(
                    "INSERT INTO session (id, group_id, date, duration_minutes, "
                    f"cancelled) VALUES ({sid}, 1, '{day}', 120, {cancelled})"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO attendance (session_id, member_id, status) "
                    f"VALUES ({sid}, 1, '{status}')"
                )
            )
    init_db(engine)  # upgrades to the newest revision
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT first_present, last_present, first_group_id FROM member")
        ).one()
        version = conn.scalar(text("SELECT version_num FROM alembic_version"))
        record_key = conn.scalar(text("SELECT record_key FROM member"))
    assert tuple(row) == ("2024-02-05", "2024-03-04", 1)
    assert version == script_head()
    assert 0 < record_key < 2**40  # existing members get their secret cell-key record key


def test_fresh_database_gets_every_table_and_instruments(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'new.db'}")
    init_db(engine)
    init_db(engine)  # running it again changes nothing
    tables = set(inspect(engine).get_table_names())
    assert {
        "network",
        "group",
        "member",
        "enrollment",
        "session",
        "attendance",
        "survey_response",
        "instrument",
        "target",
        "user_account",
        "audit_event",
        "release",
    } <= tables
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT COUNT(*) FROM instrument")) == 3


def test_models_and_migrations_agree(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from dashboard.models import Base

    engine = get_engine(f"sqlite:///{tmp_path / 'cmp.db'}")
    init_db(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
