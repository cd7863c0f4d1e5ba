"""Full names said in a sentence ("my name is Jane Smith")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from voiceagent.intake.errors import IntakeError
from voiceagent.intake.result import Parsed

_LEADS = re.compile(
    r"^(?:(?:hi|hello|hey|yes|yeah|sure|ok|okay|um|uh|so|well)[, ]+)*"
    r"(?:(?:my|his|her|their|the adjuster's|the) name is|my name's|his name's|her name's|"
    r"name's|names|the name's|"
    r"name is|this is|it's|it is|i am|i'm|call me|that's|that is|the adjuster is)?\s*",
    re.IGNORECASE,
)
_NOT_NAMES = {"and", "the", "calling", "here", "speaking", "please", "thanks", "thank", "you"}


def without_leads(text: str) -> str:
    """The name part of an answer: "my name is Jane Smith" -> "Jane Smith"."""
    return _LEADS.sub("", text.strip())


@dataclass(frozen=True)
class FullName:
    first: str
    last: str


def parse_full_name(text: str) -> Parsed[FullName]:
    """First and last name from a sentence; the read-back is "Jane Smith"."""
    if re.search(r"\d", text):
        raise IntakeError("name", "may I have your first and last name?")
    body = without_leads(text)
    words = [w for w in re.findall(r"[^\W\d_](?:[^\W\d_]|['\-])*", body)  # "Joaquín", "O'Neil"
             if w.lower() not in _NOT_NAMES]
    if len(words) < 2 or len(words) > 4:
        # more than a name's worth of words is a sentence, not a name
        raise IntakeError("name", "may I have your first and last name?")
    first, last = words[0], words[-1]
    name = FullName(first[:1].upper() + first[1:].lower(), last[:1].upper() + last[1:].lower())
    return Parsed(name, f"{name.first} {name.last}")
