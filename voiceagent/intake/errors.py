"""The one error a spoken-form parser raises."""

from __future__ import annotations


class IntakeError(ValueError):
    """What the caller said could not be read as the expected kind of value.

    ``reason`` is phrased as a next step for the caller ("I need all ten digits of the
    phone number, area code first"); it never contains what the caller said.
    """

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason
