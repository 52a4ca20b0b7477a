"""Text no database can store (lone UTF-16 surrogates, NUL) is repaired by every parser, and noted."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from connectors.base import Checkpoint
from connectors.facebook import parse_graph_response
from connectors.fake_server import Failure
from connectors.replay import parse_line
from connectors.rss.fake import FakeNewsFeed
from connectors.validation import Repairs, repairer, safe_mention, safe_text
from connectors.x import parse_tweets_response
from tests.connectors.conftest import make_rss


def test_lone_surrogates_become_the_replacement_character_and_nul_goes():
    repairs = Repairs()
    assert safe_text("a\ud800b\udfffc\x00d", repairs) == "a\ufffdb\ufffdcd"
    assert (repairs.replaced, repairs.removed) == (2, 1)
    assert (
        repairs.note()
        == "2 characters could not be shown and were replaced with �; 1 NUL character was removed"
    )


def test_clean_text_and_real_pairs_are_kept():
    repairs = Repairs()
    assert safe_text("café 😀 \ufffd already", repairs) == "café 😀 \ufffd already"
    assert safe_text("\ud83d\ude00", repairs) == "😀"  # a pair Python kept as two code points joins up
    assert not repairs


@given(st.text(alphabet=st.characters(codec=None, categories=None), max_size=50))
def test_whatever_comes_in_both_databases_can_store_what_comes_out(text):
    safe = safe_text(text, Repairs())
    safe.encode("utf-8")  # no lone surrogate left
    assert "\x00" not in safe


def test_an_x_post_is_repaired_noted_and_its_original_kept():
    body = {
        "data": [
            {"id": "1", "text": "bad \ud800 post", "edit_history_tweet_ids": ["1"], "author_id": "7"},
            {"id": "2", "text": "fine post", "edit_history_tweet_ids": ["2"], "author_id": "7"},
        ]
    }
    bad, fine = parse_tweets_response(json.dumps(body), source="x:import:test").mentions

    assert bad.text == "bad \ufffd post" and bad.text_note.startswith("1 character could not be shown")
    assert json.loads(bad.raw["original_json"])["data"]["text"] == "bad \ud800 post"
    assert json.dumps(bad.raw).encode("utf-8").find(b"\\u0000") == -1
    assert (fine.text, fine.text_note, "original_json" in fine.raw) == ("fine post", None, False)


def test_a_graph_comment_with_a_nul_is_repaired():
    body = {
        "data": [
            {
                "id": "1_2",
                "message": "open on Sunday?\u0000",
                "created_time": "2025-03-04T10:00:00+0000",
                "from": {"id": "3", "name": "Jo\udc00"},
            }
        ]
    }
    (m,) = parse_graph_response(json.dumps(body), source="facebook:page:1").mentions
    assert m.text == "open on Sunday?" and m.author.name == "Jo\ufffd"
    assert m.text_note.startswith("1 NUL character was removed; the author's details")


def test_a_replay_line_is_repaired():
    line = json.dumps(
        {
            "platform": "x",
            "id": "9",
            "created_at": "2025-03-04T10:00:00Z",
            "text": "x\ud800\x00y",
            "author": {"id": "1", "handle": "pat", "name": "Pat", "followers": 1},
            "source": "replay:test",
        }
    )
    m = parse_line(line)
    assert m.text == "x\ufffdy" and m.text_note.startswith("1 character could not be shown")
    assert json.loads(m.raw["original_json"])["text"] == "x\ud800\x00y"


def test_a_news_item_with_unstorable_characters_is_kept(news_fake: FakeNewsFeed):
    feed = news_fake.add_feed("herald", title="Herald", link="https://herald.example/")
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Herald</title>'
        b"<link>https://herald.example/</link>"
        b"<item><title>NHS Coventry and Warwickshire &#xD800; waits</title><guid>g&#55296;1</guid>"
        b"<description>The ICB \x00 said &#0; more</description></item>"
        b"</channel></rss>"
    )
    news_fake.inject(Failure(status=200, body=body, content_type="application/rss+xml"))

    (m,), _ = make_rss().fetch(f"rss:{feed}", Checkpoint())

    assert m.text == "NHS Coventry and Warwickshire \ufffd waits\n\nThe ICB  said \ufffd more"
    assert m.external_id.endswith("g\ufffd1") and m.text_note.startswith("1 NUL character was removed")


def test_a_body_is_checked_once_and_only_a_suspect_one_is_repaired_mention_by_mention():
    assert repairer(b'{"text": "plain caf\\u00e9"}') is not safe_mention
    for suspect in (b'{"t": "\\u0000"}', b'{"t": "\\uD83D"}', b'{"t": "\\udfff"}', "{}\x00", "\ud800"):
        assert repairer(suspect) is safe_mention
    assert repairer({"already": "parsed"}) is safe_mention
