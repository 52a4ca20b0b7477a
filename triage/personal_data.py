"""Find personal data in a piece of text (policy 5.2: never breach confidentiality).

Used twice: on incoming mentions (the queue warns that the person has shared personal
data, so nobody quotes it back) and on outgoing replies (the reply checker blocks them).

What counts, and the decisions behind each kind:

- ``nhs_number``: ten digits, written together or as 3-3-4 groups split by spaces or by
  dashes (one separator style per number), whose last digit is a valid modulus 11
  check digit. A random ten-digit number fails the check nine times in ten, so most
  order and reference numbers are not reported.
- ``phone``: numbers the ``phonenumbers`` library finds and judges valid for the UK
  (``+44``, ``0044`` and other international forms too). Service numbers — freephone
  0800, shared-cost 084x, premium rate 09 and the non-geographic 03 numbers that NHS
  services publish — are left out: they belong to organisations, not people, and a
  reply that points someone to one must not be blocked. Digits already reported as an
  NHS number are not reported again as a phone number.
- ``email``: an ordinary ``name@domain.tld`` address.
- ``postcode``: a full UK postcode (outward and inward part, e.g. ``CV1 4FS``, in any
  letter case). An outward code alone (``CV1``) names an area, not a home, so it is
  not reported.
- ``date_of_birth``: a date (``12/03/1980``, ``12-3-80``, ``12.03.1980``,
  ``12 March 1980``, ``12th of March 1980``, ``March 12, 1980``) that follows a cue —
  "DOB", "D.O.B.", "born", "date of birth", "birthday" — within a few words, or is
  followed straight away by "(DOB)". A date on its own is *not* reported: replies
  talk about appointment and clinic dates all the time, and blocking those would
  teach people to override the checker.

Every pattern uses possessive quantifiers or anchored starts so that the time taken
grows in step with the length of the text, whatever the text is.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberMatcher, PhoneNumberType

from triage.model import PersonalDataFinding

__all__ = ["find_personal_data", "nhs_check_digit_valid"]

# A run of digits is only considered when it is not glued to more digits or letters.
_NHS_RE = re.compile(r"(?<![\w])([0-9]{3})([ -]?)([0-9]{3})\2([0-9]{4})(?![\w])")

# Local part may only start where a run of address characters starts; otherwise a
# long run without "@" would be rescanned from every position (quadratic time).
_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]++@[A-Za-z0-9\-]++(?:\.[A-Za-z0-9\-]++)*+",
)

# Royal Mail postcode format: outward code (area letters, district: A9, A99, A9A, AA9,
# AA99, AA9A) then inward code (sector digit, unit letters - never C, I, K, M, O or V).
_POSTCODE_RE = re.compile(
    r"(?<![A-Za-z0-9])"
    r"(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?[0-9][A-Z0-9]? ?[0-9][ABD-HJLNP-UW-Z]{2})"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)

_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    "|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_DATE = (
    rf"(?:{_DAY}[/.\-](?:0?[1-9]|1[0-2])[/.\-](?:\d{{4}}|\d{{2}})"  # 12/03/1980, 12-3-80
    rf"|{_DAY}(?:st|nd|rd|th)?(?:\s+of)?\s+(?:{_MONTHS})\.?,?\s+\d{{4}}"  # 12th of March 1980
    rf"|(?:{_MONTHS})\.?\s+{_DAY}(?:st|nd|rd|th)?,?\s+\d{{4}})"  # March 12, 1980
)
_DOB_CUE = r"(?:d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|born(?:\s+on)?|birth\s?day)"
# The cue, then up to 20 characters of anything but sentence breaks ("DOB is", "born on the").
_DOB_AFTER_CUE_RE = re.compile(
    rf"(?<![A-Za-z]){_DOB_CUE}(?![A-Za-z])[^.!?\n\d]{{0,20}}(?<![A-Za-z0-9])(?P<date>{_DATE})(?![\w])",
    re.IGNORECASE,
)
_DOB_BEFORE_CUE_RE = re.compile(
    rf"(?<![\w/.\-])(?P<date>{_DATE})(?![\w])\s*[(\[]?\s*{_DOB_CUE}(?![A-Za-z])",
    re.IGNORECASE,
)

# Numbers run by organisations rather than people (see module docstring).
_SERVICE_NUMBER_TYPES = frozenset(
    {
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.UAN,
    }
)

_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


_DIGIT_RE = re.compile(r"\d")
# The shortest UK phone numbers have seven digits (local numbers without the area code).
_MIN_NUMBER_DIGITS = 7


def nhs_check_digit_valid(digits: str) -> bool:
    """True when ``digits`` (exactly ten digits) carries a valid NHS modulus 11 check digit."""
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], _NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    # A remainder giving 10 means the number was never issued.
    return check != 10 and check == int(digits[9])


def _nhs_numbers(text: str) -> list[PersonalDataFinding]:
    found = []
    for m in _NHS_RE.finditer(text):
        digits = m.group(1) + m.group(3) + m.group(4)
        if nhs_check_digit_valid(digits):
            found.append(PersonalDataFinding("nhs_number", m.start(), m.end(), m.group(0)))
    return found


def _phones(text: str, taken: list[tuple[int, int]]) -> list[PersonalDataFinding]:
    found = []
    for match in PhoneNumberMatcher(text, "GB"):
        if phonenumbers.number_type(match.number) in _SERVICE_NUMBER_TYPES:
            continue
        if any(match.start < end and start < match.end for start, end in taken):
            continue
        found.append(PersonalDataFinding("phone", match.start, match.end, match.raw_string))
    return found


def _emails(text: str) -> list[PersonalDataFinding]:
    found = []
    for m in _EMAIL_RE.finditer(text):
        address = m.group(0).rstrip(".-")
        domain = address.rpartition("@")[2]
        labels = domain.split(".")
        # Needs a real top-level label ("nhs.uk", not "localhost" or "@3pm").
        if len(labels) < 2 or not all(labels) or not labels[-1].isalpha() or len(labels[-1]) < 2:
            continue
        local = address.partition("@")[0]
        if not local.strip("."):
            continue
        found.append(PersonalDataFinding("email", m.start(), m.start() + len(address), address))
    return found


def _postcodes(text: str) -> list[PersonalDataFinding]:
    return [
        PersonalDataFinding("postcode", m.start(), m.end(), m.group(0)) for m in _POSTCODE_RE.finditer(text)
    ]


def _dates_of_birth(text: str) -> list[PersonalDataFinding]:
    found = {}
    for pattern in (_DOB_AFTER_CUE_RE, _DOB_BEFORE_CUE_RE):
        for m in pattern.finditer(text):
            start, end = m.span("date")
            found[(start, end)] = PersonalDataFinding("date_of_birth", start, end, m.group("date"))
    return list(found.values())


def find_personal_data(text: str) -> list[PersonalDataFinding]:
    """Every piece of personal data found in ``text``, in order of position.

    Offsets are Python string (code point) offsets. Never raises on any ``str``.
    """
    # Every kind but email needs digits (a date of birth needs its year), and a phone or NHS
    # number needs at least seven: most posts have none, and the phone matcher is the
    # costliest step of scoring, so skip what cannot match.
    digits = len(_DIGIT_RE.findall(text))
    findings = _emails(text) if "@" in text else []
    if digits:
        nhs = _nhs_numbers(text) if digits >= _MIN_NUMBER_DIGITS else []
        dobs = _dates_of_birth(text)
        # A date of birth written with dots or dashes can look like a phone number to
        # the matcher; report it once, as the more specific kind.
        taken = [(f.start, f.end) for f in nhs + dobs]
        phones = _phones(text, taken) if digits >= _MIN_NUMBER_DIGITS else []
        findings += nhs + dobs + phones + _postcodes(text)
    findings.sort(key=lambda f: (f.start, f.end, f.kind))
    return findings
