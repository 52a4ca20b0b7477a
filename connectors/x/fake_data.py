"""What the X fake stores and how it answers: snowflake ids, users and tweets as X shapes them,
problem+json errors, and the small part of the search syntax the fake understands."""

from __future__ import annotations

import re
import shlex
from datetime import datetime
from typing import Any

from connectors.fake_server import Failure, RecordedRequest, Response

X_EPOCH_MS = 1288834974657  # the snowflake epoch: 2010-11-04T01:42:54.657Z
PROBLEM = "https://api.twitter.com/2/problems/"


def snowflake(at: datetime, sequence: int = 0) -> int:
    """An X-style id for a post made at ``at`` (the time is recoverable from the id)."""
    ms = int(at.timestamp() * 1000) - X_EPOCH_MS
    return (ms << 22) | (sequence & 0x3FFFFF)


# errors ------------------------------------------------------------------------------------


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> Response:
    body = {"title": title, "detail": detail, "type": kind, "status": status}
    return Response(status, body, content_type="application/problem+json")


def rate_limited(*, reset_at: int, limit: int = 450) -> Failure:
    """A 429 as X sends it, with the epoch second at which the window resets."""
    return Failure(
        status=429,
        body={
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        },
        headers={
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset_at),
        },
        content_type="application/problem+json",
    )


def http_error(status: int, detail: str = "") -> Failure:
    """An X problem+json error with the given status (401, 403, 404, 500, 503 ...)."""
    titles = {
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found Error",
        500: "Internal Error",
        503: "Service Unavailable",
    }
    title = titles.get(status, "Error")
    return Failure(
        status=status,
        body={"title": title, "detail": detail or title, "type": "about:blank", "status": status},
        content_type="application/problem+json",
    )


def user_not_found(value: str, parameter: str) -> Response:
    """X's answer for an unknown user: a 200 with an ``errors`` list."""
    return Response(
        200,
        {
            "errors": [
                {
                    "value": value,
                    "detail": f"Could not find user with {parameter}: [{value}].",
                    "title": "Not Found Error",
                    "resource_type": "user",
                    "parameter": parameter,
                    "resource_id": value,
                    "type": PROBLEM + "resource-not-found",
                }
            ]
        },
    )


# stored objects ----------------------------------------------------------------------------


def new_user(
    user_id: str, username: str, *, name: str | None, followers: int, verified: bool
) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": username,
        "name": name or username,
        "verified": verified,
        "public_metrics": {
            "followers_count": followers,
            "following_count": 0,
            "tweet_count": 0,
            "listed_count": 0,
        },
    }


def new_tweet(
    tweet_id: str,
    *,
    author_id: str,
    text: str,
    at: datetime,
    conversation_id: str,
    referenced: list[dict[str, str]],
    in_reply_to_user_id: str | None,
    lang: str,
    metrics: dict[str, int] | None,
) -> dict[str, Any]:
    """A tweet with every field X can send; :func:`render_tweet` picks what a request asked for."""
    counts = {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0}
    counts.update(metrics or {})
    tweet: dict[str, Any] = {
        "id": tweet_id,
        "text": text,
        "edit_history_tweet_ids": [tweet_id],
        "author_id": author_id,
        "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
        "conversation_id": conversation_id,
        "lang": lang,
        "public_metrics": counts,
    }
    if len(text) > 280:
        # A long post: X cuts ``text`` and sends the whole of it as ``note_tweet`` when asked.
        tweet["text"] = text[:280]
        tweet["note_tweet"] = {"text": text}
    if referenced:
        tweet["referenced_tweets"] = referenced
    if in_reply_to_user_id:
        tweet["in_reply_to_user_id"] = in_reply_to_user_id
    return tweet


# response shapes ---------------------------------------------------------------------------


def render_user(user: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    out = {"id": user["id"], "name": user["name"], "username": user["username"]}
    for name in fields & {"verified", "public_metrics"}:
        out[name] = user[name]
    return out


def render_tweet(tweet: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    out = {
        "id": tweet["id"],
        "text": tweet["text"],
        "edit_history_tweet_ids": tweet["edit_history_tweet_ids"],
    }
    for name in fields:
        if name in tweet and name not in out:
            out[name] = tweet[name]
    return out


# request parameters ------------------------------------------------------------------------


def query_value(request: RecordedRequest, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values else None


def query_set(request: RecordedRequest, name: str) -> set[str]:
    value = query_value(request, name)
    return {f.strip() for f in value.split(",") if f.strip()} if value else set()


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class QueryMatcher:
    """A small subset of X's search syntax: words and "quoted phrases" (all must match),
    ``OR`` between terms, ``-word`` to exclude, ``from:user``, ``is:retweet`` / ``-is:retweet``,
    ``is:reply``; other operators (``lang:``, ``has:`` ...) are accepted and ignored."""

    def __init__(self, query: str) -> None:
        try:
            tokens = shlex.split(query)
        except ValueError:
            tokens = query.split()
        self.groups: list[list[str]] = []  # AND of OR-groups
        self.excluded: list[str] = []
        self.operators: list[tuple[bool, str, str]] = []  # (negated, key, value)
        pending_or = False
        for token in tokens:
            if token == "OR":
                pending_or = True
                continue
            negated = token.startswith("-") and len(token) > 1
            body = token[1:] if negated else token
            if re.fullmatch(r"[a-z_]+:\S+", body):
                key, value = body.split(":", 1)
                self.operators.append((negated, key, value))
            elif negated:
                self.excluded.append(body.lower())
            elif pending_or and self.groups:
                self.groups[-1].append(body.lower())
            else:
                self.groups.append([body.lower()])
            pending_or = False

    def matches(self, tweet: dict[str, Any], author: dict[str, Any]) -> bool:
        text = tweet["text"].lower()
        if not all(any(term in text for term in group) for group in self.groups):
            return False
        if any(term in text for term in self.excluded):
            return False
        kinds = {r["type"] for r in tweet.get("referenced_tweets", [])}
        for negated, key, value in self.operators:
            if key == "from":
                result = author["username"].lower() == value.lstrip("@").lower()
            elif key == "is" and value == "retweet":
                result = "retweeted" in kinds
            elif key == "is" and value == "reply":
                result = "replied_to" in kinds
            else:
                continue
            if result == negated:
                return False
        return True
