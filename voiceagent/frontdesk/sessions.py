"""Chat sessions kept in the shared database, so any node can continue any conversation.

The conversation state is JSON (:class:`~voiceagent.frontdesk.state.ConversationState`); each
save bumps a version, and a save over a newer version fails, so two nodes answering the same
session at once cannot silently overwrite each other.

The table is the store's ``frontdesk_chat_sessions`` (``clinic.models.ChatSession``), created
by the store's migrations.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    insert,
    select,
    update,
)

from voiceagent.clinic.db import Store
from voiceagent.clinic.models import ChatSession
from voiceagent.frontdesk.state import ConversationState


class SessionConflict(RuntimeError):
    """Another request changed the session meanwhile; reload it and try again."""


class SessionStore:
    """Load and save conversation states by session id."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, state: ConversationState) -> int:
        with self.store.transaction() as session:
            session.execute(insert(ChatSession).values(
                id=state.session_id, state=state.to_dict(), version=1,
                updated_at=datetime.now(UTC)))
        return 1

    def load(self, session_id: str) -> tuple[ConversationState, int] | None:
        with self.store.transaction() as session:
            row = session.execute(
                select(ChatSession.state, ChatSession.version)
                .where(ChatSession.id == session_id)
            ).first()
        if row is None:
            return None
        return ConversationState.from_dict(row.state), int(row.version)

    def save(self, state: ConversationState, version: int) -> int:
        """Store ``state`` over ``version``; returns the new version."""
        with self.store.transaction() as session:
            result = session.execute(
                update(ChatSession)
                .where(ChatSession.id == state.session_id, ChatSession.version == version)
                .values(state=state.to_dict(), version=version + 1, updated_at=datetime.now(UTC))
            )
            if getattr(result, "rowcount", 1) != 1:
                raise SessionConflict(f"session {state.session_id} changed meanwhile; retry")
        return version + 1
