import pytest

from voiceagent.clinic.nicknames import same_first_name

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("said", "on_file"), [
    ("Walt", "Walter"), ("Patty", "Patricia"), ("Bill", "William"), ("Rick", "Richard"),
    ("Nate", "Nathaniel"), ("maria", "Maria"), ("Kathy", "Katherine"),
])
def test_short_forms_are_the_same_first_name(said, on_file):
    assert same_first_name(said, on_file)


@pytest.mark.parametrize(("said", "on_file"), [
    ("Bob", "William"), ("Al", "Alice"), ("Tom", "Tim"), ("", "Maria"),
])
def test_other_names_are_not(said, on_file):
    assert not same_first_name(said, on_file)
