"""Pydantic models of the AT Protocol payloads we read, validated at the boundary one item at a time.

Names follow the lexicons (``app.bsky.notification.listNotifications``, ``app.bsky.feed.searchPosts``,
``app.bsky.feed.getPosts``, ``app.bsky.feed.getPostThread``), camelCase as on the wire. The
envelope is checked as a whole; each notification or post inside it on its own, so one
malformed item is skipped and reported while the rest of the page is kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from connectors.validation import PostTime

# Ids are stored in columns of 100 characters: a did:plc post URI is about 70.
Did = Annotated[str, StringConstraints(pattern=r"^did:[a-z]+:[A-Za-z0-9._:%-]+$", max_length=100)]
PostUri = Annotated[
    str,
    StringConstraints(
        pattern=r"^at://did:[a-z]+:[A-Za-z0-9._:%-]+/app\.bsky\.feed\.post/[A-Za-z0-9._~:-]+$", max_length=100
    ),
]
Cid = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+=]{8,256}$")]

POST_TYPE = "app.bsky.feed.post"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StrongRef(_Model):
    """``com.atproto.repo.strongRef``: a record at one version."""

    uri: PostUri
    cid: Cid


class ReplyRef(_Model):
    root: StrongRef
    parent: StrongRef


class PostRecord(_Model):
    """The ``app.bsky.feed.post`` record inside a notification or a post view."""

    type: str = Field(default=POST_TYPE, alias="$type")
    text: str
    createdAt: str | None = None  # set by the writer's client: checked separately, indexedAt is the fallback
    reply: ReplyRef | None = None
    langs: list[str] = Field(default_factory=list)


class Verification(_Model):
    verifiedStatus: str = "none"


class Profile(_Model):
    """``app.bsky.actor.defs#profileView`` / ``#profileViewBasic`` (no follower counts in either)."""

    did: Did
    handle: str = ""
    displayName: str = ""
    verification: Verification | None = None


class Notification(_Model):
    uri: str  # a like or follow has a non-post URI: checked once the reason says it is a post
    cid: str
    author: Profile
    reason: str
    reasonSubject: str | None = None
    record: dict[str, Any]
    isRead: bool = False
    indexedAt: PostTime


class PostView(_Model):
    """``app.bsky.feed.defs#postView``."""

    uri: PostUri
    cid: Cid
    author: Profile
    record: PostRecord
    replyCount: int = 0
    repostCount: int = 0
    likeCount: int = 0
    quoteCount: int = 0
    indexedAt: PostTime


class NotificationsEnvelope(_Model):
    notifications: list[Any]
    cursor: str | None = None
    seenAt: str | None = None


class PostsEnvelope(_Model):
    """``searchPosts`` (with ``cursor``) and ``getPosts`` (without)."""

    posts: list[Any]
    cursor: str | None = None
    hitsTotal: int | None = None


class ThreadEnvelope(_Model):
    thread: dict[str, Any]


class ThreadViewPost(_Model):
    """``app.bsky.feed.defs#threadViewPost``: a post and (from ``getPostThread``) the replies to it."""

    post: dict[str, Any]
    replies: list[Any] = Field(default_factory=list)
