"""Phone numbers read out digit by digit (US numbering)."""

from __future__ import annotations

import phonenumbers

from voiceagent.intake.errors import IntakeError
from voiceagent.intake.result import Parsed
from voiceagent.intake.tokens import say_chars, spoken_chars


def parse_phone(text: str, region: str = "US") -> Parsed[str]:
    """Read a phone number; the value is E.164 (``+15551234567``).

    Accepts "five five five, one two three, four five six seven", "5-5-5, 1-2-3, 4-5-6-7",
    "oh" for zero, "double five", a leading "one" country code.
    """
    chars, _ = spoken_chars(text, "digits")
    digits = "".join(c for c in chars if c.isdigit())
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
