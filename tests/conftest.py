"""Suite-wide settings: nothing may reach a model hub, and no test leaves threads running.

Every test must end with the threads it started (a session's workers, an acknowledgement
timer, an executor, a SIP or pump thread) finished: its teardown fails otherwise. A fixture
wider than one test (a module's server, a session's store) may keep the threads it started,
and the threads those start (a server's request workers), until its own teardown, and must
have ended them by the next test's end. The only threads allowed to outlive everything are
listed in ``process_wide`` below.
"""

import os
import threading
import time
import weakref
from collections.abc import Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LEAK_GRACE_S = 5.0  # a thread told to stop may take this long to see it (a 0.1 s poll loop)
_before = pytest.StashKey[set[threading.Thread]]()
# threads started by a fixture wider than one test: allowed until that fixture is finalized
_scoped: dict[threading.Thread, str] = {}
_released: set[threading.Thread] = set()  # their fixture is finalized: they must end now
# who started each thread, so a thread started by a fixture's thread belongs to that fixture
_parents: weakref.WeakKeyDictionary[threading.Thread, threading.Thread] = (
    weakref.WeakKeyDictionary())
_start = threading.Thread.start


def _start_and_note_parent(self: threading.Thread) -> None:
    _parents[self] = threading.current_thread()
    _start(self)


threading.Thread.start = _start_and_note_parent  # type: ignore[method-assign]


def _owner(thread: threading.Thread) -> threading.Thread:
    """The thread's oldest ancestor among the fixtures' threads (or itself)."""
    seen = 0
    while thread not in _scoped and thread in _parents and seen < 50:
        thread, seen = _parents[thread], seen + 1
    return thread


def process_wide(thread: threading.Thread) -> bool:
    """Threads that belong to the process, not to a test.

    * ``_DummyThread``: a thread Python did not start (pjsua's media clock and I/O threads
      calling back into Python); Python cannot join it and it never leaves
      ``threading.enumerate()``, whatever the test did.
    * ``tqdm_monitor``: tqdm's one monitor thread for every progress bar in the process
      (faster-whisper's model loading starts it); tqdm ends it itself.
    """
    return isinstance(thread, threading._DummyThread) or thread.name == "tqdm_monitor"


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[object]) -> Iterator[None]:
    before = set(threading.enumerate())
    try:
        return (yield)
    finally:
        if fixturedef.scope != "function":
            for thread in set(threading.enumerate()) - before:
                _scoped[thread] = fixturedef.argname


def pytest_fixture_post_finalizer(fixturedef: pytest.FixtureDef[object]) -> None:
    for thread, owner in list(_scoped.items()):
        if owner == fixturedef.argname:
            del _scoped[thread]
            _released.add(thread)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    item.stash[_before] = set(threading.enumerate())
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    result = yield
    before = item.stash.get(_before, set())
    deadline = time.monotonic() + LEAK_GRACE_S
    while True:
        leaked = [t for t in threading.enumerate()
                  if t.is_alive() and (t not in before or _owner(t) in _released)
                  and _owner(t) not in _scoped
                  and t is not threading.current_thread() and not process_wide(t)]
        if not leaked or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    _released.clear()
    if leaked:
        names = ", ".join(sorted(t.name for t in leaked))
        pytest.fail(f"{item.nodeid} left threads running: {names}", pytrace=False)
    return result
