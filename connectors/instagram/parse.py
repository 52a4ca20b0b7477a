"""Instagram Graph API responses -> Mentions (for the connector and ``import``).

What can be read: the account's own media (``/{ig-user-id}/media``: the start of each thread,
caption and permalink), the comments and replies on them (``/{media-id}/comments`` with
``replies{...}``, ``/{comment-id}/replies``), media that tag the account (``/tags``), and
the user node with ``mentioned_comment`` / ``mentioned_media`` (an @mention looked up by id).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ValidationError

from connectors.base import Author, Mention, ParseResult, PayloadError
from connectors.instagram.models import Edge, IgComment, IgMedia
from connectors.validation import describe, label, load_json_object

EdgeName = Literal["auto", "media", "tags", "comments", "replies"]
PLATFORM = "instagram"


def parse_instagram_response(
    body: dict[str, Any] | str | bytes,
    *,
    source: str,
    edge: EdgeName = "auto",
    own_ids: Collection[str] = (),
    media_id: str | None = None,
    permalink: str | None = None,
    parent_id: str | None = None,
) -> ParseResult:
    """Mentions from one Instagram Graph API response body.

    ``edge`` says what was listed: ``media`` (the account's own media; kind ``post``), ``tags``
    (media tagging the account; kind ``mention``), ``comments`` of ``media_id`` (kind
    ``comment``, nested ``replies`` kind ``reply``) or ``replies`` of comment ``parent_id``.
    ``auto`` reads it from the ``paging.next`` link or the items' fields. A user node with
    ``mentioned_comment`` or ``mentioned_media`` gives one ``mention``. ``own_ids``: the
    account's IG user id and @username (its items are marked ``is_own``). ``permalink``: the
    media's link, shown on its comments (IG comments have no link of their own).
    """
    raw = load_json_object(body, what="Instagram response")
    if "error" in raw:
        error = raw["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise PayloadError(f"the body is a Graph API error, not a list: {str(message)[:200]}")
    parser = _Parser(source=source, own_ids=own_ids)
    if "data" not in raw:
        if "mentioned_comment" in raw or "mentioned_media" in raw:
            parser.mentioned(raw)
            return parser.result
        raise PayloadError("Instagram response: no 'data' list (not a media, tags or comments response)")
    try:
        envelope = Edge.model_validate(raw)
    except ValidationError as exc:
        raise PayloadError(f"Instagram response: unexpected shape ({describe(exc)})") from None
    if edge == "auto":
        edge = _guess_edge(envelope)
    if edge in ("media", "tags"):
        parser.media_list(envelope, kind="post" if edge == "media" else "mention")
    else:
        parser.comments(envelope, media_id=media_id, permalink=permalink, parent_id=parent_id)
    return parser.result


def _guess_edge(envelope: Edge) -> Literal["media", "tags", "comments", "replies"]:
    link = envelope.paging.next or envelope.paging.previous if envelope.paging else None
    if link:
        last = urlsplit(link).path.rstrip("/").rsplit("/", 1)[-1]
        if last in ("media", "tags", "comments", "replies"):
            return last  # type: ignore[return-value]
    items = [i for i in envelope.data if isinstance(i, dict)]
    if any("caption" in i or "permalink" in i or "media_type" in i for i in items):
        return "media"
    return "comments"


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    """The item as received minus nested edges: they become mentions of their own, and their
    ``paging.next`` links carry the access token, which must never be stored."""
    return {k: v for k, v in item.items() if k not in ("comments", "replies", "paging")}


class _Parser:
    def __init__(self, *, source: str, own_ids: Collection[str]) -> None:
        self.source = source
        self.own = {o.lstrip("@").lower() for o in own_ids if o}
        self.result = ParseResult()

    def _media(self, item: Any, index: int, what: str) -> IgMedia | None:
        try:
            return IgMedia.model_validate(item)
        except ValidationError as exc:
            self.result.rejected.append(f"{what} {label(item, index)}: {describe(exc)}")
            return None

    def _comment(self, item: Any, index: int) -> IgComment | None:
        try:
            return IgComment.model_validate(item)
        except ValidationError as exc:
            self.result.rejected.append(f"comment {label(item, index)}: {describe(exc)}")
            return None

    def media_list(self, envelope: Edge, *, kind: str) -> None:
        for index, item in enumerate(envelope.data):
            media = self._media(item, index, "media")
            if media is None:
                continue
            self.result.mentions.append(self._from_media(media, item, kind=kind))
            if media.comments is not None:
                self.comments(media.comments, media_id=media.id, permalink=media.permalink, parent_id=None)

    def comments(
        self, envelope: Edge, *, media_id: str | None, permalink: str | None, parent_id: str | None
    ) -> None:
        """Comments on ``media_id``, or replies to comment ``parent_id``, with their nested replies."""
        for index, item in enumerate(envelope.data):
            comment = self._comment(item, index)
            if comment is None:
                continue
            on_media = comment.media.id if comment.media else media_id
            parent = comment.parent_id or parent_id
            self.result.mentions.append(
                self._from_comment(
                    comment,
                    item,
                    kind="reply" if parent else "comment",
                    in_reply_to=parent or on_media,
                    media_id=on_media,
                    permalink=permalink,
                )
            )
            if comment.replies is not None:
                self.comments(comment.replies, media_id=on_media, permalink=permalink, parent_id=comment.id)

    def mentioned(self, raw: dict[str, Any]) -> None:
        """A user node answering ``fields=mentioned_comment.comment_id(..){..}`` or ``mentioned_media``."""
        if isinstance(raw.get("mentioned_media"), dict):
            media = self._media(raw["mentioned_media"], 0, "mentioned media")
            if media is not None:
                self.result.mentions.append(self._from_media(media, raw["mentioned_media"], kind="mention"))
        if isinstance(raw.get("mentioned_comment"), dict):
            item = raw["mentioned_comment"]
            comment = self._comment(item, 0)
            if comment is not None:
                media_id = comment.media.id if comment.media else None
                self.result.mentions.append(
                    self._from_comment(
                        comment, item, kind="mention", in_reply_to=media_id, media_id=media_id, permalink=None
                    )
                )

    def _is_own(self, *names: str) -> bool:
        return any(n and n.lower() in self.own for n in names)

    def _from_media(self, media: IgMedia, raw: dict[str, Any], *, kind: str) -> Mention:
        metrics = {}
        if media.like_count is not None:
            metrics["likes"] = media.like_count
        if media.comments_count is not None:
            metrics["replies"] = media.comments_count
        return Mention(
            platform=PLATFORM,
            external_id=media.id,
            source=self.source,
            kind=kind,
            author=Author(id=media.username, handle=media.username, name=media.username),
            text=media.caption,
            created_at=media.timestamp.astimezone(UTC),
            url=media.permalink,
            conversation_id=media.id,
            metrics=metrics,
            is_own=kind == "post" or self._is_own(media.username),
            raw=_clean(raw),
        )

    def _from_comment(
        self,
        comment: IgComment,
        raw: dict[str, Any],
        *,
        kind: str,
        in_reply_to: str | None,
        media_id: str | None,
        permalink: str | None,
    ) -> Mention:
        username = comment.username or (comment.author.username if comment.author else "")
        author_id = comment.author.id if comment.author else username
        metrics = {"likes": comment.like_count} if comment.like_count is not None else {}
        return Mention(
            platform=PLATFORM,
            external_id=comment.id,
            source=self.source,
            kind=kind,
            author=Author(id=author_id, handle=username, name=username),
            text=comment.text,
            created_at=comment.timestamp.astimezone(UTC),
            url=permalink,
            in_reply_to=in_reply_to,
            conversation_id=media_id,
            metrics=metrics,
            is_own=self._is_own(author_id, username),
            raw=_clean(raw),
        )
