"""Sentiment: VADER with an NHS lexicon, phrases, emoji fixes and a bounded cost.

VADER (vaderSentiment 3.3.2) is tuned on tweets. On what people write about health
services it misses most of the signal: "waiting list", "cancelled my appointment",
"kept waiting" carry no lexicon word, and an answer such as "Nothing." to "what could
we do better?" means all was well. So, before VADER sees a text:

1. the text is normalised: curly apostrophes become ``'`` (VADER's negation test looks
   for ``n't``), zero-width, direction and variation-selector characters are dropped
   (``❤️`` is ``❤`` plus U+FE0F, which VADER does not know), then NFKC;
2. emoji with a valence of our own are cut out as words, so "great😡" is two tokens
   and 🔥 is praise rather than VADER's "fire";
3. every lexicon phrase (see :mod:`triage.phrases`) is replaced by one token whose
   valence sits in VADER's lexicon, so VADER's own rules (negation, "but", boosters,
   capitals) apply to the phrase as to a word.

Words that name a service, a date or a jab ("flu", "holiday", "free") are neutral:
VADER scores them from general use ("flu" -1.6, "holidays" +1.6), but in a post to the NHS
they say what the post is about, not how its writer feels ([service] in ``nhs.toml``).
So are the words of asking ("please", "help"): "Can you help me please?" asks, it does not
praise. A question, or a notice, with no other sentiment word is therefore neutral.

After VADER, a text that sets praise against criticism ("the crew were lovely but we
waited three hours") is pulled towards neutral in proportion to how even the two sides
are: feedback labelled by people calls such a comment mixed, where VADER's sum still
leans to one side.

VADER's cost grows faster than a text's length (its "but" rule is quadratic, and so
were its negation checks until :mod:`triage.vader`), so long texts are scored in
sentence-aligned chunks whose raw sums are added, and only the first
``MAX_SCORED_CHARS`` characters count.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE

from triage.lexicon import LexiconError, number, table, terms, valences
from triage.phrases import PhraseMatch, PhraseMatcher, Scan, Span, Tokens
from triage.vader import FastVader

POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05
LONG_TEXT = 1000  # characters; longer texts are scored chunk by chunk
CHUNK_CHARS = 400
MAX_SCORED_CHARS = 8000
_VADER_ALPHA = 15.0  # VADER's normalize(): compound = s / sqrt(s^2 + alpha)

_DROP = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0xFE0E, 0xFE0F, 0x200E, 0x200F]
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
    + list(range(0x1F3FB, 0x1F400)),  # skin-tone modifiers
)
_TRANSLATE: dict[int, int | str | None] = {
    **_DROP,
    0x2018: "'",
    0x2019: "'",
    0x02BC: "'",
    0x201C: '"',
    0x201D: '"',
}
_SENTENCE_END_RE = re.compile(r"(?<=[.!?\n])\s+")
_NEGATIONS = frozenset(NEGATE) | {"no"}


def normalise(text: str) -> str:
    """The text as the scorer reads it (apostrophes, invisible characters, NFKC)."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text.translate(_TRANSLATE))


def label_for(compound: float) -> str:
    if compound >= POSITIVE_AT:
        return "positive"
    if compound <= NEGATIVE_AT:
        return "negative"
    return "neutral"


@dataclass(frozen=True, slots=True)
class SentimentLexicon:
    """The valences added to VADER's: single words, phrases and emoji."""

    words: Mapping[str, float]
    phrases: Mapping[str, float]
    emoji: Mapping[str, float]
    contrast: tuple[str, ...] = ()  # "but", "however": words that set praise against criticism
    min_balance: float = 1.0  # weaker/stronger side at which a contrasted text counts as mixed
    service: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # group -> neutral words

    @classmethod
    def from_toml(cls, nhs: Mapping[str, Any], emoji: Mapping[str, Any]) -> SentimentLexicon:
        """From the parsed ``nhs.toml`` ([words], [phrases.*]) and ``emoji.toml`` ([emoji])."""
        words = valences(table(nhs, "words", where="nhs.toml"), where="nhs.toml [words]")
        for word in words:
            if len(word.split()) != 1:
                raise LexiconError(f"nhs.toml [words]: {word!r} has several words; put it in [phrases]")
        phrases = valences(table(nhs, "phrases", where="nhs.toml"), where="nhs.toml [phrases]", nested=True)
        PhraseMatcher(phrases)  # refuses a malformed phrase, or one word filed as a phrase
        glyphs = valences(table(emoji, "emoji", where="emoji.toml"), where="emoji.toml [emoji]")
        mixed = table(nhs, "mixed", where="nhs.toml")
        min_balance = number(mixed, "min_balance", 1.0, where="nhs.toml [mixed]")
        if not 0.0 < min_balance <= 1.0:
            raise LexiconError("nhs.toml [mixed]: min_balance must be above 0 and at most 1")
        service_groups = table(nhs, "service", where="nhs.toml")
        service = {
            group: terms(
                table(service_groups, group, where="nhs.toml [service]"),
                "words",
                where=f"nhs.toml [service.{group}]",
            )
            for group in service_groups
        }
        for group, listed in service.items():
            for word in listed:
                if len(word.split()) != 1:
                    raise LexiconError(f"nhs.toml [service.{group}]: {word!r} is not one word")
                if word in words:
                    raise LexiconError(f"nhs.toml [service.{group}]: {word!r} also has a valence in [words]")
        return cls(
            words={w.lower(): v for w, v in words.items()},
            phrases=phrases,
            emoji={normalise(e): v for e, v in glyphs.items()},
            contrast=terms(mixed, "contrast", where="nhs.toml [mixed]"),
            min_balance=min_balance,
            service=service,
        )


@dataclass(frozen=True, slots=True)
class Sentiment:
    compound: float
    pos: float
    neg: float
    neu: float
    label: str
    positive_terms: tuple[str, ...] = ()  # strongest first: words lower-case, phrases as written
    negative_terms: tuple[str, ...] = ()


NEUTRAL = Sentiment(0.0, 0.0, 0.0, 1.0, "neutral")


class SentimentScorer:
    """VADER plus the lexicon. Build once (about 50 ms) and share; scoring keeps no state."""

    def __init__(self, lexicon: SentimentLexicon) -> None:
        self._vader = FastVader()
        # VADER gives a word it counts as a booster ("exceptional", "incredible") no valence
        # of its own, whatever its lexicon says; such words go through the phrase matcher.
        boosters = {w: v for w, v in lexicon.words.items() if w in BOOSTER_DICT}
        phrase_valences = {**lexicon.phrases, **boosters}
        tokens = _phrase_tokens(phrase_valences)
        self._phrases = PhraseMatcher(tokens, single_words=True)
        for glyph in lexicon.emoji:
            self._vader.emojis.pop(glyph, None)  # scored as words of our own, not by description
        # A word of valence 0 scores as any unknown word, but a lexicon entry costs VADER a
        # round of negation and idiom checks: zero entries are left out (or taken out).
        lex = self._vader.lexicon
        for word, valence in [*lexicon.words.items(), *lexicon.emoji.items()]:
            if valence:
                lex[word] = valence
            else:
                lex.pop(word, None)
        lex.update({tokens[key]: v for key, v in phrase_valences.items() if v})
        for listed in lexicon.service.values():
            for word in listed:
                lex.pop(word, None)
        self._lexicon = self._vader.lexicon
        glyphs = sorted(lexicon.emoji, key=len, reverse=True)
        self._emoji_re = re.compile("|".join(map(re.escape, glyphs))) if glyphs else None
        self._contrast_re = (
            re.compile(r"\b(?:" + "|".join(map(re.escape, lexicon.contrast)) + r")\b", re.IGNORECASE)
            if lexicon.contrast
            else None
        )
        self._min_balance = lexicon.min_balance

    def score(self, text: str | None) -> Sentiment:
        if not text:
            return NEUTRAL
        return self.score_normalised(normalise(text[:MAX_SCORED_CHARS]))

    @property
    def phrases(self) -> PhraseMatcher[str]:
        """The phrase matcher (to share a pass over the words with other lexicons: PhraseLayers)."""
        return self._phrases

    def score_normalised(
        self, text: str, tokens: Tokens | None = None, spans: list[Span[str]] | None = None
    ) -> Sentiment:
        """Score text already through :func:`normalise`, with its tokens and phrases if known."""
        if len(text) > MAX_SCORED_CHARS:
            text, tokens = text[:MAX_SCORED_CHARS], None
        glyphs: list[str] = []
        if self._emoji_re is not None and not text.isascii():
            text = self._emoji_re.sub(lambda m: _pad(m.group(), glyphs), text)
        if tokens is None:
            scan = self._phrases.scan(text)
        else:
            spans = self._phrases.find_spans(tokens) if spans is None else spans
            scan = self._phrases.scan_found(text, tokens, spans)
        rewritten = _rewrite(text, scan.matches) if scan.matches else text
        if not rewritten.strip():
            return NEUTRAL
        if len(rewritten) <= LONG_TEXT:
            s = self._vader.polarity_scores(rewritten)
            compound, pos, neg, neu = s["compound"], s["pos"], s["neg"], s["neu"]
        else:
            compound, pos, neg, neu = self._score_chunks(rewritten[:MAX_SCORED_CHARS])
        if pos > 0 and neg > 0 and self._contrast_re is not None and self._contrast_re.search(text):
            compound = _balance(compound, pos, neg, self._min_balance)
        label = label_for(compound)
        if label == "neutral":
            return Sentiment(compound, pos, neg, neu, label)
        positive, negative = self._terms(scan, glyphs)
        return Sentiment(compound, pos, neg, neu, label, positive, negative)

    def _score_chunks(self, text: str) -> tuple[float, float, float, float]:
        raw = pos = neg = neu = 0.0
        total = 0
        for chunk in _chunks(text):
            s = self._vader.polarity_scores(chunk)
            raw += _raw_sum(s["compound"])
            weight = len(chunk)
            pos, neg, neu = pos + s["pos"] * weight, neg + s["neg"] * weight, neu + s["neu"] * weight
            total += weight
        if total == 0:
            return 0.0, 0.0, 0.0, 1.0
        compound = round(raw / math.sqrt(raw * raw + _VADER_ALPHA), 4)
        return compound, round(pos / total, 3), round(neg / total, 3), round(neu / total, 3)

    def _terms(self, scan: Scan[str], glyphs: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The lexicon words, phrases and emoji behind the score, strongest first (for the reasons)."""
        positive: dict[str, float] = {}
        negative: dict[str, float] = {}
        lexicon = self._lexicon
        words = scan.tokens.words
        found: list[tuple[int, str, float]] = []  # (word index, name shown, valence)
        covered: set[int] = set()
        for (first, last), match in zip(scan.word_spans, scan.matches, strict=True):
            covered.update(range(first, last + 1))
            valence = lexicon.get(match.phrase.value)
            if valence:
                found.append((first, match.text, valence))
        found.extend((i, w, lexicon[w]) for i, w in enumerate(words) if w in lexicon and i not in covered)
        for at, name, valence in found:
            if not valence:
                continue
            if _negated(words[max(0, at - 3) : at]):
                valence = -valence
            side = positive if valence > 0 else negative
            side[name] = max(side.get(name, 0.0), abs(valence))
        for glyph in glyphs:
            valence = lexicon.get(glyph)
            if not valence:
                continue
            side = positive if valence > 0 else negative
            side[glyph] = max(side.get(glyph, 0.0), abs(valence))
        return _strongest(positive), _strongest(negative)


def _phrase_tokens(phrases: Mapping[str, float]) -> dict[str, str]:
    """Lexicon key -> the one word that stands for the phrase in the text VADER reads.

    VADER strips punctuation from both ends of a word but keeps an inner "_"; a short
    numbered token ("ph_17") keeps the rewritten text no longer than the original.
    """
    return {key: f"ph_{i}" for i, key in enumerate(phrases)}


def _rewrite(text: str, matches: list[PhraseMatch[str]]) -> str:
    """The text with each phrase replaced by its token (upper-case if shouted, as VADER weighs)."""
    parts: list[str] = []
    pos = 0
    for m in matches:
        token = m.phrase.value.upper() if m.text.isupper() else m.phrase.value
        parts.append(text[pos : m.start])
        parts.append(f" {token} ")
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts)


def _raw_sum(compound: float) -> float:
    """Undo VADER's normalize(): the sum of valences behind a compound score."""
    c = max(-0.9999, min(0.9999, compound))
    return c * math.sqrt(_VADER_ALPHA / (1.0 - c * c))


def _balance(compound: float, pos: float, neg: float, min_balance: float) -> float:
    """Pull a mixed verdict towards zero: the more even praise and criticism, the nearer."""
    balance = min(pos, neg) / max(pos, neg)
    if balance < min_balance:
        return compound
    raw = _raw_sum(compound) * (1.0 - balance)
    return round(raw / math.sqrt(raw * raw + _VADER_ALPHA), 4)


def _negated(previous: list[str]) -> bool:
    """VADER's test, roughly: a negation among the three words before."""
    return any(word in _NEGATIONS or "n't" in word for word in previous)


def _pad(glyph: str, found: list[str]) -> str:
    found.append(glyph)
    return f" {glyph} "


def _strongest(found: dict[str, float], limit: int = 3) -> tuple[str, ...]:
    return tuple(sorted(found, key=lambda t: -found[t])[:limit])


def _chunks(text: str) -> list[str]:
    """Sentence-aligned pieces of about ``CHUNK_CHARS``; a longer sentence is cut at spaces."""
    chunks: list[str] = []
    current = ""
    for sentence in _SENTENCE_END_RE.split(text):
        while len(sentence) > CHUNK_CHARS:
            cut = sentence.rfind(" ", 0, CHUNK_CHARS)
            cut = cut if cut > 0 else CHUNK_CHARS
            chunks.append(sentence[:cut])
            sentence = sentence[cut:].lstrip()
        if current and len(current) + len(sentence) + 1 > CHUNK_CHARS:
            chunks.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        chunks.append(current)
    return [c for c in chunks if c.strip()]
