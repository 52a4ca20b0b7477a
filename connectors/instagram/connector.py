"""The Instagram connector: an account's media, comments, replies and tags in; replies and hiding out.

The account is read through the Graph API with the token of the Facebook page it is linked to,
over the Facebook connector's :class:`GraphClient` (facebook-sdk, one HTTP session, the same
typed errors and rate-limit handling).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from connectors.base import (
    Checkpoint,
    GoneError,
    LookupIncomplete,
    Mention,
    ParseResult,
    PayloadError,
    PermanentError,
    mask_secret,
)
from connectors.facebook.graph import GraphClient
from connectors.facebook.harvest import Harvest
from connectors.http import DEFAULT_TIMEOUT
from connectors.instagram.parse import EdgeName, parse_instagram_response

MEDIA_FIELDS = "id,caption,permalink,timestamp,username,media_type,comments_count,like_count"
REPLY_FIELDS = "id,text,timestamp,username,from{id,username},parent_id,like_count,hidden"
REPLIES_PER_COMMENT = 50
MENTIONED_COMMENT_FIELDS = "id,timestamp,like_count,text,username,media{id,permalink,caption,username}"
MENTIONED_MEDIA_FIELDS = "id,caption,timestamp,permalink,username,media_type,comments_count,like_count"
COMMENT_FIELDS = (
    "id,text,timestamp,username,from{id,username},like_count,hidden,"
    f"replies.limit({REPLIES_PER_COMMENT}){{{REPLY_FIELDS}}}"
)
_TIME = TypeAdapter(AwareDatetime)
log = logging.getLogger(__name__)


class ReplyToReplyError(PermanentError):
    """Instagram threads are one level deep: a reply can only answer a top-level comment."""


def parse_source(source: str) -> str:
    """``instagram:account:<ig user id>`` -> the IG user id."""
    platform, _, rest = source.partition(":")
    kind, _, ig_id = rest.partition(":")
    if platform != "instagram" or kind != "account" or not ig_id.isdigit():
        raise PermanentError(
            f"not an Instagram source: {source!r} (expected instagram:account:<numeric IG user id>)"
        )
    return ig_id


def utc_now() -> datetime:
    return datetime.now(UTC)


class InstagramConnector:
    """An Instagram professional account linked to the board's Facebook page.

    ``page_token`` is the Facebook page's access token (with ``instagram_basic``,
    ``instagram_manage_comments``, ``pages_show_list``, ``pages_read_engagement``);
    ``app_secret`` adds ``appsecret_proof``. The other options are the Facebook connector's.
    """

    slug = "instagram"
    max_reply_length = 2200  # Instagram's limit for a comment
    page_size = 50  # the most the comments edge returns per page

    def __init__(
        self,
        *,
        page_token: str,
        app_secret: str | None = None,
        api_version: str = "v21.0",
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_pages: int = 20,
        comment_window: timedelta = timedelta(days=7),
        initial_lookback: timedelta = timedelta(days=1),
        overlap: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not page_token:
            raise ValueError("Instagram needs the access token of the Facebook page the account is linked to")
        self._page_token = page_token
        self._app_secret = app_secret
        self.base_url = base_url
        self.max_pages = max_pages
        self.comment_window = comment_window
        self.initial_lookback = initial_lookback
        self.overlap = overlap
        self.clock = clock
        self.client = GraphClient(
            access_token=page_token,
            app_secret=app_secret,
            api_version=api_version,
            base_url=base_url,
            timeout=timeout,
            clock=clock,
        )

    def __repr__(self) -> str:
        return (
            f"InstagramConnector(base_url={self.base_url!r}, api_version={self.client.version!r}, "
            f"page_token={mask_secret(self._page_token)!r}, app_secret={mask_secret(self._app_secret)!r})"
        )

    # reading ---------------------------------------------------------------------------

    def _pages(self, action: str, path: str, params: dict[str, Any]) -> Iterator[tuple[dict[str, Any], bool]]:
        return self.client.pages(action, path, params, page_size=self.page_size, max_pages=self.max_pages)

    def _listing(
        self,
        action: str,
        path: str,
        params: dict[str, Any],
        *,
        source: str,
        edge: EdgeName,
        own: set[str],
        stop_before: datetime | None = None,
        **context: Any,
    ) -> tuple[ParseResult, bool]:
        """Every page of a listing; a newest-first one stops at the first page older than ``stop_before``.

        Returns the items and whether the listing was cut short by ``max_pages``. Comments whose
        nested ``replies`` were cut at one page get the rest from ``/{comment-id}/replies``.
        """
        result, truncated = ParseResult(), False
        for body, cut in self._pages(action, path, params):
            page = parse_instagram_response(body, source=source, edge=edge, own_ids=own, **context)
            result.extend(page)
            truncated = truncated or cut
            for item in body.get("data") or ():
                after = _next_replies_cursor(item)
                if after is not None:
                    more, cut_replies = self._listing(
                        f"reading replies to {item['id']}",
                        f"{item['id']}/replies",
                        {"fields": REPLY_FIELDS, "after": after},
                        source=source,
                        edge="replies",
                        own=own,
                        media_id=context.get("media_id"),
                        permalink=context.get("permalink"),
                        parent_id=item["id"],
                    )
                    result.extend(more)
                    truncated = truncated or cut_replies
            times = [m.created_at for m in page.mentions]
            if stop_before is not None and times and max(times) < stop_before:
                return result, False
        return result, truncated

    def fetch(self, source: str, checkpoint: Checkpoint) -> tuple[list[Mention], Checkpoint]:
        """The account's media (each thread's start), comments and replies on recent media, and tags.

        The cursor is the Facebook connector's: ``since`` (the newest item time read) and
        ``recent`` (the ids read within ``overlap`` of it). The comments edge has no time filter,
        so the comments of each media younger than ``comment_window`` are read and the old ones
        dropped here. A listing cut short by ``max_pages`` keeps the old cursor.
        """
        ig_id = parse_source(source)
        since = self._since(checkpoint)
        harvest = Harvest(since=since, query_since=since - self.overlap)
        window_start = min(harvest.query_since, since - self.comment_window)
        for post in self._read_media(source, ig_id, window_start, harvest):
            if post.created_at >= window_start and post.metrics.get("replies") != 0:
                self._read_comments(source, ig_id, post, harvest)
        self._read_tags(source, ig_id, harvest)
        return harvest.outcome(recent=set(checkpoint.cursor.get("recent") or ()), overlap=self.overlap)

    def fetch_mention(self, source: str, *, media_id: str, comment_id: str | None = None) -> list[Mention]:
        """The post behind one ``mentions`` webhook: comment ``comment_id``, or ``media_id``'s caption.

        Instagram sends @mentions of the account in other people's posts only as webhooks, and
        reads them back only through the account's user node. A mention Instagram no longer
        returns (deleted, or hidden from the account) raises :class:`GoneError`.
        """
        ig_id = parse_source(source)
        if comment_id:
            field = "mentioned_comment"
            spec = f"{field}.comment_id({_digits(comment_id)}){{{MENTIONED_COMMENT_FIELDS}}}"
        else:
            field = "mentioned_media"
            spec = f"{field}.media_id({_digits(media_id)}){{{MENTIONED_MEDIA_FIELDS}}}"
        what = f"comment {comment_id}" if comment_id else f"media {media_id}"
        body = self.client.request(f"looking up the @mention in {what}", ig_id, {"fields": spec})
        if not isinstance(body, dict) or not isinstance(body.get(field), dict):
            raise GoneError(f"Instagram no longer shows the @mention in {what}")
        result = parse_instagram_response(body, source=source, own_ids={ig_id})
        if result.rejected:
            # Permanent: the same lookup would give the same unreadable post on every retry.
            raise PermanentError(f"unreadable @mention in {what}: {'; '.join(result.rejected)}")
        return _with_media_link(result.mentions, body[field])

    def _read_media(self, source: str, ig_id: str, window_start: datetime, harvest: Harvest) -> list[Mention]:
        """The account's media back to ``window_start``; returns all read, for their comments to be read."""
        media, cut = self._listing(
            f"reading the media of Instagram account {ig_id}",
            f"{ig_id}/media",
            {"fields": MEDIA_FIELDS, "since": int(window_start.timestamp())},
            source=source,
            edge="media",
            own={ig_id},
            stop_before=window_start,
        )
        if cut:
            harvest.stop_at_since()
        harvest.keep(media)
        return media.mentions

    def _read_comments(self, source: str, ig_id: str, post: Mention, harvest: Harvest) -> None:
        try:
            comments, cut = self._listing(
                f"reading comments on {post.external_id}",
                f"{post.external_id}/comments",
                {"fields": COMMENT_FIELDS},
                source=source,
                edge="comments",
                own={ig_id},
                media_id=post.external_id,
                permalink=post.url,
            )
        except GoneError:
            log.info("media %s was deleted before its comments were read", post.external_id)
            return
        if cut:
            harvest.stop_at_since()
        harvest.keep(comments)

    def _read_tags(self, source: str, ig_id: str, harvest: Harvest) -> None:
        tagged, cut = self._listing(
            f"reading media tagging Instagram account {ig_id}",
            f"{ig_id}/tags",
            {"fields": MEDIA_FIELDS},
            source=source,
            edge="tags",
            own={ig_id},
            stop_before=harvest.query_since,
        )
        if cut:
            harvest.stop_at_since()
        harvest.keep(tagged)

    def _since(self, checkpoint: Checkpoint) -> datetime:
        value = checkpoint.cursor.get("since")
        if value:
            try:
                return _TIME.validate_python(value).astimezone(UTC)
            except ValidationError:
                raise PermanentError(f"unreadable Instagram checkpoint since={value!r}") from None
        return self.clock() - self.initial_lookback

    # replies and moderation ------------------------------------------------------------

    def reply(self, *, source: str, in_reply_to: str, text: str, idempotency_key: str) -> str:
        """Reply as the account to top-level comment ``in_reply_to``; returns the new comment's id.

        Instagram threads are one level deep: a reply to a reply raises :class:`ReplyToReplyError`
        before anything is posted. As on Facebook there is no idempotency key: after a
        TemporaryError call :meth:`find_reply` before trying again.
        """
        parse_source(source)
        if not text.strip():
            raise PermanentError("a reply cannot be empty")
        if len(text) > self.max_reply_length:
            raise PermanentError(
                f"the reply is longer than Instagram allows ({self.max_reply_length} characters)"
            )
        target = self.client.request(
            f"looking up comment {in_reply_to}", in_reply_to, {"fields": "id,parent_id"}
        )
        if isinstance(target, dict) and target.get("parent_id"):
            raise ReplyToReplyError(
                f"Instagram only allows replies to top-level comments, and {in_reply_to} is itself a reply: "
                f"answer the comment it replies to ({target['parent_id']}) and @mention the person instead"
            )
        body = self.client.request(
            f"replying to {in_reply_to}", f"{in_reply_to}/replies", post_args={"message": text}
        )
        new_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(new_id, str) or not new_id:
            raise PayloadError(f"Instagram accepted the reply to {in_reply_to} but sent no comment id")
        return new_id

    def find_reply(
        self, *, source: str, in_reply_to: str, text: str, since: datetime | None = None
    ) -> str | None:
        """The id of a reply the account already made to ``in_reply_to`` with the same text, or None.

        Reads the replies under the comment itself, so the answer does not depend on how much the
        account posted since (``since`` is accepted for the connector contract and not needed);
        when they run past the pages read, ``LookupIncomplete`` says it cannot tell.
        """
        ig_id = parse_source(source)
        wanted = _comparable(text)
        for body, unread in self._pages(
            "looking for an earlier reply", f"{in_reply_to}/replies", {"fields": REPLY_FIELDS}
        ):
            result = parse_instagram_response(
                body, source=source, edge="replies", own_ids={ig_id}, parent_id=in_reply_to
            )
            for mention in result.mentions:
                if mention.is_own and _comparable(mention.text) == wanted:
                    return mention.external_id
            if unread:
                raise LookupIncomplete(f"more replies under Instagram comment {in_reply_to} than were read")
        return None

    def hide(self, *, source: str, external_id: str, hidden: bool = True) -> None:
        """Hide (or show again) a comment on the account's media: ``POST /{comment-id}?hide=true|false``."""
        parse_source(source)
        body = self.client.request(
            f"{'hiding' if hidden else 'unhiding'} {external_id}",
            external_id,
            post_args={"hide": "true" if hidden else "false"},
        )
        if not (isinstance(body, dict) and body.get("success") is True):
            raise PayloadError(
                f"Instagram did not confirm that {external_id} is {'hidden' if hidden else 'visible'}"
            )


def _digits(object_id: str) -> str:
    """An id as it may go into a ``fields`` expression (webhook bodies are not trusted)."""
    if not object_id.isdigit():
        raise PermanentError(f"not an Instagram id: {object_id[:40]!r}")
    return object_id


def _with_media_link(mentions: list[Mention], raw: dict[str, Any]) -> list[Mention]:
    """A mentioning comment shows its media's link (Instagram comments have none of their own)."""
    media = raw.get("media")
    link = media.get("permalink") if isinstance(media, dict) else None
    for mention in mentions:
        if mention.url is None and isinstance(link, str):
            mention.url = link
    return mentions


def _next_replies_cursor(item: Any) -> str | None:
    """The ``after`` cursor of a comment's nested ``replies`` when more replies follow the first page."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"].isdigit():
        return None
    replies = item.get("replies")
    paging = replies.get("paging") if isinstance(replies, dict) else None
    link = paging.get("next") if isinstance(paging, dict) else None
    if not isinstance(link, str) or not link:
        return None
    after = parse_qs(urlsplit(link).query).get("after")
    return after[-1] if after else ""


def _comparable(text: str) -> str:
    return " ".join(html.unescape(text).split())
