"""Booking rules in the database: which provider may deliver which appointment type, in
which room.

The clinic config says who may deliver a type (roles, named providers, specialties) and
which rooms it uses with whom (type rooms, type-and-provider rooms, rooms bound to
providers). :func:`sync_booking_rules` writes those pairs and triples to
``booking_rule_providers`` / ``booking_rule_rooms``; appointments and holds carry foreign
keys to them, so the database refuses a booking that breaks the rules the same way its
UNIQUE time units refuse a double booking, whatever code path wrote it.

A rule the config no longer allows is deleted unless an appointment or hold still uses it
(the booking was valid when it was made); slot search and booking check the config too, so
such a leftover rule is never used for a new booking.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import NotQualified
from voiceagent.clinic.models import Appointment, Hold, ProviderRule, RoomRule


def allowed_pairs(clinic: ClinicConfig) -> set[tuple[str, str]]:
    """(appointment type, provider) pairs the config allows."""
    return {(t.id, p.id) for t in clinic.appointment_types for p in clinic.providers_for(t)}


def allowed_triples(clinic: ClinicConfig) -> set[tuple[str, str, str]]:
    """(appointment type, provider, room) triples the config allows."""
    return {
        (t.id, p.id, room)
        for t in clinic.appointment_types
        for p in clinic.providers_for(t)
        for room in clinic.rooms_for(t, p.id)
    }


def _fingerprint(clinic: ClinicConfig) -> str:
    data = [sorted(allowed_pairs(clinic)), sorted(allowed_triples(clinic))]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()


def sync_booking_rules(store: Store, clinic: ClinicConfig) -> None:
    """Bring the rule tables in step with ``clinic`` (once per store and config)."""
    fingerprint = _fingerprint(clinic)
    if store.synced_rules == fingerprint:
        return
    for _attempt in range(3):
        try:
            with store.transaction() as session:
                _sync(session, clinic)
            break
        except IntegrityError:
            continue  # another process synced the same rules at the same moment
    store.synced_rules = fingerprint


def _sync(session: Session, clinic: ClinicConfig) -> None:
    pairs = allowed_pairs(clinic)
    triples = allowed_triples(clinic)
    have_pairs = set(
        session.execute(select(ProviderRule.appointment_type_id, ProviderRule.provider_id))
    )
    have_triples = set(
        session.execute(
            select(RoomRule.appointment_type_id, RoomRule.provider_id, RoomRule.room_id)
        )
    )
    for type_id, provider_id in sorted(pairs - have_pairs):
        session.add(ProviderRule(appointment_type_id=type_id, provider_id=provider_id))
    session.flush()
    for type_id, provider_id, room_id in sorted(triples - have_triples):
        session.add(RoomRule(appointment_type_id=type_id, provider_id=provider_id, room_id=room_id))
    session.flush()
    stale_triples = have_triples - triples
    if stale_triples:
        used_triples: set[tuple[str, str, str]] = set()
        for table in (Appointment, Hold):
            used_triples |= {
                (t, p, r)
                for t, p, r in session.execute(
                    select(table.appointment_type_id, table.provider_id, table.room_id)
                    .where(table.room_id.is_not(None))
                    .distinct()
                )
                if r is not None
            }
        for type_id, provider_id, room_id in stale_triples - used_triples:
            session.execute(
                delete(RoomRule).where(
                    RoomRule.appointment_type_id == type_id,
                    RoomRule.provider_id == provider_id,
                    RoomRule.room_id == room_id,
                )
            )
    session.flush()
    stale_pairs = list(have_pairs - pairs)
    if stale_pairs:
        used = set(
            session.execute(
                select(Appointment.appointment_type_id, Appointment.provider_id).distinct()
            )
        ) | set(session.execute(select(Hold.appointment_type_id, Hold.provider_id)))
        used |= set(session.execute(select(RoomRule.appointment_type_id, RoomRule.provider_id)))
        for type_id, provider_id in stale_pairs:
            if (type_id, provider_id) not in used:
                session.execute(
                    delete(ProviderRule).where(
                        ProviderRule.appointment_type_id == type_id,
                        ProviderRule.provider_id == provider_id,
                    )
                )


def is_rule_violation(exc: IntegrityError) -> bool:
    """Whether the database refused a write for breaking a booking rule (a foreign key to
    the rule tables), not for a taken time unit."""
    text = str(exc.orig)
    code = getattr(exc.orig, "sqlstate", None)
    if code is not None:
        return bool(code == "23503" and "rule" in text)
    return "FOREIGN KEY constraint failed" in text


class RuleViolation(NotQualified):
    """The database refused a booking that breaks the clinic's provider or room rules."""

    code = "not_qualified"
