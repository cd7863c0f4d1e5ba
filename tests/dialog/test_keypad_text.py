"""What keys stand for, given what the dialog asked."""

from __future__ import annotations

import pytest

from voiceagent.dialog.keypad import keypad_text
from voiceagent.dialog.protocol import ExpectedInput

pytestmark = pytest.mark.unit


def test_digits_asked_for_read_one_by_one_zero_included():
    assert keypad_text("03151980", ExpectedInput.DATE) == "0 3 1 5 1 9 8 0"
    assert keypad_text("0", ExpectedInput.DIGITS) == "0"


def test_a_single_key_otherwise_is_a_menu_choice():
    assert keypad_text("0", ExpectedInput.FREE) == "the front desk"
    assert keypad_text("1", ExpectedInput.FREE) == "yes"
    assert keypad_text("2", ExpectedInput.FREE) == "no"
    assert keypad_text("7", ExpectedInput.FREE) == "7"
