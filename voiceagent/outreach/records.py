"""The follow-up tables: queued jobs, the lead timeline, consent, contacts, call summaries.

They share the clinic store's metadata (``clinic.models.Base``) so that migrations and the
schema check see them; migration ``0004_followup`` creates them.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voiceagent.clinic.models import Base, UTCDateTime, utcnow


class JobKind(enum.StrEnum):
    CONFIRMATION = "confirmation"
    REMINDER = "reminder"
    NUDGE = "nudge"  # a lead that did not book
    MISSED_CALL = "missed_call"
    NO_SHOW = "no_show"
    REPLY = "reply"  # the assistant's answer in an SMS conversation
    KEYWORD_REPLY = "keyword_reply"  # the answer to STOP / START / HELP


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"  # a worker holds it until lease_until; not yet handed to a provider
    SENDING = "sending"  # handed to the provider; never resent automatically
    SENT = "sent"
    SKIPPED = "skipped"  # no longer relevant, opted out, no address...
    FAILED = "failed"  # the provider refused it, or retries ran out
    UNCERTAIN = "uncertain"  # a worker died mid-send: staff check instead of a duplicate


class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"


class ConsentStatus(enum.StrEnum):
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


class OutreachJob(Base):
    """One message to send once: due at ``due_at``; ``dedupe_key`` makes queuing idempotent."""

    __tablename__ = "outreach_jobs"
    __table_args__ = (Index(None, "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default=Channel.SMS)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    call_id: Mapped[str | None] = mapped_column(String(36), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TimelineEntry(Base):
    """Everything that happened with a lead, on every channel, in order."""

    __tablename__ = "lead_timeline"
    # a provider's message id is seen once: a webhook delivered twice adds nothing
    __table_args__ = (Index(None, "lead_id", "at"), Index(None, "address", "at"),
                      UniqueConstraint("channel", "provider_message_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(16))  # sms, email, phone, web_chat, chat
    direction: Mapped[str] = mapped_column(String(16))  # inbound, outbound, note
    kind: Mapped[str] = mapped_column(String(32))  # message, conversation, consent, merge
    body: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(String(200))
    call_id: Mapped[str | None] = mapped_column(String(36))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("outreach_jobs.id"))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))


class LeadContact(Base):
    """A phone number or email address seen for a lead, to find the lead again."""

    __tablename__ = "lead_contacts"
    __table_args__ = (UniqueConstraint("kind", "value_key", "lead_id"), Index(None, "kind",
                                                                              "value_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # phone, email
    value: Mapped[str] = mapped_column(String(200))  # E.164 or the address as given
    value_key: Mapped[str] = mapped_column(String(200))  # last 10 digits, or lower-case email
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactConsent(Base):
    """STOP / START per address and channel (the carrier-level opt-out)."""

    __tablename__ = "contact_consent"
    __table_args__ = (UniqueConstraint("channel", "address_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    keyword: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsThread(Base):
    """Which chat session an SMS conversation with a number continues."""

    __tablename__ = "sms_threads"

    address_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(36))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallSummary(Base):
    """The post-call (or post-chat) summary: reason, what was done, what is pending, owner."""

    __tablename__ = "call_summaries"

    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    done: Mapped[str] = mapped_column(String(500))
    pending: Mapped[str] = mapped_column(String(500))
    owner_role: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # llm, template
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def text(self) -> str:
        return (f"Reason: {self.reason}\nDone: {self.done}\nPending: {self.pending}\n"
                f"Owner: {self.owner_role}")
