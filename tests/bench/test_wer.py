import pytest

from voiceagent.bench.wer import corpus_wer, edit_distance, normalise, score

pytestmark = pytest.mark.unit


def test_spoken_and_written_numbers_compare_equal() -> None:
    assert normalise("My date of birth is April 12th, 1985.") == normalise(
        "my date of birth is april twelfth nineteen eighty-five"
    )
    assert normalise("555-867-5309") == normalise(
        "five five five eight six seven five three zero nine"
    )


def test_ids_mixing_letters_and_digits_are_compared_character_by_character() -> None:
    assert score("My member ID is W 4 7 2 9 1 8 3 6.", "My Member ID is W47291836").errors == 0


def test_case_punctuation_and_doctor_abbreviation_do_not_count_as_errors() -> None:
    assert (
        score(
            "Do you have anything with Dr. Patel?", "do you have anything with doctor patel"
        ).errors
        == 0
    )


def test_edit_distance_counts_substitutions_deletions_and_insertions() -> None:
    assert edit_distance(["a", "b", "c"], ["a", "x", "c"]) == 1
    assert edit_distance(["a", "b", "c"], ["a", "c"]) == 1
    assert edit_distance(["a", "b"], ["a", "b", "c", "d"]) == 2
    assert edit_distance([], ["a"]) == 1


def test_corpus_wer_pools_errors_over_all_reference_words() -> None:
    pooled = corpus_wer(
        [("one two three four", "one two three four"), ("hours on saturday", "hours on monday")]
    )
    assert (pooled.errors, pooled.words) == (1, 7)
    assert pooled.wer == pytest.approx(1 / 7)
