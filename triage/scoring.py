"""Score a mention: sentiment, signals, a queue priority, and the reasons people see.

Priority (1 urgent, 2 high, 3 normal, 4 low) is the first rule that applies:

1. urgent — personal data shared (nobody may quote it back; it may need hiding),
   legal terms, or a negative mention that comes from the media, has high reach
   (``high_followers`` / ``high_reposts``) or is highly emotive (``urgent_emotive``);
2. high — abusive language, a complaint (said in words, or compound at or below
   ``complaint_compound``), a question, a media mention or high reach that is not negative,
   or a negative mention with emotive intensity at or above ``high_emotive``;
3. normal — any other negative or neutral mention;
4. low — a positive mention that asks nothing (thanks, compliments).

The thresholds are in ``config/lexicon/signals.toml`` ([reach], [priority]).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from triage.lexicon import LexiconError, number, table
from triage.media import MediaList
from triage.model import MentionInput, PersonalDataFinding, Score
from triage.personal_data import find_personal_data
from triage.phrases import PhraseLayers, tokenize
from triage.sentiment import Sentiment, SentimentLexicon, SentimentScorer, normalise
from triage.signals import SignalFinder, SignalLexicon, Signals, emotive_intensity

URGENT, HIGH, NORMAL, LOW = 1, 2, 3, 4
PRIORITY_NAMES = {URGENT: "urgent", HIGH: "high", NORMAL: "normal", LOW: "low"}
COMPLIMENT_COMPOUND = 0.6  # praise strong enough to count as a compliment without a "thank you"
_PERSONAL_DATA_NAMES = {
    "nhs_number": "NHS number",
    "phone": "phone number",
    "email": "email address",
    "postcode": "postcode",
    "date_of_birth": "date of birth",
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    high_followers: int = 10_000
    high_reposts: int = 50
    urgent_emotive: float = 0.7
    high_emotive: float = 0.4
    complaint_compound: float = -0.4

    @classmethod
    def from_toml(cls, signals: Mapping[str, Any]) -> Thresholds:
        reach = table(signals, "reach", where="signals.toml")
        priority = table(signals, "priority", where="signals.toml")
        d = cls()
        t = cls(
            high_followers=int(
                number(reach, "high_followers", d.high_followers, where="signals.toml [reach]")
            ),
            high_reposts=int(number(reach, "high_reposts", d.high_reposts, where="signals.toml [reach]")),
            urgent_emotive=number(
                priority, "urgent_emotive", d.urgent_emotive, where="signals.toml [priority]"
            ),
            high_emotive=number(priority, "high_emotive", d.high_emotive, where="signals.toml [priority]"),
            complaint_compound=number(
                priority, "complaint_compound", d.complaint_compound, where="signals.toml [priority]"
            ),
        )
        if not 0 <= t.high_emotive <= t.urgent_emotive <= 1:
            raise LexiconError("signals.toml [priority]: need 0 <= high_emotive <= urgent_emotive <= 1")
        if not -1 <= t.complaint_compound <= 0:
            raise LexiconError("signals.toml [priority]: complaint_compound must be between -1 and 0")
        if t.high_followers < 1 or t.high_reposts < 1:
            raise LexiconError("signals.toml [reach]: thresholds must be at least 1")
        return t


@dataclass(frozen=True, slots=True)
class TriageResources:
    """Everything a Scorer is built from: parsed lexicons and the media list (no I/O)."""

    sentiment: SentimentLexicon
    signals: SignalLexicon
    media: MediaList
    thresholds: Thresholds

    @classmethod
    def from_toml(
        cls,
        *,
        nhs: Mapping[str, Any],
        emoji: Mapping[str, Any],
        legal: Mapping[str, Any],
        signals: Mapping[str, Any],
        media_handles: Iterable[str] = (),
        media_domains: Iterable[str] = (),
    ) -> TriageResources:
        """From the parsed ``config/lexicon`` files: nhs, emoji, legal and signals.toml."""
        return cls(
            sentiment=SentimentLexicon.from_toml(nhs, emoji),
            signals=SignalLexicon.from_toml(legal, signals),
            media=MediaList.of(media_handles, media_domains),
            thresholds=Thresholds.from_toml(signals),
        )


@dataclass(frozen=True, slots=True)
class _Findings:
    """What scoring found about one mention, before it becomes a priority and reasons."""

    sentiment: Sentiment
    signals: Signals
    personal: list[PersonalDataFinding]
    media_reason: str | None
    followers: int
    reposts: int
    high_reach: bool
    emotive: float
    complaint: bool
    compliment: bool

    @property
    def negative(self) -> bool:
        return self.sentiment.label == "negative"


class Scorer:
    """Scores mentions. Build once (about 0.1 s) and share; scoring keeps no state."""

    def __init__(self, resources: TriageResources) -> None:
        self._sentiment = SentimentScorer(resources.sentiment)
        self._signals = SignalFinder(resources.signals)
        self._phrases = PhraseLayers([self._sentiment.phrases, self._signals.phrases])
        self._media = resources.media
        self._t = resources.thresholds

    def score_text(self, text: str) -> Score:
        return self.score(MentionInput(text=text))

    def score(self, m: MentionInput) -> Score:
        if m.text is None:  # never handed on: VADER raises on None
            m = replace(m, text="")
        if not isinstance(m.text, str):
            raise TypeError(f"mention text must be a string, not {type(m.text).__name__}")
        f = self._find(m)
        priority, why = self._priority(f)
        return Score(
            compound=f.sentiment.compound,
            pos=f.sentiment.pos,
            neg=f.sentiment.neg,
            neu=f.sentiment.neu,
            label=f.sentiment.label,
            emotive=f.emotive,
            emotive_terms=list(f.signals.emotive),
            legal_terms=list(f.signals.legal),
            media=f.media_reason is not None,
            media_reason=f.media_reason,
            personal_data=f.personal,
            is_question=f.signals.question,
            is_complaint=f.complaint,
            is_compliment=f.compliment,
            abusive=bool(f.signals.abusive),
            abusive_terms=list(f.signals.abusive),
            reach=f.followers + f.reposts,
            priority=priority,
            reasons=[f"{PRIORITY_NAMES[priority]}: {why}", *self._reasons(f)],
        )

    def _find(self, m: MentionInput) -> _Findings:
        t = self._t
        normal = normalise(m.text)
        tokens = tokenize(normal)  # one pass over the words finds both lexicons' phrases
        sentiment_spans, signal_spans = self._phrases.find_spans(tokens)
        sentiment = self._sentiment.score_normalised(normal, tokens, sentiment_spans)
        signals = self._signals.find_normalised(normal, tokens, signal_spans)
        followers, reposts = max(0, m.author_followers), max(0, m.reposts)
        negative = sentiment.label == "negative"
        complaint = bool(signals.complaint) or (negative and sentiment.compound <= t.complaint_compound)
        return _Findings(
            sentiment=sentiment,
            signals=signals,
            personal=find_personal_data(m.text) if m.text else [],
            media_reason=self._media.source(m),
            followers=followers,
            reposts=reposts,
            high_reach=followers >= t.high_followers or reposts >= t.high_reposts,
            emotive=emotive_intensity(sentiment.compound, signals),
            complaint=complaint,
            compliment=(
                not complaint
                and sentiment.label == "positive"
                and (bool(signals.compliment) or sentiment.compound >= COMPLIMENT_COMPOUND)
            ),
        )

    def _priority(self, f: _Findings) -> tuple[int, str]:
        """The rules of the module docstring, in order: (priority, why)."""
        t = self._t
        rules = (
            (bool(f.personal), URGENT, "personal data shared"),
            (bool(f.signals.legal), URGENT, "legal terms"),
            (f.negative and f.media_reason is not None, URGENT, "negative, from the media"),
            (f.negative and f.high_reach, URGENT, "negative, high reach"),
            (f.negative and f.emotive >= t.urgent_emotive, URGENT, "negative, highly emotive"),
            (bool(f.signals.abusive), HIGH, "abusive"),
            (f.complaint, HIGH, "complaint"),
            (f.signals.question, HIGH, "question"),
            (f.media_reason is not None, HIGH, "from the media"),
            (f.high_reach, HIGH, "high reach"),
            (f.negative and f.emotive >= t.high_emotive, HIGH, "negative, emotive"),
            (f.compliment, LOW, "compliment"),
            (f.sentiment.label == "positive", LOW, "positive"),
        )
        for applies, priority, why in rules:
            if applies:
                return priority, why
        return NORMAL, f.sentiment.label

    def _reasons(self, f: _Findings) -> list[str]:
        """What a person sees beside the priority: each signal with the words behind it."""
        sentiment, signals = f.sentiment, f.signals
        reasons = []
        if f.personal:
            kinds = dict.fromkeys(_PERSONAL_DATA_NAMES.get(p.kind, p.kind) for p in f.personal)
            reasons.append("personal data: " + ", ".join(kinds))  # the kinds only, never the data
        if signals.legal:
            reasons.append("legal: " + _quoted(signals.legal))
        if f.media_reason:
            reasons.append(f"media: {f.media_reason}")
        if f.high_reach:
            reasons.append(f"high reach: {f.followers:,} followers, {f.reposts:,} reposts")
        terms = sentiment.negative_terms if f.negative else sentiment.positive_terms
        label = sentiment.label
        reasons.append(f"{label}: {_quoted(terms)}" if terms and label != "neutral" else label)
        if signals.emotive or (f.negative and f.emotive >= self._t.high_emotive):
            extras = [f"'{w}'" for w in signals.emotive[:3]]
            extras += ["capitals"] if signals.shouting else []
            extras += ["!" * min(3, signals.exclamations)] if signals.exclamations > 1 else []
            reasons.append(f"emotive {f.emotive:.2f}" + (": " + ", ".join(extras) if extras else ""))
        if f.complaint:
            reasons.append("complaint" + (": " + _quoted(signals.complaint) if signals.complaint else ""))
        if f.compliment:
            reasons.append("compliment" + (": " + _quoted(signals.compliment) if signals.compliment else ""))
        if signals.question:
            reasons.append("question")
        if signals.abusive:
            reasons.append("abusive: " + _quoted(signals.abusive))
        return reasons


def _quoted(terms: Sequence[str], limit: int = 3) -> str:
    return ", ".join(f"'{t}'" for t in terms[:limit])
