"""Text conversations with the front desk kept in the store: start one, send a line.

The web chat widget and SMS threads both run on this (the same dialog the phone uses); the
state lives in the shared database (``frontdesk_chat_sessions``), so any node may answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from voiceagent.channels.text import reply_text
from voiceagent.clinic.calllog import StoreCallLog
from voiceagent.dialog.protocol import DialogEvent, EndCall, Transfer, UserTurn
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.frontdesk.sessions import SessionStore
from voiceagent.frontdesk.state import ConversationState, Step
from voiceagent.logs import log_event

log = logging.getLogger(__name__)


class UnknownConversation(LookupError):
    """No conversation with that id."""


class ConversationEnded(RuntimeError):
    """The conversation is over; start a new one."""


@dataclass(frozen=True)
class TextTurn:
    session_id: str
    reply: str
    events: list[DialogEvent]
    ended: bool
    outcome: str | None
    expected_input: str  # what the dialog asked for: free, spelling, date, digits...


class TextConversations:
    def __init__(self, frontdesk: FrontDesk) -> None:
        self.frontdesk = frontdesk
        self.sessions = SessionStore(frontdesk.store)
        self.call_log = StoreCallLog(frontdesk.store)

    def start(self, channel: str, caller_id: str | None = None) -> TextTurn:
        call_id = self.call_log.open_call(channel, caller_id)
        state = ConversationState(session_id=call_id, channel=channel)
        dialog = self.frontdesk.dialog(channel=channel, call_id=call_id,
                                       call_log=self.call_log, state=state)
        events = list(dialog.greeting())
        self.sessions.create(state)
        return self._turn(state, events, dialog.expected_input().value)

    def send(self, session_id: str, text: str) -> TextTurn:
        """One line from the person; raises UnknownConversation, ConversationEnded,
        SessionConflict (another node answered meanwhile)."""
        loaded = self.sessions.load(session_id)
        if loaded is None:
            raise UnknownConversation(session_id)
        state, version = loaded
        if state.step == Step.ENDED:
            raise ConversationEnded(session_id)
        dialog = self.frontdesk.dialog(channel=state.channel, call_id=session_id,
                                       call_log=self.call_log, state=state)
        events = list(dialog.respond(UserTurn(text)))
        self.sessions.save(state, version)
        return self._turn(state, events, dialog.expected_input().value)

    def is_open(self, session_id: str) -> bool:
        loaded = self.sessions.load(session_id)
        return loaded is not None and loaded[0].step != Step.ENDED

    def close(self, session_id: str, outcome: str = "abandoned") -> None:
        """End a conversation the person left (so it is summarised and followed up)."""
        loaded = self.sessions.load(session_id)
        if loaded is None or loaded[0].step == Step.ENDED:
            return
        state, version = loaded
        state.step = Step.ENDED
        state.outcome = state.outcome or outcome
        self.sessions.save(state, version)
        self.call_log.close_call(session_id, state.outcome or outcome)

    def _turn(self, state: ConversationState, events: list[DialogEvent],
              expected_input: str) -> TextTurn:
        if any(isinstance(e, EndCall | Transfer) for e in events):
            self.call_log.close_call(state.session_id, state.outcome or "completed")
            log_event(log, "conversation.ended", call_id=state.session_id,
                      outcome=state.outcome)
        return TextTurn(state.session_id, reply_text(events), events, state.step == Step.ENDED,
                        state.outcome, expected_input)
