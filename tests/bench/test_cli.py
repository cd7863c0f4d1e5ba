import argparse

import pytest

from voiceagent.bench.cli import add_arguments, apply_overrides
from voiceagent.bench.config import BenchConfig

pytestmark = pytest.mark.unit


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_command_line_options_override_the_bench_config() -> None:
    args = parse(
        "--matrix",
        "tiny-en",
        "--utterances",
        "2",
        "--voices",
        "piper-joe",
        "--turns",
        "3",
        "--no-sip",
        "--levels",
        "1,2",
        "--calls-per-line",
        "1",
        "--target-ms",
        "800",
        "--baseline",
        "none",
        "--device",
        "cpu",
    )
    config = apply_overrides(BenchConfig(), args)
    assert [m.name for m in config.matrix] == ["tiny-en"]
    assert [v.name for v in config.corpus.voices] == ["piper-joe"]
    assert (config.corpus.utterances, config.corpus.latency_turns) == (2, 3)
    assert not config.sip.enabled
    assert config.concurrency.levels == [1, 2]
    assert config.concurrency.turns_per_call == 1
    assert config.concurrency.target_ms == 800
    assert (config.baseline, config.device) == ("none", "cpu")


def test_no_options_keep_the_config_as_it_is() -> None:
    assert apply_overrides(BenchConfig(), parse()) == BenchConfig()


def test_an_unknown_matrix_entry_names_the_known_ones() -> None:
    with pytest.raises(SystemExit, match="known: \\['tiny-en', 'base'\\]"):
        apply_overrides(BenchConfig(), parse("--matrix", "large"))


def test_levels_must_be_numbers() -> None:
    with pytest.raises(SystemExit):
        parse("--levels", "one,two")
