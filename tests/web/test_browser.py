"""The workspace in a real browser: a call placed with ``voiceagent call`` is found, read and
heard; a lead moves, a message is assigned and closed, a slot is booked from the calendar and
a double booking refused; a therapist is refused a billing message; an admin reads the audit
entries of those views; an idle session is signed out. Every page is photographed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.espeak import say
from tests.web.browser import ROOT, LiveServer, chromium, screenshot, wait_for
from voiceagent.clinic import scheduling
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.calllog import StoreCallLog
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store, open_store
from voiceagent.clinic.leads import move_stage, open_lead
from voiceagent.clinic.messages import create_message
from voiceagent.clinic.patients import find_or_create_patient
from voiceagent.config.pipeline import load_pipeline
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.web.accounts import add_user

pytestmark = [pytest.mark.browser, pytest.mark.models, pytest.mark.slow]

PASSWORD = "front desk 2026!"
TOKEN = "browser-test-token"
AGENT = Actor("assistant")


@dataclass
class World:
    server: LiveServer
    store: Store
    clinic: ClinicConfig
    offset: list[timedelta]  # the server's clock runs this far ahead of the real one
    call_id: str
    lead_id: int
    callback_id: int
    billing_id: int
    day: date  # a working day next week for Dr. Okafor

    def url(self, path: str = "") -> str:
        return f"{self.server.url}/app/{path}"


def next_working_day(clinic: ClinicConfig, provider_id: str) -> date:
    provider = clinic.provider(provider_id)
    day = datetime.now(clinic.tz).date() + timedelta(days=7)
    while (clinic.hours_on(day) is None or clinic.closure_on(day) is not None
           or provider.hours.on(day) is None or day in provider.time_off or day.weekday() > 3):
        day += timedelta(days=1)
    return day


def place_call(tmp: Path, config: Path) -> str:
    """One offline call through the real pipeline, recorded, into the test's store."""
    caller = tmp / "caller.wav"
    say("Hi, I would like to book an appointment for my knee", caller)
    report = tmp / "report.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "voiceagent", "--config", str(config), "call", "--wav",
         str(caller), "--out", str(tmp / "agent.wav"), "--report", str(report), "--fast",
         "--recording", str(tmp / "recording.wav")],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(report.read_text())
    assert data["stored"] is True
    return str(data["call_id"])


def seed(store: Store, clinic: ClinicConfig, call_id: str, day: date) -> dict[str, int]:
    """Accounts, and a clinic's worth of leads, messages and bookings around the call."""
    for name, role, full in (("dana", "front_desk", "Dana Ortiz"),
                             ("sam", "front_desk", "Sam Lee"),
                             ("theo", "therapist", "Theo Park, PT"),
                             ("bea", "billing", "Bea Nunez"),
                             ("ada", "admin", "Ada Moss")):
        add_user(store, username=name, role=role, password=PASSWORD, display_name=full)
    # the caller, identified as the intake would, and the lead the call opened
    jane = find_or_create_patient(store, first_name="Jane", last_name="Whitaker",
                                  dob=date(1979, 4, 12), phone="+16085550188",
                                  actor=Actor("assistant", call_id)).patient_id
    StoreCallLog(store).link_patient(call_id, jane)
    lead = open_lead(store, actor=Actor("assistant", call_id), patient_id=jane,
                     source="physician_referral", channel="phone",
                     referring_provider_name="Dr. Helen Marsh")
    callback = create_message(store, clinic, category="callback", subject="Call back about "
                              "knee evaluation times", body="Prefers mornings; works nights.",
                              actor=Actor("assistant", call_id), callback_phone="608-555-0188",
                              patient_id=jane, lead_id=lead.lead_id, priority="high")
    billing = create_message(store, clinic, category="billing", subject="Question about an "
                             "invoice", body="Was billed twice for the Nov 3 visit.",
                             actor=AGENT, callback_phone="608-555-0133")
    create_message(store, clinic, category="clinical", subject="Swelling after exercises",
                   body="Is it normal for the knee to swell after the home program?",
                   actor=AGENT, callback_phone="608-555-0166")
    people = [("Marco", "Diaz", "web", None, ["contacted"]),
              ("Priya", "Shah", "physician_referral", "Dr. Helen Marsh",
               ["contacted", "scheduled", "evaluated", "in_plan_of_care"]),
              ("Tom", "Becker", "web", None, []),
              ("Lena", "Fischer", "physician_referral", "Dr. Omar Haddad",
               ["contacted", "scheduled"]),
              ("Owen", "Price", "word_of_mouth", None, ["contacted", "lost"])]
    for i, (first, last, source, doctor, stages) in enumerate(people):
        pid = find_or_create_patient(store, first_name=first, last_name=last,
                                     dob=date(1960 + i, 1 + i, 10), phone=f"+1608555020{i}",
                                     actor=AGENT).patient_id
        other = open_lead(store, actor=AGENT, patient_id=pid, source=source, channel="phone",
                          referring_provider_name=doctor)
        for stage in stages:
            move_stage(store, lead_id=other.lead_id, to_stage=stage, actor=Actor("staff:dana"),
                       lost_reason="chose_another_clinic" if stage == "lost" else None)
        if i in (1, 3):  # the agent booked these on calls of their own
            start = datetime.combine(day + timedelta(days=i - 2), time(8 + i), clinic.tz)
            hold = scheduling.hold_slot(store, clinic, appointment_type_id="follow-up",
                                        start=start, provider_id="dr-okafor",
                                        now=datetime.now(UTC), actor=Actor("assistant", "c"))
            scheduling.book(store, clinic, hold_id=hold.hold_id, patient_id=pid,
                            now=datetime.now(UTC), actor=Actor("assistant", "c"))
    return {"lead": lead.lead_id, "callback": callback.message_id,
            "billing": billing.message_id}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("browser")
    config = tmp / "pipeline.yaml"
    config.write_text(f"data_dir: {tmp / 'data'}\nclinic: {ROOT / 'configs' / 'clinic.yaml'}\n")
    call_id = place_call(tmp, config)
    pipeline = load_pipeline(config)
    store = open_store(pipeline.database_url())
    offset = [timedelta(0)]
    frontdesk = FrontDesk.from_config(pipeline, store=store)
    frontdesk.clock = lambda: datetime.now(UTC) + offset[0]
    day = next_working_day(frontdesk.clinic, "dr-okafor")
    ids = seed(store, frontdesk.clinic, call_id, day)
    from voiceagent.api.app import create_app

    app = create_app(pipeline, frontdesk=frontdesk, api_token=TOKEN)
    with LiveServer(app) as server:
        yield World(server, store, frontdesk.clinic, offset, call_id, ids["lead"],
                    ids["callback"], ids["billing"], day)
    store.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = chromium()
    yield driver
    driver.quit()


def sign_in(driver: Any, world: World, username: str, path: str = "") -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(world.url(path))
    wait_for(lambda: "/app/login" in driver.current_url, what="the sign-in page")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    wait_for(lambda: driver.find_elements(By.ID, "who"), what="a signed-in page")


def test_front_desk_finds_the_placed_call_reads_the_transcript_and_plays_the_recording(
        world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(world.url())
    screenshot(browser, "01-login")
    sign_in(browser, world, "dana")
    screenshot(browser, "02-today")
    browser.get(world.url("calls"))
    screenshot(browser, "03-calls")
    browser.find_element(By.CSS_SELECTOR, f'tr[data-call="{world.call_id}"] a').click()
    wait_for(lambda: browser.find_elements(By.ID, "transcript"), what="the call page")
    transcript = browser.find_element(By.ID, "transcript").text
    assert "appointment" in transcript.lower()  # the caller, as Whisper heard it
    agent_lines = browser.find_elements(By.CSS_SELECTOR, ".bubble.agent")
    caller_lines = browser.find_elements(By.CSS_SELECTOR, ".bubble.caller")
    assert agent_lines and caller_lines
    assert browser.find_element(By.ID, "latency").text  # per-turn latency table
    audio = browser.find_element(By.ID, "recording")
    browser.execute_script("arguments[0].play()", audio)
    played = wait_for(lambda: browser.execute_script(
        "const a = arguments[0]; return a.currentTime > 0.5 && a.duration > 1 && !a.error;",
        audio), timeout=15, what="the recording to play")
    assert played
    screenshot(browser, "04-call")


def test_front_desk_moves_the_calls_lead_to_contacted(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    sign_in(browser, world, "dana", "leads")
    card = browser.find_element(By.ID, f"lead-{world.lead_id}")
    assert "Jane Whitaker" in card.text and "Dr. Helen Marsh" in card.text
    stage = Select(card.find_element(By.NAME, "stage"))
    reason = card.find_element(By.NAME, "lost_reason")
    assert not reason.is_displayed()
    screenshot(browser, "05-leads")
    stage.select_by_value("lost")
    assert reason.is_displayed()  # lost asks for a reason ...
    stage.select_by_value("contacted")
    assert not reason.is_displayed()  # ... other stages do not
    card.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: browser.find_elements(
        By.CSS_SELECTOR, f'section[data-stage="contacted"] #lead-{world.lead_id}'),
        what="the lead in the contacted column")
    browser.get(world.url(f"leads/{world.lead_id}"))
    timeline = browser.find_element(By.ID, "timeline").text
    assert "stage new → contacted" in timeline and "staff:dana" in timeline
    assert "call, caller hangup" in timeline  # the call that opened it
    screenshot(browser, "06-lead")


def test_front_desk_assigns_a_message_and_closes_it(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    sign_in(browser, world, "dana", "messages")
    screenshot(browser, "07-messages")
    card = browser.find_element(By.ID, f"m{world.callback_id}")
    Select(card.find_element(By.NAME, "username")).select_by_value("sam")
    card.find_element(By.CSS_SELECTOR, ".assign-form button").click()
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, f"#m{world.callback_id} .assignee")
             .text == "sam", what="the assignee")
    card = browser.find_element(By.ID, f"m{world.callback_id}")
    card.find_element(By.CSS_SELECTOR, ".close-form input[name=note]").send_keys(
        "Booked for Tuesday 9:00")
    card.find_element(By.CSS_SELECTOR, ".close-form button").click()
    wait_for(lambda: not browser.find_elements(By.ID, f"m{world.callback_id}"),
             what="the closed message to leave the inbox")
    browser.get(world.url("messages?closed=true"))
    closed = browser.find_element(By.ID, f"m{world.callback_id}")
    assert closed.get_attribute("data-status") == "done"
    assert "Booked for Tuesday 9:00" in closed.text and "assigned to sam" in closed.text


def test_front_desk_books_reschedules_from_the_calendar_and_a_double_booking_is_refused(
        world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, world, "dana", f"calendar?week={world.day}&provider=dr-okafor")
    screenshot(browser, "08-calendar")

    def book(at: str, first: str, last: str) -> Any:
        slot = browser.find_element(By.CSS_SELECTOR,
                                    f'button.slot[data-start="{world.day}T{at}"]')
        browser.execute_script("arguments[0].click()", slot)
        dialog = browser.find_element(By.ID, "book")
        wait_for(dialog.is_displayed, what="the booking dialog")
        for name, value in (("patient.first_name", first), ("patient.last_name", last),
                            ("patient.phone", "608-555-0190")):
            dialog.find_element(By.NAME, name).send_keys(value)
        browser.execute_script("arguments[0].value = '1985-06-15'",
                               dialog.find_element(By.NAME, "patient.dob"))
        dialog.find_element(By.ID, "book-submit").click()
        return dialog

    book("14:00", "Ann", "Lee")
    wait_for(lambda: "Ann Lee" in browser.find_element(By.ID, "week").text,
             what="the booking on the calendar")
    # a colleague books 10:00 through the same endpoint while this page still shows it free
    import httpx

    taken = httpx.post(f"{world.server.url}/app/api/appointments",
                       headers={"Authorization": f"Bearer {TOKEN}"},
                       json={"appointment_type_id": "evaluation", "provider_id": "dr-okafor",
                             "start": f"{world.day}T10:00",
                             "patient": {"first_name": "Raj", "last_name": "Patel",
                                         "dob": "1991-02-03"}})
    assert taken.status_code == 200, taken.text
    dialog = book("10:00", "Eve", "Stone")
    error = wait_for(lambda: browser.find_element(By.ID, "book-error").text,
                     what="the refusal")
    assert "taken" in error
    screenshot(browser, "09-double-booking-refused", full_page=False)
    dialog.find_element(By.CSS_SELECTOR, "button.close").click()
    browser.get(world.url(f"calendar?week={world.day}&provider=dr-okafor"))
    week = browser.find_element(By.ID, "week").text
    assert "Raj Patel" in week and "Eve Stone" not in week
    # Ann Lee moves to 15:00 through the appointment's own dialog
    ann = next(a for a in browser.find_elements(By.CSS_SELECTOR, ".appt[data-id]")
               if "Ann Lee" in a.text)
    ann.click()
    change = browser.find_element(By.ID, "change")
    wait_for(change.is_displayed, what="the change dialog")
    browser.execute_script("arguments[0].value = arguments[1]",
                           change.find_element(By.NAME, "start"), f"{world.day}T15:00")
    change.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(lambda: "15:00 Ann Lee" in browser.find_element(By.ID, "week").text,
             what="Ann Lee at 15:00")
    browser.get(world.url(f"calendar/day?day={world.day}"))
    day_list = browser.find_element(By.TAG_NAME, "main").text
    assert "15:00–16:00 Ann Lee" in day_list and "14:00–15:00" not in day_list
    screenshot(browser, "10-day-list")
    browser.get(world.url(f"calendar?week={world.day}&room=room-1"))  # the room's week
    by_room = browser.find_element(By.ID, "week").text
    assert "Ann Lee" in by_room and "dr-okafor" in by_room


def test_a_therapist_is_refused_a_billing_message(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, world, "theo", "messages")
    inbox = browser.find_element(By.TAG_NAME, "main").text
    assert "Swelling after exercises" in inbox and "invoice" not in inbox
    assert "Calls" not in browser.find_element(By.CSS_SELECTOR, "header nav").text
    # the server refuses, whatever the page offers: a forged close from the therapist's page
    refused = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"window.workspacePost('messages/{world.billing_id}/status', {{status: 'done'}})"
        ".then(() => done('closed'), (e) => done(e.message));")
    assert "cannot open billing messages" in refused
    browser.get(world.url(f"messages/{world.billing_id}"))
    assert "cannot open billing messages" in browser.find_element(By.ID, "error-detail").text
    screenshot(browser, "11-therapist-refused", full_page=False)


def test_an_admin_reads_the_audit_entries_of_those_views(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, world, "ada", "audit?actor=staff:dana")
    log = browser.find_element(By.ID, "audit").text
    assert f"read call {world.call_id}" in log
    assert f"read recording {world.call_id}" in log
    assert f"read lead {world.lead_id}" in log
    assert "stage lead" in log and "assign message" in log
    screenshot(browser, "12-audit")
    browser.get(world.url("referrals"))
    assert "Dr. Helen Marsh" in browser.find_element(By.ID, "by-physician").text
    screenshot(browser, "13-referrals")
    browser.get(world.url("settings"))
    assert "Riverbend Physical Therapy" in browser.find_element(By.ID, "clinic-yaml").text
    screenshot(browser, "14-settings")


def test_a_session_idles_out(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, world, "dana")
    world.offset[0] += timedelta(minutes=16)  # the server's clock: 16 minutes without a request
    try:
        browser.get(world.url("calls"))
        wait_for(lambda: "/app/login" in browser.current_url, what="the sign-in page")
        notice = browser.find_element(By.ID, "notice").text
        assert "signed out after a period without activity" in notice
    finally:
        world.offset[0] = timedelta(0)


def test_pages_fit_a_front_desk_phone_screen(world: World) -> None:
    driver = chromium(390, 844)
    try:
        sign_in(driver, world, "ada")  # an admin: every inbox
        for page, name in (("", "15-today-small"), ("messages", "16-messages-small")):
            driver.get(world.url(page))
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (page, overflow)
            screenshot(driver, name)
    finally:
        driver.quit()
