"""Email through the clinic's SMTP server (a second channel for confirmations and reminders)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from voiceagent.outreach.settings import Credentials, EmailConfig
from voiceagent.outreach.sms import SendFailed, SendRejected, SentMessage


class SmtpMailer:
    name = "smtp"

    def __init__(self, config: EmailConfig, credentials: Credentials) -> None:
        if not config.smtp_host or not config.from_address:
            raise ValueError("email is off: set outreach.email.smtp_host and from_address")
        self.config = config
        self.host = config.smtp_host
        self.from_address = config.from_address
        self._login = ((credentials.smtp_username, credentials.smtp_password.get_secret_value())
                       if credentials.smtp_username and credentials.smtp_password else None)

    def send(self, to: str, subject: str, body: str) -> SentMessage:
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = to
        message["Subject"] = subject
        message_id = make_msgid(domain=self.from_address.rpartition("@")[2] or None)
        message["Message-ID"] = message_id
        message.set_content(body)
        cfg = self.config
        try:
            if cfg.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, cfg.smtp_port, timeout=cfg.timeout_s,
                    context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, cfg.smtp_port, timeout=cfg.timeout_s)
            with client:
                if cfg.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self._login:
                    client.login(*self._login)
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            raise SendRejected("the mail server refused the recipient") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"mail server: {type(exc).__name__}") from None
        return SentMessage(self.name, message_id)
