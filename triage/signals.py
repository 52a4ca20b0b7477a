"""What a mention holds besides its sentiment: legal terms, emotive words, insults,
complaint and compliment cues, questions, shouting.

All word lists come from ``config/lexicon/legal.toml`` and ``signals.toml`` (phrase
syntax of :mod:`triage.phrases`) and are found in one pass over the text's words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from triage.lexicon import LexiconError, table, terms
from triage.phrases import PhraseMatcher, Span, Tokens, tokenize
from triage.sentiment import normalise

LEGAL = "legal"
EMOTIVE = "emotive"
ABUSIVE = "abusive"
COMPLAINT = "complaint"
COMPLIMENT = "compliment"
QUESTION = "question"

# A "?" that ends a word, not one inside a link ("page?id=3").
_QUESTION_MARK_RE = re.compile(r"\?(?=[\s\"')\]]|$)")
_CAPS_RUN_RE = re.compile(r"[^\W\d_a-z]{4}")  # four capitals in a row: maybe shouting


@dataclass(frozen=True, slots=True)
class SignalLexicon:
    legal: tuple[str, ...]
    emotive: Mapping[str, float]  # term -> what it adds to emotive intensity (0..1)
    abusive: tuple[str, ...]
    complaint: tuple[str, ...]
    compliment: tuple[str, ...]
    question_openers: tuple[str, ...]  # phrases that open a question, checked at the start

    @classmethod
    def from_toml(cls, legal: Mapping[str, Any], signals: Mapping[str, Any]) -> SignalLexicon:
        emotive: dict[str, float] = {}
        for term, weight in table(signals, "emotive", where="signals.toml").items():
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1:
                raise LexiconError(f"signals.toml [emotive]: {term!r} must be a number above 0, at most 1")
            emotive[term] = float(weight)
        lexicon = cls(
            legal=_word_list(legal, "legal", "terms", "legal.toml"),
            emotive=emotive,
            abusive=_word_list(signals, "abusive", "terms", "signals.toml"),
            complaint=_word_list(signals, "complaint", "terms", "signals.toml"),
            compliment=_word_list(signals, "compliment", "terms", "signals.toml"),
            question_openers=_word_list(signals, "question", "openers", "signals.toml"),
        )
        SignalFinder(lexicon)  # refuses a malformed phrase now rather than at the first mention
        return lexicon


@dataclass(frozen=True, slots=True)
class Signals:
    legal: tuple[str, ...] = ()  # the terms found, lower-case, in order of appearance
    emotive: tuple[str, ...] = ()
    emotive_weight: float = 0.0  # what the emotive terms add to intensity, before the cap
    abusive: tuple[str, ...] = ()
    complaint: tuple[str, ...] = ()
    compliment: tuple[str, ...] = ()
    question: bool = False
    shouting: bool = False
    exclamations: int = 0


class SignalFinder:
    """Finds every signal word list in one pass. Build once and share; it keeps no state."""

    def __init__(self, lexicon: SignalLexicon) -> None:
        entries: list[tuple[str, tuple[str, float]]] = [
            *((term, (LEGAL, 0.0)) for term in lexicon.legal),
            *((term, (EMOTIVE, weight)) for term, weight in lexicon.emotive.items()),
            *((term, (ABUSIVE, 0.0)) for term in lexicon.abusive),
            *((term, (COMPLAINT, 0.0)) for term in lexicon.complaint),
            *((term, (COMPLIMENT, 0.0)) for term in lexicon.compliment),
            *((f"^{term.lstrip('^')}", (QUESTION, 0.0)) for term in lexicon.question_openers),
        ]
        # The same words may be on two lists ("negligent": legal and emotive): each is reported.
        self._matcher = PhraseMatcher(entries, single_words=True, shared=True)

    def find(self, text: str) -> Signals:
        return self.find_normalised(normalise(text))

    @property
    def phrases(self) -> PhraseMatcher[tuple[str, float]]:
        """The matcher of every word list (to share a pass over the words: PhraseLayers)."""
        return self._matcher

    def find_normalised(
        self, text: str, tokens: Tokens | None = None, spans: list[Span[tuple[str, float]]] | None = None
    ) -> Signals:
        """Signals of text already through :func:`triage.sentiment.normalise`, with its tokens
        and the word lists' matches if known."""
        if tokens is None:
            tokens = tokenize(text)
        if spans is None:
            spans = self._matcher.find_spans(tokens)
        found: dict[str, list[str]] = {}
        emotive_weight = 0.0
        for match in self._matcher.scan_found(text, tokens, spans).matches:
            kind, weight = match.phrase.value
            bucket = found.setdefault(kind, [])
            term = match.text.lower()
            if term not in bucket:
                bucket.append(term)
                emotive_weight += weight
        return Signals(
            legal=tuple(found.get(LEGAL, ())),
            emotive=tuple(found.get(EMOTIVE, ())),
            emotive_weight=emotive_weight,
            abusive=tuple(found.get(ABUSIVE, ())),
            complaint=tuple(found.get(COMPLAINT, ())),
            compliment=tuple(found.get(COMPLIMENT, ())),
            question=QUESTION in found or ("?" in text and _QUESTION_MARK_RE.search(text) is not None),
            shouting=_shouting(text, tokens.raw),
            exclamations=text.count("!"),
        )


def _shouting(text: str, raw: list[str]) -> bool:
    """Two or more words of four or more capitals, at least 30% of such long words
    ("NHS", "GP" and "A&E" are too short to count)."""
    if _CAPS_RUN_RE.search(text) is None:
        return False
    long_words = [w for w in raw if len(w) >= 4 and w.isalpha()]
    caps = sum(1 for w in long_words if w.isupper())
    return caps >= 2 and caps >= 0.3 * len(long_words)


def _word_list(data: Mapping[str, Any], section: str, key: str, file: str) -> tuple[str, ...]:
    return terms(table(data, section, where=file), key, where=f"{file} [{section}]")


def emotive_intensity(compound: float, signals: Signals) -> float:
    """How charged a mention is, 0..1.

    Negative feeling counts more than praise (half of VADER's negative strength, a
    fifth of its positive), then the emotive and safety words (capped at 0.6), shouting
    (0.15) and exclamation marks (0.05 each, up to three).
    """
    vader = 0.5 * max(0.0, -compound) + 0.2 * max(0.0, compound)
    words = min(0.6, signals.emotive_weight)
    shouting = 0.15 if signals.shouting else 0.0
    marks = 0.05 * min(3, signals.exclamations)
    return round(min(1.0, vader + words + shouting + marks), 3)
