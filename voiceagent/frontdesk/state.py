"""A conversation's state: plain data, serialisable to JSON, so any node can resume it."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Step(StrEnum):
    """Where a conversation is. The step decides which tools exist and what the prompt asks.
    The values are the strings saved states hold."""

    INTENT = "intent"  # finding out what the caller wants
    COLLECT = "collect"  # asking for the details the intent needs
    OFFER = "offer"  # offering open times
    CONFIRM = "confirm"  # reading back and waiting for a yes
    WRAP_UP = "wrap_up"  # done; anything else?
    ENDED = "ended"


@dataclass
class ConversationState:
    """Everything a dialog needs to continue a conversation on another node.

    ``fields`` holds parsed caller details as strings (ISO dates, E.164 phone numbers);
    ``offers`` the slots last offered (ISO datetimes); ``history`` the chat messages.
    """

    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    channel: str = "chat"
    caller_id: str | None = None  # the phone number the call or text came from, if known
    step: Step = Step.INTENT
    intent: str | None = None
    pending: str | None = None  # the field the last prompt asked for
    fields: dict[str, str] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    offers: list[dict[str, Any]] = field(default_factory=list)
    hold: dict[str, Any] | None = None
    patient_id: int | None = None  # set only by a successful identity check
    appointments: list[dict[str, Any]] = field(default_factory=list)
    target_appointment_id: int | None = None
    cancel_all: bool = False  # "both of them": every listed appointment is cancelled
    request: dict[str, Any] | None = None  # the parsed "when" (AppointmentRequest fields)
    caller_confirmed: bool = False
    booking: dict[str, Any] | None = None
    message_id: int | None = None
    transferred_to: str | None = None
    outcome: str | None = None
    last_prompt: str = ""
    last_question: str = ""  # the caller's last question, for a follow-up ("and Friday?")
    history: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "step" in known:
            known["step"] = Step(known["step"])
        return cls(**known)
