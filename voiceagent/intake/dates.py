"""Dates and times as callers say them.

Appointment requests ("next Tuesday morning", "tomorrow at three fifteen in the afternoon")
resolve against a fixed ``now`` and prefer the future; dates of birth ("March third,
nineteen eighty-two", "3/3/1982") prefer the past. Number words become digits first
(text2num), then the date phrase is cut out of the sentence and handed to dateparser, so
"can I come in next Tuesday please" works without dateparser's slow search mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import dateparser
from text_to_num import alpha2digit

from voiceagent.intake.errors import IntakeError
from voiceagent.intake.result import Parsed

MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)
_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|" \
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_ORD = r"(\d{1,2})(?:st|nd|rd|th)?"

PARTS_OF_DAY = {
    "morning": (time(8, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(20, 0)),
    "early morning": (time(7, 0), time(9, 0)),
    "late morning": (time(10, 0), time(12, 0)),
    "early afternoon": (time(12, 0), time(14, 30)),
    "late afternoon": (time(15, 0), time(18, 0)),
}

_SETTINGS_BASE = {"DATE_ORDER": "MDY", "RETURN_AS_TIMEZONE_AWARE": False}


def _numbers(text: str) -> str:
    """Number words to digits, spoken years joined: "nineteen eighty-two" -> "1982"."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"\b(?:o'clock|oclock)\b", " oclock", text)
    text = alpha2digit(text, "en", threshold=0)
    text = re.sub(r"\b(1[89]|20) (?:oh|o|0) (\d)\b", r"\1 0\2", text)  # nineteen oh five
    text = re.sub(r"\b(?:oh|o) (?=\d)", "0", text)  # "oh three" -> "03"
    text = re.sub(r"\b(1[89]|20) (\d{2})\b", r"\1\2", text)
    text = re.sub(r"\b(\d{2}) (0\d)\b", r"\1\2", text)
    text = re.sub(r"\b([ap])\.? ?m\.?(?=\s|$|[,.!?])", r"\1m", text)
    return re.sub(r"\s+", " ", text).strip()


def _parse_phrase(phrase: str, now: datetime, prefer: str) -> date | None:
    settings = dict(_SETTINGS_BASE, RELATIVE_BASE=now, PREFER_DATES_FROM=prefer)
    found = dateparser.parse(phrase, languages=["en"], settings=settings)  # type: ignore[arg-type]
    return found.date() if found else None


def say_date(day: date, with_year: bool = False) -> str:
    text = f"{day.strftime('%A')}, {MONTHS[day.month - 1].capitalize()} {day.day}"
    if with_year:
        text = f"{MONTHS[day.month - 1].capitalize()} {day.day}, {day.year}"
    return text


def say_time(at: time) -> str:
    hour = at.hour % 12 or 12
    suffix = "AM" if at.hour < 12 else "PM"
    return f"{hour}:{at.minute:02d} {suffix}" if at.minute else f"{hour} {suffix}"


# -- dates in the past: birth, injury ---------------------------------------------------


SELF_CORRECTION = re.compile(r"\b(?:no,? wait|wait,? no|sorry|i mean|actually|correction|"
                             r"mine'?s|mine is|i meant|scratch that)\b", re.I)


def after_correction(text: str) -> str | None:
    """What the caller said after their last self-correction ("... no wait, that's my
    husband's. Mine is oh three, twenty-one"), or None when they made none."""
    marks = list(SELF_CORRECTION.finditer(text))
    return text[marks[-1].end():] if marks else None


def number_groups(text: str) -> list[str]:
    """The digits of each comma-separated group ("three, three, seventy six" -> ["3", "3",
    "76"]), groups without digits left out."""
    groups = [re.sub(r"\D", "", _numbers(g)) for g in text.split(",")]
    return [g for g in groups if g]


def _corrected_day(said: str, first: date) -> date | None:
    """A correction of the day (and perhaps the month) of ``first``: "it's the fourteenth",
    "June fourteenth"."""
    norm = _numbers(said)
    month = re.search(rf"\b({_MONTH})\b", norm)
    day = re.search(rf"\b(?:the )?{_ORD}\b(?!\s*(?:am|pm|oclock|years?))", norm)
    if day is None:
        return None
    number = next(i for i, m in enumerate(MONTHS, 1) if m.startswith(month.group(1)[:3])) \
        if month else first.month
    try:
        return date(first.year, number, int(day.group(1)))
    except ValueError:
        return None


def parse_date_of_birth(text: str, today: date) -> Parsed[date]:
    """Read a date of birth; the read-back is "March 3, 1982"."""
    return parse_past_date(text, today, what="date of birth", kind="date_of_birth")


def parse_past_date(
    text: str, today: date, *, what: str = "date", kind: str = "date", max_years: int = 120,
    recent: bool = False,
) -> Parsed[date]:
    """Read a full past date (month, day and year), e.g. a date of injury. With ``recent``
    (a surgery or an injury: "on November second", "last Tuesday") a date without a year
    is the latest one not after today."""
    if re.search(r"\b(first|second|third|last|other|earlier|later) one\b", text, re.I) and \
            not re.search(rf"\b{_MONTH}\b", text.lower()):
        # "the first one's good" picks one of several things, it is no date
        raise IntakeError(kind, f"I didn't catch the {what}; please say the month, day and "
                          "year")
    after = after_correction(text)
    if after is not None:  # "January sixth, fifty one. Oh, no, wait, that's my wife's. Mine's ..."
        first_mark = SELF_CORRECTION.search(text)
        assert first_mark is not None
        before = text[:first_mark.start()]
        try:
            return parse_past_date(after, today, what=what, kind=kind, max_years=max_years,
                                   recent=recent)
        except IntakeError:
            pass
        try:  # "June fourth, seventy-nine. Oh, no wait, it's the fourteenth": the year stands
            first = parse_past_date(before, today, what=what, kind=kind, max_years=max_years,
                                    recent=recent).value
            fixed = _corrected_day(after, first)
            if fixed is not None:
                return Parsed(fixed, say_date(fixed, with_year=True))
        except IntakeError:
            pass
    norm = re.sub(r"\s*,\s*", " ", _numbers(text))  # "1968, may, the 15": pauses, not parts
    day = None
    if recent:
        day = _recent_day(norm, today)
        if day is not None:
            return Parsed(day, say_date(day, with_year=True))
    numeric = re.search(r"\b(\d{1,2})[/ .](\d{1,2})[/ .](\d{2,4})\b", norm)
    spoken = re.search(rf"\b{_MONTH}\.? (?:the )?{_ORD},? (?:of )?(\d{{4}})\b", norm)
    day_first = re.search(rf"\b(?:the )?{_ORD} (?:of )?{_MONTH},? (\d{{4}})\b", norm)
    year_first = re.search(rf"\b(\d{{4}}),? {_MONTH}\.? (?:the )?{_ORD}\b", norm)
    if text.count(",") >= 2 and not re.search(_MONTH, norm):
        # "one one, three, eighty six": month, day and year said as groups
        groups = number_groups(text)
        if len(groups) == 3 and all(len(g) <= 4 for g in groups):
            month_, day_, year_ = (int(g) for g in groups)
            if len(groups[2]) == 2:
                century = today.year // 100 * 100
                year_ = century + year_ if century + year_ <= today.year else \
                    century - 100 + year_
            try:
                day = date(year_, month_, day_)
            except ValueError:
                day = None
    now = datetime.combine(today, time(12, 0))
    triple = re.fullmatch(r"\s*(\d{1,2})[ /.\-]+(\d{1,2})[ /.\-]+(\d{2}|\d{4})\s*[.!]?\s*", norm)
    if day is None and triple and not recent:
        # "ten ten oh one", "3/15/70": month, day, year as numbers
        month_, day_, year_ = (int(g) for g in triple.groups())
        if len(triple.group(3)) == 2:
            century = today.year // 100 * 100
            year_ = century + year_ if century + year_ <= today.year else century - 100 + year_
        try:
            day = date(year_, month_, day_)
        except ValueError:
            day = None
    for match in (spoken, day_first, numeric, year_first):
        if match and day is None:
            phrase = match.group(0)
            if match is year_first:
                phrase = f"{phrase[len(match.group(1)):].strip(' ,')} {match.group(1)}"
            day = _parse_phrase(phrase, now, "past")
            if day:
                break
    if day is None and not recent:
        # "july nineteenth eighty one": a spoken two-digit year, the latest one in the past
        short = re.search(rf"\b{_MONTH}\.? (?:the )?{_ORD},? (?:of )?(?:'|in )?(\d{{2}})\b",
                          norm) or re.search(rf"\b(?:the )?{_ORD} (?:of )?{_MONTH},? "
                                             r"(?:'|in )?(\d{2})\b", norm)
        if short:
            yy = int(short.group(short.lastindex or 0))
            century = today.year // 100 * 100
            year = century + yy if century + yy <= today.year else century - 100 + yy
            phrase = f"{short.group(0)[:short.start(short.lastindex or 0) - short.start()]}"
            day = _parse_phrase(f"{phrase.strip(' ,')} {year}", now, "past")
    if day is None and not recent:
        # "April Fool's Day, nineteen fifty six. April first.": the year and the day said apart
        years = re.findall(r"\b(1[89]\d\d|20\d\d)\b", norm)
        md = re.search(rf"\b{_MONTH}\.? (?:the )?{_ORD}\b", norm) or \
            re.search(rf"\b(?:the )?{_ORD} (?:of )?{_MONTH}\b", norm)
        if len(set(years)) == 1 and md:
            day = _parse_phrase(f"{md.group(0)} {years[0]}", now, "past")
    digits = re.sub(r"\D", "", norm)
    if day is None and len(digits) == 8 and not re.search(_MONTH, norm) and \
            not re.search(r"\b[a-z]\b", norm.replace(" o ", " ")):
        # "oh three oh three nineteen eighty-two": MMDDYYYY read as digits
        try:
            day = date(int(digits[4:]), int(digits[:2]), int(digits[2:4]))
        except ValueError:
            day = None
    if day is None and len(digits) == 6 and not recent and not re.search(_MONTH, norm) and \
            not re.search(r"\b[a-z]\b", norm.replace(" o ", " ")):
        # "ten ten oh one": MMDDYY
        yy = int(digits[4:])
        century = today.year // 100 * 100
        year_ = century + yy if century + yy <= today.year else century - 100 + yy
        try:
            day = date(year_, int(digits[:2]), int(digits[2:4]))
        except ValueError:
            day = None
    if day is None:
        if re.search(_MONTH, norm) and not re.search(r"\b\d{4}\b", norm):
            raise IntakeError(kind, f"I need the year too; please say the full {what}, like "
                              "March third, nineteen eighty-two")
        raise IntakeError(kind, f"I didn't catch the {what}; please say the month, day and "
                          "year")
    if day > today:
        raise IntakeError(kind, f"that date is in the future; please say the {what} again, "
                          "month, day and year")
    if today.year - day.year > max_years:
        raise IntakeError(kind, f"I didn't get the year right; please say the {what} again, "
                          "month, day and year")
    return Parsed(day, say_date(day, with_year=True))


def _recent_day(norm: str, today: date) -> date | None:
    """"november 2nd", "the 2nd of november", "last tuesday", "yesterday" -> a past date."""
    if re.search(r"\b\d{4}\b", norm):
        return None
    m = re.search(rf"\b{_MONTH}\.? (?:the )?{_ORD}\b", norm) or \
        re.search(rf"\b(?:the )?{_ORD} (?:of )?{_MONTH}\b", norm)
    if m:
        found = _parse_phrase(m.group(0), datetime.combine(today, time(12, 0)), "past")
        if found is not None and found > today:
            found = found.replace(year=found.year - 1)
        return found
    m = re.search(rf"\b(?:on )?the {_ORD}\b", norm)
    if m and 1 <= int(m.group(1)) <= 31:
        month_start = today.replace(day=1)
        for back in range(0, 2):
            first = (month_start - timedelta(days=1)).replace(day=1) if back else month_start
            try:
                found = first.replace(day=int(m.group(1)))
            except ValueError:
                continue
            if found <= today:
                return found
    m = re.search(r"\b(yesterday|last (?:monday|tuesday|wednesday|thursday|friday|saturday|"
                  r"sunday|week|month)|\d+ (?:days|weeks|months) ago)\b", norm)
    if m:
        return _parse_phrase(m.group(0), datetime.combine(today, time(12, 0)), "past")
    return None


# -- appointment requests --------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentRequest:
    """When the caller would like to come in. Every part is optional.

    ``day`` None means any day; ``at`` is an exact time; ``earliest``/``latest`` bound a
    part of day ("morning") or "after 3".
    """

    day: date | None = None
    at: time | None = None
    earliest: time | None = None
    latest: time | None = None
    asap: bool = False

    @property
    def empty(self) -> bool:
        return self.day is None and self.at is None and self.earliest is None \
            and self.latest is None and not self.asap


def _clinic_hour(hour: int, meridiem: str | None, part: str | None) -> int:
    """12-hour clock to 24: an explicit am/pm or part of day wins, else clinic hours guess
    (1-6 are afternoon, 7-11 morning)."""
    if meridiem == "pm" or part in ("afternoon", "evening"):
        return hour + 12 if hour < 12 else hour
    if meridiem == "am" or part == "morning":
        return 0 if hour == 12 else hour
    if 1 <= hour <= 6:
        return hour + 12
    return hour


def _extract_time(norm: str) -> tuple[time | None, str | None, str]:
    """Find an exact time and a part of day; return them and the text without them."""
    part = None
    part_match = re.search(r"\b(?:in the |this )?((?:early |late )?(?:morning|afternoon)|"
                           r"evening)s?\b", norm)
    if part_match:
        part = part_match.group(1)
    elif re.search(r"\b(at night|tonight|after work)\b", norm):
        part = "evening"  # "seven thirty at night"
    if re.search(r"\b(?:noon|midday|lunch ?time)\b", norm):
        rest = re.sub(r"\b(?:at )?(?:noon|midday|lunch ?time)\b", " ", norm)
        return time(12, 0), part, rest
    patterns = [
        (r"\b(?:at )?(?:a )?quarter past (\d{1,2})\b", lambda h: (h, 15)),
        (r"\b(?:at )?half past (\d{1,2})\b", lambda h: (h, 30)),
        (r"\b(?:at )?(?:a )?quarter (?:to|of) (\d{1,2})\b", lambda h: (h - 1 or 12, 45)),
    ]
    for pattern, convert in patterns:
        m = re.search(pattern + r"(?: ?(am|pm))?", norm)
        if m:
            hour, minute = convert(int(m.group(1)))
            at = time(_clinic_hour(hour, m.group(2), part) % 24, minute)
            return at, part, norm[: m.start()] + " " + norm[m.end() :]
    m = re.search(r"\b(?:at |around |about )?(\d{1,2})(?:[: ](\d{2}))? ?(am|pm|oclock)?\b", norm)
    while m:
        hour = int(m.group(1))
        minute = int(m.group(2)) if m.group(2) else 0
        meridiem = m.group(3) if m.group(3) in ("am", "pm") else None
        tail = norm[m.end() :]
        cue = m.group(3) or m.group(2) or m.group(0).startswith(("at ", "around ", "about ")) \
            or re.match(r"\s*(?:in the |this )?(?:morning|afternoon|evening)\b|\s*(?:or so|"
                        r"ish)\b", tail)
        if cue and 1 <= hour <= 12 and minute < 60 and not re.match(
            rf"\s*(?:st|nd|rd|th)\b|\s*(?:of )?{_MONTH}", tail
        ):
            at = time(_clinic_hour(hour, meridiem, part) % 24, minute)
            return at, part, norm[: m.start()] + " " + tail
        m = re.compile(r"\b(?:at |around |about )?(\d{1,2})(?:[: ](\d{2}))? ?(am|pm|oclock)?\b") \
            .search(norm, m.end())
    return None, part, norm


def _extract_day(norm: str, now: datetime) -> date | None:
    today = now.date()
    if re.search(r"\bday after tomorrow\b", norm):
        return today + timedelta(days=2)
    if re.search(r"\btoday\b|\bthis (?:morning|afternoon|evening)\b|\btonight\b", norm):
        return today
    if re.search(r"\btomorrow\b", norm):
        return today + timedelta(days=1)
    m = re.search(r"\bin (\d{1,2}) (day|week)s?\b", norm)
    if m:
        n = int(m.group(1))
        return today + timedelta(days=n * (7 if m.group(2) == "week" else 1))
    # "Thursday afternoons are best. So next Thursday afternoon": the day named with next/this
    m = re.search(rf"\b(next|this) ({_WEEKDAY})\b", norm) or \
        re.search(rf"\b(?:(next|this) )?({_WEEKDAY})\b", norm)
    nth = re.search(r"\bthe (\d{1,2})(?:st|nd|rd|th)\b", norm)
    if m and nth:
        # "Wednesday the 2nd": the next 2nd that falls on a Wednesday
        probe = today
        for _ in range(366):
            if probe.day == int(nth.group(1)) and probe.strftime("%A").lower() == m.group(2):
                return probe
            probe += timedelta(days=1)
    if m:
        phrase = m.group(2)
        found = _parse_phrase(phrase, now, "future")
        if found is not None and found <= today:
            found += timedelta(days=7)
        next_monday = today + timedelta(days=7 - today.weekday())
        if found is not None and m.group(1) == "next" and found < next_monday:
            # "next Thursday", said on a Monday: Thursday of next week ("this Thursday" is
            # the nearest one); said on a Friday, "next Tuesday" is the nearest one anyway
            found += timedelta(days=7)
        return found
    m = re.search(rf"\b{_MONTH}\.? (?:the )?{_ORD}(?:,? (\d{{4}}))?\b", norm) or re.search(
        rf"\b(?:the )?{_ORD} (?:of )?{_MONTH}(?:,? (\d{{4}}))?\b", norm
    )
    if m:
        return _parse_phrase(m.group(0), now, "future")
    m = re.search(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b", norm)
    if m:
        return _parse_phrase(m.group(0), now, "future")
    m = re.search(r"\bthe (\d{1,2})(?:st|nd|rd|th)\b", norm)
    if m:
        wanted = int(m.group(1))
        probe = today
        for _ in range(62):  # the next date with that day of the month
            if probe.day == wanted and probe >= today:
                return probe
            probe += timedelta(days=1)
    return None


def bare_hour(text: str) -> int | None:
    """The hour said on its own as a pick ("Nine is great", "seven's good", "10 works"), not
    a time with minutes ("nine thirty")."""
    m = re.match(r"\s*(?:(?:ok(?:ay)?|yeah|yes|um|uh),?\s+)*(\d{1,2})(?:\s+is|\s+oclock)?\b"
                 r"(?!\s*(?:\d|minutes))", _numbers(text.replace("'s", " is")))
    return int(m.group(1)) if m else None


def parse_appointment_request(text: str, now: datetime) -> Parsed[AppointmentRequest]:
    """Read when the caller wants to come in ("next Tuesday morning", "tomorrow at 3:15").

    Raises IntakeError when nothing in the text names a day or a time.
    """
    # a phone number said in groups ("six oh eight, five five five, zero one four three") is
    # no time of day
    norm = re.sub(r"\b\d(?:[ ,.\-]*\d){9}\b", " ", _numbers(text))
    asap = bool(re.search(r"\b(?:as soon as possible|asap|earliest|soonest|first available|"
                          r"as early as (?:you can|possible|you(?:'ve)? got|you have))\b", norm))
    if re.search(r"\b(?:until|till|til|before|after) (?:noon|midday)\b", norm):
        # "class until noon" (so after it), "before noon": a bound, not a time
        side = "before" if re.search(r"\bbefore (?:noon|midday)\b", norm) else "after"
        norm = re.sub(r"\b(?:until|till|til|before|after) (?:noon|midday)\b", f"{side} 12 pm",
                      norm)
    norm = re.sub(r"\bgood (?:morning|afternoon|evening)\b", " ", norm)  # a greeting
    # "Tuesday's no good, can we do Wednesday instead?": the day ruled out is not the day
    norm = re.sub(rf"\b(?:not (?:on )?)?({_WEEKDAY})(?:'?s| is| are)? (?:no good|not good|out|"
                  rf"bad|won'?t work|doesn'?t work|not going to work|is out)\b|"
                  rf"\b(?:not|except|but not) (?:on )?({_WEEKDAY})s?\b", " ", norm)
    approximate = re.search(r"\b(?:around|about|roughly|ish|or so)\b|\d ?ish\b", norm)
    at, part, rest = _extract_time(norm)
    day = _extract_day(rest, now)
    if day is not None and day < now.date():
        raise IntakeError("appointment_time", "that date has passed; which day would you like?")
    earliest = latest = None
    if part and at is None:
        earliest, latest = PARTS_OF_DAY[part]
    if at is not None and re.search(r"\b(or|and) (later|after)\b|\bat the earliest\b", norm):
        earliest, at = at, None  # "three thirty or later"
    elif at is not None and re.search(r"\b(or|and) (earlier|before)\b|\bat the latest\b", norm):
        latest, at = at, None
    m = re.search(r"\b(after|before) (\d{1,2})(?:[: ]([0-5]\d)(?! minutes))? ?(am|pm)?\b", norm)
    if m and at is not None and int(m.group(2)) == (at.hour % 12 or 12):
        at = None
    if m:
        bound = time(_clinic_hour(int(m.group(2)), m.group(4), part), int(m.group(3) or 0))
        if m.group(1) == "after":
            earliest = bound
        else:
            latest = bound
        at = None
    if at is not None and approximate and earliest is None and latest is None:
        # "ten o'clock-ish", "around two": times from then on, not that minute only
        earliest, at = at, None
    request = AppointmentRequest(day, at, earliest, latest, asap)
    if request.empty:
        raise IntakeError("appointment_time", "which day and time would suit you? For "
                          "example, next Tuesday morning")
    return Parsed(request, _say_request(request))


def _say_request(req: AppointmentRequest) -> str:
    parts: list[str] = []
    if req.asap and req.day is None:
        parts.append("the earliest available")
    if req.day is not None:
        parts.append(say_date(req.day))
    if req.at is not None:
        parts.append(f"at {say_time(req.at)}")
    else:
        named = next((n for n, w in PARTS_OF_DAY.items() if w == (req.earliest, req.latest)), None)
        if named:
            parts.append(f"in the {named}")
        else:
            if req.earliest is not None:
                parts.append(f"after {say_time(req.earliest)}")
            if req.latest is not None:
                parts.append(f"before {say_time(req.latest)}")
    return " ".join(parts)
