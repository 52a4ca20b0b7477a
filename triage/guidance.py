"""What the policy asks of a reply to this item, as short cards the queue shows beside it.

``classify_item`` picks the item's kind from its score; ``guidance_for`` turns the kind,
the score's flags and the crisis state into cards, most important first, each naming the
policy section it comes from (5.1, 5.2, 7.0, 7.1, 7.2). The cards' words live in
``config/guidance.toml`` (a ``GuidanceBook``); the caller loads it, so triage does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from triage.model import Score

__all__ = [
    "KINDS",
    "GuidanceBook",
    "GuidanceCard",
    "GuidanceConfigError",
    "Importance",
    "classify_item",
    "guidance_for",
]

Importance = Literal["must", "should", "tip"]

# Item kinds, and what the queue calls them. "crisis" is never picked from a score alone:
# the worker knows whether an open incident covers the item and passes ``in_crisis``.
KINDS = {
    "compliment": "Compliment",
    "complaint": "Complaint",
    "question": "Question",
    "service_query": "Service query",
    "abusive": "Abusive",
    "personal_data": "Personal data shared",
    "crisis": "Part of a crisis",
    "comment": "Comment",
}

_IMPORTANCE_ORDER = {"must": 0, "should": 1, "tip": 2}


@dataclass(frozen=True, slots=True)
class GuidanceCard:
    id: str
    title: str
    body: str
    policy_section: str
    importance: Importance


def classify_item(score: Score) -> str:
    """The one kind that decides how to answer, most pressing first.

    Abuse comes first (don't engage), then personal data (protect it before anything
    else), then complaints, then questions: a question about a known service topic is a
    service query. Whatever is left is a compliment when positive, else a comment.
    """
    if score.abusive:
        return "abusive"
    if score.personal_data:
        return "personal_data"
    if score.is_complaint:
        return "complaint"
    if score.is_question:
        return "service_query" if score.topic else "question"
    if score.is_compliment or score.label == "positive":
        return "compliment"
    return "comment"


class GuidanceConfigError(ValueError):
    """``config/guidance.toml`` is missing a card, or a card is missing a field."""


@dataclass(frozen=True, slots=True)
class _Use:
    """One card as a kind uses it: the card's id, and what this use changes."""

    card: str
    importance: Importance | None = None
    body: str | None = None
    why: str = ""


@dataclass(frozen=True)
class GuidanceBook:
    """The cards' words, which cards each kind shows, and each platform's private channel.

    Built from ``config/guidance.toml`` (policy text belongs in a table, not in code); the
    order and the rules that combine them stay in ``guidance_for``.
    """

    cards: dict[str, dict[str, str]]
    kinds: dict[str, tuple[_Use, ...]]
    situations: dict[str, _Use]
    private_channels: dict[str, str]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GuidanceBook:
        cards = data.get("cards", {})
        for card_id, card in cards.items():
            missing = {"title", "body", "section", "importance"} - set(card)
            if missing:
                raise GuidanceConfigError(f"card {card_id!r} has no {', '.join(sorted(missing))}")
            if card["importance"] not in _IMPORTANCE_ORDER:
                raise GuidanceConfigError(f"card {card_id!r}: importance must be must, should or tip")

        def use(entry: str | dict[str, str]) -> _Use:
            spec = {"card": entry} if isinstance(entry, str) else dict(entry)
            if spec.get("card") not in cards:
                raise GuidanceConfigError(f"no card called {spec.get('card')!r}")
            return _Use(**spec)  # type: ignore[arg-type]

        book = cls(
            cards=cards,
            kinds={kind: tuple(use(e) for e in entries) for kind, entries in data.get("kinds", {}).items()},
            situations={name: use(e) for name, e in data.get("situations", {}).items()},
            private_channels=data.get("private_channels", {}),
        )
        for required in ("comment", "crisis"):
            if required not in book.kinds:
                raise GuidanceConfigError(f"[kinds] needs {required!r}")
        for required in ("acknowledge", "never-repeat-personal-data", "legal", "media", "plain-words"):
            if required not in cards:
                raise GuidanceConfigError(f"no card called {required!r}")
        if "long_answer" not in book.situations:
            raise GuidanceConfigError("[situations] needs 'long_answer'")
        return book

    def card(self, use: _Use | str, *, platform: str, **values: str) -> GuidanceCard:
        use = _Use(use) if isinstance(use, str) else use
        card = self.cards[use.card]
        channel = self.private_channels.get(
            platform, self.private_channels.get("default", "a direct message")
        )
        fill = {"private_channel": channel, "why": use.why, **values}
        return GuidanceCard(
            id=use.card,
            title=card["title"].format(**fill),
            body=(use.body or card["body"]).format(**fill).strip(),
            policy_section=card["section"],
            importance=use.importance or card["importance"],  # type: ignore[arg-type]
        )

    def for_kind(self, kind: str, platform: str) -> list[GuidanceCard]:
        uses = self.kinds.get(kind, self.kinds["comment"])
        return [self.card(u, platform=platform) for u in uses]


def _signal_cards(book: GuidanceBook, score: Score, kind: str, platform: str) -> list[GuidanceCard]:
    cards = []
    if score.personal_data and kind != "personal_data":
        cards.append(book.card("never-repeat-personal-data", platform=platform))
    if score.legal_terms:
        cards.append(book.card("legal", platform=platform, legal_terms=", ".join(score.legal_terms[:3])))
    if score.media:
        cards.append(book.card("media", platform=platform))
    return cards


def guidance_for(
    score: Score,
    *,
    book: GuidanceBook,
    kind: str,
    in_crisis: bool,
    platform: str,
    long_answer: bool = False,
) -> list[GuidanceCard]:
    """Cards for answering one item, most important first, without duplicates.

    ``kind`` is usually ``classify_item(score)``; ``in_crisis`` says an open incident
    covers the item (or pass ``kind="crisis"``). ``long_answer`` marks an answer too long
    or complex for a public reply.
    """
    cards: list[GuidanceCard] = []
    crisis = in_crisis or kind == "crisis"
    if crisis:
        cards.extend(book.for_kind("crisis", platform))
    cards.extend(_signal_cards(book, score, kind, platform))
    if not crisis or kind in ("abusive", "personal_data"):
        cards.extend(book.for_kind(kind, platform))
    if long_answer and kind != "abusive" and not crisis:
        cards.append(book.card(book.situations["long_answer"], platform=platform))
    if kind != "abusive" and not crisis:
        cards.append(book.card("plain-words", platform=platform))
    unique: dict[str, GuidanceCard] = {}
    for card in cards:
        unique.setdefault(card.id, card)
    return sorted(unique.values(), key=lambda c: _IMPORTANCE_ORDER[c.importance])
