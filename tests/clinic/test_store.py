"""The store: migrations build the models' schema; SQLite runs in WAL with foreign keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from voiceagent.clinic.db import (
    alembic_config,
    make_engine,
    normalise_url,
    open_store,
    schema_differences,
)

pytestmark = pytest.mark.unit


def test_migrations_create_exactly_the_models_schema(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'voiceagent.db'}")
    try:
        assert schema_differences(store.engine) == []
    finally:
        store.dispose()


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    open_store(url).dispose()
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    finally:
        store.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    finally:
        engine.dispose()


def test_bare_postgresql_urls_get_the_psycopg_driver() -> None:
    assert normalise_url("postgresql://u:p@db:5432/clinic") == (
        "postgresql+psycopg://u:p@db:5432/clinic"
    )
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
