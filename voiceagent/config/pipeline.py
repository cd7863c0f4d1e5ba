"""``configs/pipeline.yaml``: models, devices, VAD and endpointing, audio, SIP, HTTP, data.

Secrets are never kept in the file on a real install: the environment overrides them
(``VOICEAGENT_SIP_PASSWORD``, ``VOICEAGENT_API_TOKEN``, ``DATABASE_URL``), and they are held
as ``SecretStr`` so that a log line or a repr never shows them.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from voiceagent.config.base import StrictModel
from voiceagent.config.yamlfile import read_yaml, validate
from voiceagent.outreach.settings import OutreachConfig, WebChatConfig

Device = Literal["auto", "cpu", "cuda"]


class STTConfig(StrictModel):
    model: str = Field("whisper-tiny-en", description="manifest id or path to a CTranslate2 folder")
    device: Device = "auto"
    compute_type: str = "int8"
    language: str = "en"
    beam_size: int = Field(5, ge=1, le=10, description="5: 9/12 voiced phone-path scenarios "
                           "against 7/12 with 1, for about 20 ms more a turn")
    cpu_threads: int = Field(0, ge=0, description="0: let CTranslate2 choose")
    no_speech_threshold: float = Field(0.6, ge=0, le=1)
    min_avg_logprob: float = Field(-1.0, le=0, description="below this a result counts as unsure")


class LLMConfig(StrictModel):
    model: str = Field("smollm2-135m-instruct", description="manifest id or path to a .gguf")
    n_ctx: int = Field(2048, ge=256)
    n_threads: int = Field(0, ge=0, description="0: all cores")
    n_gpu_layers: int = Field(0, ge=-1, description="-1: all layers on the GPU")
    temperature: float = Field(0.2, ge=0, le=2)
    max_reply_tokens: int = Field(96, ge=8)
    capability: Literal["small", "capable"] = Field(
        "small",
        description="small: router and templates decide, the LLM fills gaps; "
        "capable (7-8B): the LLM chooses tools and phrases replies",
    )


class TTSConfig(StrictModel):
    voice: str = Field("piper-joe-medium", description="manifest id or path to a Piper .onnx")
    length_scale: float = Field(1.0, gt=0.3, lt=3)
    first_clause_max_words: int = Field(6, ge=1)


class ModelsConfig(StrictModel):
    stt: STTConfig = STTConfig()
    llm: LLMConfig = LLMConfig()
    tts: TTSConfig = TTSConfig()
    server: str | None = Field(
        None, description="http://127.0.0.1:PORT of the box's model server "
        "(`voiceagent model-server`): STT, LLM and TTS loaded once for every SIP worker; "
        "unset: this process loads its own models"
    )

    @field_validator("server")
    @classmethod
    def _server_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            raise ValueError(f"{value!r} is not http://HOST:PORT (e.g. http://127.0.0.1:8091)")
        return value.rstrip("/")


class VADConfig(StrictModel):
    aggressiveness: int = Field(2, ge=0, le=3)
    speech_start_ms: int = Field(60, ge=20, description="speech needed to open a turn")
    hangover_ms: int = Field(120, ge=0, description="silence bridged inside speech")


class EndpointingConfig(StrictModel):
    silence_ms: int = Field(300, ge=100, le=3000, description="silence that ends a turn")
    slow_input_silence_ms: int = Field(
        1200, ge=100, le=5000,
        description="used while the caller gives digits, a date of birth, an ID or spells",
    )
    speculate_after_ms: int = Field(120, ge=20, description="start STT+LLM after this pause")
    max_turn_s: float = Field(30.0, gt=1)
    barge_in_min_ms: int = Field(250, ge=60, description="caller speech that interrupts playback")
    reprompt_after_s: float = Field(7.0, gt=1)
    hangup_after_reprompts: int = Field(2, ge=1)
    ack_after_ms: int = Field(700, ge=0, description="say 'one moment' when a tool takes longer")
    max_call_s: float = Field(900.0, gt=10)


class AudioConfig(StrictModel):
    channel_rate: Literal[8000, 16000] = 16000
    frame_ms: Literal[10, 20, 30] = 20


class SIPConfig(StrictModel):
    bind: str = "127.0.0.1"
    port: int = Field(5060, ge=1, le=65535)
    mode: Literal["allowlist", "register"] = "allowlist"
    allowlist: list[str] = ["127.0.0.1/32"]
    registrar: str | None = Field(None, description="sip:pbx.example.com when mode is register")
    username: str | None = None
    password: SecretStr | None = Field(None, description="prefer VOICEAGENT_SIP_PASSWORD")
    max_calls: int = Field(
        4, ge=1, description="the pjsua2-python wheel holds at most 4 calls per process"
    )
    overflow_target: str | None = None
    pbx_domain: str | None = Field(
        None, description="host where extensions are dialled (sip:101@pbx_domain); "
        "default: the registrar's host"
    )
    front_desk_digit: str | None = Field("0", pattern=r"^[0-9*#]$")
    ring_timeout_s: float = Field(25.0, gt=1, description="a warm transfer nobody answers")
    rtp_port: int = Field(0, ge=0, le=65535, description="first RTP port; 0: pjsua's default")
    shutdown_grace_s: float = Field(30.0, ge=0, description="SIGTERM: time live calls get")
    invites_per_minute_per_source: int = Field(30, ge=1)
    codecs: list[Literal["PCMU", "PCMA", "G722"]] = ["PCMU", "PCMA", "G722"]
    record_calls: bool = False

    @field_validator("bind")
    @classmethod
    def _ip(cls, value: str) -> str:
        if value == "localhost":
            return "127.0.0.1"
        ipaddress.ip_address(value)
        return value

    @field_validator("allowlist")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network like 10.0.0.0/24"
                ) from None
        return value

    @model_validator(mode="after")
    def _register_needs_registrar(self) -> SIPConfig:
        if self.mode == "register" and not (self.registrar and self.username):
            raise ValueError("mode 'register' needs registrar and username")
        return self


class HTTPConfig(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    api_token: SecretStr | None = Field(None, description="prefer VOICEAGENT_API_TOKEN")
    allowed_hosts: list[str] = Field(
        default_factory=list, description="host names clients use (Host header); the bind "
        "address, and localhost when bound to loopback, are always allowed")

    @field_validator("host")
    @classmethod
    def _bind_address(cls, value: str) -> str:
        if value != "localhost":
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address to bind to (or localhost)"
                                 ) from None
        return value

    @model_validator(mode="after")
    def _token_off_localhost(self) -> HTTPConfig:
        loopback = self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback
        if not loopback and self.api_token is None:
            raise ValueError(
                f"binding to {self.host} (not localhost) needs an api_token "
                "(set VOICEAGENT_API_TOKEN)"
            )
        return self


class DatabaseConfig(StrictModel):
    url: SecretStr | None = Field(
        None, description="default: SQLite in data_dir; prefer DATABASE_URL"
    )


class LoggingConfig(StrictModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["keyvalue", "json"] = "keyvalue"


class PipelineConfig(StrictModel):
    data_dir: Path = Path("data")
    clinic: Path = Field(Path("configs/clinic.yaml"), description="the clinic's configuration")
    models: ModelsConfig = ModelsConfig()
    vad: VADConfig = VADConfig()
    endpointing: EndpointingConfig = EndpointingConfig()
    audio: AudioConfig = AudioConfig()
    sip: SIPConfig = SIPConfig()
    http: HTTPConfig = HTTPConfig()
    database: DatabaseConfig = DatabaseConfig()
    logging: LoggingConfig = LoggingConfig()
    # website chat, SMS and email follow-up (issue 14); off until configured
    webchat: WebChatConfig = WebChatConfig()
    outreach: OutreachConfig = OutreachConfig()

    def database_url(self) -> str:
        """The SQLAlchemy URL: the configured one, else a SQLite file in the data directory."""
        if self.database.url is not None:
            return self.database.url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'voiceagent.db').resolve()}"


PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_pipeline_path() -> Path:
    """``$VOICEAGENT_CONFIG``, else ``configs/pipeline.yaml`` here, else the project's."""
    if os.environ.get("VOICEAGENT_CONFIG"):
        return Path(os.environ["VOICEAGENT_CONFIG"])
    local = Path("configs/pipeline.yaml")
    return local if local.exists() else PROJECT_ROOT / "configs" / "pipeline.yaml"


ENV_SECRETS = {
    "VOICEAGENT_SIP_PASSWORD": ("sip", "password"),
    "VOICEAGENT_API_TOKEN": ("http", "api_token"),
    "DATABASE_URL": ("database", "url"),
}


def load_pipeline(path: Path | str, environ: Mapping[str, str] | None = None) -> PipelineConfig:
    """Load and validate ``pipeline.yaml``; environment variables override the secrets.

    Relative paths (data_dir, clinic) are taken relative to the project root, i.e. the
    parent of the folder holding the file when it lives in ``configs/``.
    """
    path = Path(path)
    env = os.environ if environ is None else environ
    data, lines = read_yaml(path)
    if isinstance(data, dict):
        for var, (section, key) in ENV_SECRETS.items():
            if env.get(var):
                block = data.setdefault(section, {})
                if isinstance(block, dict):
                    block[key] = env[var]
    config = validate(path, data, lines, PipelineConfig)
    root = path.resolve().parent
    if root.name == "configs":
        root = root.parent
    changes: dict[str, Path] = {}
    for field in ("data_dir", "clinic"):
        value: Path = getattr(config, field)
        if not value.is_absolute():
            changes[field] = root / value
    return config.model_copy(update=changes)
