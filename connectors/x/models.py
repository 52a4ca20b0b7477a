"""Pydantic models of the X API v2 payloads we read: validated at the boundary, one item at a time.

The envelope (``data``, ``includes``, ``meta``, ``errors``) is checked as a whole; each
tweet and user inside it is validated on its own, so one malformed item is skipped and
reported while the rest of the page is kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from connectors.validation import PostTime

# X ids are 64-bit snowflakes sent as decimal strings (tweepy casts them with int()).
NumericId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TweetMetrics(_Model):
    retweet_count: int = 0
    reply_count: int = 0
    like_count: int = 0
    quote_count: int = 0


class ReferencedTweet(_Model):
    type: str  # replied_to | quoted | retweeted
    id: NumericId


class NoteTweet(_Model):
    text: str


class Tweet(_Model):
    id: NumericId
    text: str
    edit_history_tweet_ids: list[NumericId] = Field(default_factory=list)
    author_id: NumericId | None = None
    created_at: PostTime | None = None
    conversation_id: NumericId | None = None
    in_reply_to_user_id: NumericId | None = None
    referenced_tweets: list[ReferencedTweet] = Field(default_factory=list)
    public_metrics: TweetMetrics | None = None
    lang: str | None = None
    note_tweet: NoteTweet | None = None  # a long post: ``text`` is cut at 280, the whole text is here

    def referenced(self, kind: str) -> str | None:
        return next((r.id for r in self.referenced_tweets if r.type == kind), None)


class UserMetrics(_Model):
    followers_count: int = 0


class User(_Model):
    id: NumericId
    username: str
    name: str = ""
    verified: bool = False
    public_metrics: UserMetrics | None = None


class Meta(_Model):
    result_count: int = 0
    newest_id: NumericId | None = None
    oldest_id: NumericId | None = None
    next_token: str | None = None


class Includes(_Model):
    users: list[Any] = Field(default_factory=list)
    tweets: list[Any] = Field(default_factory=list)


class TweetsEnvelope(_Model):
    """A tweets response (timeline or search). ``data`` is absent on an empty page."""

    data: list[Any] = Field(default_factory=list)
    includes: Includes = Field(default_factory=Includes)
    meta: Meta = Field(default_factory=Meta)
    errors: list[dict[str, Any]] = Field(default_factory=list)


class SingleEnvelope(_Model):
    """A single-object response: ``GET /2/users/by/username/:u``, ``POST /2/tweets``, ``PUT .../hidden``."""

    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)


class CreatedTweet(_Model):
    id: NumericId
    text: str = ""
