"""Keys pressed on the phone, gathered into one caller turn.

What ends an entry depends on what the dialog asked for:

* free input (a menu, "press 1 to confirm", 0 for the front desk): the first key is the turn;
* a date of birth: eight digits (MMDDYYYY), ``#``, or a pause of ``timeout_ms``;
* digits (a member ID, a phone number): ``#`` or a pause of ``timeout_ms``.

``*`` starts the entry again. The clock is the call's media time, so a virtual-clock channel
and a real one behave the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from voiceagent.dialog.protocol import ExpectedInput
from voiceagent.speech.events import DtmfDigit
from voiceagent.speech.playback import Player, Reply

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


class KeypadInput:
    """Keys as caller input, on the thread that feeds audio: the first key stops the agent
    talking (the reply is held, to be dropped when the entry is answered), and a complete
    entry is handed to ``answer`` with the reply it cut off."""

    def __init__(self, timeout_ms: float, player: Player,
                 answer: Callable[[KeypadTurn, Reply | None], None]) -> None:
        self.entry = KeypadEntry(timeout_ms)
        self.player = player
        self._answer = answer
        self._keyed_over: Reply | None = None  # the reply the entry's first key stopped

    def active(self) -> bool:
        return self.entry.active()

    def press(self, key: DtmfDigit, now_ms: float, expected: ExpectedInput) -> None:
        if self.player.active() and self._keyed_over is None:
            self._keyed_over = self.player.hold()  # frees the reply worker for the keyed turn
        turn = self.entry.press(key, now_ms, expected)
        if turn is not None:
            self._complete(turn)

    def tick(self, now_ms: float) -> None:
        """Every frame: an entry whose keys stopped coming is complete."""
        turn = self.entry.due(now_ms)
        if turn is not None:
            self._complete(turn)

    def _complete(self, turn: KeypadTurn) -> None:
        interrupted, self._keyed_over = self._keyed_over, None
        self._answer(turn, interrupted)
