import pytest

from voiceagent.intake import IntakeError, parse_mbi, parse_member_id, parse_npi
from voiceagent.intake.identifiers import npi_check_digit

pytestmark = pytest.mark.unit


def test_member_id_letters_and_digits_spoken():
    result = parse_member_id("X Y Z one two three four five")
    assert result.value == "XYZ12345"
    assert result.readback == "X Y Z one two three four five"


def test_member_id_as_transcribed_with_dashes_and_oh():
    assert parse_member_id("It's W-B-7, 4, 4, oh, 9").value == "WB74409"


def test_member_id_with_nato_words_and_double():
    assert parse_member_id("alpha bravo double seven one two").value == "AB7712"


def test_member_id_too_short_asks_for_the_whole_id():
    with pytest.raises(IntakeError):
        parse_member_id("A B one")


def test_npi_check_digit_matches_the_cms_example():
    # CMS worked example: 123456789 -> check digit 3
    assert npi_check_digit("123456789") == 3


def test_npi_spoken_digit_by_digit_passes_luhn():
    result = parse_npi("one two three, four five six, seven eight nine three")
    assert result.value == "1234567893"


def test_npi_with_a_wrong_check_digit_is_refused():
    with pytest.raises(IntakeError) as err:
        parse_npi("1234567890")
    assert "check out" in err.value.reason


def test_npi_with_nine_digits_is_refused():
    with pytest.raises(IntakeError):
        parse_npi("1 2 3 4 5 6 7 8 9")


def test_mbi_spoken_with_dashes_and_oh_for_zero():
    # CMS sample MBI 1EG4-TE5-MK73
    assert parse_mbi("1 E G 4, T E 5, M K 7 3").value == "1EG4TE5MK73"
    assert parse_mbi("one E G four T E five M K seven three").value == "1EG4TE5MK73"


def test_mbi_with_a_forbidden_letter_is_refused():
    # S is never used in an MBI
    with pytest.raises(IntakeError) as err:
        parse_mbi("1 S G 4 T E 5 M K 7 3")
    assert "format" in err.value.reason


def test_mbi_wrong_length_is_refused():
    with pytest.raises(IntakeError):
        parse_mbi("1 E G 4 T E 5")
