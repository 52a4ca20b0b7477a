"""LinkedIn Community Management API responses -> Mentions (for the connector and ``import``)."""

from __future__ import annotations

from collections.abc import Collection as Names
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from connectors.base import Author, Mention, ParseResult, PayloadError
from connectors.linkedin.models import Collection, Comment, Notification, Post
from connectors.validation import describe, load_json_object

EdgeName = Literal["auto", "posts", "mentions", "comments"]
PLATFORM = "linkedin"


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


def parse_linkedin_response(
    body: dict[str, Any] | str | bytes,
    *,
    source: str,
    edge: EdgeName = "auto",
    own_ids: Names[str] = (),
    post_urn: str | None = None,
) -> ParseResult:
    """Mentions from a Rest.li collection (``elements``, ``paging``) or a single post.

    ``edge``: ``posts`` (the organisation's own posts; kind ``post``), ``mentions`` (posts that
    mention it; kind ``mention``) or ``comments`` on ``post_urn`` (kind ``comment``, or
    ``reply`` when it has a ``parentComment``). ``auto`` tells posts from comments by their
    fields. ``own_ids``: the organisation's URN (``urn:li:organization:<id>``) or bare id; its
    items are marked ``is_own``. A body that is neither raises PayloadError.
    """
    raw = load_json_object(body, what="LinkedIn response")
    if "elements" not in raw:
        if "commentary" in raw and "id" in raw:  # GET /rest/posts/{urn}: one post
            raw = {"elements": [raw]}
        elif isinstance(raw.get("status"), int) and "message" in raw:
            raise PayloadError(f"the body is a LinkedIn error, not a list: {str(raw['message'])[:200]}")
        else:
            raise PayloadError("LinkedIn response: no 'elements' list (not a posts or comments response)")
    try:
        envelope = Collection.model_validate(raw)
    except ValidationError as exc:
        raise PayloadError(f"LinkedIn response: unexpected shape ({describe(exc)})") from None
    if edge == "auto":
        items = [e for e in envelope.elements if isinstance(e, dict)]
        edge = "comments" if any("commentUrn" in e for e in items) else "posts"
    own = {o if o.startswith("urn:") else f"urn:li:organization:{o}" for o in own_ids if o}
    result = ParseResult()
    for index, item in enumerate(envelope.elements):
        what = "comment" if edge == "comments" else "post"
        try:
            if edge == "comments":
                result.mentions.append(_comment(Comment.model_validate(item), item, source, own, post_urn))
            else:
                kind = "post" if edge == "posts" else "mention"
                result.mentions.append(_post(Post.model_validate(item), item, source, own, kind))
        except ValidationError as exc:
            result.rejected.append(f"{what} {_label(item, index)}: {describe(exc)}")
    return result


def mentioned_posts(body: dict[str, Any] | str | bytes) -> tuple[list[tuple[str, datetime]], list[str]]:
    """(post URN, time) of each SHARE_MENTION in an ``organizationalEntityNotifications`` page; rejects."""
    raw = load_json_object(body, what="LinkedIn notifications")
    try:
        envelope = Collection.model_validate(raw)
    except ValidationError as exc:
        raise PayloadError(f"LinkedIn notifications: unexpected shape ({describe(exc)})") from None
    found, rejected = [], []
    for index, item in enumerate(envelope.elements):
        try:
            note = Notification.model_validate(item)
        except ValidationError as exc:
            rejected.append(f"notification {_label(item, index)}: {describe(exc)}")
            continue
        if note.action == "SHARE_MENTION" and note.source_post:
            found.append((note.source_post, note.at))
    return found, rejected


def _label(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for key in ("commentUrn", "id"):
            value = item.get(key)
            if isinstance(value, str) and len(value) <= 120:
                return value
    return f"#{index}"


def _post(post: Post, raw: dict[str, Any], source: str, own: set[str], kind: str) -> Mention:
    return Mention(
        platform=PLATFORM,
        external_id=post.id,
        source=source,
        kind=kind,
        author=Author(id=post.author),
        text=post.commentary,
        created_at=post.created_at,
        url=post_url(post.id),
        conversation_id=post.id,
        is_own=post.author in own,
        raw=raw,
    )


def _comment(
    comment: Comment, raw: dict[str, Any], source: str, own: set[str], post_urn: str | None
) -> Mention:
    thread = post_urn or comment.object
    metrics = {}
    if comment.likes is not None:
        metrics["likes"] = comment.likes.total
    if comment.comments is not None:
        metrics["replies"] = comment.comments.first_level
    return Mention(
        platform=PLATFORM,
        external_id=comment.urn,
        source=source,
        kind="reply" if comment.parent else "comment",
        author=Author(id=comment.actor),
        text=comment.message.text,
        created_at=comment.created.time,
        url=post_url(thread),
        in_reply_to=comment.parent or thread,
        conversation_id=thread,
        metrics=metrics,
        is_own=comment.actor in own,
        raw=raw,
    )
