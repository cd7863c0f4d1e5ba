"""Cut reply text into clauses for streaming TTS: a short first clause, then sentences.

The first clause is what the caller waits for, so it is cut short: at its first comma when
that comes early, else after at most ``first_max_words`` words, preferably before a word
that opens a phrase ("with our therapists", "from eight to six") so the cut sounds like a
breath, not a stumble. Later clauses are whole sentences (synthesized while the first plays).
"""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# a period that ends one of these does not end the sentence ("Dr. Okafor", "9 a.m. on")
ABBREVIATION = re.compile(r"(?:^|\s)(?:Dr|Mr|Mrs|Ms|St|Ste|Jr|Sr|[ap]\.m|vs)\.$", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"(?<=[,;:])\s+")
# words that open a phrase: a cut just before one keeps the phrase whole
PHRASE_OPENERS = frozenset(
    "and or but so because if when while which who that to for with from at on in by "
    "about after before until between than".split()
)
MIN_FIRST_WORDS = 3  # a shorter first clause is not worth its own synthesis call


def first_cut(words: list[str], max_words: int) -> int:
    """How many of ``words`` go into a first clause of at most ``max_words`` words."""
    limit = min(max_words, len(words))
    for i in range(limit, MIN_FIRST_WORDS - 1, -1):
        if i < len(words) and words[i].lower().strip(",.;:!?") in PHRASE_OPENERS:
            return i
    return limit


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; an abbreviation's period ("Dr. Okafor") ends none."""
    out: list[str] = []
    for piece in _SENTENCE.split(text.strip()):
        piece = piece.strip()
        if not piece:
            continue
        if out and ABBREVIATION.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def split_clauses(text: str, first_max_words: int = 6) -> list[str]:
    """Sentences, with the first one cut at a comma (or after ``first_max_words`` words)
    when it is long, so the first audio can start sooner."""
    sentences = split_sentences(text)
    if not sentences:
        return []
    first = sentences[0]
    words = first.split()
    if len(words) > first_max_words:
        parts = _CLAUSE_BREAK.split(first, maxsplit=1)
        if len(parts) == 2 and len(parts[0].split()) <= 2 * first_max_words:
            head, rest = parts
        elif 2 * len(words) > 3 * first_max_words:
            cut = first_cut(words, first_max_words)
            head, rest = " ".join(words[:cut]), " ".join(words[cut:])
        else:
            head, rest = first, ""
        sentences = [head] + ([rest] if rest else []) + sentences[1:]
    return sentences


class ClauseBuffer:
    """Collects streamed text (LLM tokens) and releases whole clauses as they complete."""

    def __init__(self, first_max_words: int = 6) -> None:
        self._text = ""
        self._first = True
        self._first_max = first_max_words

    def push(self, piece: str) -> list[str]:
        self._text += piece
        out: list[str] = []
        while True:
            clause = self._next_clause()
            if clause is None:
                return out
            out.append(clause)

    def flush(self) -> list[str]:
        rest = self._text.strip()
        self._text = ""
        return [rest] if rest else []

    def _next_clause(self) -> str | None:
        pattern = r"[,;:.!?]\s" if self._first else r"[.!?]\s"
        for match in re.finditer(pattern, self._text):
            clause = self._text[: match.end()].strip()
            if ABBREVIATION.search(clause):
                continue  # "Dr." does not end the sentence
            if self._first and match.group()[0] in ",;:" and len(clause.split()) < 2:
                continue  # "Sure," alone is too short to be worth a synthesis call
            if self._first and len(clause.split()) > self._first_max:
                break  # the first stop came late: cut by words below
            self._text = self._text[match.end() :]
            self._first = False
            return clause
        if self._first:
            words = self._text.split()
            ended = self._text[-1:].isspace()  # else the last word is still arriving
            complete = words if ended else words[:-1]
            if len(complete) > self._first_max:
                cut = first_cut(complete, self._first_max)
                self._text = " ".join(words[cut:]) + (" " if ended else "")
                self._first = False
                return " ".join(words[:cut])
        return None
