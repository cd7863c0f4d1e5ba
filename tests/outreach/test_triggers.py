"""What starts a follow-up, and what holds one back: missed calls, no-shows, quiet hours,
per-number limits, cancellations; summaries of calls and chats; one lead per person."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.fakes.llm import FakeLLM
from tests.outreach.conftest import (
    BOOKING,
    CREDENTIALS,
    JANE,
    POLICY,
    SITE,
    SITE_KEY,
    pipeline,
    text_in,
    web_chat,
)
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.calllog import StoreCallLog
from voiceagent.clinic.config import load_clinic
from voiceagent.clinic.models import Appointment, Lead
from voiceagent.clinic.scheduling import cancel, set_status
from voiceagent.config.errors import ConfigError
from voiceagent.outreach.jobs import NewJob, enqueue
from voiceagent.outreach.records import CallSummary, Channel, JobKind, OutreachJob
from voiceagent.outreach.routes import build_outreach
from voiceagent.outreach.summary import Summarizer
from voiceagent.outreach.timeline import lead_timeline
from voiceagent.outreach.triggers import appointment_booked

pytestmark = pytest.mark.unit
STAFF = Actor("staff")
CALLER = "+13125550142"


def _jobs(frontdesk) -> dict[str, tuple[str, str | None]]:
    with frontdesk.store.transaction() as session:
        return {j.dedupe_key.split(":")[0]: (j.status, j.outcome)
                for j in session.scalars(select(OutreachJob))}


def _booked(frontdesk) -> Appointment:
    with frontdesk.store.transaction() as session:
        return session.scalars(select(Appointment)).one()


def test_a_call_that_ended_before_anything_was_learned_gets_a_text_back(
        frontdesk, outreach, provider):
    log = StoreCallLog(frontdesk.store)
    call_id = log.open_call("phone", f"sip:{CALLER}@pbx.example")
    log.add_turn(call_id, "agent", "Thank you for calling Riverside Physical Therapy.")
    log.add_turn(call_id, "caller", "hello")
    log.close_call(call_id, "caller_hung_up")
    outreach.worker.run_due()
    assert provider.bodies(CALLER) == [
        "Sorry we missed you at Riverside Physical Therapy! Reply here to book or ask a "
        "question, or call +12175550100. Reply STOP to opt out."]
    with frontdesk.store.transaction() as session:
        summary = session.get(CallSummary, call_id)
        lead = session.scalars(select(Lead)).one()
    assert (summary.reason, summary.owner_role, summary.lead_id) == (
        "hello", "front_desk", lead.id)
    assert summary.pending.startswith("call back")


def test_a_call_that_left_a_message_gets_no_text_back(frontdesk, outreach, provider):
    log = StoreCallLog(frontdesk.store)
    call_id = log.open_call("phone", CALLER)
    log.add_turn(call_id, "caller", "please have someone call me back about my bill")
    log.add_tool_call(call_id, "take_message", {}, {"ok": True})
    log.close_call(call_id, "message_taken")
    outreach.worker.run_due()
    assert provider.messages == []


def test_a_no_show_gets_the_no_show_text(client, frontdesk, outreach, provider, clock):
    web_chat(client, BOOKING)
    outreach.worker.run_due()
    clock.advance(days=1)
    set_status(frontdesk.store, frontdesk.clinic, appointment_id=_booked(frontdesk).id,
               status="no_show", actor=STAFF)
    outreach.worker.run_due()
    assert provider.bodies(JANE)[-1].startswith("We missed you today at Riverside")


def test_a_cancelled_visit_gets_no_reminder(client, frontdesk, outreach, provider, clock):
    web_chat(client, BOOKING)
    outreach.worker.run_due()
    appt = _booked(frontdesk)
    cancel(frontdesk.store, frontdesk.clinic, patient_id=appt.patient_id,
           appointment_id=appt.id, now=clock.now, actor=STAFF)
    clock.advance(hours=10)
    outreach.worker.run_due()
    assert len(provider.bodies(JANE)) == 1
    assert _jobs(frontdesk)["reminder"] == ("skipped", "appointment_not_booked")


def test_a_booking_late_at_night_is_confirmed_when_quiet_hours_end(
        client, frontdesk, outreach, provider, clock):
    clock.now = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # Sunday 22:00 in Chicago
    web_chat(client, BOOKING)
    outreach.worker.run_due()
    assert provider.messages == []
    assert _jobs(frontdesk)["confirmation"] == ("pending", "quiet_hours")
    clock.now = datetime(2026, 11, 23, 12, 59, tzinfo=UTC)  # 06:59
    outreach.worker.run_due()
    assert provider.messages == []
    clock.now = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 07:00
    outreach.worker.run_due()
    assert provider.bodies(JANE)[0].startswith("Hi Jane, you're booked")


def test_one_number_gets_at_most_the_daily_number_of_proactive_texts(
        frontdesk, outreach, provider, clock):
    with frontdesk.store.transaction() as session:
        for i in range(4):
            enqueue(session, NewJob(JobKind.MISSED_CALL, f"missed_call:{i}", clock.now,
                                    Channel.SMS, CALLER), clock.now)
    outreach.worker.run_due()
    assert len(provider.bodies(CALLER)) == 3  # max_per_number_per_day
    clock.advance(hours=23, minutes=59)
    outreach.worker.run_due()
    assert len(provider.bodies(CALLER)) == 3
    clock.advance(minutes=1)
    outreach.worker.run_due()
    assert sum(b.startswith("Sorry we missed you") for b in provider.bodies(CALLER)) == 4


def test_the_front_desk_hook_queues_the_confirmation_at_once(client, frontdesk, outreach):
    web_chat(client, BOOKING)
    appt = _booked(frontdesk)
    assert outreach.appointment_booked(appt.id) == 2
    assert set(_jobs(frontdesk)) == {"confirmation", "reminder"}
    assert outreach.appointment_booked(appt.id) == 0
    assert appointment_booked(frontdesk.store, outreach.worker.scope, appt.id,
                              outreach.worker.clock()) == 0


def test_an_existing_patient_calling_is_not_a_new_inquiry(client, frontdesk, outreach,
                                                          provider, clock):
    web_chat(client, BOOKING)
    appt = _booked(frontdesk)
    with frontdesk.store.transaction() as session:
        lead = session.get(Lead, appt.lead_id)
        lead.stage = "discharged"
    log = StoreCallLog(frontdesk.store)
    call_id = log.open_call("phone", JANE)
    log.add_turn(call_id, "caller", "I have a question about my bill from last month")
    log.close_call(call_id, "message_taken")
    outreach.worker.run_due()
    clock.advance(days=2)
    outreach.worker.run_due()
    with frontdesk.store.transaction() as session:
        assert [lead.id for lead in session.scalars(select(Lead))] == [appt.lead_id]
        assert session.get(CallSummary, call_id).lead_id == appt.lead_id
    assert not any("You asked about" in b for b in provider.bodies())


def test_a_picture_without_text_is_kept_and_not_answered(client, frontdesk, outreach,
                                                         provider):
    assert text_in(client, CALLER, "").status_code == 200
    outreach.worker.run_due()
    assert provider.messages == []
    with frontdesk.store.transaction() as session:
        lead = session.scalars(select(Lead)).one()
    items = lead_timeline(frontdesk.store, lead.id, actor=STAFF)
    assert [(i.kind, i.body) for i in items] == [("message", "[a message without text]")]


def test_a_chat_summary_is_stored_and_shown_with_the_call(client, frontdesk, outreach):
    sid, _ = web_chat(client, BOOKING)
    client.post(f"/webchat/api/sessions/{sid}/end", params={"key": SITE_KEY},
                headers={"Origin": SITE})
    outreach.worker.run_due()
    summary = client.get(f"/api/calls/{sid}/summary").json()
    assert summary["reason"] == "book an appointment" and summary["source"] == "template"
    assert summary["done"].startswith("booked Initial evaluation on Tue Nov 24 08:00")
    call = next(c for c in client.get("/api/calls").json() if c["id"] == sid)
    assert call["summary"] == summary


def test_the_llm_writes_the_summary_and_the_template_stands_in_when_it_fails(
        client, frontdesk, provider, clock):
    good = json.dumps({"reason": "knee pain, wants an evaluation", "done": "booked Tuesday",
                       "pending": "nothing", "owner_role": "none"})
    for reply, source in ((good, "llm"), ("not json at all", "template")):
        worker = build_outreach(pipeline(provider.url), frontdesk, credentials=CREDENTIALS,
                                clock=clock).worker
        worker.summarizer = Summarizer(FakeLLM([reply]))
        sid, _ = web_chat(client, BOOKING[:3])
        StoreCallLog(frontdesk.store).close_call(sid, "abandoned")
        worker.run_due()
        with frontdesk.store.transaction() as session:
            assert session.get(CallSummary, sid).source == source


def test_an_idle_web_chat_is_closed_and_summarised(client, frontdesk, outreach, clock):
    sid, _ = web_chat(client, ["I'd like to book an appointment"])
    clock.now = datetime.now(UTC) + timedelta(minutes=31)
    outreach.worker.run_due()
    with frontdesk.store.transaction() as session:
        assert session.get(CallSummary, sid) is not None
    assert client.post(f"/webchat/api/sessions/{sid}/messages", json={"text": "hi"},
                       headers={"Origin": SITE, "X-Webchat-Key": SITE_KEY}).status_code == 409


def test_a_texter_who_then_books_in_the_chat_ends_on_one_lead(client, frontdesk, outreach):
    text_in(client, JANE, "Do you take Aetna?")
    outreach.worker.run_due()
    sid, _ = web_chat(client, BOOKING)
    client.post(f"/webchat/api/sessions/{sid}/end", params={"key": SITE_KEY},
                headers={"Origin": SITE})
    outreach.worker.run_due()
    with frontdesk.store.transaction() as session:
        leads = {lead.id: (lead.stage, lead.lost_reason)
                 for lead in session.scalars(select(Lead))}
    open_leads = [i for i, (stage, _) in leads.items() if stage != "lost"]
    assert sorted(leads.values()) == [("lost", "duplicate"), ("scheduled", None)]
    kinds = [i.kind for i in lead_timeline(frontdesk.store, open_leads[0], actor=STAFF)]
    assert kinds[:2] == ["message", "reply"] and "confirmation" in kinds and "merge" in kinds


def test_a_template_with_an_unknown_placeholder_names_the_key_and_line(tmp_path: Path):
    source = Path("configs/clinic.yaml").read_text()
    bad = source.replace("Hi {first_name}, you're booked", "Hi {firstname}, you're booked")
    path = tmp_path / "clinic.yaml"
    path.write_text(bad)
    with pytest.raises(ConfigError) as err:
        load_clinic(path)
    line = next(i for i, text in enumerate(bad.splitlines(), 1) if "{firstname}" in text)
    assert err.value.key == "outreach.templates.confirmation_sms" and err.value.line == line
    assert "firstname" in str(err.value)


def test_policy_defaults_match_the_shipped_clinic_file():
    shipped = load_clinic(Path("configs/clinic.yaml")).outreach
    assert shipped.templates == type(shipped.templates)()
    assert POLICY["quiet_hours"] != shipped.quiet_hours  # the tests use their own hours
