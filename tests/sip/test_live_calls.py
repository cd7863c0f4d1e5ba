"""The table of live calls and the endpoint's stop, without pjsua: calls end once, the length
backstop hangs up only a call past it, stopping waits out the grace and then hangs up."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from voiceagent.channels.sip.calls import CALL_LIMIT_BACKSTOP_S, LiveCalls
from voiceagent.channels.sip.handler import CallRecord
from voiceagent.channels.sip.media_port import PortPool
from voiceagent.channels.sip.records import CallRecords
from voiceagent.channels.sip.shutdown import HANGUP_WAIT_S, Shutdown

pytestmark = pytest.mark.unit

MAX_CALL_S = 600.0


class FakeLeg:
    def __init__(self) -> None:
        self.disconnected = False
        self.hangups = 0

    def hangup_quietly(self, status: int = 200) -> None:
        self.hangups += 1


class FakePump:
    def __init__(self) -> None:
        self.stopped_with: list[str] = []

    def stop(self, reason: str, timeout: float = 2.0) -> None:
        self.stopped_with.append(reason)


class FakeSession:
    """The parts of a CallerSession the table touches (a real one needs a running pjsua)."""

    def __init__(self, key: int, leg: FakeLeg, answered_at: float) -> None:
        self.key = key
        self.leg: FakeLeg | None = leg
        self.info = SimpleNamespace(call_id=f"call-{key}", sip_call_id=f"sip-{key}")
        self.record = CallRecord(call_id=f"call-{key}", caller_id="sip:caller@example",
                                 remote_address="10.0.0.1", started_at=datetime.now(UTC))
        self.exchange = SimpleNamespace(meter=SimpleNamespace(latencies_s=[0.8, 0.9]))
        self.port: Any = SimpleNamespace(exchange=None)
        self.recorder: object | None = object()
        self.pump = FakePump()
        self.transfer = None
        self.answered_at = answered_at
        self.ended = False
        self.hangup_requested: str | None = None
        self.hung_up: list[str] = []
        self.media_disconnected = False

    def hang_up(self, reason: str) -> None:
        self.hung_up.append(reason)
        self.hangup_requested = reason

    def disconnect_media(self) -> None:
        self.media_disconnected = True

    def drop_pjsua_objects(self) -> None:
        self.leg = self.port = self.recorder = None

    def note(self, event: str, level: int = 0, **fields: object) -> None:
        pass


class FakeTransfers:
    def __init__(self) -> None:
        self.ticked: list[int] = []
        self.ended: list[int] = []
        self.sent_to_front_desk: list[int] = []
        self.staff = object()

    def tick(self, session: FakeSession, now: float) -> None:
        self.ticked.append(session.key)

    def end(self, session: FakeSession) -> object:
        self.ended.append(session.key)
        return self.staff

    def to_front_desk(self, session: FakeSession) -> None:
        self.sent_to_front_desk.append(session.key)


class Table:
    """A LiveCalls with what it was handed, to look at afterwards."""

    def __init__(self) -> None:
        self.released: list[object] = []
        self.forgotten_dialogs: list[str] = []
        self.ended_records: list[CallRecord] = []
        self.transfers = FakeTransfers()
        self.ports = PortPool(16000, 20)
        self.calls = LiveCalls(
            self.transfers, self.ports,  # type: ignore[arg-type]
            CallRecords(10, self.ended_records.append, None),
            lambda *objects: self.released.extend(o for o in objects if o is not None),
            self.forgotten_dialogs.append, MAX_CALL_S,
        )

    def caller(self, answered_at: float | None = None) -> FakeSession:
        leg = FakeLeg()
        key = self.calls.add_leg(leg)  # type: ignore[arg-type]
        session = FakeSession(key, leg, time.monotonic() if answered_at is None else answered_at)
        self.calls.add_session(session)  # type: ignore[arg-type]
        return session


def test_a_call_ended_twice_is_let_go_and_recorded_once_with_its_first_outcome() -> None:
    table = Table()
    session = table.caller()
    leg, port, recorder = session.leg, session.port, session.recorder
    table.calls.end(session, "caller_hung_up")  # type: ignore[arg-type]
    table.calls.end(session, "shutdown")  # type: ignore[arg-type]  # the endpoint stopping
    assert [r.outcome for r in table.ended_records] == ["caller_hung_up"]
    assert table.ended_records[0].reply_latency_s == [0.8, 0.9]
    assert session.pump.stopped_with == ["caller_hung_up"]
    assert session.media_disconnected and session.leg is None  # no pjsua object kept
    assert table.released == [table.transfers.staff, leg, recorder]  # freed later, each once
    assert port.exchange is table.ports.idle  # the port parked for the next call
    assert table.forgotten_dialogs == ["sip-1"]
    assert len(table.calls) == 0 and not table.calls.legs


def test_a_leg_is_kept_by_the_tables_key_until_it_is_forgotten() -> None:
    table = Table()
    caller = table.caller()
    staff = FakeLeg()
    table.calls.add_leg(staff)  # type: ignore[arg-type]
    table.calls.forget_leg(staff)  # type: ignore[arg-type]
    assert list(table.calls.legs.values()) == [caller.leg]
    assert table.released == [staff]
    assert table.calls.session_of(caller.leg) is caller  # type: ignore[arg-type]
    assert table.calls.session_of(staff) is None  # type: ignore[arg-type]


def test_only_a_call_past_its_limit_and_the_backstop_is_hung_up() -> None:
    table = Table()
    now = time.monotonic()
    overdue = table.caller(answered_at=now - MAX_CALL_S - CALL_LIMIT_BACKSTOP_S - 1)
    saying_goodbye = table.caller(answered_at=now - MAX_CALL_S - CALL_LIMIT_BACKSTOP_S - 1)
    saying_goodbye.hangup_requested = "completed"
    within = table.caller(answered_at=now - MAX_CALL_S)
    table.calls.tick(now)
    assert overdue.hung_up == ["max_duration"] and overdue.record.outcome == "max_duration"
    assert saying_goodbye.hung_up == [] and within.hung_up == []
    assert within.record.outcome == "in_progress"
    # the calls not hung up this round have their transfers moved on
    assert table.transfers.ticked == [saying_goodbye.key, within.key]
    table.calls.tick(now + 0.01)  # the overdue call is going: not hung up again
    assert overdue.hung_up == ["max_duration"]


def test_stopping_with_no_call_up_ends_at_once() -> None:
    table = Table()
    shutdown = Shutdown(table.calls, table.transfers, False)  # type: ignore[arg-type]
    shutdown.begin(grace_s=30)
    assert not shutdown.accepting and shutdown.requested.is_set()
    assert shutdown.step()


def test_stopping_waits_out_the_grace_then_hangs_up_once_and_leaves_after_the_wait() -> None:
    table = Table()
    session = table.caller()
    staff = FakeLeg()
    table.calls.add_leg(staff)  # type: ignore[arg-type]
    shutdown = Shutdown(table.calls, table.transfers, False)  # type: ignore[arg-type]
    shutdown.begin(grace_s=0.2)
    assert not shutdown.step() and session.hung_up == []  # the grace: calls may finish
    time.sleep(0.25)
    assert not shutdown.step()
    assert not shutdown.step()
    assert session.hung_up == ["shutdown"] and staff.hangups == 1  # once, every leg
    session.leg.disconnected = True  # type: ignore[union-attr]
    table.calls.end(session, "shutdown")  # type: ignore[arg-type]
    assert not shutdown.step()  # the staff leg is still up
    staff.disconnected = True
    assert shutdown.step()


def test_stopping_gives_up_on_calls_that_never_go_after_the_hangup_wait() -> None:
    table = Table()
    table.caller()
    shutdown = Shutdown(table.calls, table.transfers, False)  # type: ignore[arg-type]
    shutdown.begin(grace_s=-HANGUP_WAIT_S)  # the grace and the wait both over
    assert shutdown.step()


def test_stopping_puts_live_callers_through_to_the_front_desk_when_asked() -> None:
    for transfer_live_calls in (True, False):
        table = Table()
        first, second = table.caller(), table.caller()
        shutdown = Shutdown(table.calls, table.transfers,  # type: ignore[arg-type]
                            transfer_live_calls)
        shutdown.begin(grace_s=30)
        expected = [first.key, second.key] if transfer_live_calls else []
        assert table.transfers.sent_to_front_desk == expected
