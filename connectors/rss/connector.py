"""Local news feeds (RSS and Atom) through feedparser: the items that name the board, as ``kind="news"``.

These feed the "wider media picked it up" crisis criterion; they are never queued for a reply.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import feedparser
import requests

from connectors.base import (
    Author,
    Checkpoint,
    GoneError,
    Mention,
    PayloadError,
    PermanentError,
    TemporaryError,
)
from connectors.http import DEFAULT_TIMEOUT, make_session, retry_after, transport_error
from connectors.validation import safe_mention

USER_AGENT = "ListeningPost/0.1 (+news monitoring for an NHS comms team)"


def parse_source(source: str) -> str:
    """``rss:<feed url>`` -> the URL."""
    platform, _, url = source.partition(":")
    if platform != "rss" or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise PermanentError(f"not a news feed source: {source!r} (expected rss:https://...)")
    return url


def utc_now() -> datetime:
    return datetime.now(UTC)


class _TextOnly(HTMLParser):
    BREAKS = {
        "p",
        "br",
        "div",
        "li",
        "ul",
        "ol",
        "tr",
        "td",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
    }
    HIDDEN = {"script", "style"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def plain_text(markup: str) -> str:
    """Feed summaries are HTML: keep the words, drop the tags, fold whitespace."""
    parser = _TextOnly()
    parser.feed(markup)
    parser.close()
    return " ".join("".join(parser.parts).split())


class RssConnector:
    """RSS/Atom feeds fetched with our session (conditional GET: ETag, Last-Modified), parsed by feedparser.

    ``keywords``: the board's names and topics; an item is kept when its title or summary
    contains one (case-insensitive, whole words). With no keywords every item is kept.
    ``outlets``: display names by feed URL; otherwise the feed's own title is the author.
    """

    slug = "rss"
    max_reply_length = 0  # news items cannot be answered from here

    def __init__(
        self,
        *,
        keywords: Collection[str],
        outlets: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_seen: int = 1000,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.keywords = [k for k in keywords if k.strip()]
        self._pattern = (
            re.compile(
                "|".join(rf"(?<!\w){re.escape(k.strip())}(?!\w)" for k in self.keywords), re.IGNORECASE
            )
            if self.keywords
            else None
        )
        self.outlets = dict(outlets or {})
        self.max_seen = max_seen
        self.clock = clock
        self.session = make_session(timeout=timeout)
        self.session.headers["User-Agent"] = USER_AGENT

    def __repr__(self) -> str:
        return f"RssConnector(keywords={len(self.keywords)}, outlets={len(self.outlets)})"

    def matches(self, text: str) -> bool:
        return self._pattern is None or self._pattern.search(text) is not None

    def fetch(self, source: str, checkpoint: Checkpoint) -> tuple[list[Mention], Checkpoint]:
        """New matching items. The cursor holds the feed's ``etag`` / ``modified`` and ``seen`` item keys."""
        url = parse_source(source)
        cursor = dict(checkpoint.cursor)
        response = self._get(url, cursor)
        if response.status_code == 304:
            return [], Checkpoint(cursor)
        self._raise_for_status(response, url)

        parsed = feedparser.parse(
            defuse_char_refs(response.content),
            response_headers={
                "content-type": response.headers.get("Content-Type", "application/xml"),
                "content-location": url,
            },
        )
        if parsed.bozo and not parsed.entries and not parsed.feed.get("title"):
            raise PayloadError(f"{url} did not send a readable RSS or Atom feed")
        outlet = self.outlets.get(url) or parsed.feed.get("title") or urlsplit(url).netloc
        home = parsed.feed.get("link") or url
        author = Author(id=urlsplit(home).netloc or home, handle=_domain(home), name=outlet)
        seen = list(cursor.get("seen") or [])
        seen_set = set(seen)
        now = self.clock()
        mentions: list[Mention] = []
        rejected: list[str] = []
        current: list[str] = []
        for index, entry in enumerate(parsed.entries):
            item_id = entry.get("id") or entry.get("link")
            title = plain_text(entry.get("title") or "")
            summary = plain_text(entry.get("summary") or "")
            if not item_id or not (title or summary):
                rejected.append(f"feed item #{index}: no id or link, or no title and summary")
                continue
            key = hashlib.sha256(item_id.encode("utf-8", "surrogatepass")).hexdigest()[:24]
            current.append(key)
            if key in seen_set:
                continue
            seen_set.add(key)  # an item listed twice in one feed is still one item
            text = f"{title}\n\n{summary}" if title and summary else title or summary
            if not self.matches(text):
                continue
            mention = Mention(
                platform="rss",
                external_id=item_id,
                source=source,
                kind="news",
                author=author,
                text=text,
                created_at=_entry_time(entry) or now,
                url=entry.get("link"),
                lang=parsed.feed.get("language"),
                raw=_raw(entry),
            )
            mentions.append(safe_mention(mention))
        return mentions, Checkpoint(self._next_cursor(response, current, seen), tuple(rejected))

    def _get(self, url: str, cursor: dict[str, Any]) -> requests.Response:
        """The feed, asked for only if it changed since the cursor's ``etag`` / ``modified``."""
        headers = {}
        if cursor.get("etag"):
            headers["If-None-Match"] = cursor["etag"]
        if cursor.get("modified"):
            headers["If-Modified-Since"] = cursor["modified"]
        try:
            return self.session.get(url, headers=headers)
        except requests.RequestException as exc:
            raise transport_error(exc, service=f"news feed {urlsplit(url).netloc}") from None

    def _next_cursor(
        self, response: requests.Response, current: list[str], seen: list[str]
    ) -> dict[str, Any]:
        # Items drop off a feed for good once they leave it, so remembering the last few hundred is enough.
        new_cursor: dict[str, Any] = {"seen": list(dict.fromkeys(current + seen))[: self.max_seen]}
        if response.headers.get("ETag"):
            new_cursor["etag"] = response.headers["ETag"]
        if response.headers.get("Last-Modified"):
            new_cursor["modified"] = response.headers["Last-Modified"]
        return new_cursor

    def _raise_for_status(self, response: requests.Response, url: str) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        where = urlsplit(url).netloc
        if status == 429 or status >= 500:
            raise TemporaryError(
                f"news feed {where} answered {status}", retry_at=retry_after(response, self.clock())
            )
        if status in (401, 403):
            raise PermanentError(
                f"news feed {where} refused access ({status}): the feed needs a login or blocks us"
            )
        if status in (404, 410):
            raise GoneError(f"news feed {url} is gone ({status}): check the address")
        raise PermanentError(f"news feed {where} answered {status}")

    def reply(self, *, source: str, in_reply_to: str, text: str, idempotency_key: str) -> str:
        raise PermanentError("news items cannot be replied to from Listening Post")

    def find_reply(
        self, *, source: str, in_reply_to: str, text: str, since: datetime | None = None
    ) -> str | None:
        return None

    def hide(self, *, source: str, external_id: str, hidden: bool = True) -> None:
        raise PermanentError("news items cannot be hidden")


_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def _unstorable_ref(match: re.Match[bytes]) -> bytes:
    hex_digits, decimal = match.groups()
    code = int(hex_digits, 16) if hex_digits else int(decimal)
    return b"&#xFFFD;" if code == 0 or 0xD800 <= code <= 0xDFFF else match.group(0)


def defuse_char_refs(content: bytes) -> bytes:
    """The feed with character references to NUL or a lone surrogate turned into U+FFFD.

    feedparser raises UnicodeEncodeError on ``&#xD800;`` (the whole feed is lost, every poll),
    and neither database stores the character; NUL as a raw byte is left to ``safe_mention``.
    """
    return _CHAR_REF.sub(_unstorable_ref, content) if b"&#" in content else content


def _domain(link: str) -> str:
    host = urlsplit(link).netloc.lower()
    return host[4:] if host.startswith("www.") else host


def _entry_time(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC)


def _raw(entry: Any) -> dict[str, Any]:
    """The entry's text fields, as sent (feedparser's dict also holds time tuples, which are not JSON)."""
    keep = ("id", "title", "link", "summary", "published", "updated", "author")
    return {k: entry.get(k) for k in keep if isinstance(entry.get(k), str)}
