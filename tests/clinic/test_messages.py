"""Messages/tasks go to the owner role of their configured category."""

from __future__ import annotations

import pytest

from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import InvalidInput
from voiceagent.clinic.messages import create_message, list_messages, set_message_status

pytestmark = pytest.mark.unit

BOT = Actor("assistant", "call-1")


def test_message_is_routed_to_the_categorys_owner_role(store: Store, clinic: ClinicConfig) -> None:
    msg = create_message(
        store,
        clinic,
        category="billing",
        subject="question about a bill",
        body="caller asks about the November statement",
        callback_phone="608-555-0199",
        actor=BOT,
    )
    assert (msg.owner_role, msg.status, msg.call_id) == ("billing", "open", "call-1")
    assert msg.callback_phone == "+16085550199"
    assert [m.message_id for m in list_messages(store, owner_role="billing", actor=BOT)] == [
        msg.message_id
    ]
    assert list_messages(store, owner_role="front_desk", actor=BOT) == []


def test_unknown_category_lists_the_configured_ones(store: Store, clinic: ClinicConfig) -> None:
    with pytest.raises(InvalidInput, match="callback, billing"):
        create_message(store, clinic, category="gossip", subject="x", actor=BOT)
    with pytest.raises(InvalidInput, match="subject"):
        create_message(store, clinic, category="callback", subject="  ", actor=BOT)


def test_urgent_messages_come_first_and_done_ones_drop_off(
    store: Store, clinic: ClinicConfig
) -> None:
    normal = create_message(store, clinic, category="callback", subject="call back", actor=BOT)
    urgent = create_message(
        store, clinic, category="callback", subject="pain worse", priority="urgent", actor=BOT
    )
    listed = list_messages(store, owner_role="front_desk", actor=BOT)
    assert [m.message_id for m in listed] == [urgent.message_id, normal.message_id]
    done = set_message_status(store, message_id=urgent.message_id, status="done", actor=BOT)
    assert done.status == "done"
    assert [m.message_id for m in list_messages(store, owner_role="front_desk", actor=BOT)] == [
        normal.message_id
    ]
