"""Whether a caller's words can be the answer to the detail asked for, by their shape: a
date is no name, "the first one's fine" is no employer, ten digits may be a phone or an ID."""

from __future__ import annotations

import re

from voiceagent.frontdesk import router as intents
from voiceagent.frontdesk.understand import Shape, Understanding, glued_spelling

# the shapes an answer to each detail may have
FITS: dict[str, tuple[Shape, ...]] = {
    "full_name": (Shape.NAME,),
    "last_name_spelled": (Shape.SPELLING, Shape.NAME, Shape.OTHER),
    "dob": (Shape.DATE,),
    "phone": (Shape.PHONE, Shape.OTHER),
    "member_id": (Shape.IDENTIFIER, Shape.PHONE, Shape.SPELLING),
    "claim_number": (Shape.IDENTIFIER, Shape.PHONE, Shape.SPELLING),
    "adjuster_phone": (Shape.PHONE, Shape.OTHER),
    "date_of_injury": (Shape.DATE, Shape.OTHER),
    "payer": (Shape.PAYER, Shape.OTHER),
    "adjuster_name": (Shape.NAME,),
}


def fits(field: str, shape: Shape, u: Understanding) -> bool:
    """Whether the words can be the answer to ``field`` at all."""
    if u.question and field not in ("message_body", "when"):
        return False
    if field in FITS:
        if field == "last_name_spelled" and shape is Shape.OTHER:
            return glued_spelling(u.text) and not u.values
        if field in ("phone", "adjuster_phone") and shape is Shape.IDENTIFIER:
            return not re.search(r"\b[a-zA-Z]\b", u.text.replace(" a ", " "))
        if field == "phone" and shape is Shape.OTHER:
            return bool(re.search(r"\d|\b(oh|zero|one|two|three|four|five|six|seven|"
                                  r"eight|nine)\b", u.text, re.I)) and "phone" not in \
                u.values
        if field == "payer" and "payer_named" in u.values:
            return True  # "Blue Cross, X O F 2 2 5 ...": the plan, and its ID after it
        if field == "payer" and shape is Shape.OTHER:
            return "payer_named" in u.values or "coverage_kind" in u.values or \
                "plan_type" in u.values or _payer_words(u.text)
        return shape in FITS[field]
    if field == "message_body":
        return True
    # free text (reason, employer, when, which appointment): not a detail of another kind
    if field in ("reason", "employer") and (u.yes or u.no or re.match(
            r"(?i)(the )?(first|second|third|last|other) one\b", u.text.strip())):
        return False  # "The first one's fine." names no employer
    if field in ("reason", "employer") and set(u.values) & {
            "when", "payer_named", "phone", "dob", "email", "member_id"} and \
            "reason" not in u.values:
        return False  # "Wednesday, any time after one" is no reason for a visit
    return shape in (Shape.OTHER,) or (field == "employer" and shape is Shape.NAME)


def _payer_words(text: str) -> bool:
    norm = intents.normalize(text)
    return any(w in norm for w in ("insurance", "self pay", "pay cash", "pay myself", "plan",
                                   "don't have", "no insurance", "through my", "medicare",
                                   "medicaid"))
