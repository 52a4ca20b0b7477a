"""Suggested replies: filling placeholders, and the defaults passing the reply checker."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.guidance import KINDS
from triage.lint import LintConfig, check_reply
from triage.templates import ReplyTemplate, TemplateError, fill, parse_templates, suggest_replies

ROOT = Path(__file__).resolve().parents[2]
RULES = LintConfig.from_dict(tomllib.loads((ROOT / "config" / "lint.toml").read_text(encoding="utf-8")))
DEFAULTS = tomllib.loads((ROOT / "config" / "templates" / "replies.toml").read_text(encoding="utf-8"))
TEMPLATES = parse_templates(DEFAULTS)
LISTENING_MESSAGE = (
    "Thank you for bringing this to our attention, "
    "we are investigating and will respond as soon as we are able"
)


@pytest.mark.parametrize(
    ("body", "values", "expected"),
    [
        (
            "Hi {author_name}, thanks. ^{agent_initials}",
            {"author_name": "Sam", "agent_initials": "JB"},
            "Hi Sam, thanks. ^JB",
        ),
        ("Hi {author_name}, thanks. ^{agent_initials}", {}, "Hi, thanks."),
        (
            "Thanks for getting in touch, {author_name}. - {agent_first_name}",
            {},
            "Thanks for getting in touch.",
        ),
        ("Hi {nonsense} there", {"author_name": "Sam"}, "Hi there"),
        ("Braces { stay } and {unclosed", {}, "Braces { stay } and {unclosed"),
        ("Hi {author_name}", {"author_name": "{agent_initials}"}, "Hi {agent_initials}"),  # no second pass
        ("Line one.\n{service_link}\n^{agent_initials}", {"agent_initials": "JB"}, "Line one.\n\n^JB"),
    ],
)
def test_fill(body: str, values: dict[str, str], expected: str) -> None:
    assert fill(body, values) == expected


@given(st.text(), st.dictionaries(st.sampled_from(["author_name", "agent_initials", "x"]), st.text()))
def test_fill_never_raises(body: str, values: dict[str, str]) -> None:
    assert isinstance(fill(body, values), str)


def test_defaults_cover_every_kind_the_queue_answers() -> None:
    kinds = {k for t in TEMPLATES for k in t.for_kinds}
    assert kinds >= {
        "compliment",
        "complaint",
        "question",
        "service_query",
        "personal_data",
        "crisis",
        "comment",
    }
    assert kinds <= set(KINDS)


def test_listening_message_is_the_policy_wording() -> None:
    (crisis,) = suggest_replies(
        TEMPLATES, kind="crisis", author_name="Sam", agent_initials="JB", agent_first_name="Jo", platform="x"
    )
    assert crisis.text.startswith(LISTENING_MESSAGE)


@pytest.mark.parametrize("platform", ["x", "facebook", "bluesky"])
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize(
    ("author", "initials", "first", "link"),
    [
        ("Sam Patel", "JB", "Jo", "https://www.happyhealthylives.uk/services/urgent-care"),
        ("", "", "", ""),
    ],
)
def test_default_templates_never_block(
    platform: str, kind: str, author: str, initials: str, first: str, link: str
) -> None:
    for reply in suggest_replies(
        TEMPLATES,
        kind=kind,
        author_name=author,
        agent_initials=initials,
        agent_first_name=first,
        platform=platform,
        service_link=link,
    ):
        result = check_reply(reply.text, platform=platform, rules=RULES)
        assert result.ok, (reply.template_id, result.findings)
        if initials:
            # Filled in properly, a default needs no fixing at all.
            assert result.findings == [], (reply.template_id, result.findings)
        assert "{" not in reply.text


def test_suggestions_follow_kind_and_platform() -> None:
    def suggested(kind: str, platform: str) -> list[str]:
        return [
            r.template_id
            for r in suggest_replies(
                TEMPLATES,
                kind=kind,
                author_name="Sam",
                agent_initials="JB",
                agent_first_name="Jo",
                platform=platform,
            )
        ]

    assert "sorry-move-to-dm" in suggested("complaint", "x")
    assert "sorry-move-to-messenger" not in suggested("complaint", "x")
    assert "sorry-move-to-messenger" in suggested("complaint", "facebook")
    assert "find-out" in suggested("question", "x")
    assert "signpost-111" in suggested("service_query", "facebook")
    assert suggested("personal_data", "x") == ["personal-data-delete"]
    assert suggested("abusive", "x") == []


def test_suggest_accepts_the_parsed_toml() -> None:
    replies = suggest_replies(
        DEFAULTS,
        kind="compliment",
        author_name="Sam",
        agent_initials="JB",
        agent_first_name="Jo",
        platform="x",
    )
    assert replies[0].text.startswith("Thank you Sam,")


@pytest.mark.parametrize(
    "bad",
    [
        {"template": {"id": "x"}},
        {"template": [{"id": "a", "title": "A", "body": ""}]},
        {"template": [{"id": "a", "title": "A", "body": "b", "for_kinds": "question"}]},
        {"template": [{"id": "a", "title": "A", "body": "b"}, {"id": "a", "title": "B", "body": "c"}]},
    ],
)
def test_bad_templates_are_reported(bad: dict) -> None:
    with pytest.raises(TemplateError):
        parse_templates(bad)


def test_template_defaults_to_every_reply_platform() -> None:
    t = ReplyTemplate.from_dict({"id": "a", "title": "A", "body": "b", "for_kinds": ["comment"]})
    assert t.platforms == ("x", "facebook", "instagram", "linkedin", "bluesky")
