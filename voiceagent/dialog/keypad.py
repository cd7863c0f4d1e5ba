"""What the caller's keys mean to a dialog that reads words: one place for the keypad's
conventions (a date or an ID keyed digit by digit, 1 and 2 to confirm or deny, 0 for the
front desk)."""

from __future__ import annotations

from voiceagent.dialog.protocol import ExpectedInput

# keys with a meaning of their own when the dialog is not waiting for digits
MENU_KEYS = {"0": "the front desk", "1": "yes", "2": "no"}


def keypad_text(keys: str, expected: ExpectedInput) -> str:
    """The words a keyed entry stands for, given what the dialog asked for.

    Digits asked for (a date of birth, a member ID) read as the digits one by one, the way a
    caller would say them; a single key at any other time is a menu choice."""
    if expected is ExpectedInput.FREE and keys in MENU_KEYS:
        return MENU_KEYS[keys]
    return " ".join(keys)
