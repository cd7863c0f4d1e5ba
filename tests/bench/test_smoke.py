"""A whole benchmark on a two-utterance corpus, through the real models (and SIP when
baresip is installed): checks the JSON's structure and that every figure is there and
positive. No timing thresholds: the figures depend on the machine."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fast_models import FAST_LLM
from voiceagent.bench.samples import END_TO_END, PER_STAGE, WIRE

pytestmark = [pytest.mark.models, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PERCENTILES = ("p50", "p90", "p95", "max")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str]:
    out = tmp_path_factory.mktemp("bench") / "out"
    default = (ROOT / "configs" / "pipeline.yaml").read_text()
    pipeline = out.parent / "pipeline.yaml"  # the shipped config, on the fast model
    fast = re.sub(r"(?m)^(    model: )qwen\S+", rf"\g<1>{FAST_LLM}", default)
    fast = re.sub(r"(?m)^clinic: configs/", f"clinic: {ROOT / 'configs'}/", fast)
    pipeline.write_text(re.sub(r"(?m)^data_dir: data\b", f"data_dir: {out.parent / 'data'}",
                               fast))
    assert FAST_LLM in pipeline.read_text()
    args = [
        sys.executable,
        str(ROOT / "scripts" / "bench_latency.py"),
        "--config",
        str(pipeline),
        "--bench-config",
        str(ROOT / "configs" / "bench.yaml"),
        "--utterances",
        "2",
        "--voices",
        "piper-joe",
        "--turns",
        "2",
        "--matrix",
        "tiny-en",
        "--levels",
        "1",
        "--calls-per-line",
        "1",
        "--sip-turns",
        "1",
        "--quiet",
        "--out",
        str(out),
    ]
    if shutil.which("baresip") is None:
        args.append("--no-sip")
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "results.json").read_text()), out, done.stdout


def test_the_run_prints_where_its_report_is(run: tuple[dict, Path, str]) -> None:
    _, out, stdout = run
    assert f"report: {out / 'report.md'}" in stdout
    assert "| tiny-en | whisper-tiny-en |" in (out / "report.md").read_text()


def test_results_name_the_hardware_versions_models_and_corpus(run: tuple[dict, Path, str]) -> None:
    doc, _, _ = run
    assert doc["schema"] == "voiceagent-bench/1"
    system = doc["system"]
    assert system["cpu"] and system["cores_logical"] >= 1 and system["memory_gib"] > 0
    assert system["packages"]["faster-whisper"] and system["packages"]["piper-tts"]
    [combo] = doc["combos"]
    assert combo["models"] == {
        "stt": "whisper-tiny-en",
        "llm": FAST_LLM,
        "tts": "piper-joe-medium",
    }
    clips = doc["corpus"]["clips"]
    assert len(clips) == 4  # 2 utterances x 1 voice x (wideband, telephone)
    assert {c["band"] for c in clips} == {"wide", "tel"}
    assert all(Path(c["path"]).exists() and c["reference"] for c in clips)


def test_every_stage_has_positive_percentiles_on_every_path(run: tuple[dict, Path, str]) -> None:
    doc, _, _ = run
    [combo] = doc["combos"]
    expected = {"file", "naive"} | ({"sip"} if shutil.which("baresip") else set())
    assert set(combo["paths"]) == expected, doc["skipped"]
    for name, path in combo["paths"].items():
        stages = (*PER_STAGE, *END_TO_END, *(WIRE if name == "sip" else ()))
        for stage in stages:
            summary = path["stages"].get(stage)
            assert summary is not None, f"{name}: no {stage}"
            assert summary["n"] >= 1
            assert all(summary[q] > 0 for q in PERCENTILES), (name, stage, summary)
        resources = path["resources"]
        assert resources["process_cpu_percent_mean"] > 0 and resources["rss_mib_max"] > 0
    for sample in doc["samples"]:
        assert all(value > 0 for value in sample["stages"].values()), sample


def test_wer_real_time_factors_gain_and_sweep_are_reported(run: tuple[dict, Path, str]) -> None:
    doc, _, _ = run
    [combo] = doc["combos"]
    wer = combo["wer"]
    assert wer["overall"]["words"] > 0 and 0 <= wer["overall"]["wer"]
    assert set(wer["by_band"]) == {"wide", "tel"}
    assert len(wer["samples"]) == 4
    for key in ("stt", "tts", "llm_tokens_per_s", "llm_first_token_ms"):
        assert combo["rtf"][key]["p50"] > 0, key
    assert combo["streaming_gain"]["first_content_audio_p50"] > 0
    sweep = combo["concurrency"]
    assert [level["calls"] for level in sweep["levels"]] == [1]
    assert sweep["levels"][0]["stages"]["first_content_audio"]["p95"] > 0
    assert sweep["max_calls_within_target"] in (0, 1)


def test_plots_are_png_files(run: tuple[dict, Path, str]) -> None:
    doc, out, _ = run
    assert set(doc["plots"]) >= {
        "latency_distribution.png",
        "stage_breakdown_tiny-en.png",
        "stage_p50.png",
        "concurrency.png",
    }
    for name in doc["plots"]:
        assert (out / name).read_bytes()[:4] == b"\x89PNG"


def test_the_front_desk_answered_from_a_store_of_the_runs_own(run: tuple[dict, Path, str]) -> None:
    doc, out, _ = run
    assert doc["config"]["dialog"] == "voiceagent.channels.file:frontdesk_dialog"
    assert (out / "store" / "voiceagent.db").exists()  # never the clinic's data/ store
    cache = doc["combos"][0]["prompt_cache"]
    assert cache["first_token_ms_reused"] > 0 and cache["first_token_ms_recomputed"] > 0
