"""Fakes of the platforms on loopback, and connectors pointed at them through the real client libraries."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.bluesky import BlueskyConnector
from connectors.bluesky.fake import FakeBluesky
from connectors.facebook import FacebookConnector
from connectors.facebook.fake import FakeGraphApi
from connectors.instagram import InstagramConnector
from connectors.instagram.fake import InstagramFake
from connectors.linkedin import LinkedInConnector
from connectors.linkedin.fake import LinkedInFake
from connectors.rss import RssConnector
from connectors.rss.fake import FakeNewsFeed
from connectors.x import XConnector
from connectors.x.fake import FakeXApi

# Generous for ordinary calls (a busy CI machine still answers on loopback well within it) ...
TIMEOUT = 5.0
# ... and short for the cases that wait for a timeout on purpose.
SHORT_TIMEOUT = 0.3
BEARER = "AAAAAAAAAAAAAAAAAAAAAfakeBearerToken0001"
PAGE_TOKEN = "EAAGfakePageAccessToken0000000001"
APP_SECRET = "fakeappsecret0000000000000000001"
PAGE_ID = "104729318865221"
IG_USER_ID = "17841400000000001"
LINKEDIN_TOKEN = "AQXfakeLinkedInAccessToken0000000001"
LINKEDIN_ORG_ID = "2414183"
X_USER_CONTEXT = {
    "consumer_key": "fakeconsumerkey01",
    "consumer_secret": "fakeconsumersecret0000000001",
    "access_token": "1500000000000000001-fakeaccesstoken01",
    "access_token_secret": "fakeaccesstokensecret00000001",
}
BLUESKY_HANDLE = "nhscovwarks.bsky.social"
BLUESKY_APP_PASSWORD = "fake-appp-assw-ord1"
# Every fake and connector in these tests runs on this clock: ids, windows and retry times are exact.
NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


KEYWORDS = ["Coventry and Warwickshire ICB", "NHS Coventry", "Integrated Care Board"]


@pytest.fixture
def x_fake() -> Iterator[FakeXApi]:
    fake = FakeXApi(me="NHSCovWarks", tokens={BEARER, X_USER_CONTEXT["access_token"]}, clock=clock)
    with fake:
        yield fake


@pytest.fixture
def graph_fake() -> Iterator[FakeGraphApi]:
    fake = FakeGraphApi(page_id=PAGE_ID, page_token=PAGE_TOKEN, app_secret=APP_SECRET, clock=clock)
    with fake:
        yield fake


@pytest.fixture
def news_fake() -> Iterator[FakeNewsFeed]:
    with FakeNewsFeed(clock=clock) as fake:
        yield fake


@pytest.fixture
def bluesky_fake() -> Iterator[FakeBluesky]:
    with FakeBluesky(handle=BLUESKY_HANDLE, app_password=BLUESKY_APP_PASSWORD, clock=clock) as fake:
        yield fake


def make_bluesky(base_url: str, **kwargs: object) -> BlueskyConnector:
    options: dict = {
        "handle": BLUESKY_HANDLE,
        "app_password": BLUESKY_APP_PASSWORD,
        "base_url": base_url,
        "timeout": TIMEOUT,
        "clock": clock,
    }
    options.update(kwargs)
    return BlueskyConnector(**options)


def make_x(base_url: str, **kwargs: object) -> XConnector:
    options: dict = {
        "bearer_token": BEARER,
        **X_USER_CONTEXT,
        "base_url": base_url,
        "timeout": TIMEOUT,
        "clock": clock,
    }
    options.update(kwargs)
    return XConnector(**options)


def make_facebook(base_url: str, **kwargs: object) -> FacebookConnector:
    options: dict = {
        "page_token": PAGE_TOKEN,
        "app_secret": APP_SECRET,
        "base_url": base_url,
        "timeout": TIMEOUT,
        "clock": clock,
        "overlap": timedelta(0),
    }
    options.update(kwargs)
    return FacebookConnector(**options)


@pytest.fixture
def ig_fake() -> Iterator[InstagramFake]:
    fake = InstagramFake(ig_user_id=IG_USER_ID, page_token=PAGE_TOKEN, app_secret=APP_SECRET, clock=clock)
    with fake:
        yield fake


def make_instagram(base_url: str, **kwargs: object) -> InstagramConnector:
    options: dict = {
        "page_token": PAGE_TOKEN,
        "app_secret": APP_SECRET,
        "base_url": base_url,
        "timeout": TIMEOUT,
        "clock": clock,
        "overlap": timedelta(0),
    }
    options.update(kwargs)
    return InstagramConnector(**options)


@pytest.fixture
def li_fake() -> Iterator[LinkedInFake]:
    fake = LinkedInFake(org_id=LINKEDIN_ORG_ID, token=LINKEDIN_TOKEN, clock=clock)
    with fake:
        yield fake


def make_linkedin(base_url: str, **kwargs: object) -> LinkedInConnector:
    options: dict = {
        "access_token": LINKEDIN_TOKEN,
        "api_version": "202610",
        "base_url": base_url,
        "timeout": TIMEOUT,
        "clock": clock,
        "overlap": timedelta(0),
    }
    options.update(kwargs)
    return LinkedInConnector(**options)


def make_rss(**kwargs: object) -> RssConnector:
    options: dict = {"keywords": KEYWORDS, "timeout": TIMEOUT, "clock": clock}
    options.update(kwargs)
    return RssConnector(**options)


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
