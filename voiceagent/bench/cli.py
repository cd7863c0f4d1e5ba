"""``voiceagent bench`` (also ``make bench`` and ``scripts/bench_latency.py``)."""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import datetime
from pathlib import Path

from voiceagent.bench.config import BenchConfig, load_bench_config

PROJECT_ROOT = Path(__file__).resolve().parents[2]

EPILOG = """\
Examples:
  voiceagent bench                             everything in configs/bench.yaml
  voiceagent bench --matrix tiny-en --turns 4 --no-sip --levels 1,2
  voiceagent bench --utterances 2 --voices espeak-us --turns 2 --no-sip --no-concurrency

Writes results.json (every raw sample, summaries, hardware, versions, models), report.md
and PNG plots into bench-out/<timestamp>/ (or --out) and prints where they are.
"""


def default_bench_config() -> Path | None:
    for candidate in (Path("configs/bench.yaml"), PROJECT_ROOT / "configs" / "bench.yaml"):
        if candidate.exists():
            return candidate
    return None


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected numbers like 1,2,4; got {text!r}") from err


def _name_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument(
        "--bench-config",
        type=Path,
        default=None,
        metavar="BENCH.yaml",
        help="model matrix and corpus (default: configs/bench.yaml if present)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder (default: bench-out/<timestamp>)",
    )
    parser.add_argument(
        "--matrix",
        type=_name_list,
        default=None,
        metavar="A,B",
        help="run only these matrix entries",
    )
    parser.add_argument(
        "--utterances",
        type=int,
        default=None,
        metavar="N",
        help="use the first N built-in utterances",
    )
    parser.add_argument(
        "--voices",
        type=_name_list,
        default=None,
        metavar="A,B",
        help="use only these corpus voices",
    )
    parser.add_argument(
        "--no-telephone", action="store_true", help="skip the 8 kHz G.711 versions of the clips"
    )
    parser.add_argument(
        "--turns",
        type=int,
        default=None,
        metavar="N",
        help="clips per combination in the latency runs",
    )
    parser.add_argument(
        "--baseline",
        choices=["naive", "none"],
        default=None,
        help="run the naive sequential baseline on the same turns (default)",
    )
    parser.add_argument("--no-sip", action="store_true", help="skip the SIP path")
    parser.add_argument("--sip-peer", choices=["baresip", "sipp"], default=None)
    parser.add_argument(
        "--sip-turns",
        type=int,
        default=None,
        metavar="N",
        help="calls over SIP (first matrix entry)",
    )
    parser.add_argument("--no-concurrency", action="store_true", help="skip the concurrency sweep")
    parser.add_argument(
        "--levels",
        type=_int_list,
        default=None,
        metavar="1,2,4",
        help="simultaneous calls to try, ascending",
    )
    parser.add_argument(
        "--calls-per-line",
        type=int,
        default=None,
        metavar="N",
        help="calls each simultaneous line places in the sweep",
    )
    parser.add_argument(
        "--target-ms",
        type=float,
        default=None,
        help="p95 first content audio the sweep must hold (default 1000)",
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default=None,
        help="auto (default): CUDA for STT/LLM when available",
    )
    parser.add_argument(
        "--dialog",
        default=None,
        metavar="MODULE:FACTORY",
        help="dialog factory answering the calls",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def apply_overrides(bench: BenchConfig, args: argparse.Namespace) -> BenchConfig:
    """Command-line options over the file's values (validated again as a whole)."""
    data = bench.model_dump()
    corpus = data["corpus"]
    if args.matrix:
        known = [m["name"] for m in data["matrix"]]
        unknown = [m for m in args.matrix if m not in known]
        if unknown:
            raise SystemExit(f"--matrix: unknown entries {unknown}; known: {known}")
        data["matrix"] = [m for m in data["matrix"] if m["name"] in args.matrix]
    if args.voices:
        known = [v["name"] for v in corpus["voices"]]
        unknown = [v for v in args.voices if v not in known]
        if unknown:
            raise SystemExit(f"--voices: unknown voices {unknown}; known: {known}")
        corpus["voices"] = [v for v in corpus["voices"] if v["name"] in args.voices]
    if args.utterances is not None:
        corpus["utterances"] = args.utterances
    if args.no_telephone:
        corpus["telephone"] = False
    if args.turns is not None:
        corpus["latency_turns"] = args.turns
    if args.baseline:
        data["baseline"] = args.baseline
    if args.no_sip:
        data["sip"]["enabled"] = False
    if args.sip_peer:
        data["sip"]["peer"] = args.sip_peer
    if args.sip_turns is not None:
        data["sip"]["turns"] = args.sip_turns
    if args.calls_per_line is not None:
        data["concurrency"]["turns_per_call"] = args.calls_per_line
    if args.no_concurrency:
        data["concurrency"]["enabled"] = False
    if args.levels:
        data["concurrency"]["levels"] = args.levels
    if args.target_ms is not None:
        data["concurrency"]["target_ms"] = args.target_ms
    if args.device:
        data["device"] = args.device
    if args.dialog:
        data["dialog"] = args.dialog
    return BenchConfig.model_validate(data)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; prints where the report is. Returns the exit status."""
    from voiceagent.bench.dialogs import DialogNotFound
    from voiceagent.bench.runner import RunOptions, run_benchmark
    from voiceagent.config.pipeline import PipelineConfig, load_pipeline
    from voiceagent.models.paths import ModelNotInstalled

    bench_path = args.bench_config or default_bench_config()
    bench = apply_overrides(load_bench_config(bench_path), args)
    config_path = getattr(args, "config", None)
    pipeline = (
        load_pipeline(config_path)
        if config_path and Path(config_path).exists()
        else PipelineConfig()
    )
    out = args.out or Path("bench-out") / datetime.now().strftime("%Y%m%d-%H%M%S")
    paths = ("file",) if not bench.sip.enabled else ("file", "sip")
    options = RunOptions(
        out_dir=out,
        paths=paths,
        progress=not args.quiet,
        command="voiceagent bench " + shlex.join(sys.argv[2:]),
    )
    try:
        result = run_benchmark(bench, pipeline, options)
    except (ModelNotInstalled, DialogNotFound) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    md = result.markdown_path.read_text()
    summary = md.split("## Summary", 1)[1].split("\n## ", 1)[0] if "## Summary" in md else ""
    print("Summary" + summary.rstrip())
    print(
        f"\nreport: {result.markdown_path}\nresults: {result.json_path}\n"
        f"plots: {', '.join(str(out / p) for p in result.doc.get('plots', {}))}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry for ``scripts/bench_latency.py``: the same options, ``--config`` included."""
    parser = argparse.ArgumentParser(
        prog="bench_latency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="pipeline config (default: configs/pipeline.yaml)"
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.config is None:
        local = Path("configs/pipeline.yaml")
        args.config = local if local.exists() else PROJECT_ROOT / "configs" / "pipeline.yaml"
    return run(args)
