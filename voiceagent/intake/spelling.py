"""Names spelled letter by letter ("S as in Sam, M, I, T, H")."""

from __future__ import annotations

from voiceagent.intake.errors import IntakeError
from voiceagent.intake.result import Parsed
from voiceagent.intake.tokens import spoken_chars


def parse_spelled_name(text: str) -> Parsed[str]:
    """Read a spelled name; the value is capitalised ("Smith"), the read-back spells it.

    When the transcript glued the letters into one word ("Smith." for "S-M-I-T-H") and no
    single letters were heard, that word is taken as the spelling.
    """
    chars, unknown = spoken_chars(text, "letters")
    letters = [c for c in chars if c.isalpha()]
    if len(letters) < 2:
        words = [w for w in unknown if w.isalpha() and len(w) > 1]
        if len(words) == 1:
            letters = [c.upper() for c in words[0]]
    if len(letters) < 2:
        raise IntakeError("name", "I didn't catch the spelling; please spell the name one "
                          "letter at a time, like S as in Sam")
    name = "".join(letters).capitalize()
    return Parsed(name, ", ".join(letters))
