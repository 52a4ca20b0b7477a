"""Pydantic models of the Instagram Graph API payloads we read: IG media, IG comments and their edges.

As with Facebook, the envelope is checked as a whole and each media or comment on its own,
so one malformed item is skipped and reported while the rest of the page is kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from connectors.validation import PostTime

# IG media and comment ids are plain digits (17-18 of them today).
IgId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,30}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Paging(_Model):
    next: str | None = None
    previous: str | None = None
    cursors: dict[str, Any] | None = None


class Edge(_Model):
    """A list response, or a nested connection such as a comment's ``replies{...}``."""

    data: list[Any] = Field(default_factory=list)
    paging: Paging | None = None


class IgUserRef(_Model):
    """``from`` on a comment: the commenter (``id`` is app-scoped, ``username`` the @handle)."""

    id: IgId
    username: str = ""


class IgMediaRef(_Model):
    id: IgId


class IgComment(_Model):
    """An IG Comment (``GET /{media-id}/comments``, ``/{comment-id}/replies``, ``mentioned_comment``)."""

    id: IgId
    timestamp: PostTime
    text: str = ""
    username: str = ""
    author: IgUserRef | None = Field(default=None, alias="from")
    parent_id: IgId | None = None  # set on replies: the top-level comment they answer
    media: IgMediaRef | None = None
    like_count: int | None = None
    hidden: bool | None = None
    replies: Edge | None = None  # nested replies when requested with field expansion


class IgMedia(_Model):
    """An IG Media (``GET /{ig-user-id}/media``, ``/tags``, ``mentioned_media``): the thread's start."""

    id: IgId
    timestamp: PostTime
    caption: str = ""
    username: str = ""
    permalink: str | None = None
    media_type: str | None = None
    comments_count: int | None = None
    like_count: int | None = None
    comments: Edge | None = None
