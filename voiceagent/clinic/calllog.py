"""The store-backed CallLog: every turn and tool call is committed the moment it happens.

A crash mid-call therefore leaves the call with its transcript so far and no outcome; with
:class:`~voiceagent.clinic.recovery.LiveCalls` markers, the next start closes it and leaves the
front desk a callback message (:func:`~voiceagent.clinic.recovery.recover_crashed_calls`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from voiceagent.clinic import audit
from voiceagent.clinic.audit import SYSTEM, Actor
from voiceagent.clinic.db import Store
from voiceagent.clinic.models import Call, CallTurn, ToolCallRecord, utcnow

if TYPE_CHECKING:
    from voiceagent.clinic.recovery import LiveCalls


@dataclass(frozen=True)
class CallRecord:
    call_id: str
    channel: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    recording_path: str | None
    turns: list[tuple[str, str, dict[str, float] | None]]
    tool_calls: list[tuple[str, dict[str, Any], dict[str, Any]]]


class StoreCallLog:
    """Implements :class:`voiceagent.dialog.calllog.CallLog` on the clinic store."""

    def __init__(self, store: Store, live: LiveCalls | None = None) -> None:
        self.store = store
        self.live = live  # marks this process's open calls (crash recovery)

    def open_call(self, channel: str, caller_id: str | None) -> str:
        call_id = str(uuid.uuid4())
        with self.store.transaction() as session:
            session.add(Call(id=call_id, channel=channel, caller_id=caller_id))
            audit.record(session, Actor("calllog", call_id), "create", "call", call_id)
        if self.live is not None:
            self.live.opened(call_id)
        return call_id

    def add_turn(
        self, call_id: str, role: str, text: str, latency: dict[str, float] | None = None
    ) -> None:
        with self.store.transaction() as session:
            seq = session.scalar(
                select(func.coalesce(func.max(CallTurn.seq), 0)).where(CallTurn.call_id == call_id)
            )
            session.add(
                CallTurn(call_id=call_id, seq=(seq or 0) + 1, role=role, text=text, latency=latency)
            )
            audit.record(session, Actor("calllog", call_id), "append", "call_turn", call_id)

    def add_tool_call(
        self, call_id: str, name: str, arguments: dict[str, Any], result: dict[str, Any]
    ) -> None:
        with self.store.transaction() as session:
            seq = session.scalar(
                select(func.coalesce(func.max(ToolCallRecord.seq), 0)).where(
                    ToolCallRecord.call_id == call_id
                )
            )
            session.add(
                ToolCallRecord(
                    call_id=call_id,
                    seq=(seq or 0) + 1,
                    name=name,
                    arguments=arguments,
                    result=result,
                )
            )
            audit.record(session, Actor("calllog", call_id), "append", "tool_call", call_id)

    def close_call(self, call_id: str, outcome: str, recording_path: str | None = None) -> None:
        with self.store.transaction() as session:
            session.execute(
                update(Call)
                .where(Call.id == call_id)
                .values(outcome=outcome, ended_at=utcnow(), recording_path=recording_path)
            )
            audit.record(session, Actor("calllog", call_id), "close", "call", call_id)
        if self.live is not None:
            self.live.closed(call_id)

    def set_ended_at(self, call_id: str, ended_at: datetime) -> None:
        """The channel's own end of the call (its BYE), which may follow the dialog's end."""
        with self.store.transaction() as session:
            session.execute(update(Call).where(Call.id == call_id).values(ended_at=ended_at))

    def record_wire_latency(self, call_id: str, latency_ms: list[float]) -> None:
        """Keep the channel's own end-of-speech to first-reply-audio times for the call."""
        with self.store.transaction() as session:
            session.execute(
                update(Call).where(Call.id == call_id).values(wire_latency_ms=latency_ms)
            )

    def link_patient(self, call_id: str, patient_id: int) -> None:
        """Attach the verified or newly created patient to the call record."""
        with self.store.transaction() as session:
            session.execute(update(Call).where(Call.id == call_id).values(patient_id=patient_id))
            audit.record(session, Actor("calllog", call_id), "link_patient", "call", call_id)

    def get_call(self, call_id: str, actor: Actor = SYSTEM) -> CallRecord | None:
        """The call with its transcript and tool calls (for review screens and tests)."""
        with self.store.transaction() as session:
            call = session.get(Call, call_id)
            if call is None:
                return None
            audit.record(session, actor, "read", "call", call_id)
            return CallRecord(
                call.id,
                call.channel,
                call.started_at,
                call.ended_at,
                call.outcome,
                call.recording_path,
                [(t.role, t.text, t.latency) for t in call.turns],
                [(t.name, t.arguments, t.result) for t in call.tool_calls],
            )
