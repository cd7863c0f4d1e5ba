"""Answers from the clinic's configuration only: FAQs, hours, address, insurance.

Nothing here invents an answer: a question the config does not cover gets None, and the
dialog offers to take a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from rapidfuzz import fuzz

from voiceagent.clinic.config import WEEKDAYS, ClinicConfig, TimeRange
from voiceagent.frontdesk.router import normalize

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SELF_PAY_WORDS = ("self pay", "self-pay", "cash", "no insurance", "don't have insurance",
                  "do not have insurance", "uninsured", "pay myself", "out of pocket")


def say_hours(clinic: ClinicConfig) -> str:
    """"Monday to Friday 8 AM to 6 PM; Saturday 9 AM to 12 PM; closed Sunday"-style text."""
    groups: list[tuple[list[str], TimeRange | None]] = []
    for i, day in enumerate(WEEKDAYS):
        hours = getattr(clinic.hours, day)
        if groups and groups[-1][1] == hours:
            groups[-1][0].append(DAY_NAMES[i])
        else:
            groups.append(([DAY_NAMES[i]], hours))
    parts = []
    for days, hours in groups:
        label = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
        if hours is None:
            parts.append(f"closed {label}")
        else:
            parts.append(f"{label} {_say_clock(hours.start)} to {_say_clock(hours.end)}")
    return "; ".join(parts)


def _say_clock(t: time) -> str:
    if t == time.max:
        return "midnight"
    hour = t.hour % 12 or 12
    suffix = "AM" if t.hour < 12 else "PM"
    return f"{hour}:{t.minute:02d} {suffix}" if t.minute else f"{hour} {suffix}"


@dataclass(frozen=True)
class PayerMatch:
    name: str  # the configured payer name, or what the caller said when unknown
    accepted: bool | None  # None: not in the clinic's lists
    self_pay: bool = False
    notes: str = ""


def match_payer(clinic: ClinicConfig, text: str) -> PayerMatch | None:
    """Which configured payer the caller named (fuzzy, aliases included)."""
    norm = normalize(text)
    if not norm:
        return None
    if any(w in norm for w in SELF_PAY_WORDS):
        return PayerMatch("self-pay", True, self_pay=True)
    best: tuple[float, PayerMatch] | None = None
    for accepted, payers in ((True, clinic.insurance.accepted),
                             (False, clinic.insurance.not_accepted)):
        for payer in payers:
            for alias in (payer.name, *payer.aliases):
                target = normalize(alias)
                score = fuzz.token_set_ratio(target, norm) if len(target) > 3 else (
                    100.0 if target in norm.split() else 0.0)
                if score >= 85 and (best is None or score > best[0]):
                    best = (score, PayerMatch(payer.name, accepted, notes=payer.notes))
    return best[1] if best else None


def answer_question(clinic: ClinicConfig, question: str, today: date | None = None) -> str | None:
    """The clinic's answer to a question, or None when the config does not cover it."""
    norm = normalize(question)
    if not norm:
        return None
    best_faq, best_score = None, 0.0
    for faq in clinic.faqs:
        for q in faq.questions:
            score = fuzz.token_set_ratio(normalize(q), norm)
            if score > best_score:
                best_faq, best_score = faq, score
    if best_faq is not None and best_score >= 80:
        return best_faq.answer
    words = set(norm.split())
    if words & {"insurance", "accept", "take", "network", "medicare", "medicaid", "cover"} or \
            match_payer(clinic, question):
        payer = match_payer(clinic, question)
        if payer is not None and not payer.self_pay:
            if payer.accepted:
                return f"Yes, we accept {payer.name}." + (f" {payer.notes}" if payer.notes else "")
            if payer.accepted is False:
                return (f"I'm sorry, we're not in network with {payer.name}. "
                        "You're welcome to come as a self-pay patient.")
        if clinic.insurance.accepted and ("insurance" in words or "accept" in words):
            names = ", ".join(p.name for p in clinic.insurance.accepted[:6])
            return f"We accept {names}, among others. Which plan do you have?"
    if words & {"hours", "open", "close", "closed", "closing", "opening"}:
        return f"Our hours are {say_hours(clinic)}."
    if words & {"address", "located", "location", "where", "directions"}:
        return f"We're at {clinic.address}."
    if "phone" in words and "number" in words:
        return f"Our phone number is {clinic.phone}."
    if best_faq is not None and best_score >= 70:
        return best_faq.answer
    return None
