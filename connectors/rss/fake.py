"""A fake local news site serving RSS 2.0 and Atom feeds on 127.0.0.1, with ETag and Last-Modified.

Script it::

    news = FakeNewsFeed().start()
    url = news.add_feed("telegraph", title="Coventry Telegraph", link="https://www.coventrytelegraph.net")
    news.add_item("telegraph", title="Hospital waiting times rise", summary="...", published=...)
    # source key for the connector: f"rss:{url}"

A conditional GET (``If-None-Match`` / ``If-Modified-Since``) on an unchanged feed gets 304.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from xml.sax.saxutils import escape

from connectors.fake_server import Clock, FakeServer, RecordedRequest, Response, utc_now


@dataclass
class _Feed:
    slug: str
    title: str
    link: str
    format: str  # "rss" | "atom"
    changed_at: datetime
    items: list[dict[str, Any]] = field(default_factory=list)


class FakeNewsFeed(FakeServer):
    service = "news"

    def __init__(self, *, clock: Clock = utc_now, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port, clock=clock)
        self._feeds: dict[str, _Feed] = {}
        self.route("GET", r"/feeds/(?P<slug>[\w-]+)\.xml", self._serve_feed)

    def add_feed(self, slug: str, *, title: str, link: str, format: str = "rss") -> str:  # noqa: A002
        """Create a feed; returns its URL (valid while the server runs)."""
        if format not in ("rss", "atom"):
            raise ValueError("format is rss or atom")
        with self.lock:
            self._feeds[slug] = _Feed(slug, title, link, format, self.clock())
        return self.feed_url(slug)

    def feed_url(self, slug: str) -> str:
        return f"{self.base_url}/feeds/{slug}.xml"

    def add_item(
        self,
        slug: str,
        *,
        title: str,
        summary: str = "",
        link: str | None = None,
        published: datetime | None = None,
        guid: str | None = None,
        author: str | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            feed = self._feeds[slug]
            at = (published or self.clock()).astimezone(UTC)
            number = len(feed.items) + 1
            item = {
                "title": title,
                "summary": summary,
                "link": link or f"{feed.link.rstrip('/')}/news/{slug}-{number}",
                "published": at,
                "guid": guid or f"{feed.link.rstrip('/')}/news/{slug}-{number}",
                "author": author,
            }
            feed.items.insert(0, item)
            feed.changed_at = max(feed.changed_at, self.clock())
            return dict(item)

    def _serve_feed(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        feed = self._feeds.get(match["slug"])
        if feed is None:
            return Response(
                404, "<html><body>Not found</body></html>", content_type="text/html; charset=utf-8"
            )
        body = _render(feed)
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:20] + '"'
        modified = feed.changed_at.replace(microsecond=0)
        headers = {"ETag": etag, "Last-Modified": format_datetime(modified, usegmt=True)}
        if_none_match = request.headers.get("if-none-match")
        if_modified = request.headers.get("if-modified-since")
        if if_none_match is not None:
            if etag in [t.strip() for t in if_none_match.split(",")]:
                return Response(304, b"", headers)
        elif if_modified:
            try:
                if modified <= parsedate_to_datetime(if_modified):
                    return Response(304, b"", headers)
            except (TypeError, ValueError):
                pass  # an unreadable date is ignored, as HTTP says
        ctype = (
            "application/atom+xml; charset=utf-8"
            if feed.format == "atom"
            else "application/rss+xml; charset=utf-8"
        )
        return Response(200, body, headers, content_type=ctype)


def _render(feed: _Feed) -> str:
    if feed.format == "atom":
        entries = "".join(
            f'<entry><title>{escape(i["title"])}</title><link href="{escape(i["link"])}"/>'
            f"<id>{escape(i['guid'])}</id><updated>{i['published'].strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>"
            f'<summary type="html">{escape(i["summary"])}</summary>'
            + (f"<author><name>{escape(i['author'])}</name></author>" if i["author"] else "")
            + "</entry>"
            for i in feed.items
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{escape(feed.title)}</title>'
            f'<link href="{escape(feed.link)}"/><id>{escape(feed.link)}</id>'
            f"<updated>{feed.changed_at.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>{entries}</feed>"
        )
    items = "".join(
        f"<item><title>{escape(i['title'])}</title><link>{escape(i['link'])}</link>"
        f'<guid isPermaLink="false">{escape(i["guid"])}</guid>'
        f"<pubDate>{format_datetime(i['published'], usegmt=True)}</pubDate>"
        f"<description>{escape(i['summary'])}</description>"
        + (f"<author>{escape(i['author'])}</author>" if i["author"] else "")
        + "</item>"
        for i in feed.items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(feed.title)}</title><link>{escape(feed.link)}</link>"
        f"<description>{escape(feed.title)} news</description>{items}</channel></rss>"
    )
