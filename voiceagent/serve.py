"""``voiceagent serve``: the SIP endpoint and the HTTP API on one set of loaded models.

Start-up order: configs (clear errors first), the store (migrations), the models (once,
shared by every call), the HTTP API, then SIP. SIGTERM or Ctrl-C stops new calls, lets
live ones finish for ``sip.shutdown_grace_s``, then exits.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DatabaseError

from voiceagent import __version__
from voiceagent.box.admission import BoxAdmission
from voiceagent.clinic.calllog import StoreCallLog
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.journal import Journal
from voiceagent.clinic.recovery import LiveCalls, recover_crashed_calls
from voiceagent.clinic.storehealth import StoreHealth
from voiceagent.config.pipeline import PipelineConfig, SIPConfig, load_pipeline
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.logs import setup_logging
from voiceagent.preflight import StartupError, preflight
from voiceagent.sdnotify import Notifier
from voiceagent.speech.resources import PipelineResources, load_resources
from voiceagent.speech.session import SessionOptions
from voiceagent.web.live import LiveBoard


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Answer SIP calls and serve the HTTP API. Loads the clinic, the store and the models "
        "once, prints where it listens and how to place a test call, and runs until Ctrl-C "
        "or SIGTERM (live calls get sip.shutdown_grace_s to finish)."
    )
    parser.add_argument("--no-sip", action="store_true", help="serve the HTTP API only")
    parser.add_argument("--sip-port", type=int, help="override sip.port")
    parser.add_argument("--http-port", type=int, help="override http.port")
    parser.add_argument("--workers", type=int, default=0, metavar="N",
                        help="run N SIP workers (up to sip.max_calls calls each) behind "
                        "Kamailio's dispatcher, sharing one model server and the store; "
                        "see sip/kamailio/ (default: one process, its own models)")
    workers = parser.add_argument_group("one worker of `serve --workers` (set by it)")
    workers.add_argument("--model-server", help="override models.server")
    workers.add_argument("--rtp-port", type=int, help="override sip.rtp_port")
    workers.add_argument("--no-http", action="store_true", help="no HTTP API, no follow-up")
    workers.add_argument("--box-calls", type=int, metavar="N",
                         help="admit a call only while the box's workers hold fewer than N")


@dataclass
class Agent:
    """Everything one process shares between its calls and chats."""

    config: PipelineConfig
    frontdesk: FrontDesk
    resources: PipelineResources
    call_log: StoreCallLog
    store_health: StoreHealth
    live: LiveBoard = field(default_factory=LiveBoard)  # what the workspace's Today shows

    @property
    def clinic(self) -> ClinicConfig:
        return self.frontdesk.clinic


def load_agent(config: PipelineConfig, progress: Any = print) -> Agent:
    """Open the store (running migrations) and load the models, once per process."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    progress("loading the clinic and opening the store ...")
    try:
        frontdesk = FrontDesk.from_config(config)
    except DatabaseError as exc:
        raise StartupError(
            f"the store cannot be opened ({type(exc.orig).__name__}: "
            f"{str(exc.orig).splitlines()[0][:120]}): check DATABASE_URL / data_dir, or move "
            "a damaged database file away and restore a backup") from None
    progress("loading models (Whisper, the LLM, Piper) ...")
    resources = load_resources(
        config,
        vocabulary=frontdesk.clinic.vocabulary(),
        fixed_phrases=SessionOptions().phrases(),
    )
    frontdesk.llm = resources.llm
    frontdesk.warm()
    call_log = open_call_log(config, frontdesk)
    assert call_log.health is not None
    agent = Agent(config, frontdesk, resources, call_log, call_log.health)
    agent.live.models = {"stt": config.models.stt.model, "llm": config.models.llm.model,
                         "tts": config.models.tts.voice}
    return agent


def open_call_log(config: PipelineConfig, frontdesk: FrontDesk) -> StoreCallLog:
    """This process's call log: journaled writes are replayed, calls a dead process left open
    are closed and their callers left with the front desk (``clinic/recovery.py``), and a
    store-health monitor starts (SIP refuses calls while the store cannot be written)."""
    root = config.data_dir / "live-calls"
    health = StoreHealth(frontdesk.store)
    call_log = StoreCallLog(frontdesk.store, journal=Journal(config.data_dir / "journal"
                                                                / "calllog.jsonl"),
                            health=health)
    call_log.replay_journal()
    recover_crashed_calls(frontdesk.store, frontdesk.clinic, root)
    call_log.live = LiveCalls(root)
    health.on_writable = call_log.replay_journal
    health.start()
    return call_log


def transfer_targets(clinic: ClinicConfig, sip: SIPConfig) -> dict[str, str]:
    """The clinic's transfer targets as SIP URIs; extensions are dialled at the PBX."""
    domain = sip.pbx_domain
    if domain is None and sip.registrar:
        domain = sip.registrar.removeprefix("sip:").removeprefix("sips:")
    targets = {}
    for target in clinic.transfers:
        if target.sip_uri:
            targets[target.id] = target.sip_uri
        elif domain:
            targets[target.id] = f"sip:{target.extension}@{domain}"
    return targets


def _start_http(agent: Agent, outreach: Any = None) -> Any:
    import uvicorn

    from voiceagent.api.app import create_app

    app = create_app(agent.config, frontdesk=agent.frontdesk, outreach=outreach,
                     store_health=agent.store_health)
    app.state.live_board = agent.live
    server = uvicorn.Server(uvicorn.Config(
        app, host=agent.config.http.host, port=agent.config.http.port,
        log_config=None, access_log=False,
    ))
    thread = threading.Thread(target=server.run, name="http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(
                f"the HTTP API could not listen on {agent.config.http.host}:"
                f"{agent.config.http.port} (in use? see `voiceagent doctor`)"
            )
        time.sleep(0.05)
    return server


def _start_sip(agent: Agent, box: BoxAdmission | None = None) -> Any:
    import numpy as np

    from voiceagent.channels.sip import SipEndpoint, SipOptions
    from voiceagent.channels.sip.handler import CallRecord
    from voiceagent.channels.sip.speech_handler import SpeechCallHandler, speech_handler_factory
    from voiceagent.speech.tts import synthesize_at

    config = agent.config
    handlers: dict[str, SpeechCallHandler] = {}
    lock = threading.Lock()

    def remember(handler: SpeechCallHandler) -> None:
        with lock:
            handlers[handler.info.call_id] = handler
        if box is not None:
            box.call_started()
        state = getattr(getattr(handler.session, "dialog", None), "state", None)
        agent.live.call_started(handler.info.call_id, handler.caller_id,
                                lambda: getattr(state, "step", None))

    def call_ended(record: CallRecord) -> None:
        with lock:
            handler = handlers.pop(record.call_id, None)
        if box is not None and handler is not None:
            box.call_ended()
        agent.live.call_ended(record.call_id)
        if handler is None or not handler.session.call_id:
            return  # no session, so no stored call (the session's recorder opens it)
        # the session's record has the endpoint's id: the wire record completes it
        if record.ended_at is not None:  # the stored end is the call's (its BYE)
            agent.call_log.set_ended_at(record.call_id, record.ended_at)
        if record.reply_latency_s:
            agent.call_log.record_wire_latency(
                record.call_id, [round(s * 1000, 1) for s in record.reply_latency_s])

    def call_refused(record: CallRecord) -> None:
        call_id = agent.call_log.open_call("sip", record.caller_id)
        agent.call_log.close_call(call_id, record.outcome)

    def render_speech(text: str, rate: int) -> bytes:
        return np.asarray(synthesize_at(agent.resources.tts, text, rate), dtype="<i2").tobytes()

    front_desk = next((t.id for t in agent.clinic.transfers if "front" in t.id), "front_desk")
    options = SipOptions(
        transfer_targets=transfer_targets(agent.clinic, config.sip),
        front_desk_target=front_desk,
        front_desk_digit=config.sip.front_desk_digit,
        ring_timeout_s=config.sip.ring_timeout_s,
        rtp_port=config.sip.rtp_port,
        shutdown_grace_s=config.sip.shutdown_grace_s,
        render_speech=render_speech,
        on_call_ended=call_ended,
        on_call_refused=call_refused,
        store_writable=agent.store_health.usable,
        box_admits=box.admits if box is not None else None,
    )
    factory = speech_handler_factory(
        agent.resources, lambda: agent.frontdesk.dialog(channel="phone"), agent.call_log,
        config, on_handler=remember,
    )
    endpoint = SipEndpoint(config, factory, options)
    endpoint.start()
    sip = config.sip
    agent.live.sip = (
        (lambda: "registered" if endpoint.registered.is_set()
         else f"not registered (status {endpoint.registration_status})")
        if sip.mode == "register" else lambda: f"listening on udp {sip.bind}:{sip.port}")
    return endpoint


def banner(config: PipelineConfig, sip: bool, http: bool = True) -> str:
    store = ("PostgreSQL (DATABASE_URL)" if config.database.url is not None
             else f"SQLite {config.data_dir / 'voiceagent.db'}")
    sip_uri = f"sip:agent@{config.sip.bind}:{config.sip.port}"
    lines = [f"voiceagent {__version__} is up"]
    if sip:
        lines.append(f"  SIP    udp {config.sip.bind}:{config.sip.port} "
                     f"(mode {config.sip.mode}, up to {config.sip.max_calls} calls)")
    if http:
        lines.append(f"  HTTP   http://{config.http.host}:{config.http.port}   (API docs: /docs)")
    lines += [
        f"  store  {store}",
        *([f"  chat   http://{config.http.host}:{config.http.port}/webchat/demo   "
           "(the website chat)"] if config.webchat.enabled and config.webchat.demo_page else []),
        "",
        "Place a test call:",
    ]
    if sip:
        lines += [
            f"  baresip, then type:   /dial {sip_uri}",
            f"  or sipp:              sipp -sn uac -m 1 -s agent "
            f"{config.sip.bind}:{config.sip.port}",
        ]
    lines += [
        "  offline, from a WAV:  voiceagent call --wav caller.wav --out agent.wav "
        "--report report.json",
        "  in text:              voiceagent chat",
        "",
        "Stop with Ctrl-C (or SIGTERM); live calls may finish first.",
    ]
    return "\n".join(lines)


def with_overrides(config: PipelineConfig, args: argparse.Namespace) -> PipelineConfig:
    """The config with the command line's overrides (ports, a worker's model server)."""
    sip = {"port": args.sip_port or config.sip.port,
           "rtp_port": args.rtp_port or config.sip.rtp_port}
    models = {"server": args.model_server or config.models.server}
    return config.model_copy(update={
        "sip": config.sip.model_copy(update=sip),
        "http": config.http.model_copy(update={"port": args.http_port or config.http.port}),
        "models": config.models.model_copy(update=models),
    })


def run(args: argparse.Namespace) -> int:
    if args.workers < 0 or (args.box_calls is not None and args.box_calls < 1):
        print("error: --workers and --box-calls take a number of at least 1", file=sys.stderr)
        return 2
    config = with_overrides(load_pipeline(args.config), args)
    setup_logging(config.logging.level, config.logging.format)
    if args.workers:
        from voiceagent.box.supervisor import run_box

        return run_box(config, args)
    try:
        preflight(config, http=not args.no_http)
        agent = load_agent(config, progress=lambda line: print(f"[serve] {line}", flush=True))
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # follow-up worker, SMS webhooks, web chat (issue 14); senders stay off until configured
    from voiceagent.outreach.routes import build_outreach
    from voiceagent.outreach.settings import MissingCredential

    outreach = None
    if not args.no_http:
        try:
            outreach = build_outreach(config, agent.frontdesk)
        except MissingCredential as exc:
            print(f"error: {exc}", file=sys.stderr)
            agent.frontdesk.store.dispose()
            return 1
        outreach.service.start()
    endpoint = None
    server = None
    box = None
    notifier = Notifier()
    try:
        if outreach is not None:
            server = _start_http(agent, outreach)
        if not args.no_sip:
            if args.box_calls:
                box = BoxAdmission(config.data_dir / "box", args.box_calls)
            endpoint = _start_sip(agent, box)
        print(banner(config, sip=endpoint is not None, http=server is not None), flush=True)
        notifier.ready("answering calls" if endpoint is not None else "serving the API")
        sip = endpoint
        notifier.start_watchdog(lambda: sip is None or sip.responsive())
        stop.wait()
        notifier.stopping()
        print("[serve] stopping: no new calls; live calls may finish", flush=True)
    except Exception as exc:  # noqa: BLE001 - a start failure is reported, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if endpoint is not None:
            endpoint.stop()
        if server is not None:
            server.should_exit = True
        agent.store_health.stop()
        if agent.call_log.live is not None:
            agent.call_log.live.release()
        if box is not None:
            box.close()
        if outreach is not None:
            outreach.service.stop()
        agent.frontdesk.store.dispose()
    return 0
