"""The store-backed CallLog: every turn and tool call is committed the moment it happens.

A crash mid-call therefore leaves the call with its transcript so far and no outcome; with
:class:`~voiceagent.clinic.recovery.LiveCalls` markers, the next start closes it and leaves the
front desk a callback message (:func:`~voiceagent.clinic.recovery.recover_crashed_calls`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from voiceagent.clinic import audit
from voiceagent.clinic.audit import SYSTEM, Actor
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import StoreBusy
from voiceagent.clinic.journal import Journal
from voiceagent.clinic.models import Call, CallTurn, ToolCallRecord, utcnow

if TYPE_CHECKING:
    from voiceagent.clinic.recovery import LiveCalls
    from voiceagent.clinic.storehealth import StoreHealth


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


WRITE_ATTEMPTS = 2  # each may wait out SQLite's busy timeout
RETRY_DELAY_S = 0.5


class StoreCallLog:
    """Implements :class:`voiceagent.dialog.calllog.CallLog` on the clinic store.

    Opening, turns, tool calls and closing are retried once; a write the store still cannot
    take (or any while ``health`` says it cannot be written) goes to the local ``journal``
    and is replayed later (:meth:`replay_journal`), so no turn is lost to a locked or missing
    database.
    """

    def __init__(self, store: Store, live: LiveCalls | None = None,
                 journal: Journal | None = None, health: StoreHealth | None = None) -> None:
        self.store = store
        self.live = live  # marks this process's open calls (crash recovery)
        self.journal = journal
        self.health = health

    def open_call(self, channel: str, caller_id: str | None, call_id: str | None = None) -> str:
        call_id = call_id or str(uuid.uuid4())
        self._write({"op": "open", "call_id": call_id, "channel": channel,
                     "caller_id": caller_id})
        if self.live is not None:
            self.live.opened(call_id)
        return call_id

    def add_turn(
        self, call_id: str, role: str, text: str, latency: dict[str, float] | None = None
    ) -> None:
        self._write({"op": "turn", "call_id": call_id, "role": role, "text": text,
                     "latency": latency})

    def add_tool_call(
        self, call_id: str, name: str, arguments: dict[str, Any], result: dict[str, Any]
    ) -> None:
        self._write({"op": "tool", "call_id": call_id, "name": name, "arguments": arguments,
                     "result": result})

    def close_call(self, call_id: str, outcome: str, recording_path: str | None = None) -> None:
        self._write({"op": "close", "call_id": call_id, "outcome": outcome,
                     "recording_path": recording_path})
        if self.live is not None:
            self.live.closed(call_id)

    def set_ended_at(self, call_id: str, ended_at: datetime) -> None:
        """The channel's own end of the call (its BYE), which may follow the dialog's end."""
        with self.store.transaction() as session:
            session.execute(update(Call).where(Call.id == call_id).values(ended_at=ended_at))

    def replay_journal(self) -> int:
        """Write what the journal kept into the store, in order; how many entries went in."""
        if self.journal is None:
            return 0
        return self.journal.replay(self._apply)

    # -- writing ---------------------------------------------------------------------------
    def _write(self, entry: dict[str, Any]) -> None:
        entry["at"] = utcnow().isoformat()
        if self.journal is not None and (
            self.journal.pending() or (self.health is not None and not self.health.usable())
        ):
            self.journal.append(entry)  # keep the order: nothing overtakes what is journaled
            return
        for attempt in range(WRITE_ATTEMPTS):
            try:
                self._apply(entry)
                return
            except (DBAPIError, StoreBusy):
                if attempt + 1 < WRITE_ATTEMPTS:
                    time.sleep(RETRY_DELAY_S)
                elif self.journal is None:
                    raise
        assert self.journal is not None
        self.journal.append(entry)

    def _apply(self, entry: dict[str, Any]) -> None:
        op, call_id = entry["op"], entry["call_id"]
        at = datetime.fromisoformat(entry["at"])
        actor = Actor("calllog", call_id)
        with self.store.transaction() as session:
            if op == "open":
                if session.get(Call, call_id) is None:
                    session.add(Call(id=call_id, channel=entry["channel"],
                                     caller_id=entry["caller_id"], started_at=at))
                    audit.record(session, actor, "create", "call", call_id)
            elif op == "turn":
                seq = session.scalar(select(func.coalesce(func.max(CallTurn.seq), 0))
                                     .where(CallTurn.call_id == call_id))
                session.add(CallTurn(call_id=call_id, seq=(seq or 0) + 1, role=entry["role"],
                                     text=entry["text"], latency=entry["latency"], at=at))
                audit.record(session, actor, "append", "call_turn", call_id)
            elif op == "tool":
                seq = session.scalar(select(func.coalesce(func.max(ToolCallRecord.seq), 0))
                                     .where(ToolCallRecord.call_id == call_id))
                session.add(ToolCallRecord(call_id=call_id, seq=(seq or 0) + 1,
                                           name=entry["name"], arguments=entry["arguments"],
                                           result=entry["result"]))
                audit.record(session, actor, "append", "tool_call", call_id)
            elif op == "close":
                session.execute(update(Call).where(Call.id == call_id).values(
                    outcome=entry["outcome"], ended_at=at,
                    recording_path=entry["recording_path"]))
                audit.record(session, actor, "close", "call", call_id)
            else:
                raise ValueError(f"unknown call-log journal entry {op!r}")

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
