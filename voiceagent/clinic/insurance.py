"""Which payers the clinic takes: match what a caller said against the configured lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

from voiceagent.clinic.config import ClinicConfig, InjuryClaimRules

MATCH_THRESHOLD = 85


@dataclass(frozen=True)
class PayerStatus:
    """``status`` is accepted, not_accepted or unknown (say staff will check; take a message).

    ``payer`` is the configured name matched; ``notes`` any clinic note for that payer.
    """

    status: Literal["accepted", "not_accepted", "unknown"]
    payer: str | None
    notes: str = ""


def _normal(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").replace("&", " and ").split())


def check_payer(clinic: ClinicConfig, spoken: str) -> PayerStatus:
    """Match a spoken/typed payer name ("blue cross", "UHC", "badger care") to the config."""
    choices: dict[str, tuple[str, str, str]] = {}
    for status, payers in (
        ("accepted", clinic.insurance.accepted),
        ("not_accepted", clinic.insurance.not_accepted),
    ):
        for payer in payers:
            for name in (payer.name, *payer.aliases):
                choices[_normal(name)] = (status, payer.name, payer.notes)
    query = _normal(spoken)
    if not query:
        return PayerStatus("unknown", None)
    if query in choices:
        status, name, notes = choices[query]
        return PayerStatus(status, name, notes)  # type: ignore[arg-type]
    best = process.extractOne(query, list(choices), scorer=fuzz.token_set_ratio)
    if best is None or best[1] < MATCH_THRESHOLD:
        return PayerStatus("unknown", None)
    status, name, notes = choices[best[0]]
    return PayerStatus(status, name, notes)  # type: ignore[arg-type]


def injury_rules(clinic: ClinicConfig, kind: Literal["workers_comp", "auto"]) -> InjuryClaimRules:
    """What must be collected for a workers' comp or auto-injury case."""
    return clinic.insurance.workers_comp if kind == "workers_comp" else clinic.insurance.auto_injury


def self_pay_price(clinic: ClinicConfig, appointment_type_id: str) -> float | None:
    """The self-pay price in USD for an appointment type, or None when not configured."""
    return clinic.insurance.self_pay.get(appointment_type_id)
