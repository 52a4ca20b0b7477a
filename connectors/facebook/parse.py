"""Graph API feed, tagged and comments responses -> Mentions (for the connector and ``import``)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ValidationError

from connectors.base import Author, Mention, ParseResult, PayloadError
from connectors.facebook.models import Edge, GraphItem
from connectors.validation import describe, label, load_json_object, repairer

EdgeName = Literal["auto", "feed", "tagged", "comments"]


def parse_graph_response(
    body: dict[str, Any] | str | bytes,
    *,
    source: str,
    edge: EdgeName = "auto",
    own_ids: Collection[str] = (),
    post_id: str | None = None,
) -> ParseResult:
    """Mentions from a Graph API list response (``data``, ``paging``), nested ``comments{data}`` included.

    ``edge`` says what was listed: ``feed`` (posts on a page; kind ``post``), ``tagged``
    (posts tagging the page; kind ``mention``) or ``comments`` of ``post_id`` (kind
    ``comment``, or ``reply`` when the item has a ``parent``). ``auto`` reads it from the
    ``paging.next`` link, or from ``parent`` fields; otherwise it assumes a feed. Posts and
    comments by ``own_ids`` (the page) are marked ``is_own``. Items that fail validation are
    skipped with a reason in ``rejected``; a body that is not a list response raises PayloadError.
    """
    raw = load_json_object(body, what="Graph response")
    if "error" in raw:
        error = raw["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise PayloadError(f"the body is a Graph API error, not a list: {str(message)[:200]}")
    if "data" not in raw:
        raise PayloadError("Graph response: no 'data' list (not a feed or comments response)")
    try:
        envelope = Edge.model_validate(raw)
    except ValidationError as exc:
        raise PayloadError(f"Graph response: unexpected shape ({describe(exc)})") from None
    if edge == "auto":
        edge = _guess_edge(envelope)
    parser = _Parser(source=source, own_ids=set(own_ids), repair=repairer(body))
    if edge == "comments":
        parser.comments(envelope, post_id=post_id, parent_id=None)
    else:
        parser.posts(envelope, kind="mention" if edge == "tagged" else "post")
    return parser.result


def _guess_edge(envelope: Edge) -> Literal["feed", "tagged", "comments"]:
    link = envelope.paging.next or envelope.paging.previous if envelope.paging else None
    if link:
        last = urlsplit(link).path.rstrip("/").rsplit("/", 1)[-1]
        if last in ("comments", "tagged", "feed"):
            return last  # type: ignore[return-value]
    if any(isinstance(item, dict) and "parent" in item for item in envelope.data):
        return "comments"
    return "feed"


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    """The item as received, minus nested connections: they become mentions of their own, and their
    ``paging.next`` links carry the access token, which must never be stored."""
    return {k: v for k, v in item.items() if k not in ("comments", "paging")}


class _Parser:
    def __init__(self, *, source: str, own_ids: set[str], repair: Callable[[Mention], Mention]) -> None:
        self.source = source
        self.repair = repair
        self.own_ids = own_ids
        self.result = ParseResult()

    def _validate(self, item: Any, index: int, what: str) -> GraphItem | None:
        try:
            return GraphItem.model_validate(item)
        except ValidationError as exc:
            self.result.rejected.append(f"{what} {label(item, index)}: {describe(exc)}")
            return None

    def posts(self, envelope: Edge, *, kind: str) -> None:
        for index, item in enumerate(envelope.data):
            post = self._validate(item, index, "post")
            if post is None:
                continue
            self.result.mentions.append(
                self._mention(post, item, kind=kind, in_reply_to=None, conversation=post.id)
            )
            if post.comments is not None:
                self.comments(post.comments, post_id=post.id, parent_id=None)

    def comments(self, envelope: Edge, *, post_id: str | None, parent_id: str | None) -> None:
        """Comments on ``post_id``; when ``parent_id`` is set they are replies to that comment."""
        for index, item in enumerate(envelope.data):
            comment = self._validate(item, index, "comment")
            if comment is None:
                continue
            parent = comment.parent.id if comment.parent else parent_id
            self.result.mentions.append(
                self._mention(
                    comment,
                    item,
                    kind="reply" if parent else "comment",
                    in_reply_to=parent or post_id,
                    conversation=post_id,
                )
            )
            if comment.comments is not None:
                self.comments(comment.comments, post_id=post_id, parent_id=comment.id)

    def _mention(
        self,
        item: GraphItem,
        raw: dict[str, Any],
        *,
        kind: str,
        in_reply_to: str | None,
        conversation: str | None,
    ) -> Mention:
        author = Author(id=item.author.id, name=item.author.name) if item.author else Author(id="")
        metrics: dict[str, int] = {}
        if item.like_count is not None:
            metrics["likes"] = item.like_count
        if item.comment_count is not None:
            metrics["replies"] = item.comment_count
        if item.shares is not None:
            metrics["reposts"] = item.shares.count
        mention = Mention(
            platform="facebook",
            external_id=item.id,
            source=self.source,
            kind=kind,
            author=author,
            text=item.message if item.message is not None else (item.story or ""),
            created_at=item.created_time.astimezone(UTC),
            url=item.permalink_url or f"https://www.facebook.com/{item.id}",
            in_reply_to=in_reply_to,
            conversation_id=conversation,
            metrics=metrics,
            is_own=bool(author.id) and author.id in self.own_ids,
            raw=_clean(raw),
        )
        return self.repair(mention)
