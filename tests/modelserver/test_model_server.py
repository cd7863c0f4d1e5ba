"""The model server on the bundled models: its clients answer as the models do in process,
several calls' requests are served at once, and bad requests get clear errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.espeak import say
from voiceagent.config.pipeline import load_pipeline
from voiceagent.llm.protocol import ChatMessage
from voiceagent.modelserver.client import (
    ModelServerClient,
    ModelServerUnavailable,
    RemoteLLM,
    RemoteSTT,
    RemoteTTS,
)
from voiceagent.modelserver.server import ModelServer, ServedModels, load_served_models
from voiceagent.speech.resources import load_resources

pytestmark = [pytest.mark.models, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SENTENCE = "I would like to book an appointment with the physical therapist on Tuesday."
CHAT = [ChatMessage("system", "You are a clinic's receptionist. Answer in one sentence."),
        ChatMessage("user", "What are your hours on Monday?")]
SCHEMA = {"type": "object", "properties": {"intent": {"type": "string",
                                                       "enum": ["book", "hours", "other"]}},
          "required": ["intent"]}


def pipeline(tmp_path: Path, server: str | None = None) -> Path:
    config = tmp_path / "pipeline.yaml"
    models = f"models: {{server: '{server}'}}\n" if server else ""
    config.write_text(f"data_dir: {tmp_path / 'data'}\n"
                      f"clinic: {ROOT / 'configs' / 'clinic.yaml'}\n" + models)
    return config


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedModels]:
    config = load_pipeline(pipeline(tmp_path_factory.mktemp("models")))
    served = load_served_models(config)
    yield served
    served.resources.close()


@pytest.fixture
def server(models: ServedModels) -> Iterator[ModelServer]:
    with ModelServer(models.resources, models.info, port=0) as running:
        yield running


def test_remote_whisper_hears_what_the_local_one_hears(models, server, tmp_path) -> None:
    audio = say(SENTENCE, tmp_path / "a.wav", 16000)
    remote = RemoteSTT(ModelServerClient(server.url)).transcribe(audio, "Riverside")
    local = models.resources.stt.transcribe(audio, "Riverside")
    assert remote == local
    assert "appointment" in remote.text.lower()


def test_remote_piper_returns_the_voices_speech_at_the_voices_rate(models, server) -> None:
    client = ModelServerClient(server.url)
    tts = RemoteTTS(client, client.info().sample_rate)
    remote = tts.synthesize("Riverside Physical Therapy, how can I help?")
    local = models.resources.tts.synthesize("Riverside Physical Therapy, how can I help?")
    assert tts.sample_rate == models.resources.tts.sample_rate
    assert remote.dtype == np.int16  # Piper samples its durations: lengths differ a little
    assert abs(remote.size - local.size) < 0.1 * local.size
    assert np.abs(remote.astype(np.float32)).mean() > 100
    assert tts.synthesize("  ").size == 0


def test_remote_llm_streams_the_same_greedy_reply_and_honours_a_schema(models, server) -> None:
    llm = RemoteLLM(ModelServerClient(server.url))
    assert llm.warm(CHAT[0].content) >= 0.0
    remote = list(llm.stream(CHAT, max_tokens=24, temperature=0.0))
    assert len(remote) > 1, "the reply arrives piece by piece"
    assert models.resources.llm is not None
    local = "".join(models.resources.llm.stream(CHAT, max_tokens=24, temperature=0.0))
    assert "".join(remote) == local
    constrained = "".join(llm.stream(CHAT, json_schema=SCHEMA, max_tokens=24, temperature=0.0))
    assert json.loads(constrained)["intent"] in ("book", "hours", "other")


def test_a_reply_abandoned_midway_leaves_the_server_answering(server) -> None:
    llm = RemoteLLM(ModelServerClient(server.url))
    pieces = llm.stream(CHAT, max_tokens=64, temperature=0.0)
    next(pieces)
    pieces.close()  # a barge-in: the worker stops reading
    assert "".join(llm.stream(CHAT, max_tokens=8, temperature=0.0))


def test_requests_of_several_calls_at_once_are_all_answered(server, tmp_path) -> None:
    client = ModelServerClient(server.url)
    audio = say(SENTENCE, tmp_path / "a.wav", 16000)
    stt, tts, llm = RemoteSTT(client), RemoteTTS(client, 22050), RemoteLLM(client)
    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def call(n: int) -> None:
        try:
            results[f"stt{n}"] = stt.transcribe(audio).text
            results[f"tts{n}"] = tts.synthesize("One moment please.").size
            results[f"llm{n}"] = "".join(llm.stream(CHAT, max_tokens=8, temperature=0.0))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert all("appointment" in str(results[f"stt{n}"]).lower() for n in range(4))
    assert all(int(results[f"tts{n}"]) > 0 for n in range(4))  # type: ignore[call-overload]
    assert len({results[f"llm{n}"] for n in range(4)}) == 1
    stats = client.get_json("/stats")
    assert {name: stats[name]["requests"] for name in ("stt", "tts", "llm")} == {
        "stt": 4, "tts": 4, "llm": 4}
    assert all(stats[name]["busy_s"] > 0 for name in ("stt", "tts", "llm"))


def test_bad_requests_get_a_clear_error_and_the_server_keeps_serving(server) -> None:
    client = ModelServerClient(server.url)
    with pytest.raises(ValueError, match="'audio' must be str"):
        client.post_json("/stt", {"prompt": "no audio"})
    with pytest.raises(ValueError, match="exceeds models.llm.n_ctx"):
        list(RemoteLLM(client).stream([ChatMessage("user", "word " * 3000)], max_tokens=8))
    with pytest.raises(ModelServerUnavailable, match="no /nothing"):
        client.get_json("/nothing")
    assert client.info().tts == "piper-joe-medium"


def test_a_worker_without_its_model_server_is_told_what_to_start() -> None:
    client = ModelServerClient("http://127.0.0.1:9", timeout_s=1)
    with pytest.raises(ModelServerUnavailable, match="voiceagent model-server"):
        client.info()


def test_models_server_in_the_config_gives_the_worker_the_servers_models(
    server, tmp_path
) -> None:
    config = load_pipeline(pipeline(tmp_path, server.url))
    resources = load_resources(config, fixed_phrases=["Thanks for calling."])
    assert isinstance(resources.stt, RemoteSTT) and isinstance(resources.tts, RemoteTTS)
    assert resources.phrases.get("Thanks for calling.", config.audio.channel_rate) is not None
    assert resources.llm is not None
    assert "".join(resources.llm.stream(CHAT, max_tokens=8, temperature=0.0))
