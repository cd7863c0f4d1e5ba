"""Spoken characters: digits and letters said one by one, as a transcript writes them.

Handles "5-5-5", "five five five", "oh" for zero, "double five", "triple oh", letter names
("ess", "aitch", "double-u"), the NATO alphabet and "S as in Sam" (the example word wins
when the letter and the word disagree: a transcript mishears a lone letter more often than
a word).
"""

from __future__ import annotations

import re
from typing import Literal

from text_to_num import alpha2digit

Mode = Literal["digits", "letters", "mixed"]

DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "nil": "0",
}
# Homophones a transcript writes when digits are read out; only trusted in digits mode.
DIGIT_HOMOPHONES = {"to": "2", "too": "2", "for": "4", "fore": "4", "ate": "8", "won": "1"}

LETTER_NAMES = {
    "ay": "A", "bee": "B", "be": "B", "see": "C", "sea": "C", "cee": "C", "dee": "D",
    "ef": "F", "eff": "F", "gee": "G", "aitch": "H", "haitch": "H", "eye": "I", "jay": "J",
    "kay": "K", "el": "L", "ell": "L", "em": "M", "en": "N", "pee": "P", "pea": "P",
    "queue": "Q", "cue": "Q", "are": "R", "ar": "R", "ess": "S", "es": "S", "tee": "T",
    "tea": "T", "you": "U", "vee": "V", "ex": "X", "why": "Y", "zee": "Z", "zed": "Z",
}
NATO = {
    "alpha": "A", "alfa": "A", "bravo": "B", "charlie": "C", "delta": "D", "echo": "E",
    "foxtrot": "F", "golf": "G", "hotel": "H", "india": "I", "juliet": "J", "juliett": "J",
    "kilo": "K", "lima": "L", "mike": "M", "november": "N", "oscar": "O", "papa": "P",
    "quebec": "Q", "romeo": "R", "sierra": "S", "tango": "T", "uniform": "U", "victor": "V",
    "whiskey": "W", "whisky": "W", "xray": "X", "yankee": "Y", "zulu": "Z",
}
EXAMPLE_MARKERS = (("as", "in"), ("like",), ("for",))
FILLERS = {
    "uh", "um", "er", "ah", "and", "then", "the", "is", "it's", "its", "it", "that's",
    "my", "number", "numbers", "dash", "hyphen", "space", "capital", "letter", "letters",
    "spelled", "spelling", "that", "okay", "ok", "so", "yes", "yeah", "sorry", "name",
    "last", "first", "id", "member", "digits", "digit", "area", "code", "phone", "period",
    "dot", "comma", "please", "again", "i'm", "like", "ends", "with", "starts", "a", "an",
}
MULTIPLIERS = {"double": 2, "triple": 3}


def _words(text: str, mode: Mode) -> list[str]:
    text = text.lower().replace("x-ray", "xray").replace("double-u", "double u")
    if mode != "letters":
        # "twelve thirty four" -> "12 34"; single digit words stay words, handled below.
        text = alpha2digit(text, "en", threshold=0)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]


def _letter(word: str) -> str | None:
    if len(word) == 1 and word.isalpha():
        return word.upper()
    return LETTER_NAMES.get(word) or NATO.get(word)


def _example_at(words: list[str], i: int) -> int:
    """Length of an "as in" / "for" / "like" marker starting at ``i`` (0 if none)."""
    for marker in EXAMPLE_MARKERS:
        if tuple(words[i : i + len(marker)]) == marker and i + len(marker) < len(words):
            return len(marker)
    return 0


def spoken_chars(text: str, mode: Mode) -> tuple[list[str], list[str]]:
    """Read the characters said one by one in ``text``.

    Returns ``(chars, unknown)``: the upper-case letters and digits in order, and the words
    that were neither characters nor fillers (callers decide whether those matter).
    """
    words = _words(text, mode)
    chars: list[str] = []
    unknown: list[str] = []
    repeat = 1
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word in MULTIPLIERS:
            nxt = words[i] if i < len(words) else ""
            if mode != "digits" and nxt in ("u", "you"):
                chars.append("W")
                i += 1
                continue
            repeat = MULTIPLIERS[word]
            continue
        emitted: list[str]
        if word.isdigit():
            emitted = list(word) * repeat if len(word) == 1 else list(word)
        elif mode != "letters" and word in ("oh", "o") and (
            mode == "digits" or (chars and chars[-1].isdigit()) or _next_is_digit(words, i)
        ):
            emitted = ["0"] * repeat
        elif mode != "letters" and word in DIGIT_WORDS and word not in ("oh", "o"):
            emitted = [DIGIT_WORDS[word]] * repeat
        elif mode == "digits" and word in DIGIT_HOMOPHONES:
            emitted = [DIGIT_HOMOPHONES[word]] * repeat
        elif mode != "digits" and word.isalnum() and any(c.isdigit() for c in word):
            emitted = [c.upper() for c in word]  # "xyz123" written as one word
        elif mode != "digits" and (letter := _letter(word)) is not None:
            skip = _example_at(words, i) if word not in NATO else 0
            if skip:
                example = words[i + skip]
                if example[0].isalpha():
                    letter = example[0].upper()
                i += skip + 1
            emitted = [letter] * repeat
        elif word in FILLERS:
            emitted = []
        else:
            unknown.append(word)
            emitted = []
        if emitted or word not in FILLERS:
            repeat = 1
        chars.extend(emitted)
    return chars, unknown


def _next_is_digit(words: list[str], i: int) -> bool:
    if i >= len(words):
        return False
    nxt = words[i]
    return nxt.isdigit() or (nxt in DIGIT_WORDS and nxt not in ("oh", "o"))


DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def say_chars(chars: str, groups: tuple[int, ...] = ()) -> str:
    """Read-back text: digits as words, letters as letters, commas between groups."""
    spoken = [DIGIT_NAMES[int(c)] if c.isdigit() else c for c in chars]
    if not groups:
        return " ".join(spoken)
    out: list[str] = []
    start = 0
    for size in groups:
        out.append(" ".join(spoken[start : start + size]))
        start += size
    if start < len(spoken):
        out.append(" ".join(spoken[start:]))
    return ", ".join(part for part in out if part)
