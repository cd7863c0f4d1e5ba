"""``voiceagent serve --workers N``: a box of SIP workers sharing one model server.

Started here, each as its own process: the model server (unless ``models.server`` already
answers), the HTTP API with the follow-up jobs (``serve --no-sip``), and N SIP workers
(``serve --no-http``) on ``sip.port + 2``, ``+ 4``, ... each holding up to ``sip.max_calls``
calls, admitting a call only while the box holds fewer than ``--box-calls``. Kamailio (see
``sip/kamailio/``) listens on ``sip.port`` and spreads calls over the workers listed in
``<data_dir>/dispatcher.list``.

A worker that dies is started again at once; the new one closes the dead one's calls in the
store (outcome ``agent_crashed``, ``clinic/recovery.py``), while the other workers' calls go
on. SIGTERM or Ctrl-C stops the workers (live calls get ``sip.shutdown_grace_s``), then the
model server.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from voiceagent.config.pipeline import PipelineConfig
from voiceagent.modelserver.client import ModelServerClient, ModelServerUnavailable
from voiceagent.modelserver.server import DEFAULT_PORT
from voiceagent.sdnotify import Notifier

RESTART_DELAY_S = 1.0
MAX_FAILED_STARTS = 3  # a process that dies before it is up, this often in a row: give up
READY_TIMEOUT_S = 300.0  # models loading on a busy 2-core box


def worker_port(config: PipelineConfig, index: int) -> int:
    return config.sip.port + 2 * (index + 1)


def dispatcher_list(config: PipelineConfig, workers: int) -> str:
    """Kamailio's dispatcher.list for the box's workers (set 1)."""
    lines = ["# setid destination: the SIP workers of `voiceagent serve --workers` "
             f"({workers}, up to {config.sip.max_calls} calls each)"]
    lines += [f"1 sip:{config.sip.bind}:{worker_port(config, i)}" for i in range(workers)]
    return "\n".join(lines) + "\n"


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Child:
    """One process of the box, its output passed on with a prefix."""

    name: str
    args: list[str]
    ready_text: str
    proc: subprocess.Popen[str] | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    starts: int = 0
    failed_starts: int = 0  # in a row: exits before it was up
    _reader: threading.Thread | None = None

    def start(self) -> None:
        self.ready.clear()
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}  # systemd: ours
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, bufsize=1, env=env,
                                     preexec_fn=_die_with_parent)
        self.starts += 1
        self._reader = threading.Thread(target=self._pass_output, args=(self.proc,),
                                        name=f"box-{self.name}")
        self._reader.start()
        print(f"[box] {self.name} started pid={self.proc.pid}", flush=True)

    def _pass_output(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if self.ready_text in line:
                self.ready.set()
            sys.stdout.write(f"[{self.name}] {line}")
            sys.stdout.flush()

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self, timeout_s: float) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._reader is not None:
            self._reader.join(10)


def _command(args: argparse.Namespace, *rest: str) -> list[str]:
    return [sys.executable, "-m", "voiceagent", "--config", str(args.config), *rest]


def plan(config: PipelineConfig, args: argparse.Namespace, model_server: str,
         start_model_server: bool) -> list[Child]:
    """The box's processes, in start order."""
    children = []
    if start_model_server:
        port = str(urlsplit(model_server).port)
        children.append(Child("model-server", _command(args, "model-server", "--port", port),
                              "[model-server] ready"))
    box_calls = args.box_calls or args.workers * config.sip.max_calls
    rtp_base = config.sip.rtp_port or 20000
    children.append(Child("api", _command(
        args, "serve", "--no-sip", "--model-server", model_server,
        "--http-port", str(config.http.port)), " is up"))
    for i in range(args.workers):
        children.append(Child(f"worker{i + 1}", _command(
            args, "serve", "--no-http", "--model-server", model_server,
            "--sip-port", str(worker_port(config, i)), "--rtp-port", str(rtp_base + 200 * i),
            "--box-calls", str(box_calls)), " is up"))
    return children


def run_box(config: PipelineConfig, args: argparse.Namespace) -> int:
    model_server = config.models.server or f"http://127.0.0.1:{DEFAULT_PORT}"
    try:
        ModelServerClient(model_server, timeout_s=2).info()
        start_model_server = False  # one already serves this box
    except ModelServerUnavailable:
        start_model_server = True
    config.data_dir.mkdir(parents=True, exist_ok=True)
    listing = config.data_dir / "dispatcher.list"
    listing.write_text(dispatcher_list(config, args.workers))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    children = plan(config, args, model_server, start_model_server)
    try:
        for child in children:  # the model server first: the others wait for it anyway
            child.start()
            if not _wait_ready(child, stop):
                return 1
        print(_banner(config, args, listing, model_server), flush=True)
        notifier = Notifier()
        notifier.ready(f"{args.workers} SIP workers answering")
        while not stop.wait(0.2):
            for child in children:
                code = child.exited()
                if code is None:
                    continue
                child.failed_starts = 0 if child.ready.is_set() else child.failed_starts + 1
                if child.failed_starts >= MAX_FAILED_STARTS:
                    print(f"error: {child.name} died {child.failed_starts} times before it "
                          "was up (its output is above); stopping the box", file=sys.stderr,
                          flush=True)
                    return 1
                print(f"[box] {child.name} exited with {code}; starting it again", flush=True)
                time.sleep(RESTART_DELAY_S)
                child.start()
        notifier.stopping()
        print("[box] stopping: no new calls; live calls may finish", flush=True)
        return 0
    finally:
        for child in reversed(children):  # workers first, the model server last
            child.stop(config.sip.shutdown_grace_s + 10)


def _wait_ready(child: Child, stop: threading.Event) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not child.ready.wait(0.2):
        if child.exited() is not None or stop.is_set() or time.monotonic() > deadline:
            print(f"error: {child.name} did not come up (its output is above)",
                  file=sys.stderr, flush=True)
            return False
    return True


def _banner(config: PipelineConfig, args: argparse.Namespace, listing: Path,
            model_server: str) -> str:
    ports = ", ".join(str(worker_port(config, i)) for i in range(args.workers))
    box_calls = args.box_calls or args.workers * config.sip.max_calls
    return "\n".join([
        f"[box] voiceagent box is up: {args.workers} SIP workers on udp {config.sip.bind}:"
        f"{ports}, up to {box_calls} calls on the box",
        f"[box]   models  {model_server}",
        f"[box]   HTTP    http://{config.http.host}:{config.http.port}",
        f"[box]   Kamailio's dispatcher list: {listing} (sip/kamailio/kamailio.cfg, "
        f"listening on {config.sip.bind}:{config.sip.port})",
    ])
