"""Answers from the clinic's configuration only: FAQs, hours, address, insurance.

Nothing here invents an answer: a question the config does not cover gets None, and the
dialog offers to take a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import partial

from rapidfuzz import fuzz

from voiceagent.clinic.config import FAQ, WEEKDAYS, ClinicConfig, TimeRange
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
    named = _exact_payers(clinic, norm)
    if "advantage" in norm:  # "the AARP Medicare Advantage plan, from UnitedHealthcare"
        supplements = {c.name for c in clinic.insurance.accepted
                       if set(c.plan_types) == {"supplement"}}
        named = [p for p in named if p.name not in supplements] or named
    advantage = [p for p in named for c in clinic.insurance.accepted
                 if c.name == p.name and set(c.plan_types) == {"medicare_advantage"}]
    if advantage:  # "my Medicare is through Humana": the Advantage plan is the payer
        return advantage[0]
    if named:
        # said as configured: the first one named is the primary ("Medicare, and a
        # supplement from AARP"), the longest where they overlap ("Humana Medicare Advantage")
        return min(named, key=lambda p: (_position(clinic, p, norm), -len(p.name)))
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


_STOP = set("""a an the i i'm im me my we you your it it's its is are was be do does did can
could would will should may might to of for in on at by with and or but so if about what
what's whats where when how which who why there their this that these those have has had
get got go going come coming any some just really like um uh hi hello hey yeah okay ok
please thanks thank also and then wondering wanted want ask question quick know tell need
guys you're much doctor physical therapy therapist pt clinic said says think fix""".split())


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            if len(word) > 4 and word[-1] == word[-2]:  # cancell -> cancel
                word = word[:-1]
            return word
    return word


# what callers say for what the clinic's answers talk about
_SYNONYMS = {"stair": "elevator", "walker": "elevator", "wheelchair": "elevator",
             "handicap": "accessible", "handicapped": "accessible", "disabled": "accessible",
             "miss": "cancel", "notice": "cancel", "cancellation": "cancel",
             "no-show": "cancel", "noshow": "cancel", "form": "paperwork", "charg": "fee",
             "charge": "fee", "late": "cancel",
             "fill": "paperwork", "español": "spanish", "espanol": "spanish",
             "needle": "needling", "postpartum": "pelvic", "cost": "self-pay"}


_SYNONYM_TARGETS = set(_SYNONYMS.values())


def _ordered(text: str) -> list[str]:
    return [_stem(w) for w in normalize(text).split()]


def _content(text: str) -> set[str]:
    words = {_stem(w) for w in normalize(text).split() if w not in _STOP and len(w) > 1}
    return words | {_SYNONYMS[w] for w in words if w in _SYNONYMS}


_PRICE = re.compile(r"\b(how much|cost|costs|price|prices|pricing|charge|rate|rates|cash|"
                    r"self ?pay|out of pocket|fee)\b")
_ARRIVE = re.compile(r"\b(how early|arrive|arrival|get there|show up|be there|come early)\b")
_HOURS = re.compile(r"\b(hours|open|opens|close|closes|closed|closing|opening|evenings?|"
                    r"nights?|weekends?|saturdays?|sundays?|holiday|thanksgiving|"
                    r"christmas|new year'?s?)\b")


# elliptical: "what about the Friday after?", "and the visits after that?" (not "and where
# do I park?", which is a question of its own)
_FOLLOW_UP = re.compile(r"^(?:and )?(?:what|how) about\b|^same for\b|^and (?!(?:what|where|when|"
                        r"how|which|who|why|do|does|is|are|can|could|should|will|would|i|we|my)"
                        r"\b)")
_CLAUSE_BREAK = re.compile(r"(?<=[.?!])\s+|(?:,\s*(?:and\s+)?|\s+and\s+)(?=(?:where|which|"
                           r"what|how|when|do|does|is|are|can|could|will)\b)", re.I)
_SPANISH_WORDS = {"lunes": "monday", "martes": "tuesday", "miercoles": "wednesday",
                  "miércoles": "wednesday", "jueves": "thursday", "viernes": "friday",
                  "sabado": "saturday", "sábado": "saturday", "sabados": "saturdays",
                  "sábados": "saturdays", "domingo": "sunday", "domingos": "sundays",
                  "hora": "hours", "horas": "hours", "horario": "hours", "abren": "open",
                  "cierran": "close", "abierto": "open", "cerrado": "closed"}


def answer_all(clinic: ClinicConfig, question: str, today: date | None = None,
               previous: str = "", visit_day: date | None = None) -> str | None:
    """Every question in a turn answered ("Do I need a referral? I have Quartz, if that
    matters"; "where do I park, and which door do we use?"), and a follow-up read with the
    question before it ("What about the Friday after?" after asking about Thanksgiving)."""
    question = " ".join(_SPANISH_WORDS.get(w.lower().strip("¿?¡!.,"), w)
                        for w in question.split())
    norm = normalize(question)
    if previous and re.search(r"\b(that|the same) day\b", norm) and _HOURS.search(norm):
        on_day = _day_asked(clinic, previous, today)  # "what time do you close that day?"
        if on_day is not None:
            return on_day
    follow_up = bool(_FOLLOW_UP.match(norm))
    elliptical = follow_up or "?" not in question  # "... the Friday after."
    if previous and elliptical and len(norm.split()) <= 8:
        if _HOURS.search(normalize(previous)):
            on_day = _day_asked(clinic, question, today)
            if on_day is not None:
                return on_day
        if follow_up:
            return answer_question(clinic, f"{question} {previous}", today)
    whole = partial(answer_question, clinic, question, today, visit_day=visit_day)
    clauses = [c for c in _CLAUSE_BREAK.split(question) if c and len(c.split()) >= 2]
    if len(clauses) >= 2:
        answers = [answer_question(clinic, c, today, context=question, visit_day=visit_day)
                   for c in clauses]
        found = list(dict.fromkeys(a for a in answers if a))
        if len(found) >= 2:
            return " ".join(found)
        if found and _payers_named(clinic, question):
            said = whole()
            if said and said != found[0]:
                return f"{found[0]} {said}"  # "Do I need a referral? I have Quartz."
        if found:
            return found[0]
    return whole()


def answer_question(clinic: ClinicConfig, question: str, today: date | None = None,
                    context: str = "", visit_day: date | None = None) -> str | None:
    """The clinic's answer to a question, or None when the config does not cover it.

    Facts the config holds (prices, hours on a given day, which payers) are answered from
    the config itself; other questions from the FAQ whose words they share (content words,
    not a fuzzy subset: "do I" alone matches nothing)."""
    norm = normalize(question)
    if not norm:
        return None
    words = set(norm.split())
    asked = _content(question)
    if _PRICE.search(norm) and clinic.insurance.self_pay and not (
            words & {"copay", "co", "deductible", "bill", "balance", "notice", "cancel",
                     "cancellation", "miss", "missed", "late", "long", "early", "time"}):
        return _prices(clinic)
    if re.search(r"\b(bring|need to have|should i have|take with me)\b", norm) and not words & {
            "wear", "wearing", "clothes", "clothing", "shorts", "shoes", "sneakers"}:
        first = next((t for t in clinic.appointment_types if t.new_patient and t.what_to_bring),
                     None)
        if first is not None:  # "do I need to bring the paper from Dr. Takahashi?"
            items = first.what_to_bring
            listed = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
            return f"For your first visit, please bring {listed}."
    hours_asked = bool(_HOURS.search(norm)) and not words & {"park", "parking", "door",
                                                              "entrance", "wear", "bring"}
    if hours_asked:  # "are you open this Thursday and Friday?": those days, not the week
        on_day = _day_asked(clinic, question, today)
        if on_day is not None:
            return on_day
    strong = _best_faq(clinic, asked, require=2, asked_order=_ordered(question))
    if strong is not None:  # two of its own question words: "cancellation policy"
        return strong.answer
    payers = _payers_named(clinic, question)
    if payers and (words & {"insurance", "accept", "take", "network", "cover", "covered",
                            "in", "plan", "plans"} or len(payers) > 1 or "?" in question):
        return " ".join(_payer_answer(clinic, p) for p in payers)
    if words & {"insurance", "insurances", "plans"} and words & {"accept", "take", "which",
                                                                "what", "network"}:
        names = ", ".join(p.name for p in clinic.insurance.accepted[:8])
        return f"We accept {names}, among others. Which plan do you have?"
    facts = clinic.facts
    if "fax" in words and facts.fax:
        return f"Our fax number is {facts.fax}."
    if words & {"email", "e-mail"} and words & {"address", "your", "what"} and facts.email:
        return f"Our email address is {facts.email}."
    if words & {"website", "web", "site", "online"} and words & {"your", "what", "address"} and \
            facts.website:
        return f"Our website is {facts.website}."
    if words & {"door", "doors", "entrance", "entrances", "park", "parking", "enter", "get in"}:
        day = _day_named(f"{question} {context}", today) or visit_day  # "which door do I use?"
        notes = []
        if words & {"door", "doors", "entrance", "entrances", "enter"}:
            notes.append(clinic.facts.entrance.on(day) if day else clinic.facts.entrance.default)
        if words & {"park", "parking"}:
            notes.append(clinic.facts.parking)
        if any(notes):
            return " ".join(n for n in notes if n)
    if _ARRIVE.search(norm):
        faq = _best_faq(clinic, {"arrive", "early", "minute"}, require=1)
        if faq is not None:
            return faq.answer
    faq = _best_faq(clinic, asked, asked_order=_ordered(question))
    if faq is not None:
        return faq.answer
    if re.search(r"\bwhere (exactly )?(are|is) (you|y'?all|the clinic|your (office|clinic))\b",
                 norm):
        return f"We're at {clinic.address}."
    if hours_asked and not (words & {"long", "visit", "appointment", "evaluation"} and
                            not words & {"hours", "open", "close", "closed"}):
        return f"Our hours are {say_hours(clinic)}."
    if words & {"address", "located", "location", "directions"}:
        return f"We're at {clinic.address}."
    if "phone" in words and "number" in words:
        return f"Our phone number is {clinic.phone}."
    return None


# words that say little when only an answer has them ("After you book, we text you a link
# to the intake forms" is no answer to "and the visits after that, how much?")
_WEAK_IN_ANSWERS = frozenset({"after", "before", "visit", "book", "first"})


def _best_faq(clinic: ClinicConfig, asked: set[str], require: int = 1,
              asked_order: list[str] | None = None) -> FAQ | None:
    """The FAQ sharing the most content words with the question (its questions count
    double, its answer once); None when nothing distinctive is shared."""
    if not asked:
        return None
    best: tuple[float, FAQ] | None = None
    order = list(asked_order or [])
    for faq in clinic.faqs:
        q_words: set[str] = set().union(*(_content(q) for q in faq.questions))
        a_words = _content(faq.answer)
        shared_q = asked & q_words
        shared_a = (asked & a_words) - q_words - _WEAK_IN_ANSWERS
        score: float = 2 * len(shared_q) + len(shared_a) + len(shared_a & _SYNONYM_TARGETS)
        coverage = len(shared_q | shared_a) / len(asked)
        strong = score >= 2 * require and (shared_q or coverage >= 0.5 or
                                           shared_a & _SYNONYM_TARGETS)
        whole = coverage >= 0.99 and len(asked) <= 2 and score >= 1  # "is there an elevator"
        first_at = min((order.index(w) for w in shared_q | shared_a if w in order),
                       default=len(order))
        score -= first_at / 100  # a tie goes to what the caller asked first
        if (strong or whole) and (
                best is None or score > best[0]):
            best = (score + coverage, faq)
    return best[1] if best else None


def _prices(clinic: ClinicConfig) -> str:
    parts = []
    for type_id, price in clinic.insurance.self_pay.items():
        try:
            name = clinic.appointment_type(type_id).name
        except KeyError:
            name = type_id.replace("-", " ")
        parts.append(f"{price:g} dollars for the {name}")
    return f"Self-pay rates are {', '.join(parts[:-1])} and {parts[-1]}." if len(parts) > 1 \
        else f"Self-pay rates are {parts[0]}."


def _position(clinic: ClinicConfig, payer: PayerMatch, norm: str) -> int:
    """Where the caller first named this payer (any of its names)."""
    names = next(([p.name, *p.aliases] for p in clinic.insurance.accepted +
                  clinic.insurance.not_accepted if p.name == payer.name), [payer.name])
    spots = [f" {norm} ".find(f" {normalize(n)} ") for n in names if n]
    found = [i for i in spots if i >= 0]
    return min(found) if found else len(norm)


def _exact_payers(clinic: ClinicConfig, norm: str) -> list[PayerMatch]:
    padded = f" {norm} "
    found: list[PayerMatch] = []
    for accepted, payers in ((True, clinic.insurance.accepted),
                             (False, clinic.insurance.not_accepted)):
        for payer in payers:
            if any(f" {normalize(a)} " in padded for a in (payer.name, *payer.aliases) if a):
                found.append(PayerMatch(payer.name, accepted, notes=payer.notes))
    return found


def _payers_named(clinic: ClinicConfig, text: str) -> list[PayerMatch]:
    found = _exact_payers(clinic, normalize(text))
    if not found:
        one = match_payer(clinic, text)
        if one is not None and not one.self_pay:
            found.append(one)
    # "Medicare" inside "Humana Medicare Advantage": keep the longer name only
    names = [p.name for p in found]
    return [p for p in found if not any(p.name != n and p.name in n for n in names)]


def _payer_answer(clinic: ClinicConfig, payer: PayerMatch) -> str:
    if payer.accepted:
        return f"Yes, we accept {payer.name}." + (f" {payer.notes}." if payer.notes else "")
    if payer.accepted is False:
        return (f"We're not in network with {payer.name}, but you're welcome to come as a "
                "self-pay patient.")
    return f"I'm not sure about {payer.name}; the front desk can check that for you."


def _day_named(question: str, today: date | None) -> date | None:
    from voiceagent.intake import IntakeError, parse_appointment_request

    if today is None:
        return None
    try:
        return parse_appointment_request(question, datetime.combine(today, time(8))).value.day
    except IntakeError:
        return None


def _day_asked(clinic: ClinicConfig, question: str, today: date | None) -> str | None:
    """Hours on the day the question names ("on Thanksgiving", "the Friday after",
    "this Saturday"), closures included."""
    norm = normalize(question)
    day = None
    for named in clinic.closures:
        if _content(named.name) and _content(named.name) <= _content(question) | {"day"}:
            day = named.date
    days = re.findall(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", norm)
    if day is None and len(set(days)) >= 2 and today is not None:
        # "are you open this Thursday and Friday?": each day
        said = [_day_asked(clinic, f"this {d}", today) for d in dict.fromkeys(days)]
        return " ".join(a for a in said if a) or None
    if day is None:
        day = _day_named(question, today)
    if day is None:
        return None
    hours = clinic.hours_on(day)
    closure = clinic.closure_on(day)
    label = f"{DAY_NAMES[day.weekday()]}, {day.strftime('%B')} {day.day}"
    why = f" for {closure.name}" if closure is not None else ""
    if hours is None:
        return f"We're closed on {label}{why}."
    del norm
    return f"On {label}{why} we're open {_say_clock(hours.start)} to {_say_clock(hours.end)}."
