"""The post-call (and post-chat) summary: reason, what was done, what is pending, who owns it.

The facts come from the store (appointments booked in the call, messages left for staff,
the outcome, the tools used); the local LLM, when one is given, writes the four lines from
the transcript and those facts under a JSON schema; whatever it returns is checked, and the
template summary is used whenever the model is absent, fails or answers out of bounds.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.models import Appointment, Call, Message
from voiceagent.llm.protocol import LLM, ChatMessage
from voiceagent.logs import log_event

log = logging.getLogger(__name__)

OWNERS = ("front_desk", "intake_coordinator", "billing", "pt", "scheduler", "none")


@dataclass(frozen=True)
class CallFacts:
    call_id: str
    channel: str
    outcome: str | None
    booked: list[str] = field(default_factory=list)
    messages: list[tuple[str, str, str]] = field(default_factory=list)  # subject, owner, priority
    tools: list[str] = field(default_factory=list)
    caller_turns: list[str] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)

    @property
    def learned_nothing(self) -> bool:
        """Nothing to act on: no words of substance, no tool, no booking, no message."""
        words = sum(len(t.split()) for t in self.caller_turns)
        return not self.booked and not self.messages and not self.tools and words < 4


@dataclass(frozen=True)
class Summary:
    reason: str
    done: str
    pending: str
    owner_role: str
    source: str  # llm, template


def call_facts(session: Session, clinic: ClinicConfig, call: Call) -> CallFacts:
    tz = clinic.tz
    booked = []
    for appt in session.scalars(select(Appointment).where(Appointment.call_id == call.id)
                                .order_by(Appointment.id)):
        try:
            kind = clinic.appointment_type(appt.appointment_type_id).name
        except Exception:  # noqa: BLE001 - a type since removed from the config
            kind = appt.appointment_type_id
        local = appt.start.astimezone(tz)
        booked.append(f"{kind} on {local:%a %b} {local.day} {local:%H:%M} ({appt.status})")
    messages = [(m.subject, m.owner_role, m.priority) for m in session.scalars(
        select(Message).where(Message.call_id == call.id).order_by(Message.id))]
    transcript = [(t.role, t.text) for t in call.turns]
    return CallFacts(
        call_id=call.id, channel=call.channel, outcome=call.outcome, booked=booked,
        messages=messages, tools=sorted({t.name for t in call.tool_calls}),
        caller_turns=[text for role, text in transcript if role in ("user", "caller")],
        transcript=transcript)


def template_summary(facts: CallFacts) -> Summary:
    if facts.booked:
        reason = "book an appointment"
    elif facts.messages:
        reason = f"message: {facts.messages[0][0]}"
    elif facts.caller_turns:
        first = facts.caller_turns[0].strip()
        reason = first if len(first) <= 120 else first[:117] + "..."
    else:
        reason = "no request made"
    done_parts = [f"booked {b}" for b in facts.booked]
    done_parts += [f"message left for {owner}" for _, owner, _ in facts.messages]
    if not done_parts:
        done_parts.append(f"ended: {facts.outcome or 'no outcome'}")
    if facts.messages:
        subject, owner, priority = facts.messages[0]
        pending, who = f"{owner} to follow up ({priority}): {subject}", owner
    elif facts.booked:
        pending, who = "confirmation and reminder go out automatically", "none"
    elif facts.learned_nothing:
        pending, who = "call back: the conversation ended before a request", "front_desk"
    else:
        pending, who = "follow up if the lead does not book", "front_desk"
    return Summary(reason[:300], "; ".join(done_parts)[:500], pending[:500], who, "template")


_SCHEMA = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": 200},
        "done": {"type": "string", "maxLength": 300},
        "pending": {"type": "string", "maxLength": 300},
        "owner_role": {"type": "string", "enum": list(OWNERS)},
    },
    "required": ["reason", "done", "pending", "owner_role"],
}
_PROMPT = ("You write a four-field summary of a clinic front-desk conversation for staff. "
           "Use only the facts and transcript given. reason: why they contacted the clinic. "
           "done: what was done. pending: what is still open. owner_role: who must act.")


class Summarizer:
    """Summaries with the local LLM when given (``llm``), else from the template."""

    def __init__(self, llm: LLM | None = None, max_transcript_chars: int = 3000) -> None:
        self.llm = llm
        self.max_transcript_chars = max_transcript_chars

    def summarize(self, facts: CallFacts) -> Summary:
        fallback = template_summary(facts)
        if self.llm is None or not facts.caller_turns:
            return fallback
        lines = "\n".join(f"{role}: {text}" for role, text in facts.transcript)
        lines = lines[-self.max_transcript_chars:]
        known = {"outcome": facts.outcome, "booked": facts.booked,
                 "messages_for_staff": [{"subject": s, "owner": o} for s, o, _ in facts.messages]}
        try:
            raw = "".join(self.llm.stream(
                [ChatMessage("system", _PROMPT),
                 ChatMessage("user", f"Facts: {json.dumps(known)}\nTranscript:\n{lines}")],
                json_schema=_SCHEMA, max_tokens=200, temperature=0.1))
            data = json.loads(raw)
            summary = Summary(str(data["reason"]).strip()[:300], str(data["done"]).strip()[:500],
                              str(data["pending"]).strip()[:500], str(data["owner_role"]), "llm")
        except Exception as exc:  # noqa: BLE001 - the template always stands in
            log_event(log, "summary.llm_failed", logging.WARNING, call_id=facts.call_id,
                      error=type(exc).__name__)
            return fallback
        if not summary.reason or not summary.done or summary.owner_role not in OWNERS:
            return fallback
        # the model may not invent a booking: facts beat prose
        if facts.messages and summary.owner_role == "none":
            return fallback
        return summary
