"""Member IDs, claim numbers, NPIs and Medicare MBIs read out character by character."""

from __future__ import annotations

import re

from voiceagent.intake.errors import IntakeError
from voiceagent.intake.result import Parsed
from voiceagent.intake.tokens import say_chars, spoken_chars


def parse_member_id(text: str, min_len: int = 5, max_len: int = 20) -> Parsed[str]:
    """Read an insurance member ID or claim number (letters and digits).

    "X Y Z one two three four five" -> ``XYZ12345``.
    """
    chars, _ = spoken_chars(text, "mixed")
    value = "".join(chars)
    if len(value) < min_len:
        raise IntakeError("member_id", "I didn't catch the whole ID; please read it one "
                          "character at a time")
    if len(value) > max_len:
        raise IntakeError("member_id", "that was longer than an ID; please read it again, "
                          "one character at a time")
    return Parsed(value, say_chars(value))


def npi_check_digit(first_nine: str) -> int:
    """The NPI check digit: Luhn over the nine digits with the 80840 prefix."""
    total = 24  # the Luhn contribution of the constant prefix 80840
    for i, ch in enumerate(reversed(first_nine)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def parse_npi(text: str) -> Parsed[str]:
    """Read a 10-digit National Provider Identifier and check its Luhn check digit."""
    chars, _ = spoken_chars(text, "digits")
    digits = "".join(c for c in chars if c.isdigit())
    if len(digits) != 10:
        raise IntakeError("npi", f"I heard {len(digits)} digits; an NPI has ten")
    if digits[0] not in "12":
        raise IntakeError("npi", "an NPI starts with a one or a two; please read it again")
    if npi_check_digit(digits[:9]) != int(digits[9]):
        raise IntakeError("npi", "that NPI doesn't check out; please read it again slowly")
    return Parsed(digits, say_chars(digits, (3, 3, 4)))


# CMS MBI format: C A AN N A AN N A A N N (C: 1-9; A: letters except S L O I B Z).
_A = "[AC-HJKMNP-RT-Y]"
_AN = "[0-9AC-HJKMNP-RT-Y]"
_MBI = re.compile(rf"^[1-9]{_A}{_AN}[0-9]{_A}{_AN}[0-9]{_A}{_A}[0-9][0-9]$")


def is_mbi(value: str) -> bool:
    """Whether a stored ID has the Medicare Beneficiary Identifier's format."""
    return bool(_MBI.match(value))


def parse_mbi(text: str) -> Parsed[str]:
    """Read a Medicare Beneficiary Identifier (11 characters, CMS format rules)."""
    chars, _ = spoken_chars(text, "mixed")
    # MBIs never contain the letter O, so a spoken "oh" is a zero.
    value = "".join("0" if c == "O" else c for c in chars)
    if len(value) != 11:
        raise IntakeError("mbi", f"I heard {len(value)} characters; a Medicare number has "
                          "eleven")
    if not _MBI.match(value):
        raise IntakeError("mbi", "that doesn't match the Medicare number format; please "
                          "read it again one character at a time")
    return Parsed(value, say_chars(value, (4, 3, 4)))
