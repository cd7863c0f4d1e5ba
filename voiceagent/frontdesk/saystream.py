"""Speak the ``"say"`` field of a JSON action while the model is still generating it.

A capable model answers ``{"say": "...", "tool": ..., "arguments": {...}}`` under a grammar;
the grammar keeps the schema's key order, so ``say`` comes first and its clauses can go to
TTS before the JSON is complete.
"""

from __future__ import annotations

import re

from voiceagent.speech.clauses import ABBREVIATION

_KEY = re.compile(r'"say"\s*:\s*"')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "", "f": "", "n": " ", "r": " ", "t": " "}
_BOUNDARY = re.compile(r"(?<=[.!?])\s+")


class SayStream:
    """Feed raw JSON text; get back finished clauses of the ``say`` string."""

    def __init__(self) -> None:
        self.raw = ""
        self.pos = 0  # next raw index to decode, once inside the string
        self.inside = False
        self.done = False
        self.pending = ""  # decoded text not yet emitted
        self.text = ""  # everything decoded so far

    def feed(self, piece: str) -> list[str]:
        self.raw += piece
        if self.done:
            return []
        if not self.inside:
            match = _KEY.search(self.raw)
            if match is None:
                return []
            self.inside = True
            self.pos = match.end()
        self._decode()
        return self._clauses(final=self.done)

    def flush(self) -> list[str]:
        """Whatever is left when the stream ends (an unterminated string included)."""
        return self._clauses(final=True)

    def _decode(self) -> None:
        raw, i = self.raw, self.pos
        while i < len(raw):
            ch = raw[i]
            if ch == "\\":
                if i + 1 >= len(raw):
                    break  # wait for the escaped character
                nxt = raw[i + 1]
                if nxt == "u":
                    if i + 6 > len(raw):
                        break
                    try:
                        self._add(chr(int(raw[i + 2 : i + 6], 16)))
                    except ValueError:
                        pass
                    i += 6
                    continue
                self._add(_ESCAPES.get(nxt, nxt))
                i += 2
                continue
            if ch == '"':
                self.done = True
                i += 1
                break
            self._add(ch)
            i += 1
        self.pos = i

    def _add(self, text: str) -> None:
        self.pending += text
        self.text += text

    def _clauses(self, final: bool) -> list[str]:
        out: list[str] = []
        while True:
            match = _BOUNDARY.search(self.pending)
            if match is None:
                break
            head = self.pending[: match.start()].strip()
            if ABBREVIATION.search(head):
                # "Dr. Okafor": not a sentence end; look for the next boundary
                nxt = _BOUNDARY.search(self.pending, match.end())
                if nxt is None:
                    break
                head = self.pending[: nxt.start()].strip()
                self.pending = self.pending[nxt.end() :]
            else:
                self.pending = self.pending[match.end() :]
            if head:
                out.append(head)
        if final and self.pending.strip():
            out.append(self.pending.strip())
            self.pending = ""
        return out
