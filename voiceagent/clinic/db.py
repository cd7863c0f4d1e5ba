"""Engine, sessions and migrations for the clinic store.

SQLite (the default: one file in the data directory) is opened with WAL, foreign keys and a
busy timeout so concurrent calls wait for each other instead of failing; PostgreSQL is used
when the URL says so (``postgresql+psycopg://...``; a bare ``postgresql://`` gets psycopg).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from voiceagent.clinic.errors import StoreBusy

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 15_000


def normalise_url(url: str) -> str:
    """Give bare PostgreSQL URLs the psycopg (v3) driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL + foreign keys + busy timeout on every connection."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def alembic_config(url: str) -> AlembicConfig:
    """An Alembic config pointing at the migrations shipped inside the package."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade_database(url: str, revision: str = "head") -> None:
    """Create or migrate the schema at ``url`` to ``revision`` (no alembic.ini needed)."""
    command.upgrade(alembic_config(url), revision)


@dataclass
class Store:
    """The database the clinic services work on: an engine and its session factory."""

    engine: Engine
    sessions: sessionmaker[Session]
    # fingerprint of the clinic config whose booking rules were last written (clinic.rules)
    synced_rules: str | None = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any error.

        SQLite's "database is locked" after the busy timeout becomes :class:`StoreBusy`.
        """
        session = self.sessions()
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            if "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower():
                raise StoreBusy() from exc
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(url: str, *, migrate: bool = True, **engine_kwargs: Any) -> Store:
    """Open the store at ``url``, running migrations first unless ``migrate`` is False.

    ``url`` is usually ``PipelineConfig.database_url()``.
    """
    if migrate:
        upgrade_database(url)
    engine = make_engine(url, **engine_kwargs)
    return Store(engine, sessionmaker(engine, expire_on_commit=False))


def schema_differences(engine: Engine) -> list[Any]:
    """Differences between the migrated database and the ORM models ([] when in step).

    A non-empty list means a model changed without a migration: add a revision.
    """
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from voiceagent.clinic.models import metadata

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))
