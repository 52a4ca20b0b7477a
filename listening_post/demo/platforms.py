"""The demo's outside world: loopback fakes of X, the Graph API, Instagram and Bluesky, and a local news site.

The real connectors (tweepy, facebook-sdk, atproto, feedparser) poll these through the worker, with
credentials made up for this run: a connector that sent the wrong token would be refused,
as the real platforms would refuse it. ``publish`` puts one scripted post where people
would have posted it: a tweet, a visitor post on the board's Facebook page, a comment on the
board's Instagram post, a Bluesky post, a news story.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from connectors.bluesky.fake import FakeBluesky
from connectors.facebook.fake import FakeGraphApi
from connectors.instagram.fake import InstagramFake
from connectors.rss.fake import FakeNewsFeed
from connectors.x.fake import FakeXApi
from listening_post.demo.script import Beat

NEWS_SLUG = "chronicle"
NEWS_TITLE = "The Coventry Chronicle"
NEWS_LINK = "https://www.coventry-chronicle.example"
IG_USER_ID = "17841400000000001"
IG_POST = "Flu jabs are free at community pharmacies across Coventry and Warwickshire this week. #FluJab"
BLUESKY_HANDLE = "nhscovwarks.bsky.social"


@dataclass(frozen=True)
class Credentials:
    """Made up for one run; the fakes accept only these."""

    x_bearer_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    x_consumer_key: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    x_consumer_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    x_access_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    x_access_token_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    facebook_page_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    facebook_app_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    bluesky_app_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))


class DemoPlatforms:
    """Start, publish, stop. ``x``, ``graph``, ``instagram``, ``bluesky`` and ``news``: the running fakes."""

    def __init__(
        self,
        *,
        x_handle: str,
        page_id: str,
        page_name: str,
        credentials: Credentials,
        bluesky_handle: str = BLUESKY_HANDLE,
    ) -> None:
        self.credentials = credentials
        # OAuth 1.0a requests carry the access token in their Authorization header; reads carry the bearer.
        self.x = FakeXApi(
            me=x_handle,
            me_name=page_name,
            tokens={credentials.x_bearer_token, credentials.x_access_token},
        )
        self.graph = FakeGraphApi(
            page_id=page_id,
            page_name=page_name,
            page_token=credentials.facebook_page_token,
            app_secret=credentials.facebook_app_secret,
        )
        # The Instagram account is read with the page token of the Facebook page it is linked to.
        self.instagram = InstagramFake(
            ig_user_id=IG_USER_ID,
            page_token=credentials.facebook_page_token,
            app_secret=credentials.facebook_app_secret,
        )
        self.instagram_post = ""
        self.bluesky = FakeBluesky(
            handle=bluesky_handle, app_password=credentials.bluesky_app_password, name=page_name
        )
        self.news = FakeNewsFeed()
        self.published = 0

    def start(self) -> DemoPlatforms:
        self.x.start()
        self.graph.start()
        self.instagram.start()
        self.instagram_post = self.instagram.add_media(caption=IG_POST)["id"]
        self.bluesky.start()
        self.news.start()
        self.news.add_feed(NEWS_SLUG, title=NEWS_TITLE, link=NEWS_LINK)
        return self

    def stop(self) -> None:
        for fake in (self.x, self.graph, self.instagram, self.bluesky, self.news):
            fake.stop()

    @property
    def news_feed_url(self) -> str:
        return self.news.feed_url(NEWS_SLUG)

    def publish(self, beat: Beat) -> None:
        """Post ``beat`` now, on its platform."""
        if beat.platform == "x":
            self.x.add_user(beat.handle, followers=beat.followers)  # no-op if they posted before
            self.x.add_tweet(author=beat.handle, text=beat.text)
        elif beat.platform == "facebook":
            self.graph.add_post(text=beat.text, author_name=beat.handle)
        elif beat.platform == "instagram":
            self.instagram.add_comment(on=self.instagram_post, text=beat.text, username=beat.handle)
        elif beat.platform == "bluesky":
            self.bluesky.add_post(author=beat.handle, text=beat.text)
        elif beat.platform == "rss":
            self.news.add_item(
                NEWS_SLUG,
                title=beat.title or beat.text[:80],
                summary=beat.text,
                link=beat.url,
                author=beat.handle,
            )
        else:
            raise ValueError(f"the demo cannot publish to {beat.platform!r}")
        self.published += 1
