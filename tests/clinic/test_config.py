"""The clinic configuration: the shipped example loads; every mistake names file, key, line."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from voiceagent.clinic.config import ClinicConfig, TimeRange, load_clinic
from voiceagent.config import ConfigError

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "clinic.yaml"

MINIMAL = """\
name: Test PT
address: 1 Main St
phone: "+1 555 010 0000"
timezone: America/New_York
hours:
  mon: "08:00-17:00"
  tue: "08:00-17:00"
providers:
  - id: pt-a
    name: Alex Avery
    role: PT
    hours:
      mon: "08:00-17:00"
      tue: "09:00-17:00"
rooms:
  - {id: room-1, name: Room 1, capacity: 1}
appointment_types:
  - id: evaluation
    name: evaluation
    duration_minutes: 60
    roles: [PT]
    rooms: [room-1]
disclosures:
  greeting: Hello.
  assistant_identification: I am automated.
  recording_notice: Calls are recorded.
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clinic.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_clinic(path)
    return info.value


def test_shipped_example_clinic_loads_with_its_providers_rooms_and_faqs() -> None:
    clinic = load_clinic(EXAMPLE)
    roles = {p.role for p in clinic.providers}
    assert roles == {"PT", "PTA"}
    assert 3 <= len(clinic.providers) <= 4
    assert clinic.appointment_type("evaluation").roles == ["PT"]
    assert clinic.appointment_type("evaluation").duration_minutes == 60
    assert set(clinic.appointment_type("follow-up").roles) == {"PT", "PTA"}
    assert clinic.appointment_type("follow-up").duration_minutes == 45
    assert len(clinic.faqs) >= 10
    assert any(t.extension for t in clinic.transfers)
    phrases = {p for flag in clinic.red_flags for p in flag.phrases}
    assert {"chest pain", "numbness in both legs", "loss of bladder control"} <= phrases
    assert set(clinic.intents) >= {
        "book_evaluation",
        "reschedule",
        "cancel",
        "insurance_question",
        "faq",
        "speak_to_staff",
        "message",
        "referral",
    }
    assert clinic.hours_on(date(2026, 11, 26)) is None  # Thanksgiving
    assert clinic.hours_on(date(2026, 11, 27)) == TimeRange(time(8), time(12))


def test_minimal_clinic_loads(tmp_path: Path) -> None:
    clinic = load_clinic(write(tmp_path, MINIMAL))
    assert isinstance(clinic, ClinicConfig)
    assert clinic.hours.on(date(2026, 11, 23)) == TimeRange(time(8), time(17))
    assert clinic.hours.on(date(2026, 11, 25)) is None


def test_wrong_type_names_file_key_and_line(tmp_path: Path) -> None:
    text = MINIMAL.replace("duration_minutes: 60", "duration_minutes: an hour")
    error = load_error(tmp_path, text)
    assert error.path == tmp_path / "clinic.yaml"
    assert error.key == "appointment_types[0].duration_minutes"
    assert error.line == 20
    assert str(error).startswith(
        f"{tmp_path / 'clinic.yaml'}:20: appointment_types[0].duration_minutes:"
    )


def test_unknown_key_names_file_key_and_line(tmp_path: Path) -> None:
    text = MINIMAL.replace("    role: PT\n", "    role: PT\n    speciality: spine\n")
    error = load_error(tmp_path, text)
    assert error.key == "providers[0].speciality"
    assert error.line == 12
    assert "unknown key" in str(error)
    assert str(error).startswith(f"{tmp_path / 'clinic.yaml'}:12:")


def test_bad_time_names_the_weekday_and_expected_form(tmp_path: Path) -> None:
    text = MINIMAL.replace('  tue: "08:00-17:00"\nproviders', "  tue: 9-5\nproviders")
    error = load_error(tmp_path, text)
    assert error.key == "hours.tue"
    assert error.line == 7
    assert str(error) == f"{tmp_path / 'clinic.yaml'}:7: hours.tue: '9-5' is not HH:MM-HH:MM"


def test_time_range_with_end_before_start_is_rejected(tmp_path: Path) -> None:
    text = MINIMAL.replace('      tue: "09:00-17:00"', '      tue: "17:00-09:00"')
    error = load_error(tmp_path, text)
    assert error.key == "providers[0].hours.tue"
    assert error.line == 14
    assert "start must be before the end" in error.problem


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    # "role: PT: x" is a classic slip: a second colon inside a plain value.
    text = MINIMAL.replace("    role: PT", "    role: PT: x")
    error = load_error(tmp_path, text)
    assert error.key == ""
    assert error.line == 11
    assert "not valid YAML" in str(error)
    assert str(error).startswith(f"{tmp_path / 'clinic.yaml'}:11:")


def test_unknown_timezone_is_rejected_with_an_example(tmp_path: Path) -> None:
    error = load_error(tmp_path, MINIMAL.replace("America/New_York", "Eastern"))
    assert (error.key, error.line) == ("timezone", 4)
    assert "IANA" in error.problem


def test_appointment_role_held_by_no_provider_is_rejected(tmp_path: Path) -> None:
    error = load_error(tmp_path, MINIMAL.replace("    roles: [PT]", "    roles: [PT, PTA]"))
    assert error.key == "appointment_types[0].roles[1]"
    assert error.line == 21
    assert "no provider has role 'PTA'" in error.problem


def test_provider_hours_outside_clinic_hours_are_rejected(tmp_path: Path) -> None:
    error = load_error(
        tmp_path, MINIMAL.replace('      tue: "09:00-17:00"', '      tue: "07:00-17:00"')
    )
    assert (error.key, error.line) == ("providers[0].hours.tue", 14)
    assert "outside clinic hours 08:00-17:00" in error.problem


def test_provider_working_on_a_closed_day_is_rejected(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        MINIMAL.replace(
            '      tue: "09:00-17:00"', '      tue: "09:00-17:00"\n      wed: "09:00-12:00"'
        ),
    )
    assert (error.key, error.line) == ("providers[0].hours.wed", 15)
    assert "closed on wed" in error.problem


def test_unknown_room_is_rejected_listing_known_rooms(tmp_path: Path) -> None:
    error = load_error(tmp_path, MINIMAL.replace("    rooms: [room-1]", "    rooms: [room-9]"))
    assert (error.key, error.line) == ("appointment_types[0].rooms[0]", 22)
    assert "unknown room 'room-9'" in error.problem and "room-1" in error.problem


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_clinic(tmp_path / "nope.yaml")


def test_clinic_open_and_transfer_hours_follow_closures() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    clinic = load_clinic(EXAMPLE)
    chicago = ZoneInfo("America/Chicago")
    tuesday_10 = datetime(2026, 11, 24, 10, 0, tzinfo=chicago)
    assert clinic.is_open(tuesday_10)
    assert clinic.transfer_available("front-desk", tuesday_10)
    assert not clinic.transfer_available("billing", datetime(2026, 11, 24, 17, 0, tzinfo=chicago))
    thanksgiving = datetime(2026, 11, 26, 10, 0, tzinfo=chicago)
    assert not clinic.is_open(thanksgiving)
    assert not clinic.transfer_available("front-desk", thanksgiving)
    assert not clinic.transfer_available("clinic-manager", thanksgiving)
    assert not clinic.is_open(datetime(2026, 11, 29, 10, 0, tzinfo=chicago))  # Sunday


def test_spoken_provider_names_match_only_when_unambiguous() -> None:
    clinic = load_clinic(EXAMPLE)
    assert clinic.match_provider("Dr. Reyes").id == "dr-reyes"  # type: ignore[union-attr]
    assert clinic.match_provider("with jordan please").id == "jordan-pta"  # type: ignore[union-attr]
    assert clinic.match_provider("doctor") is None
    assert clinic.match_provider("Dr. Who") is None


def test_red_flag_signs_in_the_example_config_are_valid_and_found() -> None:
    from voiceagent.frontdesk.redflags import detect, rules_from_clinic

    rules = rules_from_clinic(load_clinic(EXAMPLE))
    flag = detect("Well, I have NUMBNESS in both legs since this morning.", rules)
    assert flag is not None and flag.id == "cauda-equina"
    assert "emergency" in flag.advice
    assert detect("I fell and hit my head on the stairs", rules).id == "head-injury"  # type: ignore[union-attr]
    assert detect("my knee hurts when I climb stairs", rules) is None


def test_a_red_flag_sign_without_a_concept_names_the_key(tmp_path: Path) -> None:
    bad = EXAMPLE.read_text().replace("      - short|shortness + breath\n",
                                      "      - short|shortness + \n")
    path = tmp_path / "clinic.yaml"
    path.write_text(bad)
    with pytest.raises(Exception) as err:
        load_clinic(path)
    assert "red_flags" in str(err.value) and "signs" in str(err.value)


def test_transfer_needs_exactly_one_of_extension_or_sip_uri(tmp_path: Path) -> None:
    text = MINIMAL + "transfers:\n  - {id: desk, name: front desk}\n"
    error = load_error(tmp_path, text)
    assert (error.key, error.line) == ("transfers[0]", 28)
    assert "exactly one of extension or sip_uri" in error.problem


# --- the clinic model's keys (issue 10) ----------------------------------------------------


def test_shipped_example_uses_every_clinic_model_key() -> None:
    clinic = load_clinic(EXAMPLE)
    pelvic = clinic.appointment_type("pelvic-evaluation")
    assert [p.id for p in clinic.providers_for(pelvic)] == ["dr-lindqvist"]
    assert clinic.rooms_for(pelvic, "dr-lindqvist") == ["pelvic-room"]
    vestibular = clinic.appointment_type("vestibular-evaluation")
    assert [p.id for p in clinic.providers_for(vestibular)] == ["dr-reyes"]
    follow_up = clinic.appointment_type("follow-up")
    assert clinic.rooms_for(follow_up, "dr-lindqvist") == ["pelvic-room"]
    assert "pelvic-room" not in clinic.rooms_for(follow_up, "dr-okafor")
    assert clinic.blocks_on(date(2026, 12, 2), "dr-okafor")  # Wednesday staff meeting
    assert clinic.room_closed("room-2", date(2027, 1, 12), TimeRange(time(9), time(10)))
    medicare = clinic.payer("Medicare")
    assert medicare is not None and medicare.intake.ask_plan_type
    assert set(medicare.plan_types) == {"medicare", "medicare_advantage"}
    assert "Original" in medicare.intake.instructions and not medicare.notes
    assert "adjuster_extension" in clinic.insurance.workers_comp.required
    assert "attorney" in clinic.insurance.auto_injury.required
    assert any(len(c.owner_roles) > 1 for c in clinic.message_categories)
    assert all(c.owner_role == c.owner_roles[0] for c in clinic.message_categories)
    assert clinic.message_category("referral").sla_hours == 2
    billing = clinic.transfer("billing")
    assert billing.never_for_emergencies and billing.purpose and billing.staff_name
    assert billing not in clinic.emergency_transfers()
    assert clinic.identity.reschedule == ["name", "dob", "phone"]
    assert clinic.facts.fax and clinic.facts.forms_url and clinic.facts.website
    assert clinic.arrival_minutes(clinic.appointment_type("evaluation")) == 15
    assert clinic.arrival_minutes(follow_up) == 5
    saturday, monday = date(2026, 12, 5), date(2026, 12, 7)
    assert "rear entrance" in clinic.facts.entrance.on(saturday)
    assert "main entrance" in clinic.facts.entrance.on(monday)
    assert clinic.after_hours.behaviour == "take_message"
    assert clinic.leads.owner_for("new") == "intake_coordinator"
    assert clinic.insurance.self_pay["pelvic-evaluation"] == 185
    assert "es" in clinic.provider("dr-reyes").languages


NEW_KEYS = MINIMAL.replace(
    "    rooms: [room-1]\n",
    "    rooms: [room-1]\n    specialties: [vestibular]\n",
)


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        (NEW_KEYS, "appointment_types[0].specialties[0]", 23, "no provider lists specialty"),
        (
            MINIMAL.replace(
                "    rooms: [room-1]\n", "    rooms: [room-1]\n    providers: [pt-z]\n"
            ),
            "appointment_types[0].providers[0]",
            23,
            "unknown provider 'pt-z'",
        ),
        (
            MINIMAL.replace(
                "  - {id: room-1, name: Room 1, capacity: 1}",
                "  - {id: room-1, name: Room 1, capacity: 1, providers: [pt-q]}",
            ),
            "rooms[0].providers[0]",
            16,
            "unknown provider 'pt-q'",
        ),
        (
            MINIMAL + "blocks:\n  - {name: staff meeting, time: '12:00-13:00'}\n",
            "blocks[0]",
            28,
            "weekdays",
        ),
        (
            MINIMAL + "room_closures:\n  - {room: room-7, date: 2027-01-12}\n",
            "room_closures[0].room",
            28,
            "unknown room 'room-7'",
        ),
        (
            MINIMAL + "message_categories:\n  - {id: billing, name: Billing, sla_hours: 4}\n",
            "message_categories[0]",
            28,
            "owner_role",
        ),
        (
            MINIMAL + "identity:\n  reschedule: [name, phone]\n",
            "identity.reschedule",
            28,
            "name and dob",
        ),
        (
            MINIMAL + "facts:\n  forms_url: riverbend.example/forms\n",
            "facts.forms_url",
            28,
            "web address",
        ),
        (
            MINIMAL + "after_hours:\n  behaviour: transfer\n",
            "after_hours.transfer_to",
            27,
            "transfer id",
        ),
        (
            MINIMAL
            + "insurance:\n  accepted:\n    - name: Medicare\n      intake: {collect: [mbi]}\n",
            "insurance.accepted[0].intake.collect[0]",
            30,
            "got 'mbi'",
        ),
        (
            MINIMAL
            + "insurance:\n  accepted:\n    - name: Medicare\n"
            + "      intake: {ask_plan_type: true}\n",
            "insurance.accepted[0].intake.ask_plan_type",
            30,
            "two or more plan_types",
        ),
        (
            MINIMAL + "transfers:\n  - {id: desk, name: Desk, extension: '1', never_for: yes}\n",
            "transfers[0].never_for",
            28,
            "unknown key",
        ),
    ],
)
def test_each_clinic_model_key_reports_its_mistake_with_key_and_line(
    tmp_path: Path, text: str, key: str, line: int, words: str
) -> None:
    error = load_error(tmp_path, text)
    assert (error.key, error.line) == (key, line), str(error)
    assert words in error.problem
