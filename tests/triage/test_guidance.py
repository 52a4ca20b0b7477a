"""Guidance cards per item kind (policy 5.1, 5.2, 7.0, 7.2)."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from triage.guidance import KINDS, GuidanceBook, GuidanceConfigError, classify_item, guidance_for
from triage.model import PersonalDataFinding, Score

BOOK = GuidanceBook.from_dict(
    tomllib.loads((Path(__file__).parents[2] / "config" / "guidance.toml").read_text())
)
PD = PersonalDataFinding("nhs_number", 0, 10, "9434765919")


def score(**kwargs: Any) -> Score:
    base = Score(compound=0.0, pos=0.0, neg=0.0, neu=1.0, label="neutral")
    return replace(base, **kwargs)


@pytest.mark.parametrize(
    ("item", "kind"),
    [
        (score(abusive=True, personal_data=[PD], is_complaint=True), "abusive"),
        (score(personal_data=[PD], is_complaint=True), "personal_data"),
        (score(is_complaint=True, is_question=True), "complaint"),
        (score(is_question=True, topic="vaccination"), "service_query"),
        (score(is_question=True), "question"),
        (score(is_compliment=True), "compliment"),
        (score(label="positive", compound=0.6), "compliment"),
        (score(), "comment"),
        (score(label="negative", compound=-0.5), "comment"),
    ],
)
def test_classify_item(item: Score, kind: str) -> None:
    assert classify_item(item) == kind
    assert kind in KINDS


def ids(item: Score, **kwargs: Any) -> list[str]:
    kwargs.setdefault("kind", classify_item(item))
    kwargs.setdefault("in_crisis", False)
    kwargs.setdefault("platform", "x")
    return [card.id for card in guidance_for(item, book=BOOK, **kwargs)]


@pytest.mark.parametrize(
    ("kind", "present", "absent"),
    [
        ("compliment", {"thank", "sign"}, {"answer", "listening-message"}),
        ("complaint", {"acknowledge", "empathise", "move-private", "staff-conduct", "sign"}, {"thank"}),
        ("question", {"answer", "useful-link", "sign"}, {"signpost", "empathise"}),
        ("service_query", {"answer", "useful-link", "signpost"}, {"empathise"}),
        ("abusive", {"do-not-engage", "staff-conduct"}, {"sign", "answer", "acknowledge", "plain-words"}),
        ("personal_data", {"never-repeat-personal-data", "move-private"}, {"answer"}),
        ("crisis", {"listening-message", "lead-sign-off"}, {"answer", "thank", "useful-link"}),
        ("comment", {"acknowledge", "sign"}, {"answer"}),
    ],
)
def test_cards_per_kind(kind: str, present: set[str], absent: set[str]) -> None:
    got = set(ids(score(), kind=kind))
    assert present <= got
    assert not absent & got


def test_crisis_replaces_answering_with_the_listening_message() -> None:
    got = ids(score(is_question=True), in_crisis=True)
    assert got[:2] == ["listening-message", "lead-sign-off"]
    assert "answer" not in got


def test_crisis_still_protects_personal_data() -> None:
    got = ids(score(personal_data=[PD]), in_crisis=True)
    assert {"listening-message", "never-repeat-personal-data"} <= set(got)


def test_signals_add_cards_whatever_the_kind() -> None:
    got = ids(
        score(is_complaint=True, legal_terms=["solicitor"], media=True, personal_data=[PD]), kind="complaint"
    )
    assert {"never-repeat-personal-data", "legal", "media", "empathise"} <= set(got)
    legal = next(
        c
        for c in guidance_for(
            score(legal_terms=["solicitor"]), book=BOOK, kind="comment", in_crisis=False, platform="x"
        )
        if c.id == "legal"
    )
    assert "solicitor" in legal.body and legal.policy_section == "7.2"


def test_long_answers_move_to_private() -> None:
    assert "move-private" not in ids(score(is_question=True))
    assert "move-private" in ids(score(is_question=True), long_answer=True)


def test_private_channel_is_named_for_the_platform() -> None:
    def title(platform: str) -> str:
        cards = guidance_for(
            score(is_complaint=True), book=BOOK, kind="complaint", in_crisis=False, platform=platform
        )
        return next(c.title for c in cards if c.id == "move-private")

    assert "direct message" in title("x")
    assert "Messenger" in title("facebook")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_cards_are_unique_ordered_and_cite_the_policy(kind: str) -> None:
    cards = guidance_for(
        score(personal_data=[PD], legal_terms=["sue"]), book=BOOK, kind=kind, in_crisis=False, platform="x"
    )
    assert len({c.id for c in cards}) == len(cards)
    order = {"must": 0, "should": 1, "tip": 2}
    assert [order[c.importance] for c in cards] == sorted(order[c.importance] for c in cards)
    assert all(c.policy_section and c.policy_section[0] in "57" for c in cards)
    assert all(c.title and c.body for c in cards)


def test_answer_card_offers_find_out() -> None:
    (answer,) = [
        c
        for c in guidance_for(
            score(is_question=True), book=BOOK, kind="question", in_crisis=False, platform="x"
        )
        if c.id == "answer"
    ]
    assert "I don't know, let me find out for you" in answer.body


def test_the_cards_words_come_from_the_table() -> None:
    book = GuidanceBook.from_dict(
        {
            "cards": {
                **BOOK.cards,
                "thank": {**BOOK.cards["thank"], "body": "Say thanks, {private_channel}."},
            },
            "kinds": {"compliment": ["thank"], "comment": ["acknowledge"], "crisis": ["listening-message"]},
            "situations": {"long_answer": {"card": "move-private", "why": "Long."}},
            "private_channels": {"default": "by DM", "facebook": "by Messenger"},
        }
    )
    cards = guidance_for(
        score(is_compliment=True), book=book, kind="compliment", in_crisis=False, platform="facebook"
    )
    assert [c.body for c in cards if c.id == "thank"] == ["Say thanks, by Messenger."]
    assert "sign" not in {c.id for c in cards}


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"kinds": {"comment": ["no-such-card"], "crisis": []}}, "no card called 'no-such-card'"),
        ({"cards": {"thank": {"title": "Thanks"}}}, "has no body, importance, section"),
    ],
)
def test_a_broken_table_says_what_is_wrong(broken: dict[str, Any], message: str) -> None:
    data = {"cards": BOOK.cards, "kinds": {"comment": ["sign"], "crisis": []}, **broken}
    with pytest.raises(GuidanceConfigError, match=message):
        GuidanceBook.from_dict(data)
