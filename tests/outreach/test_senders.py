"""The REST clients against the local provider, and the carrier keywords."""

from __future__ import annotations

import socket

import pytest

from tests.outreach.provider import TELNYX_KEY, TWILIO_SID, TWILIO_TOKEN
from voiceagent.outreach.consent import Keyword, keyword_of
from voiceagent.outreach.sms import SendFailed, SendRejected, TelnyxSms, TwilioSms

pytestmark = pytest.mark.unit
TO, FROM = "+15551234567", "+12175550199"


def test_twilio_and_telnyx_clients_send_what_the_apis_expect(provider):
    twilio = TwilioSms(TWILIO_SID, TWILIO_TOKEN, FROM, provider.url)
    telnyx = TelnyxSms(TELNYX_KEY, FROM, "profile-1", provider.url)
    a, b = twilio.send(TO, "one"), telnyx.send(TO, "two")
    assert a.provider_message_id.startswith("SM") and len(b.provider_message_id) == 36
    assert [(m.provider, m.to, m.sender, m.body) for m in provider.messages] == [
        ("twilio", TO, FROM, "one"), ("telnyx", TO, FROM, "two")]


def test_wrong_credentials_are_refused_for_good_and_outages_retried(provider):
    with pytest.raises(SendRejected):
        TwilioSms(TWILIO_SID, "wrong", FROM, provider.url).send(TO, "x")
    with pytest.raises(SendRejected):
        TelnyxSms("wrong", FROM, None, provider.url).send(TO, "x")
    provider.fail_next = [500]
    with pytest.raises(SendFailed):
        TelnyxSms(TELNYX_KEY, FROM, None, provider.url).send(TO, "x")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(SendFailed):
        TwilioSms(TWILIO_SID, TWILIO_TOKEN, FROM, closed).send(TO, "x")
    assert provider.messages == []


@pytest.mark.parametrize("text,keyword", [
    ("STOP", Keyword.STOP), ("stop.", Keyword.STOP), (" Unsubscribe ", Keyword.STOP),
    ("start", Keyword.START), ("HELP", Keyword.HELP), ("info?", Keyword.HELP),
    ("stop by tomorrow?", None), ("can you help me", None), ("yes", None),
])
def test_only_a_whole_message_keyword_changes_consent(text, keyword):
    assert keyword_of(text) == keyword
