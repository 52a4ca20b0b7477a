"""Pydantic models of the Graph API payloads we read: posts, comments and the edges that list them.

The envelope is checked as a whole; each post or comment is validated on its own, so one
malformed item is skipped and reported while the rest of the page is kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from connectors.validation import PostTime

# Graph object ids: digits, joined by "_" for posts ({page}_{post}) and comments ({post}_{comment}).
GraphId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,30}(_[0-9]{1,30}){0,2}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Paging(_Model):
    next: str | None = None
    previous: str | None = None
    cursors: dict[str, Any] | None = None


class Edge(_Model):
    """A list response, or a nested connection such as a post's ``comments{...}``."""

    data: list[Any] = Field(default_factory=list)
    paging: Paging | None = None


class Actor(_Model):
    id: GraphId
    name: str = ""


class ParentRef(_Model):
    id: GraphId


class Count(_Model):
    count: int = 0


class GraphItem(_Model):
    """A post or a comment: the fields both share, plus the ones only one of them has."""

    id: GraphId
    created_time: PostTime
    message: str | None = None
    story: str | None = None  # posts without a message ("... updated their cover photo")
    updated_time: AwareDatetime | None = None
    author: Actor | None = Field(default=None, alias="from")  # absent when Graph withholds the author
    parent: ParentRef | None = None  # comments: the comment this one replies to
    permalink_url: str | None = None
    like_count: int | None = None
    comment_count: int | None = None
    shares: Count | None = None
    comments: Edge | None = None  # nested comments (or replies) when requested with field expansion
