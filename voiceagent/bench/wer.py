"""Word error rate with the normalisation a phone transcript needs.

Case and punctuation are dropped, number words become digits (``text_to_num``, from the
text2num package) and every number, or ID mixing letters and digits, is spelled character by
character, so "nineteen eighty five", "1985" and "19 85" all compare equal, as do
"555-867-5309" and "five five five ...", and "W47291836" and "W 4 7 2 9 1 8 3 6".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_SMALL = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_ORDINAL_SUFFIX = re.compile(r"(\d)(st|nd|rd|th)\b")
_NON_WORD = re.compile(r"[^a-z0-9' ]+")
_CONTRACTIONS = {
    "i'd": "i would",
    "i'm": "i am",
    "that's": "that is",
    "it's": "it is",
    "what's": "what is",
    "don't": "do not",
    "can't": "cannot",
    "i've": "i have",
    "i'll": "i will",
    "doesn't": "does not",
    "you're": "you are",
}


def normalise(text: str) -> list[str]:
    """Lower-case words with numbers spelled as single digits (see the module doc)."""
    from text_to_num import alpha2digit

    text = text.lower().replace("-", " ")
    try:
        text = alpha2digit(text, "en")
    except (ValueError, IndexError):  # text_to_num gives up on odd input; keep the words
        pass
    text = _ORDINAL_SUFFIX.sub(r"\1", text.lower())
    text = text.replace("dr.", "doctor")
    text = _NON_WORD.sub(" ", text)
    words: list[str] = []
    for word in text.split():
        word = word.strip("'")
        if not word:
            continue
        if word in _CONTRACTIONS:
            words.extend(_CONTRACTIONS[word].split())
        elif word in _SMALL:
            words.append(_SMALL[word])
        elif any(c.isdigit() for c in word):
            words.extend(word)  # "w47291836" is read out character by character
        else:
            words.append(word)
    return words


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance over words (substitutions, deletions, insertions)."""
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(
                previous[j] + 1,  # deletion
                current[j - 1] + 1,  # insertion
                previous[j - 1] + (r != h),  # substitution or match
            )
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class WerScore:
    errors: int
    words: int

    @property
    def wer(self) -> float:
        """Errors per reference word (can pass 1.0 when the STT adds words)."""
        return self.errors / self.words if self.words else 0.0


def score(reference: str, hypothesis: str) -> WerScore:
    ref = normalise(reference)
    return WerScore(edit_distance(ref, normalise(hypothesis)), len(ref))


def corpus_wer(pairs: Sequence[tuple[str, str]]) -> WerScore:
    """Pooled WER over (reference, hypothesis) pairs: total errors over total words."""
    scores = [score(r, h) for r, h in pairs]
    return WerScore(sum(s.errors for s in scores), sum(s.words for s in scores))
