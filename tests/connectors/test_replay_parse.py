"""One replay stream line -> Mention, or InvalidLine with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import Mention
from connectors.replay import MAX_TEXT, InvalidLine, parse_line

DROP = object()  # line(field=DROP) leaves the field out


def line(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "platform": "x",
        "id": "1897000000000000001",
        "created_at": "2025-03-03T09:15:00Z",
        "text": "@NHSCovWarks why is the walk-in centre closed?",
        "author": {"id": "42", "handle": "pat", "name": "Pat Jones", "followers": 120},
        "source": "x:mentions:@NHSCovWarks",
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not DROP}


def test_a_full_line_becomes_a_mention() -> None:
    record = line(
        kind="reply", in_reply_to="1896", url="https://x.com/pat/status/1", lang="en", reposts=3, extra=[1]
    )
    m = parse_line(json.dumps(record))
    assert (m.platform, m.external_id, m.source, m.kind, m.in_reply_to, m.url, m.lang) == (
        "x",
        "1897000000000000001",
        "x:mentions:@NHSCovWarks",
        "reply",
        "1896",
        "https://x.com/pat/status/1",
        "en",
    )
    assert (m.author.id, m.author.handle, m.author.name, m.author.followers) == (
        "42",
        "pat",
        "Pat Jones",
        120,
    )
    assert m.created_at == datetime(2025, 3, 3, 9, 15, tzinfo=UTC)
    assert m.metrics == {"reposts": 3}
    assert m.raw == record


def test_optional_fields_default() -> None:
    m = parse_line(json.dumps(line()))
    assert (m.kind, m.in_reply_to, m.url, m.lang, m.metrics) == ("mention", None, None, None, {})


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  leading and trailing spaces, \t tabs and\nnew lines  ",
        "שלום 👋🏽 مرحبا \u200f\u200e 🇬🇧 👨‍👩‍👧 zero\u200bwidth",
        "<script>alert('x')</script> <a href=\"javascript:alert(1)\">link</a> &amp; &lt;",
        "x" * MAX_TEXT,
    ],
    ids=["empty", "whitespace", "emoji-rtl-zero-width", "html", "at-limit"],
)
def test_text_is_kept_exactly_as_sent(text: str) -> None:
    assert parse_line(json.dumps(line(text=text))).text == text


def test_times_are_utc() -> None:
    assert parse_line(json.dumps(line(created_at="2025-03-03T10:15:00+01:00"))).created_at == datetime(
        2025, 3, 3, 9, 15, tzinfo=UTC
    )
    naive = parse_line(json.dumps(line(created_at="2025-03-03T09:15:00"))).created_at
    assert naive == datetime(2025, 3, 3, 9, 15, tzinfo=UTC)


def test_bytes_lines_are_read_as_utf8() -> None:
    assert parse_line(json.dumps(line(text="café"), ensure_ascii=False).encode()).text == "café"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json at all", "not a JSON object"),
        ("[1, 2, 3]", "not a JSON object"),
        ('"just a string"', "not a JSON object"),
        ("", "not a JSON object"),
        (json.dumps(line(platform=DROP)), "platform: Field required"),
        (json.dumps(line(id=DROP)), "id: Field required"),
        (json.dumps(line(created_at=DROP)), "created_at: Field required"),
        (json.dumps(line(text=DROP)), "text: Field required"),
        (json.dumps(line(author=DROP)), "author: Field required"),
        (json.dumps(line(source=DROP)), "source: Field required"),
        (
            json.dumps(line(author={"id": "1", "handle": "a", "name": "A"})),
            "author.followers: Field required",
        ),
        (json.dumps(line(id=1897)), "id: Input should be a valid string"),
        (json.dumps(line(text=["a"])), "text: Input should be a valid string"),
        (json.dumps(line(author="pat")), "author: Input should be a valid dictionary"),
        (
            json.dumps(line(author={"id": "1", "handle": "a", "name": "A", "followers": "12"})),
            "author.followers",
        ),
        (
            json.dumps(line(author={"id": "1", "handle": "a", "name": "A", "followers": True})),
            "author.followers",
        ),
        (
            json.dumps(line(author={"id": "1", "handle": "a", "name": "A", "followers": -1})),
            "author.followers",
        ),
        (json.dumps(line(kind="tweet")), "kind: Input should be"),
        (json.dumps(line(reposts="3")), "reposts"),
        (json.dumps(line(created_at="yesterday")), "created_at is not an ISO 8601 time"),
        (json.dumps(line(created_at="2025-13-40T99:00:00Z")), "created_at is not an ISO 8601 time"),
        (json.dumps(line(text="y" * (MAX_TEXT + 1))), "the limit is 100,000"),
    ],
)
def test_invalid_lines_say_why(raw: str, reason: str) -> None:
    with pytest.raises(InvalidLine) as caught:
        parse_line(raw)
    assert reason in caught.value.reason


def test_reasons_never_repeat_the_text() -> None:
    secret = "my NHS number is 943 476 5919"
    with pytest.raises(InvalidLine) as caught:
        parse_line(json.dumps(line(text=secret, created_at="soon")))
    assert secret not in caught.value.reason


def test_invalid_utf8_is_invalid() -> None:
    with pytest.raises(InvalidLine, match="UTF-8"):
        parse_line(b'{"text": "\xff"}')


def test_deeply_nested_json_is_invalid_not_a_crash() -> None:
    with pytest.raises(InvalidLine):
        parse_line("[" * 100_000 + "]" * 100_000)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.text(max_size=200))
def test_any_text_line_parses_or_is_invalid(raw: str) -> None:
    try:
        assert isinstance(parse_line(raw), Mention)
    except InvalidLine:
        pass


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "platform": json_values,
            "id": json_values,
            "created_at": st.one_of(json_values, st.just("2025-03-03T09:15:00Z")),
            "text": json_values,
            "author": st.one_of(
                json_values,
                st.fixed_dictionaries(
                    {"id": json_values, "handle": json_values, "name": json_values, "followers": json_values}
                ),
            ),
            "source": json_values,
            "kind": json_values,
            "reposts": json_values,
        },
    )
)
def test_any_json_object_parses_or_is_invalid(record: dict[str, Any]) -> None:
    try:
        assert isinstance(parse_line(json.dumps(record)), Mention)
    except InvalidLine:
        pass
