"""The one place connectors' HTTP is set up: default timeouts and pointing a platform at a fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from connectors.fake_server import Failure
from connectors.http import TimeoutAdapter, make_session
from connectors.rss.fake import FakeNewsFeed


@pytest.fixture
def server() -> Iterator[FakeNewsFeed]:
    with FakeNewsFeed() as fake:
        fake.add_feed("a", title="A", link="https://a.example")
        yield fake


def test_platform_urls_are_sent_to_the_override(server: FakeNewsFeed) -> None:
    session = make_session(timeout=5, rewrites={"https://api.twitter.com": server.base_url})
    response = session.get("https://api.twitter.com/feeds/a.xml?x=1")
    assert response.status_code == 200
    assert server.requests[-1].path == "/feeds/a.xml" and server.requests[-1].query == {"x": ["1"]}


def test_other_hosts_are_not_rewritten(server: FakeNewsFeed) -> None:
    session = make_session(timeout=5, rewrites={"https://api.twitter.com": server.base_url})
    adapter = session.get_adapter("https://api.twitter.com.example.org/x")
    assert isinstance(adapter, TimeoutAdapter) and adapter.rewrite is None


def test_every_request_gets_the_default_timeout(server: FakeNewsFeed) -> None:
    server.inject(Failure(hang=True))
    session = make_session(timeout=0.2)
    with pytest.raises(requests.Timeout):
        session.get(server.feed_url("a"))  # no timeout passed: the adapter's applies


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError):
        make_session(timeout=0)
