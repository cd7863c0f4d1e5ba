"""The model server's clients: the ``STT``, ``TTS`` and ``LLM`` protocols over HTTP.

A worker with ``models.server`` set gets these from ``load_resources`` in place of the
models themselves; nothing else in the worker knows the difference. Each request opens its
own loopback connection (a call's threads never share one), and a reply stream the worker
stops reading (barge-in, a discarded speculation) is closed, which stops the generation on
the server.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Generator, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from voiceagent.llm.protocol import ChatMessage
from voiceagent.modelserver.wire import (
    LLMRequest,
    ServerInfo,
    STTRequest,
    transcript_from_json,
)
from voiceagent.speech.stt import Transcript

REQUEST_TIMEOUT_S = 120.0  # a turn's STT or a reply under a 12-call load on 2 cores


class ModelServerUnavailable(RuntimeError):
    """The model server cannot be reached or failed a request; the message says what to do."""


class ModelServerClient:
    """Requests to one model server (``http://host:port``)."""

    def __init__(self, url: str, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"{url!r} is not http://HOST:PORT")
        self.url = url
        self.host, self.port = parts.hostname, parts.port
        self.timeout_s = timeout_s

    def _connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None
                 ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        conn = self._connection()
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
        except OSError as exc:
            conn.close()
            raise ModelServerUnavailable(
                f"the model server at {self.url} did not answer {path} ({exc}); is "
                "`voiceagent model-server` running there (models.server)?") from exc
        if response.status != 200:
            try:
                error = json.loads(response.read())
            except (ValueError, OSError):
                error = {"error": f"status {response.status}", "kind": ""}
            conn.close()
            if error.get("kind") in ("ValueError", "WireError"):
                raise ValueError(f"model server: {error.get('error')}")
            raise ModelServerUnavailable(
                f"the model server at {self.url} failed {path}: {error.get('error')}")
        return conn, response

    def get_json(self, path: str) -> dict[str, Any]:
        conn, response = self._request("GET", path)
        try:
            return dict(json.loads(response.read()))
        finally:
            conn.close()

    def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        conn, response = self._request("POST", path, body)
        try:
            return dict(json.loads(response.read()))
        finally:
            conn.close()

    def post_bytes(self, path: str, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        conn, response = self._request("POST", path, body)
        try:
            return response.read(), dict(response.getheaders())
        finally:
            conn.close()

    def post_lines(self, path: str, body: dict[str, Any]
                   ) -> Generator[dict[str, Any], None, None]:
        conn, response = self._request("POST", path, body)
        try:
            for line in response:
                if line.strip():
                    yield dict(json.loads(line))
        finally:
            conn.close()

    def info(self) -> ServerInfo:
        return ServerInfo.from_json(self.get_json("/health"))

    def wait_ready(self, timeout_s: float) -> ServerInfo:
        """The server's models, once it answers (it may still be loading them)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.info()
            except ModelServerUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


class RemoteSTT:
    """``STT`` on the model server (whose Whisper holds the clinic's vocabulary)."""

    def __init__(self, client: ModelServerClient) -> None:
        self.client = client

    def transcribe(self, audio: np.ndarray, prompt: str = "") -> Transcript:
        return transcript_from_json(
            self.client.post_json("/stt", STTRequest(audio, prompt).to_json()))


class RemoteTTS:
    """``TTS`` on the model server."""

    def __init__(self, client: ModelServerClient, sample_rate: int) -> None:
        self.client = client
        self.sample_rate = sample_rate

    def synthesize(self, text: str) -> np.ndarray:
        if not text.strip():
            return np.zeros(0, np.int16)
        pcm, _headers = self.client.post_bytes("/tts", {"text": text})
        return np.frombuffer(pcm, dtype="<i2").astype(np.int16)


class RemoteLLM:
    """``LLM`` on the model server: the pieces arrive as the server generates them."""

    def __init__(self, client: ModelServerClient) -> None:
        self.client = client

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 128,
        temperature: float | None = None,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        request = LLMRequest(tuple(messages), json_schema, max_tokens, temperature, tuple(stop))
        lines = self.client.post_lines("/llm/stream", request.to_json())
        try:
            for item in lines:
                if "text" in item:
                    yield str(item["text"])
                elif item.get("end"):
                    return
                elif "error" in item:
                    raise ModelServerUnavailable(
                        f"the model server's LLM failed mid-reply: {item['error']}")
            raise ModelServerUnavailable("the model server ended a reply without its end mark")
        finally:
            lines.close()  # a reply not read to the end: the server stops generating it

    def warm(self, system_prompt: str) -> float:
        return float(self.client.post_json("/llm/warm", {"system_prompt": system_prompt})
                     ["seconds"])
