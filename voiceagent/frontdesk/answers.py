"""Reading the caller's answers into the conversation state.

Each detail the dialog asks for (name, spelling, date of birth, phone, insurance, claim
details, when) is parsed by the spoken-form parsers and stored as plain strings; the
acknowledgement returned carries the read-back ("I have March 3, 1982.").
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from voiceagent.clinic.config import ClinicConfig
from voiceagent.frontdesk import prompts
from voiceagent.frontdesk import router as intents
from voiceagent.frontdesk.clinicfacts import match_payer
from voiceagent.frontdesk.state import ConversationState
from voiceagent.intake import (
    IntakeError,
    parse_appointment_request,
    parse_date_of_birth,
    parse_full_name,
    parse_mbi,
    parse_member_id,
    parse_past_date,
    parse_phone,
    parse_spelled_name,
)
from voiceagent.intake.dates import AppointmentRequest, after_correction, bare_hour

INJURY_FIELDS = ("claim_number", "adjuster_name", "adjuster_phone", "date_of_injury", "employer")
WORKERS_COMP_WORDS = ("workers comp", "worker's comp", "workers' comp", "workman's comp",
                      "workmans comp", "workers compensation", "worker's compensation",
                      "work injury", "injured at work", "hurt at work", "on the job")
AUTO_WORDS = ("auto accident", "car accident", "car crash", "auto insurance claim",
              "motor vehicle", "auto claim", "accident claim", "fender bender",
              "car insurance", "rear ended", "hit by a car", "was in a crash")

def parse_field(
    field: str, text: str, state: ConversationState, clinic: ClinicConfig, now: datetime
) -> str:
    """Parse the answer to ``field`` into ``state``; return the acknowledgement with its
    read-back. Raises IntakeError (its reason is the next step) when it cannot."""
    f = state.fields
    today = now.date()
    if field == "reason":
        f["reason"] = text[:500]
        return "Thank you."
    if field == "full_name":
        parsed = parse_full_name(text)
        name = parsed.value
        f["first_name"], f["last_name"], f["full_name"] = name.first, name.last, parsed.readback
        return f"Thank you, {name.first}."
    if field == "last_name_spelled":
        spelled = parse_spelled_name(text)
        f["last_name"] = spelled.value
        f["last_name_spelled"] = spelled.value
        return f"I have {spelled.readback}."
    if field == "dob":
        dob = parse_date_of_birth(text, today)
        f["dob"] = dob.value.isoformat()
        return f"I have {dob.readback}."
    if field == "phone":
        phone = parse_phone(text)
        f["phone"] = phone.value
        return f"I have {phone.readback}."
    if field == "payer":
        norm = intents.normalize(text)
        kind = ("workers_comp" if any(w in norm for w in WORKERS_COMP_WORDS) else
                "auto" if any(w in norm for w in AUTO_WORDS) else None)
        if kind is not None:
            ins = clinic.insurance
            rules = ins.workers_comp if kind == "workers_comp" else ins.auto_injury
            label = "workers' compensation" if kind == "workers_comp" else "auto injury"
            f["payer"] = "Workers' compensation" if kind == "workers_comp" else \
                "Auto injury claim"
            if not rules.accepted:
                f["payer_self_pay"] = "yes"
                return (f"I'm sorry, we don't take {label} claims, but you're welcome to "
                        "come as a self-pay patient.")
            f["coverage_kind"] = kind
            note = f" {rules.notes[:1].upper()}{rules.notes[1:]}." if rules.notes else ""
            return f"We do take {label} claims.{note} I'll need a few claim details."
        corrected = after_correction(text)
        # "He has Medicare, um... actually no, that's the other chart. Gary has Dean"
        payer = (match_payer(clinic, corrected) if corrected is not None else None) or \
            match_payer(clinic, text)
        if payer is None:
            f["payer"] = text[:200]
            return "Thank you; the front desk will verify your coverage before the visit."
        f["payer"] = payer.name
        if payer.self_pay:
            f["payer_self_pay"] = "yes"
            return "Self-pay, got it."
        if payer.accepted is False:
            f["payer_self_pay"] = "yes"
            return (f"I'm sorry, we're not in network with {payer.name}, but you're "
                    "welcome to come as a self-pay patient.")
        return f"Great, we accept {payer.name}."
    if field == "plan_type":
        from voiceagent.frontdesk.understand import plan_type

        norm = intents.normalize(text)
        kind = plan_type(norm) or ("medicare" if re.search(
            r"\b(original|regular|traditional|red white and blue|part b|the normal one|"
            r"government)\b", norm) else None)
        if kind is None:
            f["plan_type"] = ""  # asked once; the front desk checks at the visit
            return "No problem, the front desk will check that."
        f["plan_type"] = kind
        return "Original Medicare, got it." if kind == "medicare" else \
            "A Medicare Advantage plan, got it."
    if field == "member_id":
        medicare = f.get("payer", "").lower() in ("medicare", "medicare part b") or \
            f.get("plan_type") == "medicare"
        said = re.split(r"\b(?:and )?(?:the )?group\b", text, flags=re.I)[0]  # "...; and the
        # group, two eight five five one zero" is another number
        member = parse_mbi(said) if medicare else parse_member_id(said)
        f["member_id"] = member.value
        return f"I have {member.readback}."
    if field == "claim_number":
        claim = parse_member_id(text, min_len=4)
        f["claim_number"] = claim.value
        return f"I have {claim.readback}."
    if field == "adjuster_name":
        f["adjuster_name"] = parse_full_name(text).readback
        return "Thank you."
    if field == "adjuster_phone":
        adjuster = parse_phone(text)
        f["adjuster_phone"] = adjuster.value
        return f"I have {adjuster.readback}."
    if field == "date_of_injury":
        injured = parse_past_date(text, today, what="date of the injury",
                                  kind="date_of_injury", max_years=10, recent=True)
        f["date_of_injury"] = injured.value.isoformat()
        return f"I have {injured.readback}."
    if field == "employer":
        f["employer"] = text.strip()[:200]
        return "Thank you."
    if field == "when":
        try:
            request = parse_appointment_request(text, now).value
        except IntakeError:
            # "whenever", "early as you've got": the first openings are what they want
            if not re.search(r"\b(any ?time|whenever|early|earliest|soon|first|asap|don'?t "
                             r"care|doesn'?t matter|flexible|open|any day|mornings?|"
                             r"afternoons?|evenings?)\b", text, re.I):
                raise
            request = AppointmentRequest(asap=True)
        store_request(state, request, text)
        return ""
    if field == "message_body":
        f["message_body"] = text[:2000]
        return ""
    if field == "which_appointment":
        if re.search(r"\b(both|all of them|all (two|three|of my)|each of them|every one)\b",
                     text, re.I) and state.intent == intents.CANCEL:
            state.cancel_all = True  # "Both of them, yes. Tomorrow's and the one next week."
            state.target_appointment_id = int(state.appointments[0]["appointment_id"])
            f["which_appointment"] = "all"
            return ""
        chosen = match_appointment(state, text, now)
        if chosen is None:
            raise IntakeError("which_appointment", "which one? You can say the first or "
                              "the second, or the day")
        state.target_appointment_id = chosen
        f["which_appointment"] = str(chosen)
        return ""
    raise IntakeError(field, "please say that again")



_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _current_appointment(state: ConversationState) -> datetime | None:
    """The start of the appointment being moved (local clinic time), if there is one."""
    target = next((a for a in state.appointments
                   if a.get("appointment_id") == state.target_appointment_id), None)
    if target is None:
        return None
    return datetime.fromisoformat(target["start"]).replace(tzinfo=None)


def store_request(state: ConversationState, request: AppointmentRequest,
                  text: str = "") -> None:
    """Keep a parsed "when" in the state (as JSON-friendly strings), with the weekdays the
    caller ruled out ("any afternoon, but not Wednesday")."""
    norm = intents.normalize(text)
    excluded = [i for i, d in enumerate(_WEEKDAYS)
                if re.search(rf"\b(not|except|but not|no) (on )?{d}s?\b", norm) or
                re.search(rf"\b{d}s? (is|are) (out|no good|bad)\b", norm)]
    day = request.day
    if day is not None and day.weekday() in excluded:
        day = None
    at = request.at
    current = _current_appointment(state)
    if current is not None:
        # moving a visit: "the same time on Wednesday", "same day, just later"
        if re.search(r"\bsame time\b", norm) and at is None:
            at = current.time()
        if re.search(r"\bsame day\b", norm):
            day = current.date()
        if day is not None and day == current.date() and re.search(r"\bnext \w+day\b", norm):
            day += timedelta(days=7)  # "next Wednesday" from this Wednesday's visit
    request = AppointmentRequest(day=day, at=at, earliest=request.earliest,
                                 latest=request.latest, asap=request.asap)
    state.request = {
        "day": day.isoformat() if day else None,
        "at": request.at.isoformat() if request.at else None,
        "earliest": request.earliest.isoformat() if request.earliest else None,
        "latest": request.latest.isoformat() if request.latest else None,
        "asap": request.asap,
        "not_weekdays": excluded,
    }

def requested(state: ConversationState) -> AppointmentRequest:
    """The "when" kept by :func:`store_request` (empty when none)."""
    r = state.request or {}

    def t(key: str) -> time | None:
        return time.fromisoformat(r[key]) if r.get(key) else None

    return AppointmentRequest(
        day=date.fromisoformat(r["day"]) if r.get("day") else None,
        at=t("at"), earliest=t("earliest"), latest=t("latest"), asap=bool(r.get("asap")),
    )



def match_appointment(state: ConversationState, text: str, now: datetime) -> int | None:
    """Which of the listed appointments the caller means ("the second", "Tuesday's")."""
    appts = state.appointments
    index = ordinal(text, len(appts))
    if index is not None:
        return int(appts[index - 1]["appointment_id"])
    try:
        req = parse_appointment_request(text, now).value
    except IntakeError:
        return None
    for a in appts:
        start = datetime.fromisoformat(a["start"])
        if (req.day is None or start.date() == req.day) and (
                req.at is None or start.time() == req.at):
            return int(a["appointment_id"])
    return None



_ORDINALS = {"first": 1, "1st": 1, "one": 1, "second": 2, "2nd": 2, "two": 2, "third": 3,
             "3rd": 3, "three": 3, "fourth": 4, "4th": 4, "four": 4, "fifth": 5, "5th": 5,
             "five": 5, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5}


# an ordinal before these words says something else than which offer
_NOT_A_PICK = frozenset("""shift shifts floor thing things week weeks of grade name job place year
years visit visits session sessions day days""".split())


def ordinal(text: str, count: int) -> int | None:
    """"the first", "option 2", "number three", "the last one" -> 1-based index."""
    norm = intents.normalize(text)
    words = norm.split()
    if "last" in words and count:
        return count
    for i, word in enumerate(words):
        if i + 1 < len(words) and words[i + 1] in _NOT_A_PICK:
            continue  # "I work first shift", "first thing in the morning"
        if word in _ORDINALS and (
            word in ("first", "1st", "second", "2nd", "third", "3rd", "fourth", "4th", "fifth",
                     "5th")
            or (i > 0 and words[i - 1] in ("option", "number"))
        ):
            n = _ORDINALS[word]
            if 1 <= n <= count:
                return n
    return None


def choose_offer(text: str, offers: list[dict[str, Any]]) -> int | None:
    """Which offered slot the caller picked: "the second one", "option 2", "9 AM", "Sam"."""
    n = ordinal(text, len(offers))
    if n is not None:
        return n
    hour = bare_hour(text)
    if hour is not None:  # "Nine is great.", "Seven's good."
        at = [i for i, o in enumerate(offers, 1)
              if datetime.fromisoformat(o["start"]).hour % 12 == hour % 12 and
              datetime.fromisoformat(o["start"]).minute == 0]
        if len(at) == 1:
            return at[0]
    norm = intents.normalize(text)
    try:
        req = parse_appointment_request(text, datetime.fromisoformat(offers[0]["start"])
                                        .replace(tzinfo=None, hour=0, minute=0)).value
    except (IntakeError, IndexError):
        req = None
    if req is not None and req.at is not None:
        for i, o in enumerate(offers, 1):
            start = datetime.fromisoformat(o["start"])
            if start.time() == req.at and (req.day is None or req.day == start.date()):
                return i
    words = set(norm.split())
    names = {i: {w for w in intents.normalize(prompts.spoken_name(o["provider_name"])).split()
                 if w not in ("dr", "mr", "ms", "mrs")} for i, o in enumerate(offers, 1)}
    matching = [i for i, n in names.items() if n & words]
    return matching[0] if len(matching) == 1 else None  # two with the same name: ask which
