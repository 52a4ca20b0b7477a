"""What the policy asks of a reply to this item, as short cards the queue shows beside it.

``classify_item`` picks the item's kind from its score; ``guidance_for`` turns the kind,
the score's flags and the crisis state into cards, most important first, each naming the
policy section it comes from (5.1, 5.2, 7.0, 7.1, 7.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from triage.model import Score

__all__ = ["KINDS", "GuidanceCard", "Importance", "classify_item", "guidance_for"]

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


def _private_channel(platform: str) -> str:
    return "a private message on Messenger" if platform == "facebook" else "a direct message"


def _card(id: str, title: str, body: str, section: str, importance: Importance) -> GuidanceCard:
    return GuidanceCard(id=id, title=title, body=body, policy_section=section, importance=importance)


def _acknowledge() -> GuidanceCard:
    return _card(
        "acknowledge",
        "Show you are listening",
        "Acknowledge what they said, compliment or criticism. Be friendly, polite and honest; "
        "never judge, assume or guess.",
        "7.0",
        "should",
    )


def _sign() -> GuidanceCard:
    return _card(
        "sign",
        "Sign with your first name or initials",
        "End with your first name or initials (for example ^JB) so people know a person is listening.",
        "7.0",
        "tip",
    )


def _plain_words() -> GuidanceCard:
    return _card(
        "plain-words",
        "Plain words, hashtags at the end",
        "Avoid jargon, acronyms and slang; put hashtags and mentions at the end; describe links "
        "instead of 'click here'.",
        "7.1",
        "tip",
    )


def _move_private(platform: str, importance: Importance, why: str) -> GuidanceCard:
    return _card(
        "move-private",
        f"Move to {_private_channel(platform)} or email",
        f"{why} Offer to continue by {_private_channel(platform)} or email, and keep the public reply short.",
        "7.0",
        importance,
    )


def _never_repeat() -> GuidanceCard:
    return _card(
        "never-repeat-personal-data",
        "Never repeat their personal details",
        "They have shared personal information in public. Don't quote it back or confirm it; "
        "suggest they delete the post and send details privately. Hide the comment if the "
        "platform allows it.",
        "5.2",
        "must",
    )


def _kind_cards(kind: str, platform: str) -> list[GuidanceCard]:
    if kind == "abusive":
        return [
            _card(
                "do-not-engage",
                "Don't engage",
                "Don't argue or answer in kind. Hide or report the post if it breaks the platform's "
                "rules, and note why in the item. Stay professional whatever is said.",
                "5.2",
                "must",
            ),
            _card(
                "staff-conduct",
                "Concerns about staff go to a manager",
                "If the post raises a concern about how a member of staff has behaved, tell your "
                "manager, who will involve the Director of Corporate Affairs and HR.",
                "5.1",
                "should",
            ),
        ]
    if kind == "compliment":
        return [
            _card(
                "thank",
                "Say thank you",
                "Thank them warmly. If they name a team or a person, offer to pass the compliment on.",
                "7.0",
                "should",
            ),
            _sign(),
        ]
    if kind == "complaint":
        return [
            _acknowledge(),
            _card(
                "empathise",
                "Show empathy; say sorry if we are sorry",
                "Recognise how they feel. If we got something wrong, say sorry plainly. Don't "
                "argue the facts in public.",
                "7.0, 7.2",
                "must",
            ),
            _move_private(
                platform, "should", "Complaints usually need details we must not discuss in public."
            ),
            _card(
                "staff-conduct",
                "Concerns about staff go to a manager",
                "If the complaint is about how a member of staff behaved, tell your manager as well.",
                "5.1",
                "tip",
            ),
            _sign(),
        ]
    if kind in ("question", "service_query"):
        cards = [
            _card(
                "answer",
                "Answer, or say you'll find out",
                "Answer the question accurately. If you don't know, say \"I don't know, let me find "
                'out for you", find out who does, and come back to them.',
                "7.0",
                "must",
            ),
            _card(
                "useful-link",
                "Add a useful link",
                "Link to the page that helps them act (booking, opening times, advice), and say in "
                "words what the link is.",
                "7.0, 7.1",
                "should",
            ),
        ]
        if kind == "service_query":
            cards.append(
                _card(
                    "signpost",
                    "Point them to the right service",
                    "If another service or account is better placed to help (NHS 111, their GP "
                    "practice, a pharmacy, 999 in an emergency), say so and connect them.",
                    "7.0",
                    "should",
                )
            )
        cards.append(_sign())
        return cards
    if kind == "personal_data":
        return [
            _never_repeat(),
            _move_private(platform, "must", "Anything about their own care belongs in private."),
            _sign(),
        ]
    # comment, or a kind the queue doesn't know yet
    return [_acknowledge(), _sign()]


def _crisis_cards() -> list[GuidanceCard]:
    return [
        _card(
            "listening-message",
            "Post the listening message only",
            'This item is part of a crisis. Reply only with the listening message: "Thank you for '
            "bringing this to our attention, we are investigating and will respond as soon as we "
            "are able\". Don't answer the substance yet.",
            "7.2",
            "must",
        ),
        _card(
            "lead-sign-off",
            "The considered response needs sign-off",
            "The full response is agreed by all stakeholders and approved by a comms lead before "
            "it is posted. Check it answers the questions, shows empathy, says sorry if we are "
            "sorry, and uses plain English.",
            "7.2",
            "must",
        ),
    ]


def _signal_cards(score: Score, kind: str) -> list[GuidanceCard]:
    cards = []
    if score.personal_data and kind != "personal_data":
        cards.append(_never_repeat())
    if score.legal_terms:
        cards.append(
            _card(
                "legal",
                "Legal words: pass to a comms lead",
                f"The post mentions {', '.join(score.legal_terms[:3])}. Don't admit or deny anything "
                "in public; ask a comms lead before replying.",
                "7.2",
                "must",
            )
        )
    if score.media:
        cards.append(
            _card(
                "media",
                "Media account: tell a comms lead",
                "This comes from the press or media. A comms lead agrees any reply.",
                "7.2",
                "must",
            )
        )
    return cards


def guidance_for(
    score: Score, *, kind: str, in_crisis: bool, platform: str, long_answer: bool = False
) -> list[GuidanceCard]:
    """Cards for answering one item, most important first, without duplicates.

    ``kind`` is usually ``classify_item(score)``; ``in_crisis`` says an open incident
    covers the item (or pass ``kind="crisis"``). ``long_answer`` marks an answer too long
    or complex for a public reply.
    """
    cards: list[GuidanceCard] = []
    crisis = in_crisis or kind == "crisis"
    if crisis:
        cards.extend(_crisis_cards())
    cards.extend(_signal_cards(score, kind))
    if not crisis or kind in ("abusive", "personal_data"):
        cards.extend(_kind_cards(kind, platform))
    if long_answer and kind != "abusive" and not crisis:
        cards.append(_move_private(platform, "should", "The full answer is long or complex."))
    if kind != "abusive" and not crisis:
        cards.append(_plain_words())
    unique: dict[str, GuidanceCard] = {}
    for card in cards:
        unique.setdefault(card.id, card)
    return sorted(unique.values(), key=lambda c: _IMPORTANCE_ORDER[c.importance])
