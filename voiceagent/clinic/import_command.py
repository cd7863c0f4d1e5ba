"""``voiceagent import``: bring an existing clinic's records into the store.

    voiceagent import patients patients.csv
    voiceagent import coverages coverages.csv
    voiceagent import referrals referrals.csv
    voiceagent import appointments appointments.csv
    voiceagent import calendar dr-reyes.ics --provider dr-reyes
    voiceagent import emr-events events.csv

Every import prints what it applied, what was already there and each row it skipped with
its line (or event UID) and why, and exits 1 when anything was skipped, so a script sees it.
Rows are never dropped silently; re-running an import is safe. Patient data is never
printed: a skipped row is named by its line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig, load_clinic
from voiceagent.clinic.db import Store, open_store
from voiceagent.clinic.errors import ClinicError
from voiceagent.clinic.interop import (
    ImportReport,
    import_appointments_csv,
    import_coverages_csv,
    import_ical,
    import_patients_csv,
    import_referrals_csv,
)

KINDS: dict[str, str] = {
    "patients": "patients CSV: first_name, last_name, dob, phone, email, contact preferences",
    "coverages": "insurance and claims CSV: the patient, payer, plan_type, member_id...",
    "referrals": "physicians' referrals CSV: the patient, referring_provider, npi...",
    "appointments": "appointments CSV: start, appointment_type, provider_id, room, the patient",
    "calendar": "a provider's iCalendar (.ics): appointments and busy time (needs --provider)",
    "emr-events": "EMR stage events CSV (evaluated, in_plan_of_care, discharged) for leads",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``voiceagent import``."""
    parser.add_argument(
        "kind",
        choices=list(KINDS),
        help="what the file holds: " + "; ".join(f"{k}: {v}" for k, v in KINDS.items()),
    )
    parser.add_argument("file", type=Path, help="the CSV (UTF-8, header row) or .ics file")
    parser.add_argument(
        "--provider",
        default=None,
        metavar="ID",
        help="the provider (config id) whose calendar a .ics file is",
    )
    parser.add_argument(
        "--clinic",
        type=Path,
        default=None,
        help="clinic config (default: the one pipeline.yaml names)",
    )
    parser.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="database URL (default: the pipeline's, e.g. data/voiceagent.db)",
    )


def run_import(
    store: Store, clinic: ClinicConfig, kind: str, file: Path, provider: str | None
) -> ImportReport:
    """Run one import; ClinicError for a file that cannot be read as that kind at all."""
    actor = Actor(f"import:{kind}")
    if kind == "calendar":
        if provider is None:
            raise ClinicError("a calendar import needs --provider ID (whose calendar it is)")
        return import_ical(store, clinic, file.read_bytes(), provider_id=provider, actor=actor)
    if kind == "emr-events":
        from voiceagent.clinic.leads import import_emr_events

        emr = import_emr_events(store, file, actor=actor)
        return ImportReport(emr.applied, 0, [(f"line {n}", why) for n, why in emr.skipped])
    csv_imports: dict[str, Callable[[], ImportReport]] = {
        "patients": lambda: import_patients_csv(store, file, actor=actor),
        "coverages": lambda: import_coverages_csv(store, file, actor=actor),
        "referrals": lambda: import_referrals_csv(store, file, actor=actor),
        "appointments": lambda: import_appointments_csv(store, clinic, file, actor=actor),
    }
    return csv_imports[kind]()


def render(kind: str, report: ImportReport) -> str:
    lines = [
        f"{kind}: {report.applied} imported, {report.unchanged} already present,"
        f" {len(report.skipped)} skipped"
    ]
    lines += [f"  skipped {where}: {why}" for where, why in report.skipped]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """``voiceagent import``: returns 0 when every row was applied or already present."""
    from voiceagent.config.pipeline import load_pipeline

    config = load_pipeline(args.config)
    clinic = load_clinic(args.clinic or config.clinic)
    if not args.file.is_file():
        print(f"error: {args.file}: no such file", file=sys.stderr)
        return 2
    store = open_store(args.database or config.database_url())
    try:
        report = run_import(store, clinic, args.kind, args.file, args.provider)
    except (ClinicError, UnicodeDecodeError) as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
    print(render(args.kind, report))
    return 1 if report.skipped else 0
