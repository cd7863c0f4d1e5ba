"""The front desk under speculation: a turn prepared in the caller's pause may speak, but
its effects (holds, bookings, messages, identity checks) wait for the endpoint; a discarded
turn leaves neither the store nor the conversation changed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests.frontdesk.conftest import add_patient
from tests.frontdesk.test_policy import BOOKING, run
from voiceagent.clinic.models import Appointment, Message
from voiceagent.dialog.protocol import UserTurn
from voiceagent.dialog.speculation import SpeculationDiscarded, gated
from voiceagent.frontdesk.policy import FrontDeskDialog

pytestmark = pytest.mark.unit

MESSAGE = [
    "Can you take a message for the front desk?",
    "My name is Jane Smith",
    "five five five, one two three, four five six seven",
]


def _discard() -> None:
    raise SpeculationDiscarded


def _count(store, model) -> int:
    with store.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("lines", "last", "model"),
    [
        (BOOKING[:-1], "yes", Appointment),
        (MESSAGE, "Please call me back about my bill", Message),
    ],
    ids=["booking", "message"],
)
def test_discarded_turn_stores_nothing_and_rolls_the_conversation_back(
    backend, store, lines, last, model
):
    dialog = FrontDeskDialog(backend)
    run(dialog, lines)
    before = dialog.checkpoint()
    with gated(_discard), pytest.raises(SpeculationDiscarded):
        list(dialog.respond(UserTurn(last)))
    assert _count(store, model) == 0
    dialog.restore(before)
    assert dialog.state == before
    list(dialog.respond(UserTurn(last)))  # the confirmed turn: stored exactly once
    assert _count(store, model) == 1


def test_reading_the_schedule_and_hours_does_not_wait_but_every_effect_does(backend):
    patient = add_patient(backend)
    with gated(_discard):
        assert backend.find_slots("evaluation", None)
        backend.transfer_open(None)
        backend.next_open_day()
        slot = backend.find_slots("evaluation", None)[0]
        for effect in (
            lambda: backend.hold(slot),
            lambda: backend.verify_identity("Jane Smith", date(1982, 3, 3), "+15551234567"),
            lambda: backend.appointments(patient),
            lambda: backend.take_message(category="callback", subject="s", body="b",
                                         callback_phone=None),
        ):
            with pytest.raises(SpeculationDiscarded):
                effect()
