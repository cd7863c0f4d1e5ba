"""Keys pressed on the phone reach the dialog as one caller turn (``UserTurn.dtmf``)."""

from __future__ import annotations

import pytest

from tests.fakes.keypad_dialog import ASK_CONFIRM, ASK_MEMBER_ID, KeypadDialog
from tests.fakes.session import RATE, run_fake_call
from tests.fakes.speech import speech
from voiceagent.channels.file import KeyPresses
from voiceagent.dialog.protocol import ExpectedInput
from voiceagent.speech.events import DtmfDigit
from voiceagent.speech.keypad import KeypadEntry

pytestmark = pytest.mark.unit


def press(entry: KeypadEntry, keys: str, expected: ExpectedInput, at_ms: float = 0.0):
    done = None
    for index, key in enumerate(keys):
        done = entry.press(DtmfDigit(key), at_ms + 200 * index, expected)
        if done is not None:
            return done
    return done


def test_eight_digits_complete_a_date_of_birth_at_once():
    turn = press(KeypadEntry(3000), "03151980", ExpectedInput.DATE)
    assert turn is not None and turn.keys == "03151980"


def test_an_id_ends_at_the_pound_key_which_is_not_part_of_it():
    entry = KeypadEntry(3000)
    assert press(entry, "A12345", ExpectedInput.DIGITS) is None
    turn = entry.press(DtmfDigit("#"), 2000, ExpectedInput.DIGITS)
    assert turn is not None and turn.keys == "12345"


def test_an_id_ends_after_the_caller_stops_pressing_keys():
    entry = KeypadEntry(3000)
    assert press(entry, "98765", ExpectedInput.DIGITS) is None
    assert entry.due(800 + 2999) is None
    turn = entry.due(800 + 3000)
    assert turn is not None and turn.keys == "98765"
    assert not entry.active()


def test_star_starts_the_entry_again():
    entry = KeypadEntry(3000)
    press(entry, "1234*56", ExpectedInput.DIGITS)
    turn = entry.press(DtmfDigit("#"), 5000, ExpectedInput.DIGITS)
    assert turn is not None and turn.keys == "56"


def test_a_single_key_is_the_turn_when_no_digits_are_expected():
    turn = press(KeypadEntry(3000), "0", ExpectedInput.FREE)
    assert turn is not None and turn.keys == "0"


def test_a_key_that_is_not_on_a_phone_is_refused():
    with pytest.raises(ValueError, match="not a phone key"):
        DtmfDigit("x")


def test_keyed_date_of_birth_member_id_and_confirmation_reach_the_dialog_as_caller_turns():
    dialog = KeypadDialog()
    call = run_fake_call(dialog, [KeyPresses("03151980"), KeyPresses("A12B34#"),
                                  KeyPresses("1")])
    assert [t.dtmf for t in dialog.turns] == ["03151980", "1234", "1"]
    assert all(t.text == "" for t in dialog.turns)
    assert call.texts("caller") == ["[keys] 03151980", "[keys] 1234", "[keys] 1"]
    assert call.texts("agent")[:2] == [ASK_MEMBER_ID, ASK_CONFIRM]
    assert call.record.outcome == "completed"


def test_a_member_id_keyed_without_pound_ends_after_the_keypad_pause():
    dialog = KeypadDialog()
    run_fake_call(dialog, [KeyPresses("03151980"), KeyPresses("55501")])
    assert [t.dtmf for t in dialog.turns] == ["03151980", "55501"]


def test_first_key_stops_the_agent_talking_and_the_dialog_hears_what_was_said():
    dialog = KeypadDialog()
    # the caller answers the member-ID question before it is over
    run_fake_call(dialog, [KeyPresses("03151980"), KeyPresses("4321#")], barge_in_ms=600)
    assert [t.dtmf for t in dialog.turns] == ["03151980", "4321"]
    [heard] = dialog.interruptions
    assert heard and ASK_MEMBER_ID.startswith(heard) and len(heard) < len(ASK_MEMBER_ID)


def test_speech_still_works_next_to_keys():
    dialog = KeypadDialog()
    call = run_fake_call(dialog, [KeyPresses("03151980"), speech("one two three", RATE)])
    assert [t.dtmf for t in dialog.turns] == ["03151980", ""]
    assert dialog.turns[1].text == "one two three"
    assert call.texts("caller")[1] == "one two three"
