"""Listener noises: what the caller says while the agent talks that is not taking the floor."""

from __future__ import annotations

BACKCHANNEL_WORDS = frozenset(
    {
        "mm",
        "mhm",
        "mm-hm",
        "mmhmm",
        "hm",
        "hmm",
        "uh-huh",
        "uh",
        "um",
        "ah",
        "oh",
        "huh",
        "yeah",
        "right",
        "okay",
        "ok",
        "i",
        "see",
    }
)


def is_backchannel(text: str) -> bool:
    """Only listener noises ("mm-hm", "uh-huh, right"): the caller is not taking the floor."""
    words = [w.strip(".,!?;:").lower() for w in text.split()]
    words = [w for w in words if w]
    return all(w in BACKCHANNEL_WORDS for w in words)
