"""``voiceagent model-server``: the box's models, loaded once, served to every SIP worker.

Each request runs on a thread of its own, so the stages of different calls overlap (one
call's Whisper pass while another's LLM generates and a third's reply is voiced); each
engine takes its own requests in turn, as it does in one process (Whisper and Piper behind
their locks, llama.cpp on its model thread with the system prompt's KV state kept), because
on a CPU a second request in parallel only splits the same cores. Only loopback is served:
nothing here is authenticated.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from voiceagent.config.pipeline import PipelineConfig, load_pipeline
from voiceagent.logs import log_event, setup_logging
from voiceagent.modelserver.wire import (
    LLMRequest,
    ServerInfo,
    STTRequest,
    TTSRequest,
    WireError,
    transcript_to_json,
)
from voiceagent.speech.resources import PipelineResources

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024  # 30 min of 16 kHz audio, base64: far beyond any turn
DEFAULT_PORT = 8091


@dataclass(frozen=True)
class ServedModels:
    resources: PipelineResources
    info: ServerInfo


class StageMeter:
    """How long an engine has been busy: the union of the times its requests were in flight.
    Each engine takes its requests in turn and never idles while one waits, so this is the
    engine's working time (its share of the box's CPU, on a CPU box)."""

    def __init__(self) -> None:
        self.requests = 0
        self.busy_s = 0.0
        self._active = 0
        self._since = 0.0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.requests += 1
            if self._active == 0:
                self._since = time.monotonic()
            self._active += 1

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0:
                self.busy_s += time.monotonic() - self._since

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            running = time.monotonic() - self._since if self._active else 0.0
            return {"requests": self.requests, "busy_s": round(self.busy_s + running, 3)}


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # requests carry speech and transcripts: nothing of them is logged

    # ------------------------------------------------------------------ plumbing
    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY:
            raise WireError(f"a JSON body of 1..{MAX_BODY} bytes is required")
        try:
            body = json.loads(self.rfile.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise WireError("the body is not JSON") from exc
        if not isinstance(body, dict):
            raise WireError("the body must be a JSON object")
        return body

    def _send(self, status: int, payload: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = True

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _error(self, status: int, exc: BaseException) -> None:
        self._json(status, {"error": str(exc), "kind": type(exc).__name__})

    # ------------------------------------------------------------------ routes
    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/health":
            self._json(200, self.server.models.info.to_json())
        elif self.path == "/stats":
            self._json(200, {name: meter.snapshot() for name, meter in self.server.meters.items()})
        else:
            self._json(404, {"error": f"no {self.path}", "kind": "NotFound"})

    def do_POST(self) -> None:  # noqa: N802
        route = {"/stt": self._stt, "/tts": self._tts, "/llm/stream": self._llm_stream,
                 "/llm/warm": self._llm_warm}.get(self.path)
        if route is None:
            self._json(404, {"error": f"no {self.path}", "kind": "NotFound"})
            return
        try:
            route(self._body())
        except WireError as exc:
            self._error(400, exc)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the worker gave up on the answer (a barge-in)
        except Exception as exc:  # noqa: BLE001 - one bad request never stops the server
            log_event(log, "modelserver.request_failed", logging.ERROR, path=self.path,
                      kind=type(exc).__name__)
            self._error(500, exc)

    def _stt(self, body: dict[str, Any]) -> None:
        request = STTRequest.from_json(body)
        with self.server.meters["stt"]:
            transcript = self.server.models.resources.stt.transcribe(request.audio,
                                                                     request.prompt)
        self._json(200, transcript_to_json(transcript))

    def _tts(self, body: dict[str, Any]) -> None:
        request = TTSRequest.from_json(body)
        with self.server.meters["tts"]:
            audio = self.server.models.resources.tts.synthesize(request.text)
        self._send(200, audio.astype("<i2").tobytes(), "audio/L16",
                   {"X-Sample-Rate": str(self.server.models.info.sample_rate)})

    def _llm_warm(self, body: dict[str, Any]) -> None:
        llm = self._llm()
        prompt = body.get("system_prompt")
        if not isinstance(prompt, str):
            raise WireError("'system_prompt' must be str")
        warm = getattr(llm, "warm", None)
        self._json(200, {"seconds": float(warm(prompt)) if warm is not None else 0.0})

    def _llm(self) -> Any:
        llm = self.server.models.resources.llm
        if llm is None:
            raise WireError("this model server has no LLM loaded")
        return llm

    def _llm_stream(self, body: dict[str, Any]) -> None:
        request = LLMRequest.from_json(body)
        with self.server.meters["llm"]:
            self._generate(request)

    def _generate(self, request: LLMRequest) -> None:
        pieces = self._llm().stream(
            list(request.messages), json_schema=request.json_schema,
            max_tokens=request.max_tokens, temperature=request.temperature, stop=request.stop)
        try:
            first = next(pieces, None)  # a prompt too long for the context fails here
        except ValueError as exc:
            pieces.close()
            self._error(400, exc)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            if first is not None:
                self._chunk({"text": first})
                for piece in pieces:
                    self._chunk({"text": piece})
            self._chunk({"end": True})
        except (BrokenPipeError, ConnectionResetError):
            return  # the worker stopped reading; closing the generator stops llama.cpp
        except Exception as exc:  # noqa: BLE001 - reported in the stream, headers are sent
            self._chunk({"error": str(exc), "kind": type(exc).__name__})
        finally:
            pieces.close()
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, item: dict[str, Any]) -> None:
        data = json.dumps(item).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for requests in progress
    block_on_close = True

    def __init__(self, address: tuple[str, int], models: ServedModels) -> None:
        super().__init__(address, _Handler)
        self.models = models
        self.meters = {"stt": StageMeter(), "llm": StageMeter(), "tts": StageMeter()}


class ModelServer:
    """Serves ``resources`` on ``host:port`` (port 0: any free one) until :meth:`stop`."""

    def __init__(self, resources: PipelineResources, info: ServerInfo, host: str = "127.0.0.1",
                 port: int = DEFAULT_PORT) -> None:
        self._http = _HTTPServer((host, port), ServedModels(resources, info))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ModelServer:
        self._thread = threading.Thread(target=self._http.serve_forever, name="model-server")
        self._thread.start()
        return self

    def serve_until(self, stop: threading.Event) -> None:
        self.start()
        stop.wait()

    def stop(self) -> None:
        self._http.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._http.server_close()

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def load_served_models(config: PipelineConfig, with_llm: bool = True) -> ServedModels:
    """The models the config names, loaded here (``models.server`` is what we serve, so it
    is not followed), with the clinic's vocabulary for Whisper."""
    from voiceagent.clinic.config import load_clinic
    from voiceagent.speech.resources import load_resources

    local = config.model_copy(update={"models": config.models.model_copy(
        update={"server": None})})
    vocabulary = load_clinic(config.clinic).vocabulary()
    resources = load_resources(local, vocabulary=vocabulary, with_llm=with_llm)
    tts_rate = int(resources.tts.sample_rate)
    info = ServerInfo(stt=config.models.stt.model,
                      llm=config.models.llm.model if with_llm else None,
                      tts=config.models.tts.voice, sample_rate=tts_rate)
    return ServedModels(resources, info)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Load Whisper, the LLM and Piper once and serve them to the SIP workers of this box "
        "(`voiceagent serve --workers N` starts one itself). Listens on models.server's port "
        f"(default {DEFAULT_PORT}), loopback only."
    )
    parser.add_argument("--port", type=int, help="override the port of models.server")


def run(args: argparse.Namespace) -> int:
    config = load_pipeline(args.config)
    setup_logging(config.logging.level, config.logging.format)
    port: int = args.port or (urlsplit(config.models.server).port if config.models.server
                              else None) or DEFAULT_PORT
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    models = load_served_models(config)
    try:
        server = ModelServer(models.resources, models.info, "127.0.0.1", port)
    except OSError as exc:
        print(f"error: the model server cannot listen on 127.0.0.1:{port} ({exc.strerror}); "
              "another one runs there, or pick another port", file=sys.stderr)
        models.resources.close()
        return 2
    print(f"[model-server] ready {server.url} stt={models.info.stt} llm={models.info.llm} "
          f"tts={models.info.tts}", flush=True)
    try:
        server.serve_until(stop)
    finally:
        server.stop()
        models.resources.close()
    return 0
