"""Effects wait for the endpoint: how a dialog with side effects lets a reply be prepared in
the caller's pause.

The speech session starts a caller's turn speculatively, before the endpoint is confirmed
(see :mod:`voiceagent.speech.session`). Words may be prepared then; effects may not: a
hold, a booking, a message, an audited read of a patient record must happen only once the
turn is real. So every effect in the dialog's code path first calls :func:`before_effect`
(or is wrapped in :func:`effect`). Outside speculation that returns at once; inside, it
blocks until the endpoint confirms the turn, or raises :class:`SpeculationDiscarded` when
the caller went on talking, which unwinds the dialog's generator before anything happened.

The gate is per thread: the session runs each turn's dialog code on its reply worker and
installs the gate there with :func:`gated`; other threads (other calls, chat) see none.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, Protocol, TypeVar, runtime_checkable

P = ParamSpec("P")
R = TypeVar("R")

Gate = Callable[[], None]


@runtime_checkable
class SpeculativeDialog(Protocol):
    """A dialog that can undo a turn: lets the session speculate the reply, not only STT.
    Its effects must call :func:`before_effect` first."""

    def checkpoint(self) -> Any: ...

    def restore(self, checkpoint: Any) -> None: ...


class SpeculationDiscarded(BaseException):
    """The caller went on talking: the speculative turn is thrown away before its effect.

    A ``BaseException``, like ``GeneratorExit``, so that a dialog's catch-all for its own
    errors ("sorry, I had a problem") never swallows it.
    """


_local = threading.local()


def before_effect() -> None:
    """Call before any effect: waits for the endpoint under speculation (else returns)."""
    gate: Gate | None = getattr(_local, "gate", None)
    if gate is not None:
        gate()


@contextmanager
def gated(gate: Gate) -> Iterator[None]:
    """Install ``gate`` for this thread: it returns once the turn is confirmed, or raises
    :class:`SpeculationDiscarded`."""
    previous = getattr(_local, "gate", None)
    _local.gate = gate
    try:
        yield
    finally:
        _local.gate = previous


def effect(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a method whose call changes the store or reads patient data (audited)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        before_effect()
        return fn(*args, **kwargs)

    return wrapper
