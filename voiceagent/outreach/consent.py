"""STOP / START / HELP: the carrier keywords, honoured and stored per number.

A whole message that is one keyword (any case, surrounding punctuation ignored) counts;
"stop by tomorrow?" is a conversation, not an opt-out.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceagent.outreach.records import Channel, ConsentStatus, ContactConsent


class Keyword(enum.StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


_WORDS = {
    Keyword.STOP: {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
                   "OPTOUT", "OPT OUT", "STOP ALL"},
    Keyword.START: {"START", "UNSTOP", "SUBSCRIBE", "OPTIN", "OPT IN"},
    Keyword.HELP: {"HELP", "INFO"},
}


def keyword_of(body: str) -> Keyword | None:
    text = " ".join(body.strip().strip(".!?,;:'\"").upper().split())
    for keyword, words in _WORDS.items():
        if text in words:
            return keyword
    return None


def set_consent(session: Session, *, channel: Channel, address_key: str,
                status: ConsentStatus, keyword: str | None, now: datetime) -> None:
    row = session.scalars(select(ContactConsent).where(
        ContactConsent.channel == channel.value,
        ContactConsent.address_key == address_key)).first()
    if row is None:
        session.add(ContactConsent(channel=channel.value, address_key=address_key,
                                   status=status.value, keyword=keyword, updated_at=now))
    else:
        row.status, row.keyword, row.updated_at = status.value, keyword, now


def opted_out(session: Session, *, channel: Channel, address_key: str) -> bool:
    status = session.scalar(select(ContactConsent.status).where(
        ContactConsent.channel == channel.value, ContactConsent.address_key == address_key))
    return status == ConsentStatus.OPTED_OUT
