"""The news feed connector (requests + feedparser) against the local news site fake."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import Checkpoint, PermanentError
from connectors.fake_server import Failure
from connectors.rss import RssConnector, plain_text
from connectors.rss.fake import FakeNewsFeed
from tests.connectors.conftest import NOW, make_rss


@pytest.fixture
def feed(news_fake: FakeNewsFeed) -> str:
    return news_fake.add_feed(
        "telegraph", title="Coventry Telegraph", link="https://www.coventrytelegraph.net/"
    )


def test_keeps_items_naming_the_board_as_news_from_the_outlet(news_fake: FakeNewsFeed, feed: str) -> None:
    hit = news_fake.add_item(
        "telegraph",
        title="NHS Coventry and Warwickshire ICB responds to waiting times",
        summary="<p>The <b>Integrated Care Board</b> said &amp; promised action.</p>",
        published=NOW - timedelta(hours=1),
    )
    news_fake.add_item("telegraph", title="City Football Club wins again", summary="A great match.")
    news_fake.add_item("telegraph", title="NHS Coventryshire is not a place", summary="Whole words only.")

    mentions, checkpoint = make_rss().fetch(f"rss:{feed}", Checkpoint())

    assert len(mentions) == 1
    m = mentions[0]
    assert (m.platform, m.kind, m.source, m.external_id, m.url) == (
        "rss",
        "news",
        f"rss:{feed}",
        hit["guid"],
        hit["link"],
    )
    assert m.text == (
        "NHS Coventry and Warwickshire ICB responds to waiting times\n\n"
        "The Integrated Care Board said & promised action."
    )
    assert (m.author.name, m.author.handle) == ("Coventry Telegraph", "coventrytelegraph.net")
    assert m.created_at == NOW - timedelta(hours=1)
    assert not m.is_own and m.raw["title"].startswith("NHS Coventry")
    assert set(checkpoint.cursor) == {"etag", "modified", "seen"} and len(checkpoint.cursor["seen"]) == 3


def test_unchanged_feed_is_not_downloaded_again(news_fake: FakeNewsFeed, feed: str) -> None:
    news_fake.add_item("telegraph", title="NHS Coventry news", summary="One")
    rss = make_rss()
    _, checkpoint = rss.fetch(f"rss:{feed}", Checkpoint())

    mentions, checkpoint2 = rss.fetch(f"rss:{feed}", checkpoint)

    assert mentions == [] and checkpoint2.cursor == checkpoint.cursor
    second = news_fake.requests_to(r"/feeds/")[-1]
    assert second.headers["if-none-match"] == checkpoint.cursor["etag"]
    assert second.headers["if-modified-since"] == checkpoint.cursor["modified"]


def test_only_new_items_come_back_after_the_feed_changes(news_fake: FakeNewsFeed, feed: str) -> None:
    news_fake.add_item("telegraph", title="NHS Coventry news", summary="One")
    rss = make_rss()
    _, checkpoint = rss.fetch(f"rss:{feed}", Checkpoint())
    new = news_fake.add_item("telegraph", title="NHS Coventry more news", summary="Two")

    mentions, _ = rss.fetch(f"rss:{feed}", checkpoint)

    assert [m.external_id for m in mentions] == [new["guid"]]


def test_last_modified_alone_is_used_when_there_is_no_etag(news_fake: FakeNewsFeed, feed: str) -> None:
    news_fake.add_item("telegraph", title="NHS Coventry news")
    rss = make_rss()
    mentions, checkpoint = rss.fetch(f"rss:{feed}", Checkpoint())
    without_etag = Checkpoint({k: v for k, v in checkpoint.cursor.items() if k != "etag"})

    again, _ = rss.fetch(f"rss:{feed}", without_etag)

    assert len(mentions) == 1 and again == []
    assert "if-none-match" not in news_fake.requests_to(r"/feeds/")[-1].headers


def test_atom_feeds_and_configured_outlet_names(news_fake: FakeNewsFeed) -> None:
    url = news_fake.add_feed(
        "bbc", title="BBC News - Coventry", link="https://www.bbc.co.uk/news", format="atom"
    )
    news_fake.add_item(
        "bbc", title="Integrated Care Board budget", summary="Cuts planned", author="A Reporter"
    )
    rss = make_rss(outlets={url: "BBC Coventry & Warwickshire"})

    mentions, _ = rss.fetch(f"rss:{url}", Checkpoint())

    assert [(m.author.name, m.author.handle, m.text) for m in mentions] == [
        ("BBC Coventry & Warwickshire", "bbc.co.uk", "Integrated Care Board budget\n\nCuts planned")
    ]


def test_without_keywords_every_item_is_kept(news_fake: FakeNewsFeed, feed: str) -> None:
    news_fake.add_item("telegraph", title="Anything at all")
    assert len(make_rss(keywords=[]).fetch(f"rss:{feed}", Checkpoint())[0]) == 1


def test_seen_items_are_bounded(news_fake: FakeNewsFeed, feed: str) -> None:
    for n in range(30):
        news_fake.add_item("telegraph", title=f"NHS Coventry story {n}")
    _, checkpoint = make_rss(max_seen=10).fetch(f"rss:{feed}", Checkpoint())
    assert len(checkpoint.cursor["seen"]) == 10


def test_a_feed_that_is_html_is_a_payload_error(news_fake: FakeNewsFeed, feed: str) -> None:
    news_fake.inject(
        Failure(status=200, body="<html><body>Cookie wall</body></html>", content_type="text/html")
    )
    with pytest.raises(Exception) as caught:
        make_rss().fetch(f"rss:{feed}", Checkpoint())
    assert type(caught.value).__name__ == "PayloadError"


def test_news_cannot_be_answered_or_hidden() -> None:
    rss = make_rss()
    with pytest.raises(PermanentError):
        rss.reply(source="rss:https://example.org/feed", in_reply_to="x", text="hi", idempotency_key="k")
    with pytest.raises(PermanentError):
        rss.hide(source="rss:https://example.org/feed", external_id="x")
    assert rss.find_reply(source="rss:https://example.org/feed", in_reply_to="x", text="hi") is None


@pytest.mark.parametrize("source", ["rss:", "rss:ftp://example.org/feed", "rss:not a url", "x:https://a.b/"])
def test_bad_sources_are_refused(source: str) -> None:
    with pytest.raises(PermanentError):
        make_rss().fetch(source, Checkpoint())


def test_plain_text_drops_markup_and_keeps_words() -> None:
    html = "<p>Waiting&nbsp;times <script>alert(1)</script>are <i>long</i></p><p>Next</p>"
    assert plain_text(html) == "Waiting times are long Next"


def test_repr_is_short() -> None:
    assert repr(RssConnector(keywords=["a"])) == "RssConnector(keywords=1, outlets=0)"
