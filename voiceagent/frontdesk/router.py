"""Deterministic intent routing: red flags first (exact, see redflags.py), then keywords plus
fuzzy example phrases.

The small bundled LLM picks the right tool only a third of the time, so the step a call is
in is decided here, from the clinic's own example phrases (``intents:`` in clinic.yaml)
and built-in keywords. Matching is fuzzy (rapidfuzz) because transcripts misspell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from voiceagent.frontdesk.redflags import RedFlagRule, detect, normalize, rules_from_clinic

# The intents the dialog policy acts on. Clinic configs may add example phrases to these
# (or define others; an unknown intent is treated as "take a message").
BOOK = "book_appointment"
RESCHEDULE = "reschedule_appointment"
CANCEL = "cancel_appointment"
MY_APPOINTMENTS = "find_my_appointments"
QUESTION = "ask_question"
MESSAGE = "leave_message"
HUMAN = "speak_to_person"
GOODBYE = "end_call"
KNOWN_INTENTS = (BOOK, RESCHEDULE, CANCEL, MY_APPOINTMENTS, QUESTION, MESSAGE, HUMAN, GOODBYE)

# Aliases a clinic config may use for the same intents.
INTENT_ALIASES = {
    "book": BOOK, "book_evaluation": BOOK, "book_appointment": BOOK, "booking": BOOK,
    "schedule": BOOK, "new_appointment": BOOK,
    "reschedule": RESCHEDULE, "cancel": CANCEL, "cancellation": CANCEL,
    "my_appointments": MY_APPOINTMENTS, "appointments": MY_APPOINTMENTS,
    "confirm": MY_APPOINTMENTS,
    "faq": QUESTION, "question": QUESTION, "questions": QUESTION,
    "insurance_question": QUESTION, "message": MESSAGE, "take_message": MESSAGE,
    "referral": MESSAGE, "human": HUMAN, "transfer": HUMAN, "operator": HUMAN,
    "speak_to_staff": HUMAN,
    "goodbye": GOODBYE, "bye": GOODBYE,
}

# keyword -> weight. Phrases match on word boundaries; single words also fuzzily (>= 88).
KEYWORDS: dict[str, dict[str, float]] = {
    BOOK: {"book": 2, "schedule": 2, "appointment": 1, "new patient": 2, "evaluation": 1.5,
           "come in": 2, "get in": 2, "see someone": 1.5, "see a therapist": 2, "eval": 1.5,
           "make an appointment": 3, "set up": 1.5, "referral": 2, "available": 1,
           "set something up": 3, "set up an appointment": 3, "set up therapy": 3,
           "set up physical therapy": 3, "get scheduled": 3, "get something scheduled": 3},
    RESCHEDULE: {"reschedule": 4, "move my": 3, "change my appointment": 4, "different time": 3,
                 "different day": 3, "push back": 3, "another time": 2.5, "move it": 3,
                 "move one of my": 4, "change one of my": 4, "switch my": 3, "change my": 2.5,
                 "change the time": 3, "change the day": 3, "push my": 3, "bump my": 3},
    CANCEL: {"cancel": 4, "can't make it": 4, "cannot make it": 4, "won't make it": 4,
             "call off": 3, "not coming": 3},
    MY_APPOINTMENTS: {"when is my appointment": 5, "my next appointment": 4,
                      "what time is my": 4, "do i have an appointment": 5, "confirm my": 4,
                      "check my appointment": 5, "tell me when it is": 4, "when it is": 2,
                      "what day is my": 4, "forgot when": 4, "forgot what time": 4,
                      "remember when my": 4, "remember what time": 4,
                      "can't find the card": 3, "when am i scheduled": 5,
                      "when am i supposed to come": 5, "when am i coming in": 5},
    QUESTION: {"hours": 2, "open": 2, "close": 1.5, "insurance": 2, "accept": 1.5, "take my": 1,
               "where are you": 3, "address": 2, "located": 2, "parking": 3, "park": 2,
               "cost": 2, "price": 2, "how much": 2.5, "bring": 2, "wear": 2, "medicare": 2,
               "do you take": 2.5, "what should i": 1.5, "fax": 2, "do you have": 2,
               "is there": 2, "question": 2, "do you offer": 2},
    MESSAGE: {"message": 3, "leave a message": 4, "pass along": 3, "let them know": 3,
              "call me back": 3, "callback": 3, "tell my therapist": 3, "bill": 1.5,
              "billing": 2.5, "statement": 2, "charged": 2.5, "invoice": 3, "records": 2,
              "therapy notes": 4, "my notes": 3, "my records": 3, "send my records": 3,
              "complaint": 4, "complain": 4, "talk to a manager": 3,
              "speak to a manager": 3, "talk to the manager": 3, "manager call": 3,
              "running late": 4, "going to be late": 4, "be late": 3, "stuck in traffic": 4,
              "can someone call": 4, "have someone call": 4, "someone call me": 4,
              "leave my number": 3, "on file": 2, "update my": 2.5},
    HUMAN: {"person": 2.5, "human": 3, "someone": 1, "operator": 3, "representative": 3,
            "receptionist": 3, "front desk": 3, "real person": 4, "agent": 1.5,
            "talk to somebody": 3, "speak to": 1.5, "talk to": 1, "who do i talk to": 3,
            "who should i talk to": 3, "who can i talk to": 3, "who do i speak to": 3,
            "talk to billing": 3.5, "speak to billing": 3.5, "talk to someone": 3},
    GOODBYE: {"bye": 3, "goodbye": 4, "that's all": 3, "that is all": 3, "nothing else": 3,
              "hang up": 3, "that's it": 2.5, "have a good day": 2.5, "i'll call back": 3,
              "i will call back": 3, "call you back": 3, "call back later": 3,
              "and call back": 3, "i'll think about it": 3, "never mind": 2.5,
              "gotta go": 3, "got to go": 3, "i have to go": 3},
}

# real words a transcript has that are close to a keyword but mean something else
_NOT_FUZZY = {"humana", "humane", "personal", "persona", "cancer", "scheduled"}


def _has_phrase(norm: str, words: Sequence[str], phrase: str) -> bool:
    if " " in phrase or "'" in phrase:
        return re.search(rf"(?<![a-z']){re.escape(phrase)}(?![a-z'])", norm) is not None
    if phrase in words:
        return True
    if len(phrase) < 6:
        return False
    return any(len(w) >= 5 and w[0] == phrase[0] and w not in _NOT_FUZZY and
               fuzz.ratio(w, phrase) >= 88 for w in words)


@dataclass(frozen=True)
class Route:
    """Where a caller's words point. ``intent`` None: no intent was clear."""

    intent: str | None
    score: float = 0.0
    red_flag: RedFlagRule | None = None
    runner_up: str | None = None


class IntentRouter:
    """Decides the intent of one utterance, red flags first."""

    def __init__(
        self,
        intents: Mapping[str, Iterable[str]] | None = None,
        red_flags: Iterable[RedFlagRule] = (),
        min_score: float = 2.0,
    ) -> None:
        self.examples: dict[str, list[str]] = {name: [] for name in KNOWN_INTENTS}
        for name, phrases in (intents or {}).items():
            canonical = INTENT_ALIASES.get(name, name)
            self.examples.setdefault(canonical, []).extend(normalize(p) for p in phrases)
        self.red_flags = list(red_flags)
        self.min_score = min_score

    @classmethod
    def from_clinic(cls, clinic: object) -> IntentRouter:
        """Build from a ClinicConfig (its ``intents`` and ``red_flags``)."""
        intents = getattr(clinic, "intents", {}) or {}
        return cls(intents, rules_from_clinic(clinic))

    def red_flag(self, text: str, context: str = "") -> RedFlagRule | None:
        """The red flag the caller's words describe (see :mod:`voiceagent.frontdesk.redflags`);
        ``context`` is what earlier turns established ("after my surgery")."""
        return detect(text, self.red_flags, context=context)

    def scores(self, text: str) -> dict[str, float]:
        """Each intent's score: keyword weights plus example similarity (0..3)."""
        norm = re.sub(r"\bthat(?:'s| is) all right\b", "that's fine", normalize(text))
        words = norm.split()
        out: dict[str, float] = {}
        for intent, examples in self.examples.items():
            kw = sum(w for k, w in KEYWORDS.get(intent, {}).items() if _has_phrase(norm, words, k))
            best = max((fuzz.token_set_ratio(norm, e) for e in examples), default=0.0)
            similar = 0.0 if best < 70 else (best - 70) / 10  # 70 -> 0, 100 -> 3
            out[intent] = kw + similar
        if _HAS_VISIT.search(norm) and _WANTS_OTHER_TIME.search(norm) and \
                RESCHEDULE in out and not re.search(r"\bcancel", norm):
            # "I have therapy tomorrow at eight and my car's in the shop; can I come later?"
            out[RESCHEDULE] += 4
        return out

    def route(self, text: str) -> Route:
        """The intent of ``text``; a red flag wins over everything else."""
        flag = self.red_flag(text)
        if flag is not None:
            return Route(None, 100.0, red_flag=flag)
        scores = self.scores(text)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], KNOWN_INTENTS.index(kv[0])
                                                         if kv[0] in KNOWN_INTENTS else 99))
        if not ranked or ranked[0][1] < self.min_score:
            return Route(None, ranked[0][1] if ranked else 0.0)
        runner = ranked[1][0] if len(ranked) > 1 and ranked[1][1] >= self.min_score else None
        return Route(ranked[0][0], ranked[0][1], runner_up=runner)


_HAS_VISIT = re.compile(r"\b(i have|i've got|i got|i'm scheduled|i'm booked|i am scheduled|"
                        r"my) (an |a |my )?(appointment|appt|therapy|pt|session|visit|"
                        r"evaluation|follow up)\b")
_WANTS_OTHER_TIME = re.compile(r"\b(later|earlier|instead|different|another|other day|"
                               r"other time|move|switch|push|come in (later|earlier)|"
                               r"can i come|could i come|can we do|could we do)\b")


# --- yes and no: only a clear one counts ----------------------------------------------------

_YES_START = ("yes", "yeah", "yep", "yup", "yah", "ya", "sure", "correct", "right", "ok", "okay",
              "perfect", "absolutely", "definitely", "exactly", "great", "fine", "affirmative",
              "uh huh", "mm hmm", "that's right", "that is right", "that's correct",
              "sounds good", "that works", "that's fine", "please do", "go ahead", "book it",
              "that one", "do it", "of course", "alright", "all right", "yes please",
              "that would be great", "that'd be great", "works for me", "that's perfect",
              "that's all correct", "that is all correct", "all correct", "all good",
              "everything's correct", "everything is correct", "looks good", "yes it is")
_NO_START = ("no", "nope", "nah", "negative", "not really", "that's wrong", "that's not right",
             "incorrect", "wrong", "not quite", "no thanks", "no thank you", "don't book",
             "do not book", "that doesn't work", "that does not work", "doesn't work")
_HEDGES = {"but", "actually", "wait", "although", "except", "instead"}


def _starts(norm: str, options: tuple[str, ...]) -> bool:
    return any(norm == o or norm.startswith(o + " ") for o in options)


def is_affirmative(text: str) -> bool:
    """A yes said as a yes: "yes", "yeah that's right", "sure, go ahead". Not an "okay"
    inside another sentence, not "yes, but ...", not a question, never also a no."""
    norm = normalize(text)
    if re.fullmatch(r"\s*(yes|yeah|yep|yup|okay|ok|sure|correct|right)[.!?]*\s*", text, re.I):
        return True  # "Yes?": a transcript's question mark on a bare yes (rising voice)
    if not norm or "?" in text or is_negative(text):
        return False
    words = norm.split()
    if _HEDGES & set(words) or re.search(r"\b(call (you |them )?back|later|think about it|"
                                         r"not now|maybe|i'll ask|talk to my|change|wrong|"
                                         r"mistake)\b", norm):
        return False
    if _starts(norm, _YES_START) and len(words) <= 8:
        return True
    # "That's all correct, young lady. Or young man, I suppose.": the first sentence is the
    # answer, what follows is small talk (no hedge, no change, checked above)
    first = normalize(re.split(r"(?<=[.!;])\s+", text.strip(), maxsplit=1)[0])
    return bool(first) and _starts(first, _YES_START) and len(first.split()) <= 6


def is_negative(text: str) -> bool:
    """A no said as a no ("no", "nope, that's wrong"); not a question."""
    norm = normalize(text)
    if not norm or "?" in text:
        return False
    return _starts(norm, _NO_START) or norm in ("that's not it", "not right", "wrong one")
