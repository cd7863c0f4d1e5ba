"""Phone numbers read out digit by digit (US numbering)."""

from __future__ import annotations

import re

import phonenumbers

from voiceagent.intake.errors import IntakeError
from voiceagent.intake.result import Parsed
from voiceagent.intake.tokens import say_chars, spoken_chars


def parse_phone(text: str, region: str = "US") -> Parsed[str]:
    """Read a phone number; the value is E.164 (``+15551234567``).

    Accepts "five five five, one two three, four five six seven", "5-5-5, 1-2-3, 4-5-6-7",
    "oh" for zero, "double five", a leading "one" country code.
    """
    text = _INTERJECTION.sub(" ", text)  # "five five five... oh, what is it... one one"
    digits = _digits(text)
    if len(digits) > 10 and not (len(digits) == 11 and digits.startswith("1")):
        digits = _repeated(digits) or _restarted(text) or digits
    if not digits:
        raise IntakeError("phone", "I didn't catch any digits; please say the phone number "
                          "one digit at a time, area code first")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) < 10:
        heard = f"{len(digits)} digit" + ("" if len(digits) == 1 else "s")
        raise IntakeError("phone", f"I heard {heard}; I need all ten, area code first")
    if len(digits) > 10:
        raise IntakeError("phone", f"I heard {len(digits)} digits, more than a phone number "
                          "has; please say it again, area code first")
    if region == "US" and digits[0] in "01":
        # no North American area code starts with 0 or 1: a date said in number groups ("oh
        # three, twenty-one, eighty-two") is not a phone number
        raise IntakeError("phone", "that doesn't sound like a phone number; please say it "
                          "again, area code first")
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        raise IntakeError("phone", "that doesn't sound like a phone number; please say it "
                          "again, area code first") from None
    if not phonenumbers.is_possible_number(number):
        raise IntakeError("phone", "that doesn't sound like a phone number; please say it "
                          "again, area code first")
    value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Parsed(value, say_chars(digits, (3, 3, 4)))


_RESTART = re.compile(r"\b(?:no|sorry|wait|i mean|uh|um|let me start over|start over|scratch "
                      r"that|actually|oops)\b|\.\.\.|\u2026", re.I)


# "oh" before a word that is no digit is a sound, not a zero ("oh, what is it")
_INTERJECTION = re.compile(r"\boh\b(?=[\s,.!?\u2026]+(?:what|wait|no|sorry|um|uh|yes|yeah|"
                           r"right|let me|hang on|hold on|gosh|boy|dear|i|the|it'?s|that)\b)|"
                           r"(?:^|(?<=[.!?]\s))oh\b(?=[,!])", re.I)


def _repeated(digits: str) -> str | None:
    """The last group said twice to be sure ("... one one nine three. Yes. One one nine
    three."): once."""
    for n in (4, 3):
        if len(digits) - n == 10 and digits[-n:] == digits[-2 * n:-n]:
            return digits[:-n]
    return None


def _digits(text: str) -> str:
    chars, _ = spoken_chars(text, "digits")
    return "".join(c for c in chars if c.isdigit())


def _restarted(text: str) -> str | None:
    """A number said with a restart ("five five five, four nine, uh, no, sorry, three nine
    two zero"; "...4420, oh no, that's the house phone, 608 555 0193"): what follows the last
    restart replaces as many digits at the end of what came before."""
    marks = list(_RESTART.finditer(text))
    for mark in reversed(marks):
        before, after = _digits(text[: mark.start()]), _digits(text[mark.end():])
        if not after:
            continue
        if len(after) >= 10:
            return after[-10:]
        if len(before) + len(after) > 10:
            return before[: 10 - len(after)] + after
    return None
