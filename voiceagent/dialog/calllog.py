"""Where a call's record goes as it happens, so a crash mid-call still leaves it."""

from __future__ import annotations

from typing import Any, Protocol


class CallLog(Protocol):
    """Writes each part of a call to the store the moment it happens."""

    def open_call(self, channel: str, caller_id: str | None, call_id: str | None = None) -> str:
        """Start a call record; returns its id (``call_id`` when the channel named the call)."""
        ...

    def add_turn(
        self, call_id: str, role: str, text: str, latency: dict[str, float] | None = None
    ) -> None:
        """Append one transcript turn (role 'caller' or 'agent'), with its latency trace."""
        ...

    def add_tool_call(
        self, call_id: str, name: str, arguments: dict[str, Any], result: dict[str, Any]
    ) -> None: ...

    def close_call(self, call_id: str, outcome: str, recording_path: str | None = None) -> None: ...
