"""The front desk reads keys like words: a keyed date of birth and member ID, 0 for a person."""

from __future__ import annotations

from datetime import date

import pytest

from tests.frontdesk.test_policy import BOOKING, run
from voiceagent.dialog.protocol import ExpectedInput, Transfer, UserTurn
from voiceagent.frontdesk.policy import FrontDeskDialog
from voiceagent.frontdesk.state import ConversationState

pytestmark = pytest.mark.unit


def test_a_keyed_date_of_birth_is_taken_like_a_spoken_one(backend):
    dialog = FrontDeskDialog(backend, state=ConversationState(channel="phone"))
    run(dialog, BOOKING[:4])
    assert dialog.expected_input() is ExpectedInput.DATE
    list(dialog.respond(UserTurn("", dtmf="03031982")))
    assert dialog.state.fields["dob"] == date(1982, 3, 3).isoformat()


def test_a_keyed_member_id_is_taken_digit_for_digit(backend):
    dialog = FrontDeskDialog(backend, state=ConversationState(channel="phone"))
    run(dialog, BOOKING[:7])
    assert dialog.expected_input() is ExpectedInput.DIGITS
    list(dialog.respond(UserTurn("", dtmf="104050607")))
    assert dialog.state.fields["member_id"] == "104050607"


def test_key_zero_asks_for_the_front_desk(backend):
    dialog = FrontDeskDialog(backend, state=ConversationState(channel="phone"))
    run(dialog, [])
    events = list(dialog.respond(UserTurn("", dtmf="0")))
    assert [e for e in events if isinstance(e, Transfer)]
