"""The LinkedIn connector: an organisation page's posts, comments and mentions in; replies, deletes out."""

from __future__ import annotations

import html
import logging
import re
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
    register_secret,
)
from connectors.http import DEFAULT_TIMEOUT
from connectors.linkedin.client import LinkedInClient, encode
from connectors.linkedin.parse import EdgeName, mentioned_posts, parse_linkedin_response

_TIME = TypeAdapter(AwareDatetime)
_COMMENT_URN = re.compile(r"urn:li:comment:\((?P<object>urn:li:[A-Za-z]+:[^,()\s]+),(?P<id>[0-9]+)\)")
log = logging.getLogger(__name__)


def parse_source(source: str) -> str:
    """``linkedin:organization:<id>`` -> the organisation's URN (``urn:li:organization:<id>``)."""
    platform, _, rest = source.partition(":")
    kind, _, org_id = rest.partition(":")
    if platform != "linkedin" or kind != "organization" or not org_id.isdigit():
        raise PermanentError(
            f"not a LinkedIn source: {source!r} (expected linkedin:organization:<numeric organisation id>)"
        )
    return f"urn:li:organization:{org_id}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class LinkedInConnector:
    """A LinkedIn organisation page through the Community Management API (versioned ``/rest``).

    ``access_token``: a member's OAuth 2.0 token with ``r_organization_social``,
    ``w_organization_social`` and ``rw_organization_admin``, the member an admin of the page.
    ``api_version``: the ``LinkedIn-Version`` (YYYYMM) every call names.
    """

    slug = "linkedin"
    max_reply_length = 1250  # LinkedIn's limit for a comment
    page_size = 100

    def __init__(
        self,
        *,
        access_token: str,
        api_version: str = "202610",
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_pages: int = 20,
        comment_window: timedelta = timedelta(days=7),
        initial_lookback: timedelta = timedelta(days=1),
        overlap: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not access_token:
            raise ValueError("LinkedIn needs an OAuth 2.0 access token of a page admin")
        self._token = access_token
        register_secret(access_token)
        self.base_url = base_url
        self.max_pages = max_pages
        self.comment_window = comment_window
        self.initial_lookback = initial_lookback
        self.overlap = overlap
        self.clock = clock
        self.client = LinkedInClient(
            access_token=access_token,
            api_version=api_version,
            base_url=base_url,
            timeout=timeout,
            clock=clock,
        )

    def __repr__(self) -> str:
        return (
            f"LinkedInConnector(base_url={self.base_url!r}, api_version={self.client.version!r}, "
            f"access_token={mask_secret(self._token)!r})"
        )

    # reading ---------------------------------------------------------------------------

    def _pages(self, action: str, path: str, query: str) -> Iterator[tuple[Any, bool]]:
        """Each page of a Rest.li collection (``start``/``count``), with whether more were left unread."""
        start = 0
        for number in range(1, self.max_pages + 1):
            paged = "&".join(p for p in (query, f"start={start}", f"count={self.page_size}") if p)
            _, body = self.client.call(action, "GET", path, query=paged)
            if not isinstance(body, dict):
                raise PayloadError(f"LinkedIn sent no collection while {action}")
            elements = body.get("elements")
            paging: dict[str, Any] = body["paging"] if isinstance(body.get("paging"), dict) else {}
            links: list[Any] = paging["links"] if isinstance(paging.get("links"), list) else []
            has_next = any(isinstance(link, dict) and link.get("rel") == "next" for link in links)
            total = paging.get("total")
            read = len(elements) if isinstance(elements, list) else 0
            if isinstance(total, int) and read and start + read < total:
                has_next = True
            if not has_next or not read:
                yield body, False
                return
            yield body, number == self.max_pages
            start += read

    def _listing(
        self,
        action: str,
        path: str,
        query: str,
        *,
        source: str,
        edge: EdgeName,
        own: set[str],
        post_urn: str | None = None,
        stop_before: datetime | None = None,
    ) -> tuple[ParseResult, bool]:
        result, truncated = ParseResult(), False
        for body, cut in self._pages(action, path, query):
            page = parse_linkedin_response(body, source=source, edge=edge, own_ids=own, post_urn=post_urn)
            result.extend(page)
            truncated = truncated or cut
            times = [m.created_at for m in page.mentions]
            if stop_before is not None and times and max(times) < stop_before:
                return result, False
        return result, truncated

    def fetch(self, source: str, checkpoint: Checkpoint) -> tuple[list[Mention], Checkpoint]:
        """The organisation's recent posts, their comments (and comments on comments), and mentions.

        Mentions come from ``organizationalEntityNotifications`` (SHARE_MENTION: a post that
        mentions the page), each post read with ``/rest/posts/{urn}``. The cursor is the Facebook
        connector's: ``since`` (newest item time) and ``recent`` (ids within ``overlap`` of it).
        """
        org = parse_source(source)
        own = {org}
        since = self._since(checkpoint)
        query_since = since - self.overlap
        recent = set(checkpoint.cursor.get("recent") or ())
        rejected: list[str] = []
        found: dict[str, Mention] = {}
        cut_short = False

        def keep(result: ParseResult) -> None:
            rejected.extend(result.rejected)
            for mention in result.mentions:
                if mention.created_at >= query_since:
                    found.setdefault(mention.external_id, mention)

        window_start = min(query_since, since - self.comment_window)
        posts, cut = self._listing(
            f"reading the posts of {org}",
            "posts",
            f"q=author&author={encode(org)}&sortBy=CREATED",
            source=source,
            edge="posts",
            own=own,
            stop_before=window_start,
        )
        cut_short |= cut
        keep(posts)
        for post in posts.mentions:
            if post.created_at >= window_start:
                cut_short |= self._read_comments(post.external_id, source=source, own=own, keep=keep)

        cut_short |= self._read_mentions(
            org, query_since, source=source, own=own, keep=keep, rejected=rejected
        )

        newest = since if cut_short else max([since, *(m.created_at for m in found.values())])
        still_recent = sorted(i for i, m in found.items() if m.created_at >= newest - self.overlap)
        fresh = [m for i, m in found.items() if i not in recent]
        mentions = sorted(fresh, key=lambda m: (m.created_at, m.external_id))
        return mentions, Checkpoint({"since": newest.isoformat(), "recent": still_recent}, tuple(rejected))

    def _read_comments(
        self, post_urn: str, *, source: str, own: set[str], keep: Callable[[ParseResult], None]
    ) -> bool:
        """The comments on a post, and the comments on those that have some; True when cut short."""
        try:
            comments, cut = self._listing(
                f"reading comments on {post_urn}",
                f"socialActions/{encode(post_urn)}/comments",
                "",
                source=source,
                edge="comments",
                own=own,
                post_urn=post_urn,
            )
        except GoneError:
            log.info("post %s was deleted before its comments were read", post_urn)
            return False
        keep(comments)
        for comment in comments.mentions:
            if comment.kind != "comment" or not comment.metrics.get("replies"):
                continue
            try:
                nested, cut_nested = self._listing(
                    f"reading comments on {comment.external_id}",
                    f"socialActions/{encode(comment.external_id)}/comments",
                    "",
                    source=source,
                    edge="comments",
                    own=own,
                    post_urn=post_urn,
                )
            except GoneError:
                continue
            cut = cut or cut_nested
            keep(nested)
        return cut

    def _read_mentions(
        self,
        org: str,
        since: datetime,
        *,
        source: str,
        own: set[str],
        keep: Callable[[ParseResult], None],
        rejected: list[str],
    ) -> bool:
        query = (
            f"q=criteria&actions=List(SHARE_MENTION)&organizationalEntity={encode(org)}"
            f"&timeRange=(start:{_millis(since)},end:{_millis(self.clock())})"
        )
        cut_short = False
        for body, cut in self._pages(
            f"reading notifications of {org}", "organizationalEntityNotifications", query
        ):
            cut_short |= cut
            posts, bad = mentioned_posts(body)
            rejected.extend(bad)
            for urn, _ in posts:
                try:
                    _, post = self.client.call(f"reading post {urn}", "GET", f"posts/{encode(urn)}")
                except GoneError:
                    continue  # deleted since it mentioned us
                keep(parse_linkedin_response(post or {}, source=source, edge="mentions", own_ids=own))
        return cut_short

    def _since(self, checkpoint: Checkpoint) -> datetime:
        value = checkpoint.cursor.get("since")
        if value:
            try:
                return _TIME.validate_python(value).astimezone(UTC)
            except ValidationError:
                raise PermanentError(f"unreadable LinkedIn checkpoint since={value!r}") from None
        return self.clock() - self.initial_lookback

    # replies and moderation ------------------------------------------------------------

    def reply(self, *, source: str, in_reply_to: str, text: str, idempotency_key: str) -> str:
        """Comment ``text`` as the organisation on a post, or under comment ``in_reply_to``; returns its URN.

        A reply to a comment is ``POST /rest/socialActions/{comment urn}/comments`` with
        ``parentComment``; LinkedIn has no idempotency key, so after a TemporaryError call
        :meth:`find_reply` before trying again.
        """
        org = parse_source(source)
        if not text.strip():
            raise PermanentError("a reply cannot be empty")
        if len(text) > self.max_reply_length:
            raise PermanentError(
                f"the reply is longer than LinkedIn allows ({self.max_reply_length} characters)"
            )
        body: dict[str, Any] = {"actor": org, "object": in_reply_to, "message": {"text": text}}
        parent = _COMMENT_URN.fullmatch(in_reply_to)
        if parent:
            body.update(object=parent["object"], parentComment=in_reply_to)
        response, created = self.client.call(
            f"replying to {in_reply_to}", "POST", f"socialActions/{encode(in_reply_to)}/comments", json=body
        )
        urn = created.get("commentUrn") if isinstance(created, dict) else None
        if isinstance(urn, str) and urn:
            return urn
        new_id = response.headers.get("x-restli-id")
        if new_id:
            return f"urn:li:comment:({body['object']},{new_id})"
        raise PayloadError(f"LinkedIn accepted the reply to {in_reply_to} but sent no comment id")

    def find_reply(
        self, *, source: str, in_reply_to: str, text: str, since: datetime | None = None
    ) -> str | None:
        """The URN of a comment the organisation already made under ``in_reply_to`` with this text.

        Reads the replies under the comment itself, so the answer does not depend on how much the
        account posted since (``since`` is accepted for the connector contract and not needed);
        when they run past the pages read, ``LookupIncomplete`` says it cannot tell.
        """
        org = parse_source(source)
        wanted = _comparable(text)
        for body, unread in self._pages(
            "looking for an earlier reply", f"socialActions/{encode(in_reply_to)}/comments", ""
        ):
            result = parse_linkedin_response(body, source=source, edge="comments", own_ids={org})
            for mention in result.mentions:
                if mention.is_own and _comparable(mention.text) == wanted:
                    return mention.external_id
            if unread:
                raise LookupIncomplete(f"more comments under {in_reply_to} than were read")
        return None

    def delete(self, *, source: str, external_id: str) -> None:
        """Delete a comment on the organisation's posts (LinkedIn has no hiding); it cannot be undone."""
        org = parse_source(source)
        match = _COMMENT_URN.fullmatch(external_id)
        if not match:
            raise PermanentError(f"not a LinkedIn comment: {external_id!r}")
        self.client.call(
            f"deleting {external_id}",
            "DELETE",
            f"socialActions/{encode(match['object'])}/comments/{match['id']}",
            query=f"actor={encode(org)}",
        )

    def hide(self, *, source: str, external_id: str, hidden: bool = True) -> None:
        raise PermanentError(
            "LinkedIn cannot hide comments: a page admin can only delete them, which cannot be undone"
        )


def _comparable(text: str) -> str:
    return " ".join(html.unescape(text).split())
