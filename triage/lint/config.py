"""The reply checker's settings and word lists, built from ``config/lint.toml`` as a dict.

Triage reads no files: the worker loads the TOML and passes the parsed dict to
``LintConfig.from_dict``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LintConfig", "LintConfigError", "TermList", "national_digits"]


class LintConfigError(ValueError):
    """The lint configuration has a missing or wrongly typed value."""


def _normalise(phrase: str) -> str:
    return " ".join(phrase.lower().replace("’", "'").split())


@dataclass(frozen=True)
class TermList:
    """Words or phrases to catch, each with a plainer alternative.

    All the terms are compiled into one case-insensitive pattern; a term matches only
    as whole words, and any run of spaces matches the spaces inside a phrase.
    """

    alternatives: Mapping[str, str] = field(default_factory=dict)  # normalised term -> plain words
    pattern: re.Pattern[str] | None = None

    @classmethod
    def build(cls, entries: Iterable[tuple[str, str]]) -> TermList:
        alternatives: dict[str, str] = {}
        for term, plain in entries:
            alternatives.setdefault(_normalise(term), plain)
        if not alternatives:
            return cls()
        # Longest first, so "you guys" wins over "guys".
        parts = [
            r"\s+".join(re.escape(word).replace("'", "['’]") for word in term.split())
            for term in sorted(alternatives, key=len, reverse=True)
        ]
        pattern = re.compile(rf"(?<![\w'’&/-])(?:{'|'.join(parts)})(?![\w'’&/-])", re.IGNORECASE)
        return cls(alternatives=alternatives, pattern=pattern)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, plain alternative) for every match."""
        if self.pattern is None:
            return []
        return [
            (m.start(), m.end(), self.alternatives[_normalise(m.group(0))])
            for m in self.pattern.finditer(text)
        ]


def _table(d: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = d.get(key, {})
    if not isinstance(value, Mapping):
        raise LintConfigError(f"[{key}] must be a table")
    return value


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LintConfigError(f"{where} must be a list of strings")
    return value


def _number(limits: Mapping[str, Any], key: str, default: float) -> float:
    value = limits.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise LintConfigError(f"[limits] {key} must be a number of zero or more")
    return value


def _term_entries(d: Mapping[str, Any], key: str) -> list[tuple[str, str]]:
    raw = d.get(key, [])
    if not isinstance(raw, list):
        raise LintConfigError(f"[[{key}]] must be an array of tables")
    entries: list[tuple[str, str]] = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("plain"), str):
            raise LintConfigError(f"[[{key}]] entry {i + 1} needs 'terms' and 'plain'")
        entries.extend(
            (term, entry["plain"]) for term in _strings(entry.get("terms"), f"[[{key}]] entry {i + 1} terms")
        )
    return entries


@dataclass(frozen=True)
class LintConfig:
    x_max_weighted_length: int = 280
    facebook_max_length: int = 8000
    instagram_max_length: int = 2200
    linkedin_max_length: int = 1250
    linkedin_max_hashtags: int = 2
    bluesky_max_graphemes: int = 300
    max_line_length: int = 200
    long_sentence_words: int = 25
    very_long_sentence_words: int = 35
    max_reading_grade: float = 9.0
    min_words_for_grade: int = 20
    max_emoji: int = 3
    long_url_length: int = 60
    min_alt_text_length: int = 10
    max_alt_text_length: int = 1000
    acronyms_fine: frozenset[str] = frozenset()
    acronyms_explain: Mapping[str, str] = field(default_factory=dict)
    jargon: TermList = field(default_factory=TermList)
    slang: TermList = field(default_factory=TermList)
    inclusive: TermList = field(default_factory=TermList)
    click_here: TermList = field(default_factory=TermList)
    hashtag_words: frozenset[str] = frozenset()
    published_numbers: frozenset[str] = frozenset()  # digits only, national form (leading 0)
    published_emails: frozenset[str] = frozenset()  # lower case
    # Derived from acronyms_explain: matches them case-sensitively as whole words (PALS, not "pals").
    acronym_pattern: re.Pattern[str] | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        pattern = None
        if self.acronyms_explain:
            names = "|".join(re.escape(a) for a in sorted(self.acronyms_explain, key=len, reverse=True))
            pattern = re.compile(rf"(?<![\w&])(?P<acronym>{names})(?:s|['’]s)?(?![\w&])")
        object.__setattr__(self, "acronym_pattern", pattern)

    def max_length(self, platform: str) -> int:
        """The platform's reply limit (X's weighted, Bluesky's in graphemes: see ``triage.lint.length``)."""
        return {
            "x": self.x_max_weighted_length,
            "instagram": self.instagram_max_length,
            "linkedin": self.linkedin_max_length,
            "bluesky": self.bluesky_max_graphemes,
        }.get(platform, self.facebook_max_length)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LintConfig:
        """Build from the parsed ``config/lint.toml``; raises ``LintConfigError`` on bad values."""
        limits = _table(d, "limits")
        acronyms = _table(d, "acronyms")
        explain = _table(acronyms, "explain")
        if not all(isinstance(v, str) for v in explain.values()):
            raise LintConfigError("[acronyms.explain] values must be strings")
        click = _strings(_table(d, "click_here").get("phrases", []), "[click_here] phrases")
        published = _table(d, "personal_data")
        numbers = _strings(published.get("published_numbers", []), "[personal_data] published_numbers")
        emails = _strings(published.get("published_emails", []), "[personal_data] published_emails")
        return cls(
            x_max_weighted_length=int(_number(limits, "x_max_weighted_length", cls.x_max_weighted_length)),
            facebook_max_length=int(_number(limits, "facebook_max_length", cls.facebook_max_length)),
            instagram_max_length=int(_number(limits, "instagram_max_length", cls.instagram_max_length)),
            linkedin_max_length=int(_number(limits, "linkedin_max_length", cls.linkedin_max_length)),
            linkedin_max_hashtags=int(_number(limits, "linkedin_max_hashtags", cls.linkedin_max_hashtags)),
            bluesky_max_graphemes=int(_number(limits, "bluesky_max_graphemes", cls.bluesky_max_graphemes)),
            max_line_length=int(_number(limits, "max_line_length", cls.max_line_length)),
            long_sentence_words=int(_number(limits, "long_sentence_words", cls.long_sentence_words)),
            very_long_sentence_words=int(
                _number(limits, "very_long_sentence_words", cls.very_long_sentence_words)
            ),
            max_reading_grade=float(_number(limits, "max_reading_grade", cls.max_reading_grade)),
            min_words_for_grade=int(_number(limits, "min_words_for_grade", cls.min_words_for_grade)),
            max_emoji=int(_number(limits, "max_emoji", cls.max_emoji)),
            long_url_length=int(_number(limits, "long_url_length", cls.long_url_length)),
            min_alt_text_length=int(_number(limits, "min_alt_text_length", cls.min_alt_text_length)),
            max_alt_text_length=int(_number(limits, "max_alt_text_length", cls.max_alt_text_length)),
            acronyms_fine=frozenset(_strings(acronyms.get("fine", []), "[acronyms] fine")),
            acronyms_explain=dict(explain),
            jargon=TermList.build(_term_entries(d, "jargon")),
            slang=TermList.build(_term_entries(d, "slang")),
            inclusive=TermList.build(_term_entries(d, "inclusive")),
            click_here=TermList.build((p, "") for p in click),
            hashtag_words=frozenset(
                w.lower() for w in _strings(_table(d, "hashtags").get("words", []), "[hashtags] words")
            ),
            published_numbers=frozenset(national_digits(n) for n in numbers),
            published_emails=frozenset(e.strip().lower() for e in emails),
        )


def national_digits(number: str) -> str:
    """A UK phone number as bare national digits (+44 24 7655 3344 -> 02476553344)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if number.strip().startswith("+44") or digits.startswith("0044"):
        digits = "0" + digits[4:] if digits.startswith("0044") else "0" + digits[2:]
    return digits
