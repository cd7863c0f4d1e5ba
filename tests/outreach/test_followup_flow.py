"""The follow-up promise end to end, on a fake clock: a web chat books, the confirmation
and the reminder reach the (local) SMS provider at their times, STOP stops what follows,
and a lead that did not book hears from the clinic after N hours."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.outreach.conftest import BOOKING as CHAT_BOOKING
from tests.outreach.conftest import JANE, FakeClock, text_in, web_chat
from tests.outreach.provider import FakeProvider
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.models import Appointment, Lead
from voiceagent.clinic.scheduling import set_status
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.outreach.records import ContactConsent, OutreachJob
from voiceagent.outreach.routes import Outreach
from voiceagent.outreach.timeline import lead_timeline

pytestmark = pytest.mark.unit

STAFF = Actor("staff")


def test_web_chat_booking_gets_confirmation_reminder_and_stop_ends_the_rest(
        client, outreach: Outreach, provider: FakeProvider, clock: FakeClock,
        frontdesk: FrontDesk):
    sid, replies = web_chat(client, CHAT_BOOKING)
    assert replies[-1]["reply"] and "book_appointment" not in str(replies[-1])
    with frontdesk.store.transaction() as session:
        appt = session.scalars(select(Appointment)).one()
        appt_id, lead_id = appt.id, appt.lead_id
    assert appt.call_id == sid and lead_id is not None

    outreach.worker.run_due()  # Monday 10:00 in Chicago
    assert [m.to for m in provider.messages] == [JANE]
    confirmation = provider.messages[0].body
    assert confirmation.startswith("Hi Jane, you're booked at Riverside Physical Therapy: "
                                   "Initial evaluation with Alex Kim on Tuesday, November 24 "
                                   "at 8:00 AM.")

    clock.advance(hours=9, minutes=59)  # 19:59, a minute before visit - 12 h
    outreach.worker.run_due()
    assert len(provider.messages) == 1
    clock.advance(minutes=1)
    outreach.worker.run_due()
    assert len(provider.messages) == 2
    assert provider.messages[1].body.startswith("Reminder from Riverside Physical Therapy: "
                                                "Initial evaluation with Alex Kim on Tuesday")

    assert text_in(client, JANE, "Stop").status_code == 200
    outreach.worker.run_due()
    assert provider.messages[2].body.startswith("You're unsubscribed")

    clock.advance(hours=13, minutes=30)  # Tuesday 09:30: she did not come
    set_status(frontdesk.store, frontdesk.clinic, appointment_id=appt_id, status="no_show",
               actor=STAFF)
    report = outreach.worker.run_due()
    assert len(provider.messages) == 3, "nothing goes to a number that said STOP"
    with frontdesk.store.transaction() as session:
        no_show = session.scalars(select(OutreachJob).where(
            OutreachJob.kind == "no_show")).one()
        assert (no_show.status, no_show.outcome) == ("skipped", "opted_out")
        consent = session.scalars(select(ContactConsent)).one()
        assert (consent.status, consent.keyword) == ("opted_out", "Stop")
    assert report.skipped == 1

    client.post(f"/webchat/api/sessions/{sid}/end", params={"key": "pk_riverside_1234"},
                headers={"Origin": "https://www.riverside.example"})
    outreach.worker.run_due()
    kinds = [(i.direction, i.kind) for i in lead_timeline(frontdesk.store, lead_id,
                                                          actor=STAFF)]
    assert kinds == [("outbound", "confirmation"), ("outbound", "reminder"),
                     ("inbound", "message"), ("note", "consent"),
                     ("outbound", "keyword_reply"), ("inbound", "conversation")]


def test_start_after_stop_lets_messages_through_again(client, outreach, provider, clock):
    text_in(client, JANE, "STOP", sid="SM1")
    text_in(client, JANE, "start", sid="SM2")
    outreach.worker.run_due()
    assert [b.split(" ")[1] for b in provider.bodies(JANE)] == ["unsubscribed", "subscribed"]
    web_chat(client, CHAT_BOOKING)
    outreach.worker.run_due()
    assert provider.bodies(JANE)[-1].startswith("Hi Jane, you're booked")


def test_lead_that_did_not_book_gets_the_follow_up_after_n_hours(
        client, outreach: Outreach, provider: FakeProvider, clock: FakeClock,
        frontdesk: FrontDesk):
    asker = "+13125550142"
    assert text_in(client, asker, "Do you take Aetna?").status_code == 200
    outreach.worker.run_due()
    assert len(provider.bodies(asker)) == 1  # the assistant's answer

    clock.advance(hours=23, minutes=59)
    outreach.worker.run_due()
    assert len(provider.bodies(asker)) == 1
    clock.advance(minutes=1)
    outreach.worker.run_due()
    assert provider.bodies(asker)[-1].startswith("Hi, this is Riverside Physical Therapy. "
                                                 "You asked about physical therapy")
    clock.advance(hours=48)
    outreach.worker.run_due()
    assert len(provider.bodies(asker)) == 2, "one follow-up, not one per pass"
    with frontdesk.store.transaction() as session:
        lead = session.scalars(select(Lead)).one()
        assert (lead.channel, lead.stage) == ("sms", "new")


def test_chat_then_text_from_the_same_number_is_one_lead(client, outreach, frontdesk):
    web_chat(client, CHAT_BOOKING)
    outreach.worker.run_due()
    text_in(client, JANE, "What should I wear?")
    outreach.worker.run_due()
    with frontdesk.store.transaction() as session:
        leads = list(session.scalars(select(Lead)))
    assert len(leads) == 1
    kinds = [i.kind for i in lead_timeline(frontdesk.store, leads[0].id, actor=STAFF)]
    assert kinds == ["confirmation", "message", "reply"]
