"""The call's context and its record: the one place a call is opened, written and closed.

The context (:class:`CallContext`: the call's id, channel, caller ID, where it is recorded)
exists before the dialog hears anything; the dialog is attached to it, so holds, bookings
and audit entries carry the call's id. :class:`CallRecorder` is the only writer of the call's
row in the :class:`~voiceagent.dialog.calllog.CallLog`: it listens to the call's events
(:class:`~voiceagent.speech.events.CallEvents`) and writes each caller turn, agent reply and
tool call the moment it happens (so a crash mid-call still leaves the transcript), and
closes the record once. A SIP call keeps the id the endpoint gave it, so its wire record,
its recording and its store row share one id.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceagent.dialog.calllog import CallLog
from voiceagent.speech.events import (
    AgentSaid,
    CallEnded,
    CallerSaid,
    CallEvent,
    ToolCalled,
)


@dataclass(frozen=True)
class CallContext:
    """What is known about a call before anyone speaks."""

    call_id: str
    channel: str  # 'sip', 'local', 'file'
    caller_id: str | None
    recording_path: str | None = None


class CallRecorder:
    """Writes one call's record from its events (see module doc)."""

    def __init__(self, call_log: CallLog, context: CallContext) -> None:
        self.call_log = call_log
        self.context = context
        self.outcome: str | None = None

    @classmethod
    def open(cls, call_log: CallLog, channel: str, caller_id: str | None,
             recording_path: str | None = None, call_id: str | None = None) -> CallRecorder:
        """Open the call's record (with ``call_id`` when the channel already named the call)."""
        opened = call_log.open_call(channel, caller_id, call_id)
        return cls(call_log, CallContext(opened, channel, caller_id, recording_path))

    @property
    def call_id(self) -> str:
        return self.context.call_id

    def __call__(self, event: CallEvent) -> None:
        """A :class:`CallEvents` listener."""
        call_id = self.context.call_id
        match event:
            case CallerSaid(text=text, keys=keys):
                self.call_log.add_turn(call_id, "caller", f"[keys] {keys}" if keys else text)
            case AgentSaid(text=text, latency=latency):
                self.call_log.add_turn(call_id, "agent", text, latency=latency)
            case ToolCalled(name=name, arguments=arguments, result=result):
                self.call_log.add_tool_call(call_id, name, arguments, result)
            case CallEnded(outcome=outcome) if self.outcome is None:
                self.outcome = outcome
                self.call_log.close_call(call_id, outcome, self.context.recording_path)
            case _:
                pass
