import json
from pathlib import Path

import pytest

from voiceagent.bench.plots import write_plots
from voiceagent.bench.report import render_markdown, stage_summaries, write_json
from voiceagent.bench.samples import STAGES, TurnSample

pytestmark = pytest.mark.unit


def sample(path: str, scale: float, clip: str, concurrency: int = 1) -> TurnSample:
    stages = {name: scale * (i + 1) * 100.0 for i, name in enumerate(STAGES)}
    return TurnSample(
        combo="tiny",
        path=path,
        clip=clip,
        voice="v",
        band="wide",
        speech_s=2.0,
        stages=stages,
        concurrency=concurrency,
        sweep=concurrency > 1,
    )


def document(samples: list[TurnSample]) -> dict:
    by_path = {
        p: [s for s in samples if s.path == p and s.concurrency == 1] for p in ("file", "naive")
    }
    levels = []
    for calls in (1, 2):
        level = [s for s in samples if s.concurrency == calls and s.path == "file"]
        levels.append(
            {
                "calls": calls,
                "turns": len(level),
                "stages": stage_summaries(level),
                "resources": None,
                "within_target": calls == 1,
            }
        )
    return {
        "started_at": "2026-01-01T00:00:00+00:00",
        "duration_s": 12.0,
        "system": {
            "cpu": "Test CPU",
            "cores_logical": 2,
            "memory_gib": 4,
            "gpus": [],
            "packages": {"numpy": "2"},
        },
        "corpus": {"clips_total": 4, "description": "2 x 1 x 2"},
        "combos": [
            {
                "name": "tiny",
                "models": {"stt": "whisper-tiny-en", "llm": "smol", "tts": "joe"},
                "paths": {
                    p: {
                        "turns": len(v),
                        "stages": stage_summaries(v),
                        "resources": {
                            "seconds": 3.0,
                            "process_cpu_percent_mean": 90.0,
                            "process_cpu_percent_max": 180.0,
                            "system_cpu_percent_mean": 95.0,
                            "rss_mib_max": 700.0,
                            "gpu_util_percent_mean": None,
                            "gpu_memory_mib_max": None,
                        },
                    }
                    for p, v in by_path.items()
                },
                "wer": {
                    "overall": {"wer": 0.1, "errors": 1, "words": 10},
                    "by_band": {"wide": {"wer": 0.05}, "tel": {"wer": 0.15}},
                },
                "rtf": {"stt": {"p50": 0.2}, "tts": {"p50": 0.3}},
                "streaming_gain": {"first_content_audio_p50": 2.0},
                "concurrency": {
                    "target_ms": 1000.0,
                    "levels": levels,
                    "max_calls_within_target": 1,
                },
            }
        ],
        "skipped": [{"what": "SIP path", "why": "baresip missing"}],
    }


def test_report_markdown_has_summary_stage_table_sweep_and_what_was_skipped(
    tmp_path: Path,
) -> None:
    samples = [sample("file", 1.0, f"c{i}") for i in range(3)]
    samples += [sample("naive", 2.0, f"c{i}") for i in range(3)]
    samples += [sample("file", 3.0, f"c{i}", concurrency=2) for i in range(4)]
    doc = document(samples)
    doc["plots"] = write_plots(doc, samples, tmp_path)
    md = render_markdown(doc)
    assert (
        "| tiny | whisper-tiny-en | smol | joe | 5.0% | 15.0% | 700 ms / 700 ms | 1.40 s "
        "| 2.00x | 600 ms | 1 |" in md
    )
    assert "**first content audio out**" in md
    assert "| 2 | 4 | 2.10 s | 2.10 s | 2.10 s | 1.80 s |" in md  # the sweep's second level
    assert "- SIP path: baresip missing" in md
    for name in (
        "latency_distribution.png",
        "stage_breakdown_tiny.png",
        "stage_p50.png",
        "concurrency.png",
    ):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert name in md
    write_json(doc, tmp_path / "results.json")
    assert json.loads((tmp_path / "results.json").read_text())["combos"][0]["name"] == "tiny"
