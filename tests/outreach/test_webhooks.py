"""Inbound webhooks: real signature schemes; anything wrong is logged and changes nothing."""

from __future__ import annotations

import base64
import json
import logging
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.outreach.conftest import CLINIC_SMS, CREDENTIALS, JANE, pipeline, text_in
from voiceagent.outreach.records import OutreachJob, TimelineEntry
from voiceagent.outreach.routes import build_outreach
from voiceagent.outreach.settings import Credentials
from voiceagent.outreach.webhooks import twilio_signature

pytestmark = pytest.mark.unit


def test_twilio_signature_matches_the_published_example():
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
              "From": "+12349013030", "To": "+18005551212"}
    assert twilio_signature("https://mycompany.com/myapp.php?foo=1&bar=2", params,
                            "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def _rows(frontdesk) -> tuple[int, int]:
    with frontdesk.store.transaction() as session:
        return (session.scalar(select(func.count(TimelineEntry.id))) or 0,
                session.scalar(select(func.count(OutreachJob.id))) or 0)


@pytest.mark.parametrize("case,status,reason", [
    ("bad_signature", 403, "bad_signature"),
    ("unknown_number", 200, "unknown_number"),
    ("too_long", 200, "body_too_long"),
    ("binary", 200, "body_binary"),
])
def test_bad_inbound_texts_are_logged_and_change_nothing(client, frontdesk, caplog, case,
                                                         status, reason):
    caplog.set_level(logging.INFO)
    if case == "bad_signature":
        response = text_in(client, JANE, "hello", token="not-the-token")
    elif case == "unknown_number":
        response = text_in(client, JANE, "hello", to="+12175550000")
    elif case == "too_long":
        response = text_in(client, JANE, "x" * 1601)
    else:
        response = text_in(client, JANE, "\x00\x01\x02PK\x03\x04")
    assert response.status_code == status
    assert _rows(frontdesk) == (0, 0)
    events = [(r.getMessage(), getattr(r, "voiceagent_fields", {})) for r in caplog.records]
    assert any(fields.get("reason") == reason for _, fields in events), events
    assert all(JANE not in str(fields) and JANE not in msg for msg, fields in events)


def test_a_webhook_delivered_twice_is_taken_once(client, frontdesk):
    text_in(client, JANE, "What should I wear?", sid="SMdup")
    once = _rows(frontdesk)
    text_in(client, JANE, "What should I wear?", sid="SMdup")
    assert _rows(frontdesk) == once


def _telnyx_client(frontdesk, provider, clock, private_key):
    from voiceagent.api.app import create_app

    public = base64.b64encode(private_key.public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)).decode()
    creds = Credentials(telnyx_api_key=CREDENTIALS.telnyx_api_key, telnyx_public_key=public)
    outreach = build_outreach(pipeline(provider.url, "telnyx"), frontdesk, credentials=creds,
                              clock=clock)
    return TestClient(create_app(outreach.config, frontdesk=frontdesk, outreach=outreach,
                                 allowed_hosts=["testserver"])), outreach


def _telnyx_event(text: str, sender: str = JANE) -> bytes:
    return json.dumps({"data": {"record_type": "event", "id": "ev-1",
                                "event_type": "message.received",
                                "occurred_at": "2026-11-23T16:00:00Z",
                                "payload": {"id": f"msg-{text}", "type": "SMS",
                                            "direction": "inbound", "text": text,
                                            "from": {"phone_number": sender},
                                            "to": [{"phone_number": CLINIC_SMS}]}}}).encode()


def test_telnyx_ed25519_webhook_and_rest_reply(frontdesk, provider, clock):
    key = Ed25519PrivateKey.generate()
    client, outreach = _telnyx_client(frontdesk, provider, clock, key)
    body = _telnyx_event("help")
    stamp = str(int(time.time()))
    signature = base64.b64encode(key.sign(stamp.encode() + b"|" + body)).decode()
    r = client.post("/sms/telnyx", content=body,
                    headers={"telnyx-signature-ed25519": signature, "telnyx-timestamp": stamp,
                             "content-type": "application/json"})
    assert r.status_code == 200
    outreach.worker.run_due()
    assert [(m.provider, m.to) for m in provider.messages] == [("telnyx", JANE)]
    assert provider.messages[0].body.startswith("Riverside Physical Therapy: appointment texts")

    forged = Ed25519PrivateKey.generate()
    bad = base64.b64encode(forged.sign(stamp.encode() + b"|" + body)).decode()
    old = str(int(time.time()) - 3600)
    stale = base64.b64encode(key.sign(old.encode() + b"|" + body)).decode()
    before = _rows(frontdesk)
    for sig, ts in ((bad, stamp), (stale, old), ("", stamp)):
        r = client.post("/sms/telnyx", content=body,
                        headers={"telnyx-signature-ed25519": sig, "telnyx-timestamp": ts})
        assert r.status_code == 403
    assert _rows(frontdesk) == before


def test_behind_a_proxy_twilio_signs_the_public_url(frontdesk, provider, clock):
    from urllib.parse import urlencode

    from voiceagent.api.app import create_app

    config = pipeline(provider.url)
    config = config.model_copy(update={"outreach": config.outreach.model_copy(update={
        "sms": config.outreach.sms.model_copy(update={
            "public_base_url": "https://agent.riverside.example"})})})
    outreach = build_outreach(config, frontdesk, credentials=CREDENTIALS, clock=clock)
    client = TestClient(create_app(config, frontdesk=frontdesk, outreach=outreach,
                                   allowed_hosts=["testserver"]))
    params = {"MessageSid": "SMproxy", "From": JANE, "To": CLINIC_SMS, "Body": "HELP"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for url, status in (("http://testserver/sms/twilio", 403),
                        ("https://agent.riverside.example/sms/twilio", 200)):
        signature = twilio_signature(url, params, "twilio-test-auth-token")
        r = client.post("/sms/twilio", content=urlencode(params),
                        headers={**form, "X-Twilio-Signature": signature})
        assert r.status_code == status
