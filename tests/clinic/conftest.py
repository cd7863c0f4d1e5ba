"""Fixtures for the clinic tests: a small clinic built in code, a migrated SQLite store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clinic.clinic_fixtures import make_clinic
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store, open_store, upgrade_database


@pytest.fixture
def clinic() -> ClinicConfig:
    return make_clinic()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session; each test gets a copy (migrations run once)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(tmp_path: Path, migrated_template: Path) -> str:
    path = tmp_path / "clinic.db"
    shutil.copy(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = open_store(db_url, migrate=False)
    yield store
    store.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One PostgreSQL cluster for the whole session (skipped only if the binaries are missing)."""
    from tests.clinic.clinic_postgres import find_bin_dir, postgres_cluster

    if find_bin_dir() is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    with postgres_cluster() as url:
        yield url


@pytest.fixture
def pg_url(postgres_server: str) -> str:
    """A fresh migrated database on the session's PostgreSQL cluster."""
    from tests.clinic.clinic_postgres import create_database

    url = create_database(postgres_server)
    upgrade_database(url)
    return url


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    store = open_store(pg_url, migrate=False)
    yield store
    store.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.unit),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def any_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """The same test on a migrated SQLite file and on a fresh PostgreSQL database."""
    name = "store" if request.param == "sqlite" else "pg_store"
    yield request.getfixturevalue(name)
