"""The seam between the speech pipeline (or a text channel) and the dialog behind it.

A channel hands the dialog one :class:`UserTurn` at a time and plays or prints the
:data:`DialogEvent` values it yields, in order, as they come (the dialog streams its reply
clause by clause so speech can start before the reply is complete).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol


class ExpectedInput(Enum):
    """What the dialog expects next; the endpointer waits longer for slow, chunked input."""

    FREE = "free"
    DIGITS = "digits"  # phone number, member ID, claim number, NPI
    DATE = "date"  # date of birth
    SPELLING = "spelling"  # a name letter by letter

    @property
    def is_slow(self) -> bool:
        return self is not ExpectedInput.FREE


@dataclass(frozen=True)
class UserTurn:
    """What the caller said (or typed) in one turn."""

    text: str
    confidence: float = 1.0  # 0..1; low values mean the STT was unsure
    no_speech: bool = False  # the STT heard noise, not words
    dtmf: str = ""  # keys pressed during the turn, if any


@dataclass(frozen=True)
class ReplyText:
    """A piece of the agent's reply, ready to speak. ``content`` is False for fillers
    ("one moment while I check") so latency can tell first audio from first content audio."""

    text: str
    content: bool = True


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolResult:
    name: str
    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    reason: str = ""  # why it was refused, phrased so the model (and staff) can act on it


@dataclass(frozen=True)
class Transfer:
    """Hand the call to a person. ``summary`` is the one sentence a warm transfer speaks."""

    target: str
    summary: str = ""
    warm: bool = True


@dataclass(frozen=True)
class EndCall:
    reason: str = "completed"


DialogEvent = ReplyText | ToolCall | ToolResult | Transfer | EndCall


class Dialog(Protocol):
    """One conversation. A new instance per call or chat session."""

    def greeting(self) -> Iterator[DialogEvent]:
        """What the agent says when the call opens (disclosures first)."""
        ...

    def expected_input(self) -> ExpectedInput:
        """What kind of answer the current step waits for."""
        ...

    def respond(self, turn: UserTurn) -> Iterator[DialogEvent]:
        """The agent's events for one caller turn, streamed."""
        ...

    def interrupted(self, spoken: str) -> None:
        """The caller barged in: only ``spoken`` of the last reply was heard.

        The dialog replaces its last assistant message with ``spoken`` so the unspoken
        rest never enters the conversation history.
        """
        ...

    def silence(self, count: int) -> Iterator[DialogEvent]:
        """The caller said nothing for a while (``count`` times in a row)."""
        ...

    def transfer_failed(self) -> Iterator[DialogEvent]:
        """The last :class:`Transfer` reached nobody; the caller is back with the agent
        (the dialog offers to take a message)."""
        ...
