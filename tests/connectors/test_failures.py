"""One table of platform failures, run against every connector through its real client library.

Each case must end in a parsed result or a typed error (TemporaryError with a retry time
where the platform gives one, PermanentError saying why, PayloadError for bodies we cannot
read): never another exception, and never a credential in the error or its traceback.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import pytest

from connectors.base import Checkpoint, Mention, PayloadError, PermanentError, TemporaryError
from connectors.bluesky import fake as bluesky
from connectors.bluesky.fake import FakeBluesky
from connectors.facebook import fake as graph
from connectors.facebook.fake import FakeGraphApi
from connectors.fake_server import Failure
from connectors.instagram import fake as ig
from connectors.instagram.fake import InstagramFake
from connectors.linkedin import fake as li
from connectors.linkedin.fake import LinkedInFake
from connectors.rss.fake import FakeNewsFeed
from connectors.x import fake as x
from connectors.x.fake import FakeXApi
from tests.connectors.conftest import (
    APP_SECRET,
    BEARER,
    BLUESKY_APP_PASSWORD,
    BLUESKY_HANDLE,
    IG_USER_ID,
    LINKEDIN_ORG_ID,
    LINKEDIN_TOKEN,
    NOW,
    PAGE_ID,
    PAGE_TOKEN,
    SHORT_TIMEOUT,
    X_USER_CONTEXT,
    make_bluesky,
    make_facebook,
    make_instagram,
    make_linkedin,
    make_rss,
    make_x,
)

SECRETS = [BEARER, PAGE_TOKEN, APP_SECRET, LINKEDIN_TOKEN, BLUESKY_APP_PASSWORD, *X_USER_CONTEXT.values()]
EMOJI_RTL = "שלום 👋🏽 مرحبا بكم \u200f(RTL)\u200e 🇬🇧 👨‍👩‍👧 test"
LONG = ("Waiting times at the walk-in centre are far too long. " * 200)[:10_000]
MALFORMED_JSON = '{"data": [{"id": "1", "text": "cut off'
RESET_AT = NOW + timedelta(minutes=10)


class Harness(Protocol):
    source: str

    def add(self, text: str) -> str:
        """Publish an item the next fetch should return; returns the text the mention must carry."""

    def add_many(self, count: int) -> None: ...

    def fail(self, status: int) -> None:
        """Make the next listing request answer with this HTTP status, in the platform's error shape."""

    def rate_limit(self) -> None:
        """Make the next listing request hit a rate limit that ends at RESET_AT."""

    def serve(self, *bodies: Any) -> None:
        """Answer the next listing requests with these bodies (200), in order."""

    def good_and_bad(self) -> None:
        """Answer the next listing with one good item and one missing a required field."""

    def overlapping_pages(self) -> int:
        """Answer with two pages that share an item; returns how many distinct items they hold."""

    def hang(self) -> None: ...

    def fetch(
        self, *, timeout: float | None = None, base: str | None = None
    ) -> tuple[list[Mention], Checkpoint]: ...


@dataclass
class XHarness:
    fake: FakeXApi
    source: str = "x:mentions:@NHSCovWarks"
    listing: str = r"/mentions$"

    def add(self, text: str) -> str:
        full = f"@NHSCovWarks {text}"
        self.fake.add_tweet(author="patient_pat", text=full)
        return full

    def add_many(self, count: int) -> None:
        for n in range(count):
            self.fake.add_tweet(author=f"resident{n % 7}", text=f"@NHSCovWarks question {n}")

    def fail(self, status: int) -> None:
        self.fake.inject(x.http_error(status), path=self.listing)

    def rate_limit(self) -> None:
        self.fake.inject(x.rate_limited(reset_at=int(RESET_AT.timestamp())), path=self.listing)

    def serve(self, *bodies: Any) -> None:
        for body in bodies:
            self.fake.inject(Failure(status=200, body=body), path=self.listing)

    def good_and_bad(self) -> None:
        good = {"id": "1897000000000000001", "text": "@NHSCovWarks fine", "edit_history_tweet_ids": ["1"]}
        bad = {"id": "1897000000000000002", "edit_history_tweet_ids": ["2"]}  # no text
        self.serve(
            {
                "data": [good, bad],
                "meta": {"result_count": 2, "newest_id": bad["id"], "oldest_id": good["id"]},
            }
        )

    def overlapping_pages(self) -> int:
        def tweet(n: int) -> dict[str, Any]:
            return {
                "id": f"18970000000000000{n:02d}",
                "text": f"@NHSCovWarks {n}",
                "edit_history_tweet_ids": [],
            }

        page1 = {"data": [tweet(3), tweet(2)], "meta": {"result_count": 2, "next_token": "abc"}}
        page2 = {"data": [tweet(2), tweet(1)], "meta": {"result_count": 2}}
        self.serve(page1, page2)
        return 3

    def hang(self) -> None:
        self.fake.inject(Failure(hang=True), path=self.listing)

    def fetch(
        self, *, timeout: float | None = None, base: str | None = None
    ) -> tuple[list[Mention], Checkpoint]:
        extra = {"timeout": timeout} if timeout else {}
        connector = make_x(base or self.fake.base_url, user_ids={"NHSCovWarks": self.fake.me["id"]}, **extra)
        return connector.fetch(self.source, Checkpoint())


@dataclass
class FacebookHarness:
    fake: FakeGraphApi
    source: str = f"facebook:page:{PAGE_ID}"
    listing: str = r"/feed$"

    def add(self, text: str) -> str:
        self.fake.add_post(text=text, author_name="Sam Patel")
        return text

    def add_many(self, count: int) -> None:
        post = self.fake.add_post(
            text="Winter vaccine clinics open on Monday", created_at=NOW - timedelta(hours=2)
        )
        for n in range(count - 1):
            self.fake.add_comment(
                on=post["id"], text=f"Which clinic is nearest? {n}", author_name=f"Resident {n % 7}"
            )

    def fail(self, status: int) -> None:
        failure = {
            401: graph.graph_error(
                190, "Error validating access token: Session has expired", subcode=463, status=401
            ),
            403: graph.graph_error(200, "(#200) Requires pages_read_engagement permission", status=403),
            404: graph.graph_error(
                100, "Object does not exist", subcode=33, kind="GraphMethodException", status=404
            ),
            500: graph.graph_error(1, "An unknown error occurred", status=500),
            # An error page from a proxy, not Graph JSON: facebook-sdk fails on its content type.
            503: Failure(
                status=503, body="<html><body>Service Unavailable</body></html>", content_type="text/html"
            ),
        }[status]
        self.fake.inject(failure, path=self.listing)

    def rate_limit(self) -> None:
        self.fake.inject(graph.rate_limited(regain_minutes=10, object_id=PAGE_ID), path=self.listing)

    def serve(self, *bodies: Any) -> None:
        for body in bodies:
            self.fake.inject(Failure(status=200, body=body, content_type=graph.JSON), path=self.listing)

    def good_and_bad(self) -> None:
        good = {"id": f"{PAGE_ID}_1", "message": "Thank you", "created_time": "2025-03-03T09:00:00+0000"}
        bad = {"id": f"{PAGE_ID}_2", "message": "no time"}  # no created_time
        self.serve({"data": [good, bad]})

    def overlapping_pages(self) -> int:
        def post(n: int) -> dict[str, Any]:
            return {
                "id": f"{PAGE_ID}_{n}",
                "message": f"post {n}",
                "created_time": f"2025-03-03T09:0{n}:00+0000",
            }

        next_link = f"https://graph.facebook.com/v21.0/{PAGE_ID}/feed?access_token={PAGE_TOKEN}&after=QVFI"
        self.serve({"data": [post(3), post(2)], "paging": {"next": next_link}}, {"data": [post(2), post(1)]})
        return 3

    def hang(self) -> None:
        self.fake.inject(Failure(hang=True), path=self.listing)

    def fetch(
        self, *, timeout: float | None = None, base: str | None = None
    ) -> tuple[list[Mention], Checkpoint]:
        extra = {"timeout": timeout} if timeout else {}
        return make_facebook(base or self.fake.base_url, **extra).fetch(self.source, Checkpoint())


@dataclass
class InstagramHarness:
    fake: InstagramFake
    source: str = f"instagram:account:{IG_USER_ID}"
    listing: str = r"/media$"

    def add(self, text: str) -> str:
        self.fake.add_media(caption=text)
        return text

    def add_many(self, count: int) -> None:
        media = self.fake.add_media(caption="Flu clinics this week", created_at=NOW - timedelta(hours=2))
        for n in range(count - 1):
            self.fake.add_comment(on=media["id"], text=f"Which pharmacy? {n}", username=f"resident{n % 7}")

    def fail(self, status: int) -> None:
        failure = {
            401: ig.graph_error(
                190, "Error validating access token: Session has expired", subcode=463, status=401
            ),
            403: ig.graph_error(10, "(#10) Application does not have permission for this action", status=403),
            404: ig.graph_error(
                100, "Object does not exist", subcode=33, kind="GraphMethodException", status=404
            ),
            500: ig.graph_error(2, "Service temporarily unavailable", status=500),
            503: Failure(
                status=503, body="<html><body>Service Unavailable</body></html>", content_type="text/html"
            ),
        }[status]
        self.fake.inject(failure, path=self.listing)

    def rate_limit(self) -> None:
        self.fake.inject(ig.rate_limited(regain_minutes=10, ig_user_id=IG_USER_ID), path=self.listing)

    def serve(self, *bodies: Any) -> None:
        for body in bodies:
            self.fake.inject(Failure(status=200, body=body, content_type=ig.JSON), path=self.listing)

    def good_and_bad(self) -> None:
        good = {"id": "17895695668000001", "caption": "Thank you", "timestamp": "2025-03-03T09:00:00+0000"}
        bad = {"id": "17895695668000002", "caption": "no time"}  # no timestamp
        self.serve({"data": [good, bad]})

    def overlapping_pages(self) -> int:
        def media(n: int) -> dict[str, Any]:
            return {
                "id": f"1789569566800000{n}",
                "caption": f"post {n}",
                "timestamp": f"2025-03-03T09:0{n}:00+0000",
                "comments_count": 0,
            }

        next_link = (
            f"https://graph.facebook.com/v21.0/{IG_USER_ID}/media?access_token={PAGE_TOKEN}&after=QVFI"
        )
        self.serve(
            {"data": [media(3), media(2)], "paging": {"next": next_link}}, {"data": [media(2), media(1)]}
        )
        return 3

    def hang(self) -> None:
        self.fake.inject(Failure(hang=True), path=self.listing)

    def fetch(
        self, *, timeout: float | None = None, base: str | None = None
    ) -> tuple[list[Mention], Checkpoint]:
        extra = {"timeout": timeout} if timeout else {}
        return make_instagram(base or self.fake.base_url, **extra).fetch(self.source, Checkpoint())


@dataclass
class LinkedInHarness:
    fake: LinkedInFake
    source: str = f"linkedin:organization:{LINKEDIN_ORG_ID}"
    listing: str = r"/rest/posts$"

    def add(self, text: str) -> str:
        self.fake.add_post(text=text)
        return text

    def add_many(self, count: int) -> None:
        post = self.fake.add_post(text="Nursing open day on Saturday", created_at=NOW - timedelta(hours=2))
        for n in range(count - 1):
            self.fake.add_comment(on=post["id"], text=f"Is parking free? {n}", member=f"Resident {n % 7}")

    def fail(self, status: int) -> None:
        failure = {
            401: li.li_error(401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired"),
            403: li.li_error(403, "ACCESS_DENIED", "Not enough permissions to access: posts.FINDER-author"),
            404: li.li_error(404, "NOT_FOUND", "Not found"),
            500: li.li_error(500, "INTERNAL_SERVER_ERROR", "Internal Server Error"),
            503: Failure(
                status=503, body="<html><body>Service Unavailable</body></html>", content_type="text/html"
            ),
        }[status]
        self.fake.inject(failure, path=self.listing)

    def rate_limit(self) -> None:
        wait = str(int((RESET_AT - NOW).total_seconds()))
        failure = li.li_error(
            429, "TOO_MANY_REQUESTS", "Resource level throttle limit", headers={"Retry-After": wait}
        )
        self.fake.inject(failure, path=self.listing)

    def serve(self, *bodies: Any) -> None:
        for body in bodies:
            self.fake.inject(Failure(status=200, body=body, content_type=li.JSON), path=self.listing)

    def good_and_bad(self) -> None:
        good = {
            "id": "urn:li:share:7100000000000000001",
            "author": f"urn:li:organization:{LINKEDIN_ORG_ID}",
            "commentary": "Thank you",
            "createdAt": li.millis(NOW - timedelta(hours=1)),
        }
        bad = {"id": "urn:li:share:7100000000000000002", "author": "urn:li:person:x", "commentary": "no time"}
        self.serve({"elements": [good, bad], "paging": {"start": 0, "count": 100, "links": []}})

    def overlapping_pages(self) -> int:
        def post(n: int) -> dict[str, Any]:
            return {
                "id": f"urn:li:share:710000000000000000{n}",
                "author": f"urn:li:organization:{LINKEDIN_ORG_ID}",
                "commentary": f"post {n}",
                "createdAt": li.millis(NOW - timedelta(minutes=10 - n)),
            }

        nxt = {"rel": "next", "href": "/rest/posts?q=author&start=2&count=2"}
        self.serve(
            {"elements": [post(3), post(2)], "paging": {"start": 0, "count": 2, "links": [nxt]}},
            {"elements": [post(2), post(1)], "paging": {"start": 2, "count": 2, "links": []}},
        )
        return 3

    def hang(self) -> None:
        self.fake.inject(Failure(hang=True), path=self.listing)

    def fetch(
        self, *, timeout: float | None = None, base: str | None = None
    ) -> tuple[list[Mention], Checkpoint]:
        extra = {"timeout": timeout} if timeout else {}
        return make_linkedin(base or self.fake.base_url, **extra).fetch(self.source, Checkpoint())


@dataclass
class RssHarness:
    fake: FakeNewsFeed
    url: str
    listing: str = r"/feeds/"

    @property
    def source(self) -> str:
        return f"rss:{self.url}"

    def add(self, text: str) -> str:
        self.fake.add_item("telegraph", title="NHS Coventry update", summary=text)
        return f"NHS Coventry update\n\n{text}"

    def add_many(self, count: int) -> None:
        for n in range(count):
            self.fake.add_item("telegraph", title=f"NHS Coventry story {n}", summary="More to follow.")

    def fail(self, status: int) -> None:
        self.fake.inject(
            Failure(status=status, body="<html>error</html>", content_type="text/html"), path=self.listing
        )

    def rate_limit(self) -> None:
        retry = str(int((RESET_AT - NOW).total_seconds()))
        self.fake.inject(
            Failure(status=429, body="slow down", headers={"Retry-After": retry}), path=self.listing
        )

    def serve(self, *bodies: Any) -> None:
        for body in bodies:
            failure = Failure(status=200, body=body, content_type="application/rss+xml")
            self.fake.inject(failure, path=self.listing)

    def good_and_bad(self) -> None:
        items = (
            "<item><title>NHS Coventry opens clinic</title><link>https://news.example/1</link></item>"
            "<item><description></description></item>"  # no title, link, guid or text
        )
        self.serve(_rss(items))

    def overlapping_pages(self) -> int:
        item = "<item><title>NHS Coventry {n}</title><guid>https://news.example/{n}</guid></item>"
        self.serve(_rss(item.format(n=1) + item.format(n=2) + item.format(n=1)))
        return 2

    def hang(self) -> None:
        self.fake.inject(Failure(hang=True), path=self.listing)

    def fetch(
        self, *, timeout: float | None = None, base: str | None = None
    ) -> tuple[list[Mention], Checkpoint]:
        extra = {"timeout": timeout} if timeout else {}
        source = self.source if base is None else f"rss:{base}/feeds/telegraph.xml"
        return make_rss(**extra).fetch(source, Checkpoint())


@dataclass
class BlueskyHarness:
    fake: FakeBluesky
    source: str = f"bluesky:mentions:@{BLUESKY_HANDLE}"
    listing: str = r"listNotifications$"

    def add(self, text: str) -> str:
        full = f"@{BLUESKY_HANDLE} {text}"
        self.fake.add_post(author="pat.bsky.social", text=full)
        return full

    def add_many(self, count: int) -> None:
        for n in range(count):
            self.fake.add_post(author=f"resident{n % 7}.bsky.social", text=f"@{BLUESKY_HANDLE} question {n}")

    def fail(self, status: int) -> None:
        self.fake.inject(bluesky.http_error(status), path=self.listing)

    def rate_limit(self) -> None:
        self.fake.inject(bluesky.rate_limited(reset_at=int(RESET_AT.timestamp())), path=self.listing)

    def serve(self, *bodies: Any) -> None:
        for body in bodies:
            self.fake.inject(Failure(status=200, body=body), path=self.listing)

    @staticmethod
    def _notification(n: int, **record: Any) -> dict[str, Any]:
        uri = f"at://did:plc:resident{n:016d}/app.bsky.feed.post/3ljhow47e22{n:02d}"
        return {
            "uri": uri,
            "cid": f"bafyreiresident{n:04d}",
            "author": {"did": f"did:plc:resident{n:016d}", "handle": f"resident{n}.bsky.social"},
            "reason": "mention",
            "record": {"$type": "app.bsky.feed.post", "createdAt": "2025-03-03T09:00:00.000Z", **record},
            "isRead": False,
            "indexedAt": f"2025-03-03T09:{n:02d}:00.000Z",
        }

    def good_and_bad(self) -> None:
        good = self._notification(1, text=f"@{BLUESKY_HANDLE} fine")
        bad = self._notification(2)  # the record has no text
        self.serve({"notifications": [bad, good]})

    def overlapping_pages(self) -> int:
        def note(n: int) -> dict[str, Any]:
            return self._notification(n, text=f"@{BLUESKY_HANDLE} {n}")

        self.serve(
            {"notifications": [note(3), note(2)], "cursor": "abc"}, {"notifications": [note(2), note(1)]}
        )
        return 3

    def hang(self) -> None:
        self.fake.inject(Failure(hang=True), path=self.listing)

    def fetch(
        self, *, timeout: float | None = None, base: str | None = None
    ) -> tuple[list[Mention], Checkpoint]:
        extra = {"timeout": timeout} if timeout else {}
        return make_bluesky(base or self.fake.base_url, **extra).fetch(self.source, Checkpoint())


@dataclass
class BlueskySearchHarness(BlueskyHarness):
    """The same failures on the other Bluesky source kind: keyword search (post views, not notifications)."""

    source: str = "bluesky:search:Coventry"
    listing: str = r"searchPosts$"

    def add(self, text: str) -> str:
        full = f"Coventry: {text}"
        self.fake.add_post(author="pat.bsky.social", text=full)
        return full

    def add_many(self, count: int) -> None:
        for n in range(count):
            self.fake.add_post(author=f"resident{n % 7}.bsky.social", text=f"Coventry question {n}")

    @staticmethod
    def _post(n: int, **record: Any) -> dict[str, Any]:
        note = BlueskyHarness._notification(n, **record)
        return {k: note[k] for k in ("uri", "cid", "author", "record", "indexedAt")}

    def good_and_bad(self) -> None:
        self.serve({"posts": [self._post(2), self._post(1, text="Coventry fine")]})  # the first has no text

    def overlapping_pages(self) -> int:
        def post(n: int) -> dict[str, Any]:
            return self._post(n, text=f"Coventry {n}")

        self.serve({"posts": [post(3), post(2)], "cursor": "2"}, {"posts": [post(2), post(1)]})
        return 3


def _rss(items: str) -> str:
    channel = f"<channel><title>Coventry Telegraph</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


@pytest.fixture(params=["x", "facebook", "rss", "instagram", "linkedin", "bluesky", "bluesky-search"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "x":
        fake = FakeXApi(me="NHSCovWarks", tokens={BEARER, X_USER_CONTEXT["access_token"]}, clock=lambda: NOW)
        with fake:
            yield XHarness(fake)
    elif request.param == "facebook":
        with FakeGraphApi(
            page_id=PAGE_ID, page_token=PAGE_TOKEN, app_secret=APP_SECRET, clock=lambda: NOW
        ) as fake:
            yield FacebookHarness(fake)
    elif request.param == "instagram":
        ig_fake = InstagramFake(
            ig_user_id=IG_USER_ID, page_token=PAGE_TOKEN, app_secret=APP_SECRET, clock=lambda: NOW
        )
        with ig_fake:
            yield InstagramHarness(ig_fake)
    elif request.param == "linkedin":
        li_fake = LinkedInFake(org_id=LINKEDIN_ORG_ID, token=LINKEDIN_TOKEN, clock=lambda: NOW)
        with li_fake:
            yield LinkedInHarness(li_fake)
    elif request.param.startswith("bluesky"):
        with FakeBluesky(handle=BLUESKY_HANDLE, app_password=BLUESKY_APP_PASSWORD, clock=lambda: NOW) as fake:
            yield BlueskyHarness(fake) if request.param == "bluesky" else BlueskySearchHarness(fake)
    else:
        with FakeNewsFeed(clock=lambda: NOW) as fake:
            url = fake.add_feed(
                "telegraph", title="Coventry Telegraph", link="https://www.coventrytelegraph.net"
            )
            yield RssHarness(fake, url)


def _fails(harness: Harness, **kwargs: Any) -> Exception:
    with pytest.raises(Exception) as caught:
        harness.fetch(**kwargs)
    error = caught.value
    assert isinstance(error, TemporaryError | PermanentError), f"untyped error: {error!r}"
    shown = "".join(traceback.format_exception(error))
    assert not [s for s in SECRETS if s in shown], "a credential leaked into the error"
    return error


@pytest.mark.parametrize(
    ("status", "says"),
    [(401, "token"), (403, "permission"), (404, "gone")],
)
def test_client_errors_are_permanent_and_say_why(harness: Harness, status: int, says: str) -> None:
    harness.add("hello")
    harness.fail(status)
    error = _fails(harness)
    assert isinstance(error, PermanentError)
    wording = {
        "token": ("token", "credentials", "login"),
        "permission": ("permission", "refuse"),
        "gone": ("gone",),
    }
    assert any(w in str(error).lower() for w in wording[says]), str(error)


def test_rate_limit_is_temporary_until_the_reset_time(harness: Harness) -> None:
    harness.add("hello")
    harness.rate_limit()
    error = _fails(harness)
    assert type(error) is TemporaryError
    assert error.retry_at == RESET_AT


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_temporary(harness: Harness, status: int) -> None:
    harness.add("hello")
    harness.fail(status)
    error = _fails(harness)
    assert type(error) is TemporaryError


def test_timeout_is_temporary(harness: Harness) -> None:
    harness.add("hello")
    harness.hang()
    error = _fails(harness, timeout=SHORT_TIMEOUT)
    assert type(error) is TemporaryError
    assert "timed out" in str(error)


def test_connection_refused_is_temporary(harness: Harness, closed_port: int) -> None:
    error = _fails(harness, base=f"http://127.0.0.1:{closed_port}")
    assert type(error) is TemporaryError
    assert "could not connect" in str(error)


def test_malformed_body_is_a_payload_error(harness: Harness) -> None:
    harness.serve(MALFORMED_JSON)
    assert isinstance(_fails(harness), PayloadError)


def test_an_item_missing_fields_is_skipped_and_reported(harness: Harness) -> None:
    harness.good_and_bad()
    mentions, checkpoint = harness.fetch()
    assert len(mentions) == 1
    assert len(checkpoint.rejected) == 1


def test_empty_page_gives_no_mentions(harness: Harness) -> None:
    mentions, checkpoint = harness.fetch()
    assert mentions == []
    assert checkpoint.rejected == ()


def test_many_pages_are_all_read(harness: Harness) -> None:
    harness.add_many(250)
    mentions, _ = harness.fetch()
    assert len(mentions) == 250
    assert len({m.external_id for m in mentions}) == 250


def test_duplicates_across_pages_are_returned_once(harness: Harness) -> None:
    distinct = harness.overlapping_pages()
    mentions, _ = harness.fetch()
    assert sorted({m.external_id for m in mentions}) == sorted(m.external_id for m in mentions)
    assert len(mentions) == distinct


@pytest.mark.parametrize("text", [EMOJI_RTL, LONG], ids=["emoji-rtl", "10000-chars"])
def test_text_arrives_exactly(harness: Harness, text: str) -> None:
    expected = harness.add(text)
    mentions, _ = harness.fetch()
    assert [m.text for m in mentions] == [expected]
