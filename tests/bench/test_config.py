from pathlib import Path

import pytest

from voiceagent.bench.config import BenchConfig, load_bench_config
from voiceagent.config import ConfigError

pytestmark = pytest.mark.unit


def test_defaults_give_two_whisper_sizes_three_voices_and_a_one_second_target() -> None:
    config = load_bench_config(None)
    assert [m.stt for m in config.matrix] == ["whisper-tiny-en", "whisper-base"]
    assert {v.engine for v in config.corpus.voices} == {"espeak", "piper"}
    assert config.concurrency.target_ms == 1000.0


def test_the_shipped_bench_yaml_is_valid() -> None:
    shipped = Path(__file__).resolve().parents[2] / "configs" / "bench.yaml"
    assert isinstance(load_bench_config(shipped), BenchConfig)


def test_a_duplicate_matrix_name_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bench.yaml"
    path.write_text("matrix:\n  - name: a\n    stt: whisper-tiny-en\n  - name: a\n")
    with pytest.raises(ConfigError, match="bench.yaml"):
        load_bench_config(path)


def test_concurrency_levels_must_ascend(tmp_path: Path) -> None:
    path = tmp_path / "bench.yaml"
    path.write_text("concurrency:\n  levels: [4, 2]\n")
    with pytest.raises(ConfigError, match="ascending"):
        load_bench_config(path)


def test_an_unknown_key_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bench.yaml"
    path.write_text("corpus:\n  utterances: 2\n  voicez: []\n")
    with pytest.raises(ConfigError) as info:
        load_bench_config(path)
    assert "voicez" in str(info.value) and "3" in str(info.value)
