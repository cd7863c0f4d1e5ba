"""Keys pressed on the phone, gathered into one caller turn.

What ends an entry depends on what the dialog asked for:

* free input (a menu, "press 1 to confirm", 0 for the front desk): the first key is the turn;
* a date of birth: eight digits (MMDDYYYY), ``#``, or a pause of ``timeout_ms``;
* digits (a member ID, a phone number): ``#`` or a pause of ``timeout_ms``.

``*`` starts the entry again. The clock is the call's media time, so a virtual-clock channel
and a real one behave the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceagent.dialog.protocol import ExpectedInput
from voiceagent.speech.events import DtmfDigit

DATE_DIGITS = 8  # MMDDYYYY
END_KEY = "#"
CLEAR_KEY = "*"


@dataclass(frozen=True)
class KeypadTurn:
    """The keys of one entry, as the dialog gets them (``UserTurn.dtmf``)."""

    keys: str
    started_ms: float
    ended_ms: float


class KeypadEntry:
    """Collects the caller's keys until the entry is complete (see module doc)."""

    def __init__(self, timeout_ms: float) -> None:
        self.timeout_ms = timeout_ms
        self._keys = ""
        self._started_ms = 0.0
        self._last_ms = 0.0

    def active(self) -> bool:
        """A key has been pressed and the entry is not complete yet."""
        return bool(self._keys)

    def press(self, key: DtmfDigit, now_ms: float, expected: ExpectedInput) -> KeypadTurn | None:
        """One key; returns the turn if this key completed it."""
        digit = key.digit
        if digit == CLEAR_KEY:
            self._keys = ""
            return None
        if digit == END_KEY:
            return self._complete(now_ms)
        if not digit.isdigit():
            return None  # A-D: no meaning on a clinic's line
        if not self._keys:
            self._started_ms = now_ms
        self._keys += digit
        self._last_ms = now_ms
        if expected is ExpectedInput.FREE:
            return self._complete(now_ms)
        if expected is ExpectedInput.DATE and len(self._keys) >= DATE_DIGITS:
            return self._complete(now_ms)
        return None

    def due(self, now_ms: float) -> KeypadTurn | None:
        """The turn, if the caller stopped pressing keys ``timeout_ms`` ago."""
        if self._keys and now_ms - self._last_ms >= self.timeout_ms:
            return self._complete(now_ms)
        return None

    def _complete(self, now_ms: float) -> KeypadTurn | None:
        if not self._keys:
            return None
        turn = KeypadTurn(self._keys, self._started_ms, now_ms)
        self._keys = ""
        return turn
