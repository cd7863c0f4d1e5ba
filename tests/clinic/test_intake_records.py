"""Complete intake records: referral details, patient contact and representatives, the
identity policy, and security events that keep no patient data."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from voiceagent.clinic.audit import Actor
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import InvalidInput
from voiceagent.clinic.models import Patient, Referral, SecurityEvent
from voiceagent.clinic.patients import (
    add_referral,
    find_or_create_patient,
    update_contact,
    verify_identity,
)
from voiceagent.clinic.security import record_security_event, security_events

DOB = date(1980, 5, 1)


def maria(store: Store, actor: Actor) -> int:
    return find_or_create_patient(
        store,
        first_name="Maria",
        last_name="Garcia",
        dob=DOB,
        phone="608-555-0142",
        email="maria@example.com",
        actor=actor,
    ).patient_id


def test_a_referral_keeps_the_practice_contact_condition_and_order(any_store: Store) -> None:
    actor = Actor("assistant", "call-1")
    pid = maria(any_store, actor)
    with pytest.raises(InvalidInput, match="condition kind"):
        add_referral(any_store, patient_id=pid, condition_kind="illness", actor=actor)
    rid = add_referral(
        any_store,
        patient_id=pid,
        referring_provider_name="Dr. Susan Park",
        referring_provider_npi="123-456-7893",
        referring_practice="Eastside Orthopedics",
        referring_phone="608 555 0190",
        referring_fax="608 555 0191",
        condition_kind="surgery",
        condition="right ACL reconstruction",
        condition_date=date(2026, 10, 20),
        order_text="PT eval and treat, 2x/week for 6 weeks",
        written_order_on_file=True,
        actor=actor,
    )
    with any_store.transaction() as session:
        row = session.get(Referral, rid)
        assert row is not None
        assert (row.referring_provider_npi, row.referring_fax) == ("1234567893", "+16085550191")
        assert (row.condition_kind, row.condition_date) == ("surgery", date(2026, 10, 20))
        assert row.written_order_on_file is True


def test_contact_preferences_need_consent_for_texts_and_keep_representatives(
    any_store: Store,
) -> None:
    actor = Actor("assistant", "call-1")
    pid = maria(any_store, actor)
    with pytest.raises(InvalidInput, match="consent"):
        update_contact(any_store, patient_id=pid, preferred_contact="sms", actor=actor)
    with pytest.raises(InvalidInput, match="email"):
        update_contact(any_store, patient_id=pid, email="maria at example", actor=actor)
    update_contact(
        any_store,
        patient_id=pid,
        preferred_contact="sms",
        sms_consent=True,
        emergency_contact_name="Luis Garcia",
        emergency_contact_phone="608 555 0150",
        emergency_contact_relationship="spouse",
        representative_name="Ana Garcia",
        representative_relationship="daughter",
        preferred_language="es",
        actor=actor,
    )
    with any_store.transaction() as session:
        row = session.get(Patient, pid)
        assert row is not None
        assert (row.preferred_contact, row.sms_consent) == ("sms", True)
        assert row.sms_consent_at is not None
        assert (row.emergency_contact_phone, row.representative_name) == (
            "+16085550150",
            "Ana Garcia",
        )
        assert row.preferred_language == "es"


def test_the_identity_policy_decides_which_details_must_match(any_store: Store) -> None:
    actor = Actor("assistant", "call-2")
    pid = maria(any_store, actor)
    email_policy = ("name", "dob", "email")
    missing = verify_identity(
        any_store, name="Maria Garcia", dob=DOB, phone=None, required=email_policy, actor=actor
    )
    assert missing.reason == "missing_details" and "email" in missing.next_step
    ok = verify_identity(
        any_store,
        name="Maria Garcia",
        dob=DOB,
        phone=None,
        email="MARIA@example.com",
        required=email_policy,
        actor=actor,
    )
    assert ok.patient_id == pid
    both = ("name", "dob", "phone", "email")
    wrong_email = verify_identity(
        any_store,
        name="Maria Garcia",
        dob=DOB,
        phone="6085550142",
        email="other@example.com",
        required=both,
        actor=actor,
    )
    assert wrong_email.reason == "no_match"


def test_repeated_failed_checks_lock_the_call_and_leave_a_security_event(any_store: Store) -> None:
    actor = Actor("assistant", "call-3")
    maria(any_store, actor)
    for _ in range(2):
        verify_identity(
            any_store, name="Maria Garcia", dob=DOB, phone="6085550000", max_attempts=2, actor=actor
        )
    locked = verify_identity(
        any_store, name="Maria Garcia", dob=DOB, phone="6085550142", max_attempts=2, actor=actor
    )
    assert locked.reason == "too_many_attempts"
    [event] = security_events(any_store, actor=Actor("staff:kim"), call_id="call-3")
    assert event.kind == "verification_lockout"
    with any_store.transaction() as session:
        stored = session.scalars(select(SecurityEvent)).one()
        text = " ".join(str(v) for v in (stored.detail, stored.actor, stored.kind))
        assert "Garcia" not in text and "555" not in text and "1980" not in text


def test_a_security_refusal_is_recorded_with_its_kind_and_call(any_store: Store) -> None:
    actor = Actor("assistant", "call-4")
    with pytest.raises(InvalidInput, match="security event"):
        record_security_event(any_store, kind="weird", actor=actor)
    event_id = record_security_event(
        any_store,
        kind="third_party_request",
        channel="phone",
        detail="asked for another person's appointments",
        actor=actor,
    )
    [event] = security_events(any_store, actor=Actor("staff:kim"))
    assert (event.event_id, event.kind, event.call_id, event.channel) == (
        event_id,
        "third_party_request",
        "call-4",
        "phone",
    )
