"""While the store cannot be written the agent takes no calls: new INVITEs get 503 with
Retry-After at once (the carrier fails over to its next route), and calls come back with it."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.sip.conftest import AGENT_PORT, Agent
from tests.sip.peers import RawSip
from voiceagent.channels.sip import SipOptions
from voiceagent.clinic.db import open_store
from voiceagent.clinic.storehealth import StoreHealth

pytestmark = [pytest.mark.sip, pytest.mark.slow]


def test_locked_store_makes_the_trunk_fail_over_with_503_retry_after(
    tmp_path: Path, start_agent, peers: list
) -> None:
    db = tmp_path / "store.db"
    store = open_store(f"sqlite:///{db}")
    health = StoreHealth(store, interval_s=0.5)
    health.start()
    agent: Agent = start_agent(SipOptions(store_writable=health.usable))
    trunk = RawSip("127.0.0.1")
    peers.append(trunk)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        deadline = time.monotonic() + 5
        while health.writable:
            assert time.monotonic() < deadline, "the monitor did not notice the lock"
            time.sleep(0.1)
        started = time.monotonic()
        trunk.request("INVITE", ("127.0.0.1", AGENT_PORT), "while-locked")
        replies = trunk.collect(1.0)
        [reply] = [r for r in replies if r.startswith(b"SIP/2.0 503")]
        assert b"\r\nRetry-After: " in reply
        assert time.monotonic() - started < 1.5
        assert [r.outcome for r in agent.records] == ["store_unavailable"]
        assert agent.handlers == [], "no call was answered"
    finally:
        holder.rollback()
        holder.close()
    deadline = time.monotonic() + 5
    while not health.writable:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    trunk.received.clear()
    trunk.request("INVITE", ("127.0.0.1", AGENT_PORT), "after-unlock")
    trunk.collect(1.5)
    assert 200 in trunk.statuses()
    health.stop()
    store.dispose()
