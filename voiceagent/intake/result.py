"""Typed results of the spoken-form parsers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """A value read from speech and the text to read it back for confirmation."""

    value: T
    readback: str
