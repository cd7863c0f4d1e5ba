"""Every call leaves a record, written turn by turn, even if the process dies mid-call."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from voiceagent.clinic.calllog import StoreCallLog
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store, open_store
from voiceagent.clinic.recovery import LiveCalls, recover_crashed_calls
from voiceagent.dialog.calllog import CallLog

pytestmark = pytest.mark.unit


def test_store_call_log_satisfies_the_dialog_protocol(store: Store) -> None:
    log: CallLog = StoreCallLog(store)
    call_id = log.open_call("sip", "+16085550199")
    log.add_turn(call_id, "caller", "I need to book an evaluation", {"stt_ms": 412.0})
    log.add_tool_call(call_id, "find_slots", {"type": "evaluation"}, {"slots": 3})
    log.add_turn(call_id, "agent", "I have Tuesday at nine.", {"first_audio_ms": 380.0})
    log.close_call(call_id, "booked", recording_path="data/recordings/x.wav")
    record = StoreCallLog(store).get_call(call_id)
    assert record is not None
    assert record.outcome == "booked" and record.ended_at is not None
    assert record.recording_path == "data/recordings/x.wav"
    assert record.turns == [
        ("caller", "I need to book an evaluation", {"stt_ms": 412.0}),
        ("agent", "I have Tuesday at nine.", {"first_audio_ms": 380.0}),
    ]
    assert record.tool_calls == [("find_slots", {"type": "evaluation"}, {"slots": 3})]


def _crashing_call(url: str, live_root: str, ready: Connection) -> None:
    store = open_store(url, migrate=False)
    log = StoreCallLog(store, LiveCalls(Path(live_root)))
    call_id = log.open_call("sip", None)
    log.add_turn(call_id, "caller", "hello, my knee hurts")
    ready.send(call_id)  # a pipe write is synchronous: it is out before the crash
    os._exit(1)  # the process dies mid-call: no close, no cleanup


def test_a_crash_mid_call_leaves_the_transcript_so_far(
    store: Store, db_url: str, tmp_path: Path, clinic: ClinicConfig
) -> None:
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_crashing_call, args=(db_url, str(tmp_path / "live"), child))
    proc.start()
    assert parent.poll(30), "the call process never reported its call id"
    call_id = parent.recv()
    proc.join(30)
    assert proc.exitcode == 1
    record = StoreCallLog(store).get_call(call_id)
    assert record is not None and record.outcome is None
    assert record.turns == [("caller", "hello, my knee hurts", None)]
    [closed] = recover_crashed_calls(store, clinic, tmp_path / "live")
    assert closed.call_id == call_id
    assert StoreCallLog(store).get_call(call_id).outcome == "agent_crashed"  # type: ignore[union-attr]
