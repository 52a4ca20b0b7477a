"""Personal data in mentions and replies (policy 5.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.personal_data import find_personal_data, nhs_check_digit_valid


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in find_personal_data(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # NHS numbers: only a valid modulus 11 check digit counts.
        ("My NHS number is 943 476 5919", [("nhs_number", "943 476 5919")]),
        ("nhs no 9434765919", [("nhs_number", "9434765919")]),
        ("ref 943-476-5919", [("nhs_number", "943-476-5919")]),
        ("order 9434765918 arrived", []),  # wrong check digit
        ("order 1234567890 arrived", []),  # check digit would be 10: never issued
        ("mixed 943 476-5919", []),  # one separator style per number
        ("code 94347659190", []),  # eleven digits is not an NHS number
        # Phones: UK personal numbers, not service numbers.
        ("call me on 07911 123456", [("phone", "07911 123456")]),
        ("home 024 7655 3344", [("phone", "024 7655 3344")]),
        ("or +44 7911 123456", [("phone", "+44 7911 123456")]),
        ("ring the team on 0300 123 4567", []),
        ("freephone 0800 123 4567", []),
        ("call 111 or 999", []),
        # Emails.
        ("write to jo.bloggs@nhs.net.", [("email", "jo.bloggs@nhs.net")]),
        ("me@localhost", []),
        ("see you @3pm", []),
        # Postcodes: full ones only, any case.
        ("I live at CV1 4FS", [("postcode", "CV1 4FS")]),
        ("I live at cv14fs", [("postcode", "cv14fs")]),
        ("B12 9RR near the park", [("postcode", "B12 9RR")]),
        ("anyone else in CV1?", []),
        # Dates of birth: only with a cue.
        ("my DOB is 12/03/1980", [("date_of_birth", "12/03/1980")]),
        ("D.O.B. 1/2/80", [("date_of_birth", "1/2/80")]),
        ("she was born on 3rd March 1975", [("date_of_birth", "3rd March 1975")]),
        ("Date of birth: March 12, 1980", [("date_of_birth", "March 12, 1980")]),
        ("12.03.1980 (DOB)", [("date_of_birth", "12.03.1980")]),
        ("your appointment is on 12/03/2025", []),
        ("born in Coventry. The clinic is on 12/03/2025", []),
    ],
)
def test_finds_each_kind_and_ignores_look_alikes(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


def test_offsets_point_at_the_finding() -> None:
    text = "Hi 😀 my NHS number is 943 476 5919 and email a@b.co"
    for f in find_personal_data(text):
        assert text[f.start : f.end] == f.text
    assert [f.kind for f in find_personal_data(text)] == ["nhs_number", "email"]


def test_nhs_number_is_not_reported_again_as_phone() -> None:
    text = "tel 07911 123456 and NHS 943 476 5919"
    assert kinds(text) == [("phone", "07911 123456"), ("nhs_number", "943 476 5919")]


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("9434765919", True),
        ("4010232137", True),
        ("9434765918", False),
        ("123456789", False),
        ("١٢٣٤٥٦٧٨٩٠", False),
    ],
)
def test_nhs_check_digit(digits: str, valid: bool) -> None:
    assert nhs_check_digit_valid(digits) is valid


@given(st.text())
def test_never_raises_and_offsets_are_consistent(text: str) -> None:
    for f in find_personal_data(text):
        assert 0 <= f.start < f.end <= len(text)
        assert text[f.start : f.end] == f.text


@given(st.text(alphabet="0123456789 -+()/.@abcdefDOBdob\n", max_size=200))
def test_never_raises_on_digit_heavy_text(text: str) -> None:
    find_personal_data(text)


@pytest.mark.parametrize("chunk", ["a" * 10, "a.", "1 ", "dob ", "x@", "123 "])
def test_pathological_long_text_finishes(chunk: str) -> None:
    # Linear-time patterns: a 100,000 character text of repeated look-alike pieces.
    find_personal_data(chunk * (100_000 // len(chunk)))
