"""Inbound texts: consent keywords, then a conversation with the front desk, on the lead.

Every accepted text lands on the sender's lead (found by number, or a new lead); STOP, START
and HELP change the stored consent and get the clinic's fixed answer; anything else goes to
the sender's SMS conversation (the same dialog as the phone and the web chat) and the
assistant's answer is queued as a reply job. Texts to a number that is not ours, too long
or not text are refused with a log event and change nothing.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceagent.channels.conversations import TextConversations
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.logs import log_event
from voiceagent.outreach.consent import Keyword, keyword_of, opted_out, set_consent
from voiceagent.outreach.contacts import phone_key, resolve_lead
from voiceagent.outreach.jobs import NewJob, enqueue
from voiceagent.outreach.records import (
    Channel,
    ConsentStatus,
    JobKind,
    SmsThread,
    TimelineEntry,
)
from voiceagent.outreach.settings import SmsConfig
from voiceagent.outreach.templates import keyword_text
from voiceagent.outreach.triggers import ACTOR
from voiceagent.outreach.webhooks import InboundSms, body_problem

log = logging.getLogger(__name__)
THREAD_IDLE = timedelta(hours=24)


class Received(enum.StrEnum):
    CONVERSATION = "conversation"
    KEYWORD = "keyword"
    OPTED_OUT = "opted_out"  # recorded, not answered
    EMPTY = "empty"  # media only: recorded, not answered
    DUPLICATE = "duplicate"
    UNKNOWN_NUMBER = "unknown_number"
    BAD_SENDER = "bad_sender"
    BODY_TOO_LONG = "body_too_long"
    BODY_BINARY = "body_binary"


class SmsInbox:
    def __init__(self, store: Store, clinic: ClinicConfig, config: SmsConfig,
                 conversations: TextConversations | None,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clinic = clinic
        self.config = config
        self.conversations = conversations
        self.clock = clock
        self._ours = {k[1] for n in config.our_numbers() if (k := phone_key(n))}

    def receive(self, sms: InboundSms) -> Received:
        """Take one inbound text; the result says what happened (for the log and tests)."""
        to = phone_key(sms.to_number)
        if to is None or to[1] not in self._ours:
            return self._refuse(sms, Received.UNKNOWN_NUMBER)
        sender = phone_key(sms.from_number)
        if sender is None:
            return self._refuse(sms, Received.BAD_SENDER)
        problem = body_problem(sms.body, self.config.max_inbound_chars)
        if problem is not None:
            return self._refuse(sms, Received(problem))
        e164, key = sender
        now = self.clock()
        keyword = keyword_of(sms.body)
        try:
            with self.store.transaction() as session:
                lead = resolve_lead(session, actor=ACTOR, channel="sms", now=now, phone=e164)
                lead_id = lead.id
                session.add(TimelineEntry(
                    lead_id=lead_id, at=now, channel="sms", direction="inbound",
                    kind="message", body=sms.body or "[a message without text]", address=e164,
                    provider_message_id=sms.provider_message_id or None))
                session.flush()
                if not sms.body.strip():  # a picture, a sticker: staff see it on the lead
                    result = Received.EMPTY
                elif keyword is not None:
                    self._keyword(session, keyword, key, e164, lead_id, sms, now)
                    result = Received.KEYWORD
                elif opted_out(session, channel=Channel.SMS, address_key=key):
                    result = Received.OPTED_OUT
                else:
                    result = Received.CONVERSATION
        except IntegrityError:
            log_event(log, "sms.duplicate", provider=sms.provider)
            return Received.DUPLICATE
        log_event(log, "sms.received", provider=sms.provider, lead_id=lead_id,
                  result=result.value, keyword=keyword.value if keyword else None)
        if result == Received.CONVERSATION:
            self._converse(e164, key, lead_id, sms, now)
        return result

    def _refuse(self, sms: InboundSms, why: Received) -> Received:
        log_event(log, "sms.refused", logging.WARNING, provider=sms.provider, reason=why.value,
                  chars=len(sms.body))
        return why

    def _keyword(self, session: Session, keyword: Keyword, key: str, e164: str, lead_id: int,
                 sms: InboundSms, now: datetime) -> None:
        if keyword != Keyword.HELP:
            status = ConsentStatus.OPTED_OUT if keyword == Keyword.STOP else ConsentStatus.OPTED_IN
            set_consent(session, channel=Channel.SMS, address_key=key, status=status,
                        keyword=sms.body.strip()[:32], now=now)
            session.add(TimelineEntry(lead_id=lead_id, at=now, channel="sms", direction="note",
                                      kind="consent", body=f"SMS consent: {status.value}",
                                      address=e164))
        if keyword == Keyword.STOP and not self.clinic.outreach.send_opt_out_confirmation:
            return
        reply = keyword_text(self.clinic, f"{keyword.value}_reply")
        enqueue(session, NewJob(JobKind.KEYWORD_REPLY, f"keyword:{sms.provider}:"
                                f"{sms.provider_message_id or now.isoformat()}", now,
                                Channel.SMS, e164, lead_id, payload={"body": reply}), now)

    def _thread(self, key: str, now: datetime) -> str | None:
        with self.store.transaction() as session:
            row = session.get(SmsThread, key)
            if row is None or row.updated_at < now - THREAD_IDLE:
                return None
            return row.session_id

    def _converse(self, e164: str, key: str, lead_id: int, sms: InboundSms,
                  now: datetime) -> None:
        if self.conversations is None:
            return
        session_id = self._thread(key, now)
        parts: list[str] = []
        if session_id is None or not self.conversations.is_open(session_id):
            # a text thread opens with who is answering, not the phone greeting
            session_id = self.conversations.start("sms", caller_id=e164).session_id
            parts.append(keyword_text(self.clinic, "sms_intro"))
        try:
            turn = self.conversations.send(session_id, sms.body)
            parts.append(turn.reply)
        except Exception:  # noqa: BLE001 - the person still gets an answer
            log.exception("sms.turn_failed", extra={"voiceagent_fields": {"call_id": session_id}})
            parts.append(f"Sorry, something went wrong. Please call {self.clinic.phone}.")
        reply = " ".join(p for p in parts if p).strip()
        with self.store.transaction() as session:
            row = session.get(SmsThread, key)
            if row is None:
                session.add(SmsThread(address_key=key, session_id=session_id, updated_at=now))
            else:
                row.session_id, row.updated_at = session_id, now
            if reply:
                enqueue(session, NewJob(
                    JobKind.REPLY, f"reply:{sms.provider}:"
                    f"{sms.provider_message_id or session_id + now.isoformat()}", now,
                    Channel.SMS, e164, lead_id, call_id=session_id, payload={"body": reply}),
                    now)
            entry = session.scalars(select(TimelineEntry).where(
                TimelineEntry.channel == "sms",
                TimelineEntry.provider_message_id == sms.provider_message_id)).first()
            if entry is not None and sms.provider_message_id:
                entry.call_id = session_id
