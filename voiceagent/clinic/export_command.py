"""``voiceagent export``: a patient's FHIR R4 bundle, or a provider's calendar.

    voiceagent export fhir 42 --out patient-42.json
    voiceagent export calendar dr-reyes --from 2026-12-01 --to 2026-12-31 --out reyes.ics

Both are audited reads of patient data (actor ``export:cli``); the output goes to the file
named by ``--out`` (default: standard output) and nowhere else.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import load_clinic
from voiceagent.clinic.db import open_store
from voiceagent.clinic.errors import ClinicError
from voiceagent.clinic.interop import export_patient_bundle, provider_ical_feed

ACTOR = Actor("export:cli")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``voiceagent export``."""
    parser.add_argument(
        "kind",
        choices=["fhir", "calendar"],
        help="fhir: one patient's FHIR R4 bundle (Patient, Coverage, "
        "ServiceRequest, Appointment); calendar: a provider's bookings (.ics)",
    )
    parser.add_argument("what", help="the patient id (fhir) or provider id (calendar)")
    parser.add_argument(
        "--from",
        dest="start",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="calendar: first day (default: today)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="calendar: last day (default: 60 days on)",
    )
    parser.add_argument("--out", type=Path, default=None, help="write here (default: stdout)")
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


def run(args: argparse.Namespace) -> int:
    """``voiceagent export``: returns 0, or 2 for an unknown patient or provider."""
    from voiceagent.config.pipeline import load_pipeline

    config = load_pipeline(args.config)
    clinic = load_clinic(args.clinic or config.clinic)
    store = open_store(args.database or config.database_url())
    try:
        if args.kind == "fhir":
            if not args.what.isdigit():
                print("error: the patient id is a number (see /api/patients)", file=sys.stderr)
                return 2
            bundle = export_patient_bundle(store, clinic, int(args.what), actor=ACTOR)
            data = (json.dumps(bundle, indent=2) + "\n").encode()
        else:
            first = args.start or datetime.now(clinic.tz).date()
            last = args.end or first + timedelta(days=60)
            data = provider_ical_feed(
                store,
                clinic,
                provider_id=args.what,
                start=datetime.combine(first, time(0), clinic.tz),
                end=datetime.combine(last + timedelta(days=1), time(0), clinic.tz),
                actor=ACTOR,
            )
    except ClinicError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
    if args.out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        args.out.write_bytes(data)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0
