"""A locked or deleted database: /api/health says so (503), the call log keeps every turn in
its local journal and puts them into the store, in order, once it can be written again."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_app import CHAT_KEY
from tests.frontdesk.conftest import MONDAY_10AM, make_clinic
from voiceagent.api.app import create_app
from voiceagent.clinic.calllog import StoreCallLog
from voiceagent.clinic.db import open_store
from voiceagent.clinic.journal import Journal
from voiceagent.clinic.storehealth import StoreHealth
from voiceagent.frontdesk.runtime import FrontDesk

pytestmark = pytest.mark.unit


@pytest.fixture
def db(tmp_path: Path, migrated: Path) -> Path:
    path = tmp_path / "api.db"
    shutil.copyfile(migrated, path)
    return path


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "template.db"
    open_store(f"sqlite:///{path}").dispose()
    return path


def lock(path: Path) -> sqlite3.Connection:
    """Another process's long write transaction: the write lock is held until rollback."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def health_of(db: Path) -> tuple[TestClient, StoreHealth, FrontDesk]:
    store = open_store(f"sqlite:///{db}", migrate=False)
    frontdesk = FrontDesk(store, make_clinic(), clock=lambda: MONDAY_10AM)
    health = StoreHealth(store)
    app = create_app(frontdesk=frontdesk, chat_secrets=CHAT_KEY, store_health=health)
    return TestClient(app, base_url="http://127.0.0.1"), health, frontdesk


def test_health_fails_fast_while_the_database_is_locked_and_recovers(db: Path) -> None:
    client, _health, frontdesk = health_of(db)
    assert client.get("/api/health").status_code == 200
    holder = lock(db)
    started = time.monotonic()
    r = client.get("/api/health")
    assert r.status_code == 503 and r.json()["database"] == "unwritable"
    assert time.monotonic() - started < 5, "a locked store is reported within seconds"
    holder.rollback()
    holder.close()
    assert client.get("/api/health").status_code == 200
    frontdesk.store.dispose()


def test_health_fails_when_the_database_file_is_deleted(db: Path) -> None:
    client, _health, frontdesk = health_of(db)
    assert client.get("/api/health").status_code == 200
    db.unlink()
    r = client.get("/api/health")
    assert r.status_code == 503 and "missing" in r.json()["reason"]
    frontdesk.store.dispose()


def test_turns_written_while_the_store_is_locked_are_journaled_then_replayed_in_order(
    db: Path, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{db}", migrate=False)
    health = StoreHealth(store)
    log = StoreCallLog(store, journal=Journal(tmp_path / "journal" / "calllog.jsonl"),
                       health=health)
    health.on_writable = log.replay_journal
    call_id = log.open_call("sip", "<sip:+16085550142@trunk>")
    log.add_turn(call_id, "caller", "hello")
    holder = lock(db)
    assert not health.check().writable
    started = time.monotonic()
    log.add_turn(call_id, "caller", "my name is Dana Whitfield")
    log.add_turn(call_id, "agent", "Thanks, Dana.")
    log.close_call(call_id, "completed")
    assert time.monotonic() - started < 2, "no write waits on a store known to be down"
    assert log.journal is not None and log.journal.pending() == 3
    holder.rollback()
    holder.close()
    assert health.check().writable  # the monitor's next probe replays the journal
    record = log.get_call(call_id)
    assert record is not None
    assert [t[1] for t in record.turns] == ["hello", "my name is Dana Whitfield",
                                            "Thanks, Dana."]
    assert record.outcome == "completed"
    assert log.journal.pending() == 0
    store.dispose()


def test_a_write_that_fails_after_its_retry_is_journaled_not_lost(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voiceagent.clinic import db as dbmodule

    monkeypatch.setattr(dbmodule, "SQLITE_BUSY_TIMEOUT_MS", 200)
    store = open_store(f"sqlite:///{db}", migrate=False,
                       connect_args={"timeout": 0.2})
    log = StoreCallLog(store, journal=Journal(tmp_path / "j.jsonl"))
    call_id = log.open_call("sip", None)
    holder = lock(db)
    log.add_turn(call_id, "caller", "I need to reschedule")  # health unknown: tried twice
    assert log.journal is not None and log.journal.pending() == 1
    holder.rollback()
    holder.close()
    assert log.replay_journal() == 1
    record = log.get_call(call_id)
    assert record is not None and [t[1] for t in record.turns] == ["I need to reschedule"]
    store.dispose()
