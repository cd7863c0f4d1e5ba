"""Patients: no duplicate records across calls; identity needs name + DOB + phone on file."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from voiceagent.clinic.audit import Actor
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import InvalidInput, UnknownPatient
from voiceagent.clinic.models import AuditEntry, Coverage, Patient
from voiceagent.clinic.patients import (
    add_coverage,
    add_referral,
    coverages,
    find_or_create_patient,
    get_patient,
    npi_is_valid,
    update_coverage,
    verify_identity,
)

pytestmark = pytest.mark.unit

DOB = date(1980, 5, 1)


def actor(call: str = "call-1") -> Actor:
    return Actor("assistant", call)


def maria(store: Store, **overrides: object) -> int:
    args: dict[str, object] = {
        "first_name": "Maria",
        "last_name": "Garcia",
        "dob": DOB,
        "phone": "(608) 555-0199",
    }
    args.update(overrides)
    return find_or_create_patient(store, actor=actor(), **args).patient_id  # type: ignore[arg-type]


def count_patients(store: Store) -> int:
    with store.transaction() as session:
        return len(session.scalars(select(Patient)).all())


def test_same_name_and_dob_on_a_later_call_reuses_the_record(store: Store) -> None:
    first = find_or_create_patient(
        store, first_name="Maria", last_name="Garcia", dob=DOB, actor=actor("call-1")
    )
    second = find_or_create_patient(
        store,
        first_name="  maria ",
        last_name="GARCIA",
        dob=DOB,
        phone="608.555.0199",
        actor=actor("call-2"),
    )
    assert first.created and not second.created
    assert first.patient_id == second.patient_id
    assert count_patients(store) == 1
    # The phone learnt on the second call is kept for later verification.
    assert get_patient(store, first.patient_id, actor=actor()).phone == "+16085550199"


def test_same_phone_and_dob_with_a_respelled_name_reuses_the_record(store: Store) -> None:
    pid = maria(store)
    assert maria(store, first_name="Marie", phone="+1 608 555 0199") == pid
    assert count_patients(store) == 1


def test_different_dob_is_a_different_person(store: Store) -> None:
    assert maria(store) != maria(store, dob=date(2010, 5, 1))
    assert count_patients(store) == 2


def test_unusable_patient_details_are_refused_with_what_to_ask(store: Store) -> None:
    with pytest.raises(InvalidInput, match="first and last name"):
        maria(store, last_name="  ")
    with pytest.raises(InvalidInput, match="phone"):
        maria(store, phone="12")
    with pytest.raises(InvalidInput, match="future"):
        maria(store, dob=date(2999, 1, 1))


def test_identity_verified_when_name_dob_and_phone_all_match(store: Store) -> None:
    pid = maria(store)
    check = verify_identity(
        store, name="Maria Garcia", dob=DOB, phone="608-555-0199", actor=actor()
    )
    assert (check.verified, check.patient_id, check.reason) == (True, pid, "verified")
    slip = verify_identity(store, name="maria garsia", dob=DOB, phone="6085550199", actor=actor())
    assert slip.patient_id == pid  # one transcription slip in the name is tolerated


@pytest.mark.parametrize(
    ("name", "dob", "phone"),
    [
        ("Maria Garcia", date(1980, 5, 2), "608-555-0199"),  # wrong DOB
        ("Maria Garcia", DOB, "608-555-0100"),  # phone not on file
        ("John Smith", DOB, "608-555-0199"),  # someone else's name
    ],
)
def test_identity_refused_without_saying_which_detail_failed(
    store: Store, name: str, dob: date, phone: str
) -> None:
    maria(store)
    check = verify_identity(store, name=name, dob=dob, phone=phone, actor=actor())
    assert not check.verified and check.patient_id is None
    assert check.reason == "no_match"
    assert "birth" not in check.next_step and "phone" not in check.next_step


def test_identity_needs_all_three_details(store: Store) -> None:
    maria(store)
    check = verify_identity(
        store, name="Maria Garcia", dob=None, phone="608-555-0199", actor=actor()
    )
    assert (check.verified, check.reason) == (False, "missing_details")


def test_three_failed_verifications_lock_the_call(store: Store) -> None:
    maria(store)
    for _ in range(3):
        verify_identity(
            store,
            name="Maria Garcia",
            dob=date(1999, 1, 1),
            phone="6085550199",
            actor=actor("call-9"),
        )
    locked = verify_identity(
        store, name="Maria Garcia", dob=DOB, phone="6085550199", actor=actor("call-9")
    )
    assert (locked.verified, locked.reason) == (False, "too_many_attempts")
    other_call = verify_identity(
        store, name="Maria Garcia", dob=DOB, phone="6085550199", actor=actor("call-10")
    )
    assert other_call.verified


def test_patient_access_is_audited_without_the_data(store: Store) -> None:
    pid = maria(store)
    get_patient(store, pid, actor=Actor("staff:kim", "session-7"))
    with store.transaction() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(r.actor, r.action, r.entity, r.entity_id, r.call_id) for r in rows] == [
        ("assistant", "create", "patient", str(pid), "call-1"),
        ("staff:kim", "read", "patient", str(pid), "session-7"),
    ]
    for row in rows:
        text = " ".join(str(v) for v in (row.actor, row.action, row.entity, row.entity_id))
        assert "Garcia" not in text and "555" not in text and "1980" not in text


def test_coverage_is_kept_before_the_member_id_is_known_and_completed_later(
    store: Store,
) -> None:
    pid = maria(store)
    pending = add_coverage(
        store, patient_id=pid, payer_name="Medicare", kind="medicare_advantage", actor=actor()
    )
    assert [(c.kind, c.member_id_pending) for c in coverages(store, pid, actor=actor())] == [
        ("medicare_advantage", True)
    ]
    update_coverage(store, coverage_id=pending, member_id="1EG4TE5MK73", actor=actor())
    assert not coverages(store, pid, actor=actor())[0].member_id_pending
    with pytest.raises(InvalidInput, match="plan type"):
        add_coverage(store, patient_id=pid, payer_name="X", kind="gold", actor=actor())


def test_injury_claims_need_a_claim_number_and_keep_adjuster_employer_and_attorney(
    store: Store,
) -> None:
    pid = maria(store)
    with pytest.raises(InvalidInput, match="claim number"):
        add_coverage(
            store, patient_id=pid, payer_name="Acme WC", kind="workers_comp", actor=actor()
        )
    primary = add_coverage(
        store,
        patient_id=pid,
        payer_name="Aetna",
        member_id="W123456789",
        group_number="G-77",
        subscriber_name="Luis Garcia",
        subscriber_relationship="spouse",
        actor=actor(),
    )
    wc = add_coverage(
        store,
        patient_id=pid,
        payer_name="Acme WC",
        kind="workers_comp",
        claim_number="WC-2026-1",
        adjuster_name="Pat Lee",
        adjuster_phone="608 555 0123",
        adjuster_extension="214",
        employer="Acme Foods",
        order=2,
        actor=actor(),
    )
    auto = add_coverage(
        store,
        patient_id=pid,
        payer_name="State Farm",
        kind="auto",
        carrier="State Farm",
        claim_number="AU-9",
        attorney_name="J. Doe, Esq.",
        attorney_phone="608 555 0199",
        date_of_injury=date(2026, 10, 2),
        order=3,
        actor=actor(),
    )
    with store.transaction() as session:
        rows = {c.id: c for c in session.scalars(select(Coverage))}
    assert rows[primary].subscriber_relationship == "spouse"
    assert rows[wc].adjuster_phone == "+16085550123"
    assert (rows[wc].adjuster_extension, rows[wc].employer) == ("214", "Acme Foods")
    assert (rows[auto].carrier, rows[auto].attorney_phone) == ("State Farm", "+16085550199")
    with pytest.raises(UnknownPatient):
        add_coverage(store, patient_id=999, payer_name="Aetna", member_id="1", actor=actor())


def test_referral_npi_check_digit_is_enforced(store: Store) -> None:
    pid = maria(store)
    assert npi_is_valid("1234567893") and not npi_is_valid("1234567890")
    with pytest.raises(InvalidInput, match="NPI"):
        add_referral(store, patient_id=pid, referring_provider_npi="1234567890", actor=actor())
    rid = add_referral(
        store,
        patient_id=pid,
        referring_provider_name="Dr. Susan Park",
        referring_provider_npi="1234567893",
        reason="knee pain after fall",
        body_part="left knee",
        diagnosis="M25.562",
        actor=actor(),
    )
    assert rid > 0


def test_the_name_a_caller_goes_by_matches_the_name_on_file(store: Store) -> None:
    walter = maria(store, first_name="Walter", last_name="Brzezinski")
    patricia = maria(store, first_name="Patricia", last_name="Dunleavy", phone="608-555-0134",
                     dob=date(1961, 8, 12))
    walt = verify_identity(store, name="Walt Brzezinski", dob=DOB, phone="608-555-0199",
                           actor=actor())
    patty = verify_identity(store, name="Patty Dunleavy", dob=date(1961, 8, 12),
                            phone="608-555-0134", actor=actor())
    assert (walt.patient_id, patty.patient_id) == (walter, patricia)
    stranger = verify_identity(store, name="Robert Brzezinski", dob=DOB, phone="608-555-0199",
                               actor=actor())
    assert not stranger.verified  # another first name is another person
