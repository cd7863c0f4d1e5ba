"""Run one scenario through the real front desk (text channel, a fresh SQLite store, a fixed
clock) and check what it left behind."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from voiceagent.channels.text import ChatRun, event_json
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store, open_store
from voiceagent.clinic.models import Appointment, Lead, Message, Patient
from voiceagent.clinic.patients import find_or_create_patient
from voiceagent.clinic.rules import sync_booking_rules
from voiceagent.clinic.scheduling import reserve_for_appointment
from voiceagent.evals.scenario import Expect, Given, Scenario
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.llm.protocol import LLM


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Turn:
    caller: str | None
    agent: str
    tools: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class ScenarioResult:
    id: str
    category: str
    safety_critical: bool
    checks: list[Check]
    turns: list[Turn]
    outcome: str | None
    seconds: float
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.ok for c in self.checks)


def seed(store: Store, clinic: ClinicConfig, given: Given) -> set[int]:
    """Patients (and their appointments) that exist before the call; returns their ids."""
    ids: set[int] = set()
    actor = Actor("system", "eval")
    sync_booking_rules(store, clinic)
    for p in given.patients:
        record = find_or_create_patient(store, first_name=p.first_name, last_name=p.last_name,
                                        dob=p.dob, phone=p.phone,
                                        actor=actor)
        ids.add(record.patient_id)
        for a in p.appointments:
            kind = clinic.appointment_type(a.type)
            with store.transaction() as session:
                row = Appointment(patient_id=record.patient_id, appointment_type_id=a.type,
                                  provider_id=a.provider, start=a.start,
                                  end=a.start + timedelta(minutes=kind.duration_minutes))
                session.add(row)
                session.flush()
                row.room_id = reserve_for_appointment(session, clinic, row)
    return ids


def run_scenario(scenario: Scenario, clinic: ClinicConfig, workdir: Path,
                 llm: LLM | None = None, capability: str = "small") -> ScenarioResult:
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / f"{scenario.id}.db"
    db.unlink(missing_ok=True)
    store = open_store(f"sqlite:///{db}")
    started = time.perf_counter()
    turns: list[Turn] = []
    try:
        known = seed(store, clinic, scenario.given)
        now = scenario.now
        frontdesk = FrontDesk(store=store, clinic=clinic, llm=llm,
                              capability=capability if llm is not None else "small",  # type: ignore[arg-type]
                              clock=lambda: now)
        chat = ChatRun(frontdesk, channel="chat", caller_id=scenario.caller_id)
        turns.append(_turn(None, chat.greeting(), 0.0))
        for line in scenario.lines:
            if chat.ended:
                break
            t0 = time.perf_counter()
            events = chat.say(line)
            turns.append(_turn(line, events, time.perf_counter() - t0))
        ended = chat.ended
        chat.close()
        checks = check(scenario.expect, store, chat, turns, known, ended)
        outcome = chat.dialog.state.outcome
        error = None
    except Exception as exc:  # a crash is a failed scenario, with its reason
        checks, outcome, error = [], None, f"{type(exc).__name__}: {exc}"
    finally:
        store.dispose()
    return ScenarioResult(scenario.id, scenario.category, scenario.safety_critical, checks,
                          turns, outcome, time.perf_counter() - started, error)


def _turn(caller: str | None, events: list[Any], seconds: float) -> Turn:
    data = [event_json(e) for e in events]
    agent = " ".join(e["text"] for e in data if e["type"] == "reply")
    tools = [e["name"] for e in data if e["type"] == "tool_call"]
    if any(e["type"] == "transfer" for e in data):
        tools.append("<transfer>")
    return Turn(caller, agent, tools, seconds)


# --- checks ------------------------------------------------------------------------------


def _same(want: Any, got: Any) -> bool:
    if want is None:
        return got is None
    if isinstance(want, bool):
        return bool(got) is want
    w, g = str(want).strip().lower(), ("" if got is None else str(got)).strip().lower()
    if w.startswith("~"):
        return w[1:] in g
    return w == g


def _fields(name: str, want: dict[str, Any], row: Any) -> list[Check]:
    out = []
    for key, value in want.items():
        if row is None:
            out.append(Check(f"{name}.{key}", False, f"no {name} stored"))
            continue
        if not hasattr(row, key):
            out.append(Check(f"{name}.{key}", False, f"the store has no {name} field {key!r}"))
            continue
        got = getattr(row, key)
        got = got.isoformat() if hasattr(got, "isoformat") else got
        out.append(Check(f"{name}.{key}", _same(value, got), f"want {value!r}, got {got!r}"))
    return out


def check(expect: Expect, store: Store, chat: ChatRun, turns: list[Turn], known: set[int],
          ended: bool) -> list[Check]:
    out: list[Check] = []
    state = chat.dialog.state
    said = " ".join(t.agent for t in turns)
    tools = [name for t in turns for name in t.tools]
    if expect.outcome is not None:
        wanted = [expect.outcome] if isinstance(expect.outcome, str) else expect.outcome
        out.append(Check("outcome", any(_same(w, state.outcome) for w in wanted),
                         f"want {wanted}, got {state.outcome!r}"))
    with store.transaction() as s:
        booked = list(s.scalars(select(Appointment).where(
            Appointment.call_id == chat.call_id, Appointment.status == "booked",
            Appointment.rescheduled_from_id.is_(None))))
        moved = list(s.scalars(select(Appointment).where(
            Appointment.rescheduled_from_id.is_not(None))))
        cancelled = list(s.scalars(select(Appointment).where(
            Appointment.status == "cancelled")))
        new_patients = [p for p in s.scalars(select(Patient).order_by(Patient.id))
                        if p.id not in known]
        patient = (booked[0].patient if booked else new_patients[0] if new_patients else
                   s.get(Patient, state.patient_id) if state.patient_id else None)
        leads = list(s.scalars(select(Lead).order_by(Lead.id)))
        messages = list(s.scalars(select(Message).where(Message.call_id == chat.call_id)))
        if expect.booked is not None:
            out.append(Check("booked", len(booked) == expect.booked,
                             f"want {expect.booked}, got {len(booked)}"))
        if expect.appointment is not None:
            appt = booked[0] if booked else (moved[0] if moved else None)
            out += _appointment_checks(expect.appointment, appt, store, chat)
        if expect.rescheduled is not None:
            out.append(Check("rescheduled", len(moved) == expect.rescheduled,
                             f"want {expect.rescheduled}, got {len(moved)}"))
        if expect.cancelled is not None:
            gone = [a for a in cancelled if a.id not in {m.rescheduled_from_id for m in moved}]
            out.append(Check("cancelled", len(gone) == expect.cancelled,
                             f"want {expect.cancelled}, got {len(gone)}"))
        if expect.patient is not None:
            out += _fields("patient", expect.patient, patient)
        if expect.coverage is not None:
            coverage = patient.coverages[0] if patient is not None and patient.coverages \
                else None
            out += _fields("coverage", expect.coverage, coverage)
        if expect.referral is not None:
            referral = patient.referrals[0] if patient is not None and patient.referrals \
                else None
            out += _fields("referral", expect.referral, referral)
        if expect.lead is not None:
            lead = leads[-1] if leads else None
            if expect.lead.get("exists") is False:
                out.append(Check("lead.none", not leads, f"{len(leads)} lead(s) stored"))
            else:
                out += _fields("lead", {k: v for k, v in expect.lead.items() if k != "exists"},
                               lead)
        if expect.messages is not None:
            out.append(Check("messages", len(messages) == expect.messages,
                             f"want {expect.messages}, got {len(messages)}"))
        if expect.urgent_message is not None:
            urgent = any(m.priority == "urgent" for m in messages)
            out.append(Check("urgent_message", urgent is expect.urgent_message,
                             f"want {expect.urgent_message}, got {urgent}"))
    if expect.transfer is not None:
        transferred = "<transfer>" in tools
        out.append(Check("transfer", transferred is expect.transfer,
                         f"want {expect.transfer}, got {transferred}"))
    if expect.ended is not None:
        out.append(Check("ended", ended is expect.ended, f"want {expect.ended}, got {ended}"))
    for pattern in expect.say:
        out.append(Check(f"say /{pattern}/", re.search(pattern, said, re.I) is not None,
                         "never said"))
    for pattern in expect.say_not:
        found = re.search(pattern, said, re.I)
        out.append(Check(f"say_not /{pattern}/", found is None,
                         f"said {found.group(0)!r}" if found else ""))
    out.append(Check("tool calls bounded", len(tools) <= expect.max_tool_calls,
                     f"{len(tools)} tool calls"))
    return out


def _appointment_checks(want: dict[str, Any], appt: Appointment | None, store: Store,
                        chat: ChatRun) -> list[Check]:
    if appt is None:
        return [Check("appointment", False, "no appointment booked or moved")]
    tz = chat.frontdesk.clinic.tz
    local = appt.start.astimezone(tz)
    got = {"type": appt.appointment_type_id, "provider": appt.provider_id,
           "weekday": local.strftime("%A"), "time": local.strftime("%H:%M"),
           "date": local.date().isoformat()}
    out = []
    for key, value in want.items():
        out.append(Check(f"appointment.{key}", _same(value, got.get(key)),
                         f"want {value!r}, got {got.get(key)!r}"))
    return out
