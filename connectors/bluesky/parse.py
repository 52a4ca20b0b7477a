"""AT Protocol responses -> Mentions. Used by the connector and by ``listening-post import``.

Two listings: ``app.bsky.notification.listNotifications`` (mentions, replies and quotes of
the board's account) and ``app.bsky.feed.searchPosts`` (keyword search). Both carry the post
record (text, createdAt, reply refs) and the author's profile; only post views have counts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from connectors.base import Author, Mention, ParseResult, PayloadError
from connectors.bluesky.models import (
    POST_TYPE,
    Notification,
    NotificationsEnvelope,
    PostRecord,
    PostsEnvelope,
    PostUri,
    PostView,
    Profile,
)
from connectors.validation import PostTime, describe, load_json_object

# The notification reasons that are posts someone wrote to or about us.
POST_REASONS = ("mention", "reply", "quote")
_URI = TypeAdapter(PostUri)
_TIME = TypeAdapter(PostTime)


@dataclass(slots=True)
class Page:
    """One listing page: the good items, with the time each was indexed (the checkpoint's clock)."""

    result: ParseResult
    indexed_at: dict[str, datetime]  # external id -> indexedAt
    cursor: str | None
    size: int  # items in the listing, kept or not (likes and follows are left out of ``result``)


def post_url(handle_or_did: str, uri: str) -> str:
    """The post's page on the Bluesky app: ``https://bsky.app/profile/<handle>/post/<rkey>``."""
    return f"https://bsky.app/profile/{handle_or_did}/post/{uri.rsplit('/', 1)[-1]}"


def parse_notifications_page(
    body: dict[str, Any] | str | bytes,
    *,
    source: str,
    own_dids: Collection[str] = (),
    own_handles: Collection[str] = (),
) -> Page:
    raw = load_json_object(body, what="Bluesky notifications")
    try:
        envelope = NotificationsEnvelope.model_validate(raw)
    except ValidationError as exc:
        raise PayloadError(f"Bluesky notifications: unexpected shape ({describe(exc)})") from None
    page = Page(ParseResult(), {}, envelope.cursor, len(envelope.notifications))
    owners = _Owners(own_dids, own_handles)
    for index, item in enumerate(envelope.notifications):
        if isinstance(item, dict) and item.get("reason") not in POST_REASONS:
            continue  # likes, reposts, follows: not something to answer
        try:
            note = Notification.model_validate(item)
            uri = _URI.validate_python(note.uri)
            record = PostRecord.model_validate(note.record)
        except ValidationError as exc:
            page.result.rejected.append(f"notification {_label(item, index)}: {describe(exc)}")
            continue
        if record.type != POST_TYPE:
            page.result.rejected.append(f"notification {_label(item, index)}: record is a {record.type}")
            continue
        kind = "reply" if note.reason == "reply" or (note.reason == "mention" and record.reply) else "mention"
        mention = _mention(uri, note.author, record, note.indexedAt, source, kind, item, owners)
        page.result.mentions.append(mention)
        page.indexed_at[uri] = note.indexedAt
    return page


def parse_posts_page(
    body: dict[str, Any] | str | bytes,
    *,
    source: str,
    own_dids: Collection[str] = (),
    own_handles: Collection[str] = (),
) -> Page:
    raw = load_json_object(body, what="Bluesky posts")
    try:
        envelope = PostsEnvelope.model_validate(raw)
    except ValidationError as exc:
        raise PayloadError(f"Bluesky posts: unexpected shape ({describe(exc)})") from None
    page = Page(ParseResult(), {}, envelope.cursor, len(envelope.posts))
    owners = _Owners(own_dids, own_handles)
    for index, item in enumerate(envelope.posts):
        try:
            view = PostView.model_validate(item)
        except ValidationError as exc:
            page.result.rejected.append(f"post {_label(item, index)}: {describe(exc)}")
            continue
        kind = "reply" if view.record.reply else "post"
        mention = _mention(view.uri, view.author, view.record, view.indexedAt, source, kind, item, owners)
        mention.metrics = {
            "reposts": view.repostCount,
            "replies": view.replyCount,
            "likes": view.likeCount,
            "quotes": view.quoteCount,
        }
        page.result.mentions.append(mention)
        page.indexed_at[view.uri] = view.indexedAt
    return page


def parse_bluesky_response(
    body: dict[str, Any] | str | bytes,
    *,
    source: str,
    own_dids: Collection[str] = (),
    own_handles: Collection[str] = (),
) -> ParseResult:
    """Mentions from a raw ``listNotifications`` or ``searchPosts`` (or ``getPosts``) response body.

    Which one it is follows from the body: ``notifications`` or ``posts``. Items that fail
    validation are skipped with a reason; a body that is neither raises PayloadError.
    """
    raw = load_json_object(body, what="Bluesky response")
    if "notifications" in raw:
        parse = parse_notifications_page
    elif "posts" in raw:
        parse = parse_posts_page
    else:
        raise PayloadError(
            "Bluesky response: neither a listNotifications body (notifications) nor a searchPosts one (posts)"
        )
    return parse(raw, source=source, own_dids=own_dids, own_handles=own_handles).result


@dataclass(frozen=True, slots=True)
class _Owners:
    dids: frozenset[str]
    handles: frozenset[str]

    def __init__(self, dids: Collection[str], handles: Collection[str]) -> None:
        object.__setattr__(self, "dids", frozenset(dids))
        object.__setattr__(self, "handles", frozenset(h.lstrip("@").lower() for h in handles))

    def own(self, author: Profile) -> bool:
        return author.did in self.dids or author.handle.lower() in self.handles


def _mention(
    uri: str,
    author: Profile,
    record: PostRecord,
    indexed_at: datetime,
    source: str,
    kind: str,
    item: dict[str, Any],
    owners: _Owners,
) -> Mention:
    return Mention(
        platform="bluesky",
        external_id=uri,
        source=source,
        kind=kind,
        author=Author(
            id=author.did,
            handle=author.handle,
            name=author.displayName,
            verified=author.verification is not None and author.verification.verifiedStatus == "valid",
        ),
        text=record.text,
        created_at=_created_at(record.createdAt) or indexed_at,
        url=post_url(author.handle or author.did, uri),
        in_reply_to=record.reply.parent.uri if record.reply else None,
        conversation_id=record.reply.root.uri if record.reply else uri,
        lang=record.langs[0][:20] if record.langs else None,
        is_own=owners.own(author),
        raw=item,
    )


def _created_at(value: str | None) -> datetime | None:
    """The writer's own timestamp when it is a plausible aware time (any client can set it)."""
    if value is None:
        return None
    try:
        return _TIME.validate_python(value)
    except ValidationError:
        return None


def _label(item: Any, index: int) -> str:
    if isinstance(item, dict) and isinstance(item.get("uri"), str) and len(item["uri"]) <= 120:
        return item["uri"]
    return f"#{index}"
