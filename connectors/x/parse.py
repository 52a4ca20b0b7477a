"""X API v2 tweets responses -> Mentions. Used by the connector and by ``listening-post import``."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from connectors.base import Author, Mention, ParseResult, PayloadError
from connectors.validation import describe, label, load_json_object, repairer
from connectors.x.models import Meta, Tweet, TweetsEnvelope, User

X_EPOCH_MS = 1288834974657  # snowflake epoch (2010-11-04T01:42:54.657Z)


def snowflake_time(tweet_id: str) -> datetime:
    """When a post was made, from its id: the top bits of an X snowflake are milliseconds since X's epoch."""
    ms = (int(tweet_id) >> 22) + X_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(slots=True)
class TweetsPage:
    result: ParseResult
    meta: Meta
    errors: list[dict[str, Any]] = field(default_factory=list)

    def not_found(self) -> bool:
        """The request named a user or post that does not exist (X answers 200 with only ``errors``)."""
        return (
            not self.result.mentions
            and not self.result.rejected
            and any(str(e.get("type", "")).endswith("/resource-not-found") for e in self.errors)
        )


def parse_tweets_response(
    body: dict[str, Any] | str | bytes,
    *,
    source: str,
    default_kind: str = "mention",
    own_user_ids: Collection[str] = (),
    own_handles: Collection[str] = (),
) -> ParseResult:
    """Mentions from an X API v2 tweets response (``data``, ``includes.users``/``tweets``, ``meta``).

    A post that replies to another becomes ``kind="reply"``; others get ``default_kind``.
    Items that fail validation are skipped with a reason in ``rejected``. A body that is
    not a JSON object, or whose envelope is malformed, raises PayloadError.
    """
    return parse_tweets_page(
        body, source=source, default_kind=default_kind, own_user_ids=own_user_ids, own_handles=own_handles
    ).result


def parse_tweets_page(
    body: dict[str, Any] | str | bytes,
    *,
    source: str,
    default_kind: str = "mention",
    own_user_ids: Collection[str] = (),
    own_handles: Collection[str] = (),
) -> TweetsPage:
    raw = load_json_object(body, what="X response")
    repair = repairer(body)
    try:
        envelope = TweetsEnvelope.model_validate(raw)
    except ValidationError as exc:
        raise PayloadError(f"X response: unexpected shape ({describe(exc)})") from None

    users: dict[str, tuple[User, dict[str, Any]]] = {}
    for item in envelope.includes.users:
        try:
            user = User.model_validate(item)
        except ValidationError:
            # An unreadable user object only costs us the author's details: the post keeps its author_id.
            continue
        users[user.id] = (user, item)
    # Referenced posts only add context: one with an unusable id is left out, not an error.
    included_tweets = {
        t["id"]: t for t in envelope.includes.tweets if isinstance(t, dict) and isinstance(t.get("id"), str)
    }

    own_ids = set(own_user_ids)
    handles = {h.lstrip("@").lower() for h in own_handles}
    result = ParseResult()
    for index, item in enumerate(envelope.data):
        try:
            tweet = Tweet.model_validate(item)
        except ValidationError as exc:
            result.rejected.append(f"tweet {label(item, index)}: {describe(exc)}")
            continue
        result.mentions.append(
            repair(_mention(tweet, item, users, included_tweets, source, default_kind, own_ids, handles))
        )
    return TweetsPage(result=result, meta=envelope.meta, errors=envelope.errors)


def _mention(
    tweet: Tweet,
    item: dict[str, Any],
    users: dict[str, tuple[User, dict[str, Any]]],
    included_tweets: dict[str, Any],
    source: str,
    default_kind: str,
    own_ids: set[str],
    own_handles: set[str],
) -> Mention:
    user, user_raw = users.get(tweet.author_id or "", (None, None))
    if user is not None:
        author = Author(
            id=user.id,
            handle=user.username,
            name=user.name,
            followers=user.public_metrics.followers_count if user.public_metrics else 0,
            verified=user.verified,
        )
    else:
        # Without the author expansion (or for a suspended account) only the id is known.
        author = Author(id=tweet.author_id or "")
    replied_to = tweet.referenced("replied_to")
    refs = [included_tweets[r.id] for r in tweet.referenced_tweets if r.id in included_tweets]
    raw: dict[str, Any] = {"data": item}
    includes: dict[str, Any] = {}
    if user_raw is not None:
        includes["users"] = [user_raw]
    if refs:
        includes["tweets"] = refs
    if includes:
        raw["includes"] = includes
    return Mention(
        platform="x",
        external_id=tweet.id,
        source=source,
        kind="reply" if replied_to else default_kind,
        author=author,
        text=tweet.note_tweet.text if tweet.note_tweet else tweet.text,
        created_at=(tweet.created_at or snowflake_time(tweet.id)).astimezone(UTC),
        url=f"https://x.com/{author.handle or 'i/web'}/status/{tweet.id}",
        in_reply_to=replied_to,
        conversation_id=tweet.conversation_id,
        metrics=_metrics(tweet),
        lang=tweet.lang,
        is_own=bool(author.id and author.id in own_ids) or (author.handle.lower() in own_handles),
        # A quote adds words of its own and is treated as a post; only a bare retweet is a plain repost.
        is_repost=tweet.referenced("retweeted") is not None,
        raw=raw,
    )


def _metrics(tweet: Tweet) -> dict[str, int]:
    metrics = tweet.public_metrics
    if metrics is None:
        return {}
    return {
        "reposts": metrics.retweet_count,
        "replies": metrics.reply_count,
        "likes": metrics.like_count,
        "quotes": metrics.quote_count,
    }
