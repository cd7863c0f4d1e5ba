from datetime import datetime

import pytest

from tests.frontdesk.conftest import make_clinic
from voiceagent.frontdesk.answers import choose_offer, ordinal, parse_field
from voiceagent.frontdesk.state import ConversationState
from voiceagent.intake import IntakeError

pytestmark = pytest.mark.unit

OFFERS = [
    {"provider_name": "Dr. Amara Okafor, PT, DPT", "start": "2026-11-24T08:00:00-06:00"},
    {"provider_name": "Dr. Daniel Reyes, PT", "start": "2026-11-24T09:30:00-06:00"},
    {"provider_name": "Dr. Amara Okafor, PT, DPT", "start": "2026-11-25T14:00:00-06:00"},
]
NOW = datetime(2026, 11, 23, 10, 0)


@pytest.mark.parametrize(("text", "expected"), [
    ("the first one", 1), ("option 2 please", 2), ("the last one", 3), ("number three", 3),
    ("the 9:30 one", 2), ("two in the afternoon on Wednesday", 3), ("Reyes", 2),
    ("with Dr. Okafor", None),  # two offers with her: ask which
    ("hmm", None),
])
def test_choose_offer(text, expected):
    assert choose_offer(text, OFFERS) == expected


def test_ordinal_ignores_numbers_out_of_range():
    assert ordinal("the fifth", 3) is None


def test_parse_field_stores_value_and_returns_the_read_back():
    state = ConversationState()
    ack = parse_field("dob", "March third, nineteen eighty-two", state, make_clinic(), NOW)
    assert state.fields["dob"] == "1982-03-03" and ack == "I have March 3, 1982."


def test_medicare_member_id_is_read_as_an_mbi():
    state = ConversationState(fields={"payer": "Medicare"})
    parse_field("member_id", "1 E G 4, T E 5, M K 7 3", state, make_clinic(), NOW)
    assert state.fields["member_id"] == "1EG4TE5MK73"
    with pytest.raises(IntakeError):
        parse_field("member_id", "X Y Z 1 2 3 4 5", state, make_clinic(), NOW)


def test_unknown_payer_is_kept_for_the_front_desk_to_verify():
    state = ConversationState()
    ack = parse_field("payer", "Acme Health Plan", state, make_clinic(), NOW)
    assert state.fields["payer"] == "Acme Health Plan" and "verify" in ack


@pytest.mark.parametrize("text", ["I work first shift, so after three thirty is best.",
                                  "First thing in the morning would be great.",
                                  "It's my second visit ever, so any of them."])
def test_an_ordinal_that_describes_something_else_picks_no_offer(text):
    assert ordinal(text, 3) is None


def test_the_payer_named_after_a_self_correction_is_the_payer():
    clinic = make_clinic()
    state = ConversationState()
    names = [p.name for p in clinic.insurance.accepted]
    first, second = names[0], names[1]
    parse_field("payer", f"He has {first}, um... actually no, that's the other chart. He has "
                f"{second}.", state, clinic, datetime(2026, 11, 23, 9))
    assert state.fields["payer"] == second
