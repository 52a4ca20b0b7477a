"""Raw API response bodies (as ``listening-post import`` reads them) -> mentions and rejected items."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import ParseResult, PayloadError
from connectors.bluesky import parse_bluesky_response
from connectors.facebook import parse_graph_response
from connectors.registry import IMPORT_PARSERS
from connectors.x import parse_tweets_response

FIXTURES = Path(__file__).parent / "fixtures"
RECORDED_TOKEN = "EAAGrecordedTOKENvalue0000"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


# X -------------------------------------------------------------------------------------


def test_x_response_becomes_mentions_with_authors_and_threads() -> None:
    result = parse_tweets_response(
        fixture("x_tweets_response.json"), source="import:x", own_handles=["NHSCovWarks"]
    )

    by_id = {m.external_id: m for m in result.mentions}
    assert list(by_id) == [
        "1897012345678901249",
        "1897012345678901250",
        "1897012345678901251",
        "1897012345678901252",
    ]
    first = by_id["1897012345678901249"]
    assert (first.kind, first.author.handle, first.author.name, first.author.followers) == (
        "mention",
        "patient_pat",
        "Pat Jones",
        1532,
    )
    assert first.text.endswith("&amp; nobody told us why")  # stored exactly as the API sent it
    assert first.metrics == {"reposts": 14, "replies": 3, "likes": 52, "quotes": 1}
    reply = by_id["1897012345678901250"]
    assert (reply.kind, reply.in_reply_to, reply.conversation_id) == (
        "reply",
        "1897012345678901249",
        "1897012345678901249",
    )
    assert reply.author.verified and reply.author.name == "Sam 🌈"
    assert by_id["1897012345678901251"].is_repost
    assert by_id["1897012345678901252"].is_own
    assert not any(m.is_own for i, m in by_id.items() if i != "1897012345678901252")


def test_x_malformed_items_are_rejected_with_reasons() -> None:
    result = parse_tweets_response(fixture("x_tweets_response.json"), source="import:x")
    assert len(result.rejected) == 2
    assert result.rejected[0].startswith("tweet 1897012345678901253: text: Field required")
    assert "id: Input should be a valid string" in result.rejected[1]


def test_x_minimal_tweet_gets_its_time_from_the_id() -> None:
    body = {
        "data": [
            {"id": "1897012345678901249", "text": "hi", "edit_history_tweet_ids": ["1897012345678901249"]}
        ]
    }
    [m] = parse_tweets_response(body, source="import:x").mentions
    assert m.created_at.isoformat() == "2025-03-04T19:52:42.651000+00:00"
    assert m.author.id == "" and m.url == "https://x.com/i/web/status/1897012345678901249"


def test_x_long_post_keeps_its_whole_text() -> None:
    whole = "Long post about the walk-in centre. " * 40
    tweet = {"id": "1897012345678901249", "text": whole[:280], "note_tweet": {"text": whole}}
    [m] = parse_tweets_response({"data": [tweet]}, source="import:x").mentions
    assert m.text == whole


def test_x_empty_response_is_empty() -> None:
    assert parse_tweets_response('{"meta": {"result_count": 0}}', source="s") == ParseResult()


@pytest.mark.parametrize(
    "body",
    ["{not json", "[]", '"text"', '{"data": "not a list"}', '{"data": [], "includes": []}', b"\xff\xfe"],
)
def test_x_unreadable_bodies_are_payload_errors(body: str | bytes) -> None:
    with pytest.raises(PayloadError):
        parse_tweets_response(body, source="s")


# Graph ---------------------------------------------------------------------------------


def test_graph_feed_with_nested_comments_and_replies() -> None:
    result = parse_graph_response(
        fixture("graph_feed_response.json"), source="import:facebook", own_ids={"104729318865221"}
    )

    post_id = "104729318865221_122154321098765432"
    comment_id = "122154321098765432_1029384756473829"
    by_id = {m.external_id: m for m in result.mentions}
    summary = {i: (m.kind, m.in_reply_to, m.conversation_id, m.is_own) for i, m in by_id.items()}
    assert summary == {
        post_id: ("post", None, post_id, True),
        comment_id: ("comment", post_id, post_id, False),
        "122154321098765432_1029384756473830": ("reply", comment_id, post_id, False),
        "122154321098765432_1029384756473831": ("comment", post_id, post_id, False),
        "104729318865221_122154321098765499": ("post", None, "104729318865221_122154321098765499", False),
    }
    assert by_id["122154321098765432_1029384756473830"].text == "أنا أيضا أريد أن أعرف"
    assert by_id["122154321098765432_1029384756473831"].text == ""  # a sticker: no message
    assert by_id[comment_id].metrics == {"likes": 2, "replies": 1}
    assert by_id[post_id].metrics == {"reposts": 12}
    assert by_id[comment_id].author.name == "Sam Patel"
    assert result.rejected == ["comment 122154321098765432_1029384756473832: created_time: Field required"]


def test_graph_raw_payloads_never_keep_the_access_token_from_paging_links() -> None:
    result = parse_graph_response(fixture("graph_feed_response.json"), source="import:facebook")
    assert RECORDED_TOKEN not in json.dumps([m.raw for m in result.mentions])
    assert all("comments" not in m.raw for m in result.mentions)


def test_graph_comments_response_is_recognised() -> None:
    result = parse_graph_response(
        fixture("graph_comments_response.json"), source="import:facebook", own_ids={"104729318865221"}
    )
    kinds = [(m.kind, m.in_reply_to, m.is_own) for m in result.mentions]
    parent = "122154321098765432_1029384756473829"
    assert kinds == [("comment", None, False), ("reply", parent, False), ("reply", parent, True)]


def test_graph_comments_of_a_known_post() -> None:
    body = json.loads(fixture("graph_comments_response.json"))
    del body["paging"]
    result = parse_graph_response(
        body, source="s", edge="comments", post_id="104729318865221_122154321098765432"
    )
    assert result.mentions[0].in_reply_to == "104729318865221_122154321098765432"
    assert {m.conversation_id for m in result.mentions} == {"104729318865221_122154321098765432"}


def test_graph_tagged_posts_are_mentions() -> None:
    body = {"data": [{"id": "555_666", "message": "Thanks @NHS", "created_time": "2025-03-04T07:15:44+0000"}]}
    assert [m.kind for m in parse_graph_response(body, source="s", edge="tagged").mentions] == ["mention"]


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[]",
        '{"paging": {}}',
        '{"data": {"id": "1"}}',
        '{"error": {"message": "Invalid OAuth access token", "type": "OAuthException", "code": 190}}',
    ],
)
def test_graph_unreadable_bodies_are_payload_errors(body: str) -> None:
    with pytest.raises(PayloadError):
        parse_graph_response(body, source="s")


def test_import_parsers_are_registered_by_platform() -> None:
    assert IMPORT_PARSERS["x"] is parse_tweets_response
    assert IMPORT_PARSERS["facebook"] is parse_graph_response
    assert IMPORT_PARSERS["bluesky"] is parse_bluesky_response


# Hostile input -------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=15,
)
tweetish = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(json_values, st.from_regex(r"\A[0-9]{1,19}\Z")),
        "text": json_values,
        "author_id": json_values,
        "created_at": st.one_of(json_values, st.just("2025-03-04T08:12:31.000Z")),
        "referenced_tweets": json_values,
        "public_metrics": json_values,
    },
)
graphish = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(json_values, st.just("1_2")),
        "message": json_values,
        "created_time": st.one_of(json_values, st.just("2025-03-04T08:31:05+0000")),
        "from": json_values,
        "parent": json_values,
        "comments": st.one_of(
            json_values, st.fixed_dictionaries({"data": st.lists(json_values, max_size=3)})
        ),
    },
)

bluesky_post = st.fixed_dictionaries(
    {},
    optional={
        "uri": st.one_of(
            json_values, st.just("at://did:plc:abcdefghijklmnopqrstuvwx/app.bsky.feed.post/3l2")
        ),
        "cid": st.one_of(json_values, st.just("bafyreiabcdefgh")),
        "author": st.one_of(
            json_values, st.fixed_dictionaries({"did": st.just("did:plc:a"), "handle": json_values})
        ),
        "reason": st.one_of(json_values, st.sampled_from(["mention", "reply", "quote", "like"])),
        "record": st.one_of(
            json_values,
            st.fixed_dictionaries({"text": json_values, "createdAt": json_values, "reply": json_values}),
        ),
        "indexedAt": st.one_of(json_values, st.just("2025-03-04T08:12:31.000Z")),
    },
)


def _parses_or_payload_error(parse: Any, body: Any) -> None:
    try:
        result = parse(body, source="s")
    except PayloadError:
        return
    assert isinstance(result, ParseResult)


@given(
    st.fixed_dictionaries(
        {}, optional={"data": st.lists(tweetish | json_values, max_size=4), "meta": json_values}
    )
)
def test_any_x_shaped_body_parses_or_is_a_payload_error(body: dict[str, Any]) -> None:
    _parses_or_payload_error(parse_tweets_response, body)
    _parses_or_payload_error(parse_tweets_response, json.dumps(body))


@given(
    st.fixed_dictionaries(
        {}, optional={"data": st.lists(graphish | json_values, max_size=4), "paging": json_values}
    )
)
def test_any_graph_shaped_body_parses_or_is_a_payload_error(body: dict[str, Any]) -> None:
    _parses_or_payload_error(parse_graph_response, body)
    _parses_or_payload_error(parse_graph_response, json.dumps(body))


@given(
    st.one_of(
        st.fixed_dictionaries({"notifications": st.lists(bluesky_post | json_values, max_size=4)}),
        st.fixed_dictionaries(
            {"posts": st.lists(bluesky_post | json_values, max_size=4), "cursor": json_values}
        ),
    )
)
def test_any_bluesky_shaped_body_parses_or_is_a_payload_error(body: dict[str, Any]) -> None:
    _parses_or_payload_error(parse_bluesky_response, body)
    _parses_or_payload_error(parse_bluesky_response, json.dumps(body))


@given(st.text(max_size=200))
def test_any_text_body_parses_or_is_a_payload_error(body: str) -> None:
    _parses_or_payload_error(parse_tweets_response, body)
    _parses_or_payload_error(parse_graph_response, body)
    _parses_or_payload_error(parse_bluesky_response, body)


def test_a_referenced_post_with_an_unusable_id_is_left_out_not_an_error():
    body = {
        "data": [{"id": "1", "text": "hello", "edit_history_tweet_ids": ["1"]}],
        "includes": {"tweets": [{"id": {"nested": 1}, "text": "x"}, {"id": 5, "text": "y"}]},
    }
    result = parse_tweets_response(body, source="x:mentions:@NHSCovWarks")
    assert [m.external_id for m in result.mentions] == ["1"]
