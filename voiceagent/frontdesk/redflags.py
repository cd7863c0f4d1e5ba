"""Red flags: emergency and urgent symptoms, found in the caller's own words.

Each rule (``red_flags:`` in clinic.yaml) has exact ``phrases`` and ``signs``. A sign is a
combination of concepts that must all be present in one sentence, each concept a set of
alternatives: ``"chest + pain|pressure|tight|tightness"`` fires on "my chest feels tight"
and on "pressure in my chest", but never on "pain" or "chest" alone. That is the whole
difference from fuzzy matching, which fired on "pain", "my arm" or even "I": at a physical
therapy clinic most callers mention pain and a body part, and only the combination is a
red flag.

A concept that the caller negates ("no chest pain", "I don't have any numbness") does not
count. Matching is exact on normalized words (with a few spelling variants given as
alternatives), so an ordinary line cannot fire by resemblance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    EMERGENCY = "emergency"  # call 911 now: the call ends after the advice
    URGENT = "urgent"  # see a doctor today: advice, an urgent message, the call may go on


# words that negate a concept when they stand shortly before it ("no chest pain", "I don't
# have any numbness"), and those that negate only the word right after them ("not short of
# breath", while "not able to breathe" is no negation of breathing)
_NEGATORS = {"no", "never", "without", "don't", "dont", "doesn't", "didn't", "haven't",
             "hasn't", "denies", "nor"}
_NEGATION_WINDOW = 3
_NEGATES_NEXT = {"not", "isn't", "wasn't", "aren't"}
# "a stroke last year", "recovering from a concussion": history, not what is happening now;
# unless the same sentence also says it is happening now
_REMOTE_PAST = re.compile(r"\b(last (year|spring|summer|fall|winter|month)|(years?|months?) ago|"
                          r"recovering from|history of|healed|in the past|a while back)\b")
_NOW = re.compile(r"\b(today|now|tonight|this (morning|afternoon|evening)|yesterday|just|again|"
                  r"came back|started|suddenly|sudden)\b")
_SENTENCE = re.compile(r"[.!?;]+|\bbut\b|\bhowever\b")
# figures of speech, not symptoms: "I almost had a heart attack when they told me the price"
_FIGURATIVE = re.compile(r"\b(almost|nearly|practically|about to|could have|could've|"
                         r"gonna|going to) (had|have|having) a heart attack\b|"
                         r"\b(gave|give|giving) me a heart attack\b")


def normalize(text: str) -> str:
    """Lower case, apostrophes kept, other punctuation to spaces, spaces collapsed."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _tokens(text: str) -> list[str]:
    return normalize(text).split()


@dataclass(frozen=True)
class Sign:
    """Concepts that must all appear in one sentence; each concept a tuple of alternatives,
    each alternative a tuple of words."""

    concepts: tuple[tuple[tuple[str, ...], ...], ...]

    @classmethod
    def parse(cls, spec: str) -> Sign:
        """``"chest + pain|pressure"`` -> two concepts. Raises ValueError when malformed."""
        concepts = []
        for part in spec.split("+"):
            alternatives = tuple(tuple(_tokens(a)) for a in part.split("|"))
            if not part.strip() or any(not a for a in alternatives):
                raise ValueError(f"{spec!r}: write concepts as 'a|b + c|d' (an empty one "
                                 "was found)")
            concepts.append(alternatives)
        return cls(tuple(concepts))

    def found_in(self, words: Sequence[str]) -> bool:
        return all(any(_present(words, alt) for alt in concept) for concept in self.concepts)


def _present(words: Sequence[str], phrase: tuple[str, ...]) -> bool:
    """The phrase occurs as whole words, not negated just before it."""
    n = len(phrase)
    for i in range(len(words) - n + 1):
        if tuple(words[i:i + n]) == phrase or _stem_match(words[i:i + n], phrase):
            before = words[max(0, i - _NEGATION_WINDOW):i]
            if not any(w in _NEGATORS for w in before) and not (
                    before and before[-1] in _NEGATES_NEXT):
                return True
    return False


def _stem_match(words: Sequence[str], phrase: tuple[str, ...]) -> bool:
    """Plural and -ing/-ed forms of the phrase's last word ("legs" for "leg")."""
    if len(words) != len(phrase) or tuple(words[:-1]) != phrase[:-1]:
        return False
    last, want = words[-1], phrase[-1]
    return len(want) >= 3 and last in (want + "s", want + "es", want + "ed", want + "ing",
                                       want + "d")


@dataclass(frozen=True)
class RedFlagRule:
    """One red-flag category: what fires it and what the agent does."""

    id: str
    advice: str
    phrases: tuple[str, ...] = ()
    signs: tuple[Sign, ...] = ()
    severity: Severity = Severity.EMERGENCY
    transfer: bool = False  # the config allows a transfer to staff after the advice
    message_category: str | None = None  # None: the clinic's clinical category

    def fires_on(self, sentence_words: Sequence[str]) -> bool:
        for phrase in self.phrases:
            if _present(sentence_words, tuple(_tokens(phrase))):
                return True
        return any(sign.found_in(sentence_words) for sign in self.signs)


def rules_from_clinic(clinic: object) -> list[RedFlagRule]:
    """The clinic's ``red_flags`` as rules (signs already validated by the config)."""
    out = []
    for f in getattr(clinic, "red_flags", []) or []:
        out.append(RedFlagRule(
            id=f.id, advice=f.advice, phrases=tuple(f.phrases),
            signs=tuple(Sign.parse(s) for s in getattr(f, "signs", []) or []),
            severity=Severity(getattr(f, "severity", "emergency")),
            transfer=bool(getattr(f, "transfer", False)),
            message_category=getattr(f, "message_category", None)))
    return out


def detect(text: str, rules: Iterable[RedFlagRule], context: str = "") -> RedFlagRule | None:
    """The first rule (emergencies before urgent ones) that fires in any sentence. Each
    sentence is read with ``context`` (what the call said before: "after my surgery")."""
    extra = normalize(context).split() if context else []
    said = _FIGURATIVE.sub(" ", normalize_keep_stops(text))
    sentences = [s.split() + extra for s in _SENTENCE.split(said) if s.strip()]
    ordered = sorted(rules, key=lambda r: r.severity != Severity.EMERGENCY)
    for rule in ordered:
        for words in sentences:
            if rule.fires_on(words) and not _only_history(" ".join(words)):
                return rule
    return None


def _only_history(sentence: str) -> bool:
    return bool(_REMOTE_PAST.search(sentence)) and not _NOW.search(sentence)


def normalize_keep_stops(text: str) -> str:
    """Like :func:`normalize`, but sentence stops survive so a negation in one sentence
    does not reach into the next."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9'.!?; ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()
