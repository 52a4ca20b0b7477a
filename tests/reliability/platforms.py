"""Each platform's fake behind a stoppable proxy, with its own way to publish a post and to fail.

A ``Platform`` gives the fault drills one vocabulary for X, Facebook and the news feeds:
``publish`` a post (returns the external id the stored mention must carry), ``failure(case)``
for each row of the connector failure table in that platform's own error shape, and
``connector(timeout)`` built against the proxy, on the test's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.base import Connector
from connectors.facebook import FacebookConnector
from connectors.facebook import fake as graph
from connectors.facebook.fake import FakeGraphApi
from connectors.fake_server import Failure, FakeServer
from connectors.rss import RssConnector
from connectors.rss.fake import FakeNewsFeed
from connectors.x import XConnector
from connectors.x import fake as x
from connectors.x.fake import FakeXApi
from tests.reliability.tcp_proxy import TcpProxy

X_BEARER = "AAAAAAAAAAAAAAAAAAAAAreliabilityBearer01"
PAGE_ID = "104729318865221"
PAGE_TOKEN = "EAAGreliabilityPageToken000000000001"
APP_SECRET = "reliabilityappsecret000000000001"
KEYWORDS = ["NHS Coventry"]
# Bodies that are not what the platform promised.
MALFORMED_JSON = '{"data": [{"id": "1", "text": "cut off'
NOT_A_FEED = "<html><body>Our site is being updated<p>Back soon"

# The failure table, as cases for a running worker: (case, what the poll must come to).
PERMANENT = ("401", "403", "404")
TEMPORARY = ("429", "500", "503", "timeout", "refused", "malformed")
CASES = (*PERMANENT, *TEMPORARY, "broken item", "empty page")


@dataclass
class Platform:
    name: str
    fake: FakeServer
    proxy: TcpProxy
    source: str
    listing: str  # path regex of the request that lists new posts
    clock: Callable[[], datetime]
    _publish: Callable[[str], str]
    _errors: dict[int, Failure]
    _rate_limit: Callable[[datetime], Failure]
    _malformed: Failure
    _broken: Failure
    _connector: Callable[[float], Connector]

    def publish(self, text: str) -> str:
        return self._publish(text)

    def connector(self, timeout: float = 10.0) -> Connector:
        return self._connector(timeout)

    def inject(self, case: str, *, reset_at: datetime | None = None) -> None:
        """Make the next listing request fail as ``case`` says (``refused`` stops the proxy instead)."""
        if case == "refused":
            self.proxy.stop()
            return
        if case == "timeout":
            failure = Failure(hang=True)
        elif case == "429":
            assert reset_at is not None
            failure = self._rate_limit(reset_at)
        elif case == "malformed":
            failure = self._malformed
        elif case == "broken item":
            failure = self._broken
        elif case == "empty page":
            return  # nothing new was published: the listing is simply empty
        else:
            failure = self._errors[int(case)]
        self.fake.inject(failure, path=self.listing)

    def recover(self) -> None:
        """Undo what ``inject`` left behind: hung requests released, the proxy listening again."""
        self.fake.release()
        if not self.proxy.running:
            self.proxy.start()


def _html(status: int) -> Failure:
    return Failure(
        status=status, body="<html><body>Service Unavailable</body></html>", content_type="text/html"
    )


@contextmanager
def x_platform(clock: Callable[[], datetime]) -> Iterator[Platform]:
    with (
        FakeXApi(me="NHSCovWarks", tokens={X_BEARER}, clock=clock) as fake,
        TcpProxy("127.0.0.1", fake.port) as proxy,
    ):
        n = iter(range(1_000_000))

        def publish(text: str) -> str:
            return str(fake.add_tweet(author=f"resident{next(n) % 5}", text=f"@NHSCovWarks {text}")["id"])

        def connector(timeout: float) -> Connector:
            return XConnector(
                bearer_token=X_BEARER,
                base_url=proxy.url,
                timeout=timeout,
                own_handles=["NHSCovWarks"],
                clock=clock,
            )

        yield Platform(
            name="x",
            fake=fake,
            proxy=proxy,
            source="x:mentions:@NHSCovWarks",
            listing=r"/mentions$",
            clock=clock,
            _publish=publish,
            _errors={s: x.http_error(s) for s in (401, 403, 404, 500)} | {503: _html(503)},
            _rate_limit=lambda at: x.rate_limited(reset_at=int(at.timestamp())),
            _malformed=Failure(status=200, body=MALFORMED_JSON),
            _broken=Failure(status=200, body={"data": [{"id": "1", "edit_history_tweet_ids": ["1"]}]}),
            _connector=connector,
        )


@contextmanager
def facebook_platform(clock: Callable[[], datetime]) -> Iterator[Platform]:
    fake = FakeGraphApi(page_id=PAGE_ID, page_token=PAGE_TOKEN, app_secret=APP_SECRET, clock=clock)
    with fake, TcpProxy("127.0.0.1", fake.port) as proxy:
        n = iter(range(1_000_000))

        def publish(text: str) -> str:
            return str(fake.add_post(text=text, author_name=f"Resident {next(n) % 5}")["id"])

        def connector(timeout: float) -> Connector:
            return FacebookConnector(
                page_token=PAGE_TOKEN, app_secret=APP_SECRET, base_url=proxy.url, timeout=timeout, clock=clock
            )

        def rate_limit(at: datetime) -> Failure:
            return graph.rate_limited(
                regain_minutes=int((at - clock()).total_seconds() // 60), object_id=PAGE_ID
            )

        yield Platform(
            name="facebook",
            fake=fake,
            proxy=proxy,
            source=f"facebook:page:{PAGE_ID}",
            listing=r"/feed$",
            clock=clock,
            _publish=publish,
            _errors={
                401: graph.graph_error(
                    190, "Error validating access token: Session has expired", subcode=463, status=401
                ),
                403: graph.graph_error(200, "(#200) Requires pages_read_engagement permission", status=403),
                404: graph.graph_error(
                    100, "Object does not exist", subcode=33, kind="GraphMethodException", status=404
                ),
                500: graph.graph_error(1, "An unknown error occurred", status=500),
                503: _html(503),
            },
            _rate_limit=rate_limit,
            _malformed=Failure(status=200, body=MALFORMED_JSON, content_type=graph.JSON),
            _broken=Failure(
                status=200,
                body={"data": [{"id": f"{PAGE_ID}_7", "message": "no time"}]},
                content_type=graph.JSON,
            ),
            _connector=connector,
        )


@contextmanager
def news_platform(clock: Callable[[], datetime]) -> Iterator[Platform]:
    with FakeNewsFeed(clock=clock) as fake, TcpProxy("127.0.0.1", fake.port) as proxy:
        fake.add_feed("telegraph", title="Coventry Telegraph", link="https://www.coventrytelegraph.net")
        n = iter(range(1_000_000))

        def publish(text: str) -> str:
            item: dict[str, Any] = fake.add_item(
                "telegraph", title=f"NHS Coventry story {next(n)}", summary=f"<p>{text}</p>"
            )
            return str(item["guid"])

        def connector(timeout: float) -> Connector:
            return RssConnector(keywords=KEYWORDS, timeout=timeout, clock=clock)

        def rate_limit(at: datetime) -> Failure:
            seconds = int((at - clock()).total_seconds())
            return Failure(
                status=429, body="slow down", headers={"Retry-After": str(seconds)}, content_type="text/plain"
            )

        broken_feed = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Coventry Telegraph</title>'
            "<item><description></description></item></channel></rss>"
        )
        yield Platform(
            name="rss",
            fake=fake,
            proxy=proxy,
            source=f"rss:{proxy.url}/feeds/telegraph.xml",
            listing=r"/feeds/",
            clock=clock,
            _publish=publish,
            _errors={s: _html(s) for s in (401, 403, 404, 500, 503)},
            _rate_limit=rate_limit,
            _malformed=Failure(status=200, body=NOT_A_FEED, content_type="text/html"),
            _broken=Failure(status=200, body=broken_feed, content_type="application/rss+xml"),
            _connector=connector,
        )


PLATFORMS = {"x": x_platform, "facebook": facebook_platform, "rss": news_platform}
