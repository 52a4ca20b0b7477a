"""The Facebook page connector: visitor posts, comments, replies and tags in; replies, posts, hiding out."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

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
from connectors.facebook.parse import EdgeName, parse_graph_response
from connectors.http import DEFAULT_TIMEOUT

POST_FIELDS = "id,message,story,created_time,updated_time,from{id,name},permalink_url,shares"
COMMENT_FIELDS = "id,message,created_time,from{id,name},parent{id},permalink_url,like_count,comment_count"
_TIME = TypeAdapter(AwareDatetime)
log = logging.getLogger(__name__)


def parse_source(source: str) -> str:
    """``facebook:page:<page id>`` -> the page id."""
    platform, _, rest = source.partition(":")
    kind, _, page_id = rest.partition(":")
    if platform != "facebook" or kind != "page" or not page_id.isdigit():
        raise PermanentError(
            f"not a Facebook page source: {source!r} (expected facebook:page:<numeric page id>)"
        )
    return page_id


def utc_now() -> datetime:
    return datetime.now(UTC)


class FacebookConnector:
    """A Facebook page through facebook-sdk's ``GraphAPI`` with the page's access token.

    ``app_secret`` adds ``appsecret_proof`` to every call. ``api_version`` is the Graph API
    version to call (facebook-sdk itself only knows versions up to 3.1). ``base_url`` sends
    every call to another host (a local fake or a proxy) instead of graph.facebook.com.
    """

    slug = "facebook"
    max_reply_length = 8000  # Graph's limit for a comment
    max_post_length = 63206  # Facebook's limit for a post's message
    page_size = 100

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
        """``comment_window``: how old a post may be for its new comments to be read.
        ``initial_lookback``: how far back the first fetch of a page reaches. ``overlap``: each
        fetch re-reads this much before the checkpoint, for items Graph shows late (the
        duplicates are dropped by ingest). ``max_pages``: pages read per listing per fetch."""
        if not page_token:
            raise ValueError("Facebook needs a page access token")
        self._page_token = page_token
        self._app_secret = app_secret
        self.base_url = base_url
        self.timeout = timeout
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
        self.graph = self.client.graph

    def __repr__(self) -> str:
        return (
            f"FacebookConnector(base_url={self.base_url!r}, api_version={self.graph.version!r}, "
            f"page_token={mask_secret(self._page_token)!r}, app_secret={mask_secret(self._app_secret)!r})"
        )

    # transport -------------------------------------------------------------------------

    def _request(
        self,
        action: str,
        path: str,
        args: dict[str, Any] | None = None,
        post_args: dict[str, Any] | None = None,
    ) -> Any:
        return self.client.request(action, path, args, post_args)

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
        own_ids: set[str],
        post_id: str | None = None,
    ) -> tuple[ParseResult, bool]:
        result, truncated = ParseResult(), False
        for body, cut in self._pages(action, path, params):
            result.extend(
                parse_graph_response(body, source=source, edge=edge, own_ids=own_ids, post_id=post_id)
            )
            truncated = truncated or cut
        return result, truncated

    # fetch -----------------------------------------------------------------------------

    def fetch(self, source: str, checkpoint: Checkpoint) -> tuple[list[Mention], Checkpoint]:
        """Posts on the page's feed, comments and replies on its recent posts, and posts tagging it.

        The cursor holds ``since`` (ISO time): the newest item time read, and ``recent``: the ids
        read within ``overlap`` of it. Each fetch asks again from ``since - overlap`` (Graph's
        ``since`` is inclusive, and items can show up late) and leaves out the ``recent`` ones,
        so nothing is returned twice and nothing late is missed. The cursor does not move past
        a listing cut short by ``max_pages``: comments are read oldest first, so it stops at the
        last one read; a cut feed or tag listing (newest first) keeps the old cursor.
        """
        page_id = parse_source(source)
        since = self._since(checkpoint)
        harvest = Harvest(since=since, query_since=since - self.overlap)
        for post in self._read_feed(source, page_id, harvest):
            if _active_since(post, harvest.query_since):
                self._read_comments(source, page_id, post, harvest)
        self._read_tagged(source, page_id, harvest)
        return harvest.outcome(recent=set(checkpoint.cursor.get("recent") or ()), overlap=self.overlap)

    def _read_feed(self, source: str, page_id: str, harvest: Harvest) -> list[Mention]:
        """The page's feed; returns every post read, kept or not, for their comments to be read."""
        # One feed read serves both purposes: new posts, and the recent posts whose comments we read.
        feed_since = min(harvest.query_since, harvest.since - self.comment_window)
        feed, cut = self._listing(
            f"reading the feed of page {page_id}",
            f"{page_id}/feed",
            {"fields": POST_FIELDS, "since": int(feed_since.timestamp())},
            source=source,
            edge="feed",
            own_ids={page_id},
        )
        if cut:
            harvest.stop_at_since()
        harvest.keep(feed)
        return feed.mentions

    def _read_comments(self, source: str, page_id: str, post: Mention, harvest: Harvest) -> None:
        try:
            comments, cut = self._listing(
                f"reading comments on {post.external_id}",
                f"{post.external_id}/comments",
                {
                    "fields": COMMENT_FIELDS,
                    "filter": "stream",  # top-level comments and replies, each reply with its parent
                    "order": "chronological",
                    "since": int(harvest.query_since.timestamp()),
                },
                source=source,
                edge="comments",
                own_ids={page_id},
                post_id=post.external_id,
            )
        except GoneError:
            # Deleted between the feed read and now: an ordinary race, not a broken source.
            log.info("post %s was deleted before its comments were read", post.external_id)
            return
        if cut and comments.mentions:
            harvest.stop_at(max(m.created_at for m in comments.mentions))
        elif cut:
            harvest.stop_at_since()
        harvest.keep(comments)

    def _read_tagged(self, source: str, page_id: str, harvest: Harvest) -> None:
        tagged, cut = self._listing(
            f"reading posts tagging page {page_id}",
            f"{page_id}/tagged",
            {"fields": POST_FIELDS, "since": int(harvest.query_since.timestamp())},
            source=source,
            edge="tagged",
            own_ids={page_id},
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
                raise PermanentError(f"unreadable Facebook checkpoint since={value!r}") from None
        return self.clock() - self.initial_lookback

    # replies ---------------------------------------------------------------------------

    def reply(self, *, source: str, in_reply_to: str, text: str, idempotency_key: str) -> str:
        """Comment ``text`` as the page under post or comment ``in_reply_to``; returns the new comment's id.

        Graph has no idempotency key (``idempotency_key`` is not sent). After any TemporaryError
        the comment may or may not exist: call :meth:`find_reply` before trying again.
        """
        parse_source(source)
        if not text.strip():
            raise PermanentError("a reply cannot be empty")
        if len(text) > self.max_reply_length:
            raise PermanentError(
                f"the reply is longer than Facebook allows ({self.max_reply_length} characters)"
            )
        body = self._request(
            f"replying to {in_reply_to}", f"{in_reply_to}/comments", post_args={"message": text}
        )
        new_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(new_id, str) or not new_id:
            raise PayloadError(f"Facebook accepted the reply to {in_reply_to} but sent no comment id")
        return new_id

    def find_reply(
        self, *, source: str, in_reply_to: str, text: str, since: datetime | None = None
    ) -> str | None:
        """The id of a comment the page already made under ``in_reply_to`` with the same text, or None.

        Reads the comments under ``in_reply_to`` itself (our reply's own conversation, not the
        page's posts), from ``since`` (the first attempt) on when given. If more comments came
        since than ``max_pages`` pages hold, ``LookupIncomplete``: Graph has no author filter.
        """
        page_id = parse_source(source)
        wanted = _comparable(text)
        params: dict[str, Any] = {"fields": "id,message,created_time,from{id,name}", "order": "chronological"}
        if since is not None:
            params["since"] = int(since.timestamp())
        for body, cut in self._pages("looking for an earlier reply", f"{in_reply_to}/comments", params):
            result = parse_graph_response(
                body, source=source, edge="comments", own_ids={page_id}, post_id=in_reply_to
            )
            for mention in result.mentions:
                if mention.is_own and _comparable(mention.text) == wanted:
                    return mention.external_id
            if cut:
                raise _incomplete(self.max_pages * self.page_size, "comments under the post")
        return None

    # new posts -------------------------------------------------------------------------

    def post(self, *, source: str, text: str, idempotency_key: str) -> str:
        """Publish ``text`` as a new post on the page's feed; returns the post's id (``{page}_{post}``).

        As with :meth:`reply`, ``idempotency_key`` is not sent, and after any TemporaryError
        :meth:`find_post` says whether the post went out.
        """
        page_id = parse_source(source)
        if not text.strip():
            raise PermanentError("the post cannot be empty")
        if len(text) > self.max_post_length:
            raise PermanentError(
                f"the post is longer than Facebook allows ({self.max_post_length} characters)"
            )
        body = self._request(
            f"publishing a post on page {page_id}", f"{page_id}/feed", post_args={"message": text}
        )
        new_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(new_id, str) or not new_id:
            raise PayloadError(f"Facebook accepted the post on page {page_id} but sent no post id")
        return new_id

    def find_post(self, *, source: str, text: str, within: timedelta = timedelta(days=1)) -> str | None:
        """The id of a post the page itself published in the last ``within`` with the same text, or None.

        Only recent posts count: the same standard text (a listening message) may well have
        been posted for an earlier incident, and that one is not this post.
        """
        page_id = parse_source(source)
        wanted = _comparable(text)
        for body, cut in self._pages(
            "looking for an earlier post",
            f"{page_id}/posts",  # the page's own posts only, newest first (``/feed`` adds visitors')
            {
                "fields": "id,message,created_time,from{id,name}",
                "since": int((self.clock() - within).timestamp()),
            },
        ):
            result = parse_graph_response(body, source=source, edge="feed", own_ids={page_id})
            for mention in result.mentions:
                if mention.is_own and _comparable(mention.text) == wanted:
                    return mention.external_id
            if cut:
                raise _incomplete(self.max_pages * self.page_size, "posts on the page")
        return None

    def hide(self, *, source: str, external_id: str, hidden: bool = True) -> None:
        """Hide (or show again) a comment on the page. Visitor posts cannot be hidden this way."""
        parse_source(source)
        body = self._request(
            f"{'hiding' if hidden else 'unhiding'} {external_id}",
            external_id,
            post_args={"is_hidden": "true" if hidden else "false"},
        )
        if not (isinstance(body, dict) and body.get("success") is True):
            raise PayloadError(
                f"Facebook did not confirm that {external_id} is {'hidden' if hidden else 'visible'}"
            )


def _active_since(post: Mention, since: datetime) -> bool:
    """Whether a post may have comments newer than ``since``: Graph moves ``updated_time`` on new comments."""
    value = post.raw.get("updated_time")
    if value is None:
        return True
    try:
        return _TIME.validate_python(value) >= since
    except ValidationError:
        return True


def _incomplete(read: int, what: str) -> LookupIncomplete:
    return LookupIncomplete(
        f"Facebook has more than {read:,} {what} since the first attempt, more than we read: "
        "it cannot say whether this one went out"
    )


def _comparable(text: str) -> str:
    return " ".join(html.unescape(text).split())
