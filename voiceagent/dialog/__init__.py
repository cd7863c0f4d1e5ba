"""Conversation: what the agent says and does each turn, behind one small interface."""
