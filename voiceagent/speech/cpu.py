"""CPU thread behaviour shared by the models (CTranslate2, llama.cpp, onnxruntime).

Their OpenMP runtimes (each brings a libgomp) keep idle threads spinning by default, for
up to 300,000 spins. With STT, LLM and TTS taking turns on a few cores, a pool spinning
long starves the model that is working (measured here: llama.cpp fell from 21 to 1.4
tokens/s with Whisper's pool idle beside it). Not spinning at all is as bad the other way:
llama.cpp synchronizes its threads hundreds of times per token, and a thread that must be
woken by the kernel each time ran SmolLM2 at 27 tokens/s on 2 cores instead of 88. A short
spin keeps a pool hot between the operations of one model and lets it sleep as soon as
that model is done. The runtimes read these variables when they load, so this runs before
any of them is imported.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")

SPIN_COUNT = "10000"  # spins (a few microseconds each at most) before an idle thread sleeps


def prefer_passive_threads() -> None:
    """Idle OpenMP threads spin briefly, then sleep (unless the environment says otherwise)."""
    os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
    os.environ.setdefault("KMP_BLOCKTIME", "0")


class _End:
    """Marks the end of a stream on the queue."""


class ModelThread:
    """One thread that runs all of a model's work, whichever thread asks for it.

    OpenMP keeps a team of worker threads per calling thread. A model called from every
    call's own worker grows a team per call, and once the process holds more OpenMP threads
    than cores libgomp throttles its spinning and every operation waits on the kernel. A
    model that only ever runs here keeps one hot team. Work is serialized, which a model
    with one context (llama.cpp's KV cache) needs anyway.
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the model's thread and return its result (or raise its error)."""
        done: Future[T] = Future()

        def job() -> None:
            try:
                done.set_result(fn())
            except BaseException as err:  # noqa: BLE001 - handed to the caller
                done.set_exception(err)

        self._jobs.put(job)
        return done.result()

    def stream(self, make: Callable[[], Iterator[T]]) -> Iterator[T]:
        """Iterate ``make()`` on the model's thread, one item ahead of the consumer: like a
        plain generator, it waits while the consumer works on an item. Closing this
        iterator early stops the producer after its current item."""
        items: queue.Queue[T | _End | BaseException] = queue.Queue(maxsize=1)
        stop = threading.Event()

        def offer(item: T | _End | BaseException) -> bool:
            while not stop.is_set():
                try:
                    items.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def job() -> None:
            source = make()
            try:
                for item in source:
                    if not offer(item):
                        break
                else:
                    offer(_End())
            except BaseException as err:  # noqa: BLE001 - re-raised in the consumer
                offer(err)
            finally:
                close = getattr(source, "close", None)
                if close is not None:
                    close()

        self._jobs.put(job)
        try:
            while True:
                item = items.get()
                if isinstance(item, _End):
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()

    def close(self) -> None:
        self._jobs.put(None)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()
