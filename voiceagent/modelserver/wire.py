"""What the model server and its clients send each other (HTTP/1.1 on loopback).

| request | body | answer |
|---|---|---|
| ``GET /health`` | | :class:`ServerInfo` as JSON |
| ``GET /stats`` | | per engine (``stt``, ``llm``, ``tts``): ``{"requests", "busy_s"}`` |
| ``POST /stt`` | :class:`STTRequest` as JSON | a ``Transcript``'s fields as JSON |
| ``POST /tts`` | :class:`TTSRequest` as JSON | int16 little-endian PCM at ``sample_rate`` |
| ``POST /llm/stream`` | :class:`LLMRequest` as JSON | JSON lines, chunked (see below) |
| ``POST /llm/warm`` | ``{"system_prompt": str}`` | ``{"seconds": float}`` |

The reply stream is ``{"text": piece}`` per piece, then ``{"end": true}``, or
``{"error": ..., "kind": ...}`` if the generation fails once started.
A request the server cannot take is answered 400 (bad input, a prompt too long for the
context: ``kind`` ``ValueError``) or 503 (no LLM loaded) with ``{"error", "kind"}``.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from voiceagent.llm.protocol import ChatMessage
from voiceagent.speech.stt import Transcript


class WireError(ValueError):
    """A body that is not what the endpoint takes."""


def _require(body: dict[str, Any], key: str, kind: type) -> Any:
    value = body.get(key)
    if not isinstance(value, kind):
        raise WireError(f"{key!r} must be {kind.__name__}")
    return value


@dataclass(frozen=True)
class ServerInfo:
    stt: str
    llm: str | None
    tts: str
    sample_rate: int  # of the TTS's audio

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(body: dict[str, Any]) -> ServerInfo:
        return ServerInfo(stt=str(body["stt"]), llm=body.get("llm"), tts=str(body["tts"]),
                          sample_rate=int(body["sample_rate"]))


@dataclass(frozen=True)
class STTRequest:
    audio: np.ndarray  # 16 kHz int16
    prompt: str = ""

    def to_json(self) -> dict[str, Any]:
        pcm = np.asarray(self.audio, dtype="<i2").tobytes()
        return {"audio": base64.b64encode(pcm).decode("ascii"), "prompt": self.prompt}

    @staticmethod
    def from_json(body: dict[str, Any]) -> STTRequest:
        encoded = _require(body, "audio", str)
        try:
            pcm = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise WireError("'audio' is not base64") from exc
        if len(pcm) % 2:
            raise WireError("'audio' must hold 16-bit samples")
        prompt = body.get("prompt", "")
        if not isinstance(prompt, str):
            raise WireError("'prompt' must be str")
        return STTRequest(np.frombuffer(pcm, dtype="<i2").astype(np.int16), prompt)


def transcript_to_json(transcript: Transcript) -> dict[str, Any]:
    return asdict(transcript)


def transcript_from_json(body: dict[str, Any]) -> Transcript:
    return Transcript(text=str(body["text"]), confidence=float(body["confidence"]),
                      no_speech=bool(body["no_speech"]), audio_ms=float(body["audio_ms"]))


@dataclass(frozen=True)
class TTSRequest:
    text: str

    @staticmethod
    def from_json(body: dict[str, Any]) -> TTSRequest:
        return TTSRequest(_require(body, "text", str))


@dataclass(frozen=True)
class LLMRequest:
    messages: tuple[ChatMessage, ...]
    json_schema: dict[str, Any] | None = None
    max_tokens: int = 128
    temperature: float | None = None
    stop: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {"messages": [{"role": m.role, "content": m.content} for m in self.messages],
                "json_schema": self.json_schema, "max_tokens": self.max_tokens,
                "temperature": self.temperature, "stop": list(self.stop)}

    @staticmethod
    def from_json(body: dict[str, Any]) -> LLMRequest:
        messages = []
        for item in _require(body, "messages", list):
            if not isinstance(item, dict) or item.get("role") not in (
                    "system", "user", "assistant", "tool") or not isinstance(
                    item.get("content"), str):
                raise WireError("each message needs a role (system|user|assistant|tool) and "
                                "a str content")
            messages.append(ChatMessage(item["role"], item["content"]))
        schema = body.get("json_schema")
        if schema is not None and not isinstance(schema, dict):
            raise WireError("'json_schema' must be an object or null")
        max_tokens = body.get("max_tokens", 128)
        if not isinstance(max_tokens, int) or max_tokens < 1:
            raise WireError("'max_tokens' must be a positive int")
        temperature = body.get("temperature")
        if temperature is not None and not isinstance(temperature, int | float):
            raise WireError("'temperature' must be a number or null")
        stop = body.get("stop", [])
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise WireError("'stop' must be a list of str")
        return LLMRequest(tuple(messages), schema, max_tokens,
                          None if temperature is None else float(temperature), tuple(stop))
