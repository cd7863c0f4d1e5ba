"""A CallLog that keeps the call in memory (the file channel's report, tests, benchmarks)."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from voiceagent.dialog.calllog import CallLog


@dataclass
class LoggedTurn:
    role: str
    text: str
    latency: dict[str, float] | None
    at: float


@dataclass
class LoggedToolCall:
    name: str
    arguments: dict[str, Any]
    result: dict[str, Any]
    after_turn: int  # index into ``turns`` of the turn it belongs to


@dataclass
class LoggedCall:
    call_id: str
    channel: str
    caller_id: str | None
    turns: list[LoggedTurn] = field(default_factory=list)
    tool_calls: list[LoggedToolCall] = field(default_factory=list)
    outcome: str | None = None
    recording_path: str | None = None


class MemoryCallLog:
    """Implements ``voiceagent.dialog.calllog.CallLog`` in memory.

    With ``write_through`` (the clinic store's log) every write goes there first and the call
    takes that log's id: the call lands in the store like any phone call, and the memory
    copy is what a report is built from.
    """

    def __init__(self, write_through: CallLog | None = None) -> None:
        self.calls: dict[str, LoggedCall] = {}
        self.write_through = write_through
        self._lock = threading.Lock()

    def open_call(self, channel: str, caller_id: str | None, call_id: str | None = None) -> str:
        if self.write_through is not None:
            call_id = self.write_through.open_call(channel, caller_id, call_id)
        else:
            call_id = call_id or uuid.uuid4().hex[:12]
        with self._lock:
            self.calls[call_id] = LoggedCall(call_id, channel, caller_id)
        return call_id

    def add_turn(
        self, call_id: str, role: str, text: str, latency: dict[str, float] | None = None
    ) -> None:
        if self.write_through is not None:
            self.write_through.add_turn(call_id, role, text, latency)
        with self._lock:
            self.calls[call_id].turns.append(LoggedTurn(role, text, latency, time.time()))

    def add_tool_call(
        self, call_id: str, name: str, arguments: dict[str, Any], result: dict[str, Any]
    ) -> None:
        if self.write_through is not None:
            self.write_through.add_tool_call(call_id, name, arguments, result)
        with self._lock:
            call = self.calls[call_id]
            call.tool_calls.append(LoggedToolCall(name, arguments, result, len(call.turns) - 1))

    def close_call(self, call_id: str, outcome: str, recording_path: str | None = None) -> None:
        if self.write_through is not None:
            self.write_through.close_call(call_id, outcome, recording_path)
        with self._lock:
            self.calls[call_id].outcome = outcome
            self.calls[call_id].recording_path = recording_path
