import pytest

from voiceagent.frontdesk.sessions import SessionConflict, SessionStore
from voiceagent.frontdesk.state import ConversationState

pytestmark = pytest.mark.unit


def test_state_saved_by_one_node_loads_on_another(store):
    state = ConversationState(step="collect", fields={"dob": "1982-03-03"})
    SessionStore(store).create(state)
    loaded, version = SessionStore(store).load(state.session_id)
    assert loaded == state and version == 1


def test_a_stale_save_is_refused_instead_of_overwriting(store):
    sessions = SessionStore(store)
    state = ConversationState()
    sessions.create(state)
    state.step = "offer"
    assert sessions.save(state, 1) == 2
    state.step = "confirm"
    with pytest.raises(SessionConflict):
        sessions.save(state, 1)
    assert sessions.load(state.session_id)[0].step == "offer"


def test_unknown_session_is_none(store):
    assert SessionStore(store).load("nope") is None
