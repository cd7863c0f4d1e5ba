"""Email as the second channel, through a real SMTP conversation with a local aiosmtpd."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.outreach.conftest import BOOKING, CREDENTIALS, pipeline, web_chat
from voiceagent.clinic.models import Patient
from voiceagent.outreach.email import SmtpMailer
from voiceagent.outreach.routes import build_outreach
from voiceagent.outreach.settings import EmailConfig

pytestmark = pytest.mark.slow  # a real SMTP server on a thread and a socket


class Inbox:
    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_mailer_delivers_over_smtp(smtp):
    inbox, port = smtp
    mailer = SmtpMailer(EmailConfig(smtp_host="127.0.0.1", smtp_port=port, security="none",
                                    from_address="desk@riverside.example"), CREDENTIALS)
    sent = mailer.send("jane@example.com", "Hello", "Body text")
    (sender, rcpts, raw), = inbox.mails
    mail = message_from_bytes(raw)
    assert (sender, rcpts, mail["Subject"], mail["Message-ID"]) == (
        "desk@riverside.example", ["jane@example.com"], "Hello", sent.provider_message_id)


def test_booking_confirmation_also_goes_by_email(client, frontdesk, provider, clock, smtp):
    inbox, port = smtp
    config = pipeline(provider.url).model_copy(update={"outreach": pipeline(
        provider.url).outreach.model_copy(update={"email": EmailConfig(
            smtp_host="127.0.0.1", smtp_port=port, security="none",
            from_address="desk@riverside.example")})})
    outreach = build_outreach(config, frontdesk, credentials=CREDENTIALS, clock=clock)
    web_chat(client, BOOKING)
    with frontdesk.store.transaction() as session:
        session.scalars(select(Patient)).one().email = "jane@example.com"
    outreach.worker.run_due()
    assert len(provider.messages) == 1
    (_, rcpts, raw), = inbox.mails
    mail = message_from_bytes(raw)
    assert rcpts == ["jane@example.com"]
    assert mail["Subject"] == "Your appointment at Riverside Physical Therapy"
    assert "Initial evaluation with Alex Kim" in mail.get_payload(decode=True).decode()
