"""Cut reply text into clauses for streaming TTS: a short first clause, then sentences."""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_BREAK = re.compile(r"(?<=[,;:])\s+")


def split_clauses(text: str, first_max_words: int = 6) -> list[str]:
    """Sentences, with the first one cut at a comma (or after ``first_max_words`` words)
    when it is long, so the first audio can start sooner."""
    sentences = [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]
    if not sentences:
        return []
    first = sentences[0]
    words = first.split()
    if len(words) > first_max_words:
        parts = _CLAUSE_BREAK.split(first, maxsplit=1)
        if len(parts) == 2 and len(parts[0].split()) <= 2 * first_max_words:
            head, rest = parts
        elif 2 * len(words) > 3 * first_max_words:
            head = " ".join(words[:first_max_words])
            rest = " ".join(words[first_max_words:])
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
            if self._first and match.group()[0] in ",;:" and len(clause.split()) < 2:
                continue  # "Sure," alone is too short to be worth a synthesis call
            self._text = self._text[match.end() :]
            self._first = False
            return clause
        if self._first and len(self._text.split()) > 2 * self._first_max:
            words = self._text.split()
            self._text = " ".join(words[self._first_max :]) + " "
            self._first = False
            return " ".join(words[: self._first_max])
        return None
