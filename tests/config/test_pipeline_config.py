"""pipeline.yaml: defaults load, bad values name file, key and line, secrets come from the env."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceagent.config import ConfigError
from voiceagent.config.pipeline import load_pipeline

pytestmark = pytest.mark.unit
SHIPPED = Path(__file__).resolve().parents[2] / "configs" / "pipeline.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return path


def test_shipped_pipeline_config_loads_with_local_defaults() -> None:
    config = load_pipeline(SHIPPED, environ={})
    assert config.sip.bind == "127.0.0.1" and config.sip.port == 5060
    assert config.http.host == "127.0.0.1" and config.http.port == 8080
    assert config.database_url().startswith("sqlite:///")
    assert config.data_dir.is_absolute()


def test_wrong_type_names_file_key_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "sip:\n  bind: 127.0.0.1\n  port: five\n")
    with pytest.raises(ConfigError) as err:
        load_pipeline(path, environ={})
    assert (err.value.key, err.value.line) == ("sip.port", 3)
    assert str(err.value).startswith(f"{path}:3: sip.port:")
    assert "'five'" in str(err.value)


def test_unknown_key_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "vad:\n  aggressiveness: 2\n  agressiveness: 3\n")
    with pytest.raises(ConfigError) as err:
        load_pipeline(path, environ={})
    assert (err.value.key, err.value.line) == ("vad.agressiveness", 3)
    assert "unknown key" in err.value.problem


def test_list_item_error_points_at_the_item(tmp_path: Path) -> None:
    path = write(tmp_path, "sip:\n  allowlist:\n    - 10.0.0.0/8\n    - pbx.example\n")
    with pytest.raises(ConfigError) as err:
        load_pipeline(path, environ={})
    assert (err.value.key, err.value.line) == ("sip.allowlist", 2)
    assert "pbx.example" in err.value.problem


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "sip:\n  bind: 127.0.0.1\n port: [5060\n")
    with pytest.raises(ConfigError) as err:
        load_pipeline(path, environ={})
    assert err.value.line == 3 and "not valid YAML" in err.value.problem


def test_duplicate_key_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "http:\n  port: 8080\n  port: 8081\n")
    with pytest.raises(ConfigError) as err:
        load_pipeline(path, environ={})
    assert (err.value.key, err.value.line) == ("http.port", 3)


def test_public_http_bind_needs_a_token(tmp_path: Path) -> None:
    path = write(tmp_path, "http:\n  host: 0.0.0.0\n")
    with pytest.raises(ConfigError) as err:
        load_pipeline(path, environ={})
    assert "VOICEAGENT_API_TOKEN" in err.value.problem
    config = load_pipeline(path, environ={"VOICEAGENT_API_TOKEN": "s3cret-token"})
    assert config.http.api_token is not None


def test_environment_overrides_secrets_and_they_never_print(tmp_path: Path) -> None:
    path = write(tmp_path, "sip:\n  password: from-file\n")
    env = {"VOICEAGENT_SIP_PASSWORD": "hunter2-sip", "DATABASE_URL": "postgresql://u:pw9@h/db"}
    config = load_pipeline(path, environ=env)
    assert config.sip.password is not None
    assert config.sip.password.get_secret_value() == "hunter2-sip"
    assert config.database_url() == "postgresql://u:pw9@h/db"
    shown = repr(config) + str(config) + config.model_dump_json()
    assert "hunter2-sip" not in shown and "pw9" not in shown


def test_register_mode_needs_a_registrar(tmp_path: Path) -> None:
    path = write(tmp_path, "sip:\n  mode: register\n")
    with pytest.raises(ConfigError) as err:
        load_pipeline(path, environ={})
    assert err.value.key == "sip" and "registrar" in err.value.problem
