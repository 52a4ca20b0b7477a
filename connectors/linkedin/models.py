"""Pydantic models of the LinkedIn Community Management API payloads we read (versioned ``/rest`` API).

Times are epoch milliseconds; ids are URNs (``urn:li:share:…``, ``urn:li:ugcPost:…``,
``urn:li:comment:(urn:li:activity:…,…)``). As elsewhere, the envelope is checked as a whole
and each element on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from connectors.validation import utc_time


def _from_millis(value: Any) -> Any:
    """LinkedIn's epoch milliseconds as a UTC datetime (other values are left for pydantic to refuse)."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("not a time in epoch milliseconds") from None
    return value


Millis = Annotated[datetime, BeforeValidator(_from_millis), AfterValidator(utc_time)]
Urn = Annotated[str, StringConstraints(pattern=r"^urn:li:[A-Za-z]+:\S{1,200}$")]
CommentUrn = Annotated[
    str, StringConstraints(pattern=r"^urn:li:comment:\(urn:li:[A-Za-z]+:[^,()\s]{1,60},[0-9]{1,30}\)$")
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Link(_Model):
    rel: str = ""
    href: str = ""


class Paging(_Model):
    start: int = 0
    count: int = 0
    total: int | None = None
    links: list[Link] = Field(default_factory=list)


class Collection(_Model):
    """A Rest.li collection: ``{"elements": [...], "paging": {...}}``."""

    elements: list[Any] = Field(default_factory=list)
    paging: Paging | None = None


class AuditStamp(_Model):
    actor: str | None = None
    time: Millis


class Message(_Model):
    text: str = ""


class CommentsSummary(_Model):
    first_level: int = Field(default=0, alias="totalFirstLevelComments")


class LikesSummary(_Model):
    total: int = Field(default=0, alias="totalLikes")


class Comment(_Model):
    """A comment from ``socialActions/{urn}/comments``."""

    urn: CommentUrn = Field(alias="commentUrn")
    actor: Urn
    created: AuditStamp
    object: Urn  # the activity the comment is on
    message: Message = Field(default_factory=Message)
    parent: CommentUrn | None = Field(default=None, alias="parentComment")  # on a comment on a comment
    comments: CommentsSummary | None = Field(default=None, alias="commentsSummary")
    likes: LikesSummary | None = Field(default=None, alias="likesSummary")


class Post(_Model):
    """A post from ``/rest/posts`` (the organisation's own, or one that mentions it)."""

    id: Urn
    author: Urn
    created_at: Millis = Field(alias="createdAt")
    commentary: str = ""
    lifecycle_state: str | None = Field(default=None, alias="lifecycleState")


class Notification(_Model):
    """An element of ``organizationalEntityNotifications`` (pull, kept by LinkedIn for 60 days)."""

    action: str
    at: Millis = Field(alias="lastModifiedAt")
    source_post: Urn | None = Field(default=None, alias="sourcePost")
