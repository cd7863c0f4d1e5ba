"""The workspace's pages and JSON endpoints on a real SQLite store (FastAPI TestClient)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.web.conftest import TOKEN, Env
from voiceagent.clinic import scheduling
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.calllog import StoreCallLog
from voiceagent.clinic.leads import move_stage, open_lead
from voiceagent.clinic.messages import create_message
from voiceagent.clinic.patients import find_or_create_patient

pytestmark = pytest.mark.unit
AGENT = Actor("assistant")


def patient(env: Env, first: str = "Jane", last: str = "Smith",
            phone: str = "+15551234567") -> int:
    return find_or_create_patient(env.store, first_name=first, last_name=last,
                                  dob=date(1982, 3, 3), phone=phone,
                                  actor=AGENT).patient_id


def placed_call(env: Env, patient_id: int | None = None) -> str:
    log = StoreCallLog(env.store)
    call_id = log.open_call("phone", "+15551234567")
    log.add_turn(call_id, "agent", "Thank you for calling Riverside Physical Therapy.")
    log.add_turn(call_id, "caller", "I'd like to book an appointment for my knee")
    log.add_turn(call_id, "agent", "Sure. What is your name?",
                 {"stt": 120.0, "llm_first_token": 210.0, "first_audio": 480.0})
    log.add_tool_call(call_id, "find_slots", {"appointment_type": "evaluation"},
                      {"ok": True, "data": {"slots": []}, "reason": None})
    if patient_id is not None:
        log.link_patient(call_id, patient_id)
    log.close_call(call_id, "message")
    return call_id


def test_call_list_filters_and_the_detail_shows_both_sides_tools_and_latency(env: Env) -> None:
    pid = patient(env)
    lead = open_lead(env.store, actor=AGENT, patient_id=pid, source="web", channel="phone")
    call_id = placed_call(env, pid)
    desk = env.signed_in("desk").client
    listed = desk.get("/app/calls", params={"outcome": "message", "channel": "phone"}).text
    assert call_id in listed and "Jane Smith" in listed
    assert call_id not in desk.get("/app/calls", params={"outcome": "booked"}).text
    assert call_id not in desk.get("/app/calls", params={"first": "2020-01-01",
                                                         "last": "2020-01-31"}).text
    page = desk.get(f"/app/calls/{call_id}").text
    assert "I&#39;d like to book an appointment for my knee" in page
    assert "Sure. What is your name?" in page and 'class="bubble caller"' in page
    assert "find_slots" in page and "480" in page  # tool call, first-audio latency
    assert f"leads/{lead.lead_id}" in page
    assert "No recording for this call." in page
    assert desk.get(f"/app/calls/{call_id}/recording").status_code == 404
    assert desk.get("/app/calls/no-such-call").status_code == 404


def test_a_recording_is_served_from_the_calls_recording_path(env: Env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    wav = tmp_path / "call.wav"
    wav.write_bytes(b"RIFF0000WAVEfmt ")
    log = StoreCallLog(env.store)
    call_id = log.open_call("phone", None)
    log.close_call(call_id, "completed", str(wav))
    desk = env.signed_in("desk").client
    assert 'id="recording"' in desk.get(f"/app/calls/{call_id}").text
    audio = desk.get(f"/app/calls/{call_id}/recording")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content == wav.read_bytes()
    part = desk.get(f"/app/calls/{call_id}/recording", headers={"Range": "bytes=4-7"})
    assert part.status_code == 206 and part.content == b"0000"
    boss = env.signed_in("boss").client
    entries = boss.get("/app/audit", params={"entity": "recording"}).text
    assert entries.count(f"recording {call_id}") == 1  # one playback, one entry


def test_leads_board_moves_a_lead_and_lost_needs_a_reason(env: Env) -> None:
    pid = patient(env)
    lead = open_lead(env.store, actor=AGENT, patient_id=pid, source="physician_referral",
                     channel="phone", referring_provider_name="Dr. Hale")
    desk = env.signed_in("desk")
    board = desk.client.get("/app/leads").text
    assert f'id="lead-{lead.lead_id}"' in board and "Dr. Hale" in board
    moved = desk.post(f"/app/api/leads/{lead.lead_id}/stage", {"stage": "contacted"})
    assert moved.status_code == 200 and moved.json()["stage"] == "contacted"
    no_reason = desk.post(f"/app/api/leads/{lead.lead_id}/stage", {"stage": "lost"})
    assert no_reason.status_code == 422
    assert "a lost lead needs a reason" in no_reason.json()["detail"]["reason"]
    lost = desk.post(f"/app/api/leads/{lead.lead_id}/stage",
                     {"stage": "lost", "lost_reason": "cost", "why": "price"})
    assert lost.json() == {"id": lead.lead_id, "stage": "lost", "lost_reason": "cost",
                           "owner_role": "front_desk", "source": "physician_referral"}
    timeline = desk.client.get(f"/app/leads/{lead.lead_id}").text
    assert "stage new → contacted" in timeline and "staff:desk" in timeline
    assert "(lost: cost): price" in timeline
    assert f'data-api="leads/{lead.lead_id}/owner"' in timeline  # hand the lead over
    filtered = desk.client.get("/app/leads", params={"source": "web"}).text
    assert f'id="lead-{lead.lead_id}"' not in filtered
    assert desk.post(f"/app/api/leads/{lead.lead_id}/owner",
                     {"owner_role": "intake_coordinator"}).json()["owner_role"] \
        == "intake_coordinator"
    thera = env.signed_in("thera")
    assert thera.post(f"/app/api/leads/{lead.lead_id}/stage",
                      {"stage": "contacted"}).status_code == 403


def test_the_lead_timeline_runs_from_first_contact_through_bookings_and_messages(
        env: Env) -> None:
    pid = patient(env)
    lead = open_lead(env.store, actor=AGENT, patient_id=pid, source="web", channel="phone")
    call_id = placed_call(env, pid)
    create_message(env.store, env.clinic, category="callback", subject="Wants an early slot",
                   actor=Actor("assistant", call_id), patient_id=pid, lead_id=lead.lead_id)
    move_stage(env.store, lead_id=lead.lead_id, to_stage="contacted", actor=Actor("staff:desk"))
    page = env.signed_in("desk").client.get(f"/app/leads/{lead.lead_id}").text
    for text in ("lead opened (new)", "phone call, message", "Wants an early slot",
                 "stage new → contacted"):
        assert text in page, text


def test_inbox_assign_comment_close_and_overdue_messages_stand_out(env: Env) -> None:
    old = create_message(env.store, env.clinic, category="callback", subject="Old callback",
                         actor=AGENT, priority="high")
    # the store stamps messages with the real time: five hours on is past the 4-hour target
    # of a high-priority message, inside the 24 hours of a normal one
    env.clock[0] = datetime.now(UTC) + timedelta(hours=5)
    fresh = create_message(env.store, env.clinic, category="callback", subject="New callback",
                           actor=AGENT)
    desk = env.signed_in("desk")
    page = desk.client.get("/app/messages").text
    assert page.index("Old callback") < page.index("New callback")  # overdue first
    assert f'id="m{old.message_id}" data-status="open"' in page
    assert page.count("overdue-flag") == 1
    assigned = desk.post(f"/app/api/messages/{fresh.message_id}/assign", {"username": "desk2"})
    assert assigned.json()["assignee"] == "desk2" and assigned.json()["status"] == "in_progress"
    desk.post(f"/app/api/messages/{fresh.message_id}/comments", {"text": "left a voicemail"})
    closed = desk.post(f"/app/api/messages/{fresh.message_id}/status",
                       {"status": "done", "note": "booked for Tuesday"})
    assert closed.json()["status"] == "done"
    kinds = [(a["kind"], a["actor"]) for a in closed.json()["activity"]]
    assert kinds == [("assign", "staff:desk"), ("comment", "staff:desk"),
                     ("status", "staff:desk")]
    assert "New callback" not in desk.client.get("/app/messages").text
    assert "left a voicemail" in desk.client.get("/app/messages?closed=true").text
    today = desk.client.get("/app/").text
    assert "1 overdue" in today


def test_staff_book_through_the_agents_rules_and_a_double_booking_is_refused(env: Env) -> None:
    desk = env.signed_in("desk")
    body = {"appointment_type_id": "evaluation", "provider_id": "alex",
            "start": "2026-11-24T10:00",
            "patient": {"first_name": "Ann", "last_name": "Lee", "dob": "1990-01-02",
                        "phone": "555-222-3333"}}
    booked = desk.post("/app/api/appointments", body)
    assert booked.status_code == 200, booked.text
    assert booked.json()["start"] == "2026-11-24T10:00:00-06:00"
    again = desk.post("/app/api/appointments", {**body, "patient": {
        "first_name": "Bob", "last_name": "Ray", "dob": "1970-05-06"}})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "slot_taken"
    sunday = desk.post("/app/api/appointments", {**body, "start": "2026-11-29T10:00"})
    assert sunday.status_code == 409 and sunday.json()["detail"]["code"] == "clinic_closed"
    soon = desk.post("/app/api/appointments", {**body, "start": "2026-11-23T11:00"})
    assert soon.json()["detail"]["code"] == "notice_too_short"
    week = desk.client.get("/app/calendar", params={"week": "2026-11-24",
                                                    "provider": "alex"}).text
    assert "Ann Lee" in week
    appointment_id = booked.json()["appointment_id"]
    moved = desk.post(f"/app/api/appointments/{appointment_id}/reschedule",
                      {"start": "2026-11-25T09:00"})
    assert moved.status_code == 200 and moved.json()["rescheduled_from_id"] == appointment_id
    new_id = moved.json()["appointment_id"]
    # the old time is free again: the agent's own slot search offers it
    slots = scheduling.find_slots(env.store, env.clinic, "evaluation", now=env.clock[0],
                                  preferences=scheduling.Preferences(
                                      dates=(date(2026, 11, 24),)), limit=20)
    assert any(s.start.hour == 10 for s in slots)
    cancelled = desk.post(f"/app/api/appointments/{new_id}/cancel", {"reason": "sick"})
    assert cancelled.json() == {"appointment_id": new_id, "status": "cancelled"}
    assert env.signed_in("bill").post("/app/api/appointments", body).status_code == 403


def test_an_integration_books_with_the_api_token(env: Env) -> None:
    pid = patient(env)
    response = env.client().post(
        "/app/api/appointments", headers={"Authorization": f"Bearer {TOKEN}"},
        json={"appointment_type_id": "follow_up", "provider_id": "alex",
              "start": "2026-11-24T15:00:00-06:00", "patient_id": pid})
    assert response.status_code == 200 and response.json()["patient_id"] == pid


def test_every_view_of_patient_data_is_audited_and_an_admin_reads_it(env: Env) -> None:
    pid = patient(env)
    call_id = placed_call(env, pid)
    lead = open_lead(env.store, actor=AGENT, patient_id=pid, source="web")
    desk = env.signed_in("desk").client
    desk.get(f"/app/calls/{call_id}")
    desk.get(f"/app/leads/{lead.lead_id}")
    desk.get("/app/calendar")
    audit = env.signed_in("boss").client.get("/app/audit", params={"actor": "staff:desk"}).text
    for entry in (f"call {call_id}", f"patient {pid}", f"lead {lead.lead_id}",
                  "appointment list:"):
        assert entry in audit, entry


def test_referral_report_counts_each_stage_reached_per_source_and_physician(env: Env) -> None:
    staff = Actor("staff:desk")
    for i, (source, doctor, stages) in enumerate([
            ("physician_referral", "Dr. Hale", ["contacted", "scheduled", "evaluated",
                                                 "in_plan_of_care"]),
            ("physician_referral", "Dr. Hale", ["contacted", "lost"]),
            ("web", None, [])]):
        pid = patient(env, first=f"P{'abc'[i]}", phone=f"+1555123450{i}")
        lead = open_lead(env.store, actor=AGENT, patient_id=pid, source=source,
                         referring_provider_name=doctor)
        for stage in stages:
            env.clock[0] += timedelta(hours=1)
            move_stage(env.store, lead_id=lead.lead_id, to_stage=stage, actor=staff,
                       lost_reason="cost" if stage == "lost" else None)
    page = env.signed_in("desk").client.get("/app/referrals").text
    row = page.split('id="by-source"')[1].split("</tr>")[1]
    cells = [c.split("<")[0] for c in row.split("<td>")[1:9]]
    assert cells == ["physician referral", "2", "1", "1", "1", "0", "50%", "0.0 h"]
    assert "Dr. Hale" in page.split('id="by-physician"')[1]


def test_today_counts_calls_and_settings_show_the_clinic_with_its_validation(env: Env) -> None:
    placed_call(env)  # stamped with the real time, like the clock below
    env.clock[0] = datetime.now(UTC)
    desk = env.signed_in("desk").client
    today = desk.get("/app/").text
    assert 'id="answered">1<' in today
    settings = desk.get("/app/settings").text
    assert "Riverside Physical Therapy" in settings and "clinic consistency" in settings
    assert "Staff accounts" not in settings  # admins only
    assert "Staff accounts" in env.signed_in("boss").client.get("/app/settings").text


def test_the_write_endpoints_are_documented_in_the_apis_openapi(env: Env) -> None:
    # the API's docs sit behind the API's own guard (the bearer token)
    schema = env.client().get("/openapi.json",
                              headers={"Authorization": f"Bearer {TOKEN}"}).json()
    paths = schema["paths"]
    for path in ("/app/api/leads/{lead_id}/stage", "/app/api/messages/{message_id}/assign",
                 "/app/api/messages/{message_id}/status", "/app/api/appointments"):
        assert path in paths, path
    assert "bearer" in schema["components"]["securitySchemes"]
    assert not any(p.startswith("/app/") and "api" not in p for p in paths)


def test_today_shows_the_serving_processs_live_calls_models_and_sip_state(env: Env) -> None:
    from voiceagent.web.live import LiveBoard

    desk = env.signed_in("desk").client
    assert "not answering calls" in desk.get("/app/").text
    board = LiveBoard(models={"stt": "whisper-tiny-en", "llm": "smollm2-135m-instruct"},
                      sip=lambda: "registered")
    board.call_started("c-1", "sip:+16085550100@trunk", lambda: "collect_dob")
    desk.app.state.live_board = board  # what `voiceagent serve` sets
    page = desk.get("/app/").text
    assert "sip:+16085550100@trunk" in page and "collect dob" in page
    assert "whisper-tiny-en" in page and ">registered<" in page
    board.call_ended("c-1")
    assert "No call in progress." in desk.get("/app/").text


def test_write_endpoints_answer_404_for_missing_records_and_422_for_bad_requests(
        env: Env) -> None:
    desk = env.signed_in("desk")
    assert desk.post("/app/api/appointments/999/cancel", {}).status_code == 404
    assert desk.post("/app/api/messages/999/comments", {"text": "x"}).status_code == 404
    assert desk.post("/app/api/leads/999/stage", {"stage": "contacted"}).status_code == 422
    unknown = desk.post("/app/api/appointments", {
        "appointment_type_id": "massage", "provider_id": "alex", "start": "2026-11-24T10:00",
        "patient_id": 1})
    assert unknown.status_code == 422 and "evaluation" in unknown.json()["detail"]["reason"]
    no_patient = desk.post("/app/api/appointments", {
        "appointment_type_id": "evaluation", "provider_id": "alex",
        "start": "2026-11-24T10:00"})
    assert no_patient.status_code == 422


def test_filter_forms_submitted_empty_show_everything_and_a_bad_date_is_named(
        env: Env) -> None:
    boss = env.signed_in("boss").client
    for path in ("/app/calls?first=&last=&outcome=&channel=", "/app/referrals?first=&last=",
                 "/app/calendar?week=&provider=&room=", "/app/calendar/day?day=",
                 "/app/audit?actor=&entity=&entity_id=", "/app/messages?scope=&closed=",
                 "/app/leads?source=&referring=&owner="):
        assert boss.get(path).status_code == 200, path
    bad = boss.get("/app/calls?first=yesterday")
    assert bad.status_code == 400 and "from must be a date (YYYY-MM-DD)" in bad.text
