"""Chat sessions kept in the shared database, so any node can continue any conversation.

The conversation state is JSON (:class:`~voiceagent.frontdesk.state.ConversationState`); each
save bumps a version, and a save over a newer version fails, so two nodes answering the same
session at once cannot silently overwrite each other.

The table is created on first use (``frontdesk_chat_sessions``); it belongs in the clinic
store's Alembic migrations once that schema takes it over.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)

from voiceagent.clinic.db import Store
from voiceagent.frontdesk.state import ConversationState

metadata = MetaData()
chat_sessions = Table(
    "frontdesk_chat_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class SessionConflict(RuntimeError):
    """Another request changed the session meanwhile; reload it and try again."""


class SessionStore:
    """Load and save conversation states by session id."""

    def __init__(self, store: Store) -> None:
        self.store = store
        metadata.create_all(store.engine, checkfirst=True)

    def create(self, state: ConversationState) -> int:
        with self.store.transaction() as session:
            session.execute(insert(chat_sessions).values(
                id=state.session_id, state=state.to_dict(), version=1,
                updated_at=datetime.now(UTC)))
        return 1

    def load(self, session_id: str) -> tuple[ConversationState, int] | None:
        with self.store.transaction() as session:
            row = session.execute(
                select(chat_sessions.c.state, chat_sessions.c.version)
                .where(chat_sessions.c.id == session_id)
            ).first()
        if row is None:
            return None
        return ConversationState.from_dict(row.state), int(row.version)

    def save(self, state: ConversationState, version: int) -> int:
        """Store ``state`` over ``version``; returns the new version."""
        with self.store.transaction() as session:
            result = session.execute(
                update(chat_sessions)
                .where(chat_sessions.c.id == state.session_id, chat_sessions.c.version == version)
                .values(state=state.to_dict(), version=version + 1, updated_at=datetime.now(UTC))
            )
            if getattr(result, "rowcount", 1) != 1:
                raise SessionConflict(f"session {state.session_id} changed meanwhile; retry")
        return version + 1
