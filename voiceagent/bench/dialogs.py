"""Which dialog answers the benchmark's calls, and a shorter greeting for it.

The dialog is named by an import path to a factory ``(PipelineConfig, PipelineResources) ->
Dialog`` (default: the one ``voiceagent call`` uses). Its greeting is cut to one word: the
greeting is not measured, and playing the full one at wire speed before every turn would
triple the benchmark's running time. Everything else goes to the real dialog unchanged.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

from voiceagent.bench.config import DEFAULT_DIALOG
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.dialog.protocol import Dialog, DialogEvent, ExpectedInput, ReplyText, UserTurn
from voiceagent.speech.resources import PipelineResources

DialogFactory = Callable[[PipelineConfig, PipelineResources], Dialog]
GREETING = "Hello."


class DialogNotFound(ValueError):
    """The configured dialog factory cannot be imported."""


def load_dialog_factory(spec: str = DEFAULT_DIALOG) -> DialogFactory:
    """``package.module:function`` to the factory it names."""
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as err:
        raise DialogNotFound(
            f"dialog factory {spec!r} not found ({err}); give 'package.module:function', "
            f"e.g. {DEFAULT_DIALOG}"
        ) from err
    if not callable(factory):
        raise DialogNotFound(f"dialog factory {spec!r} is not callable")
    return factory  # type: ignore[no-any-return]


class ShortGreeting:
    """A dialog whose greeting is one short word; the rest is the wrapped dialog."""

    def __init__(self, inner: Dialog) -> None:
        self.inner = inner
        self.llm = getattr(inner, "llm", None)

    def greeting(self) -> Iterator[DialogEvent]:
        # run the real greeting for its side effects on the dialog state, say one word
        for _ in self.inner.greeting():
            pass
        yield ReplyText(GREETING, content=False)

    def expected_input(self) -> ExpectedInput:
        return self.inner.expected_input()

    def respond(self, turn: UserTurn) -> Iterator[DialogEvent]:
        return self.inner.respond(turn)

    def interrupted(self, spoken: str) -> None:
        self.inner.interrupted(spoken)

    def silence(self, count: int) -> Iterator[DialogEvent]:
        return self.inner.silence(count)

    def transfer_failed(self) -> Iterator[DialogEvent]:
        return self.inner.transfer_failed()

    def __getattr__(self, name: str) -> Any:
        # anything else the session or a channel asks of the dialog goes to the real one
        return getattr(self.inner, name)


class ShortGreetingSpeculative(ShortGreeting):
    """The same for a dialog that can roll a turn back, so the session still speculates."""

    def checkpoint(self) -> Any:
        return self.inner.checkpoint()  # type: ignore[attr-defined]

    def restore(self, checkpoint: Any) -> None:
        self.inner.restore(checkpoint)  # type: ignore[attr-defined]


def short_greeting(dialog: Dialog) -> ShortGreeting:
    if callable(getattr(dialog, "checkpoint", None)) and callable(getattr(dialog, "restore", None)):
        return ShortGreetingSpeculative(dialog)
    return ShortGreeting(dialog)
