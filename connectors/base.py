"""The contract every connector keeps: plain data in, plain data out, typed errors.

A connector speaks to one platform. It never touches the database: the worker hands it
a source and a checkpoint, and gets back mentions and the next checkpoint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import quote, quote_plus

Kind = Literal["mention", "comment", "reply", "post", "message", "news"]
KINDS: tuple[str, ...] = ("mention", "comment", "reply", "post", "message", "news")


@dataclass(frozen=True, slots=True)
class Author:
    id: str
    handle: str = ""
    name: str = ""
    followers: int = 0
    verified: bool = False


@dataclass(slots=True)
class Mention:
    platform: str  # "x" | "facebook" | "rss" | ...
    external_id: str  # unique per platform
    source: str  # the source key that found it, e.g. "x:mentions:@NHSCovWarks"
    kind: str  # one of KINDS
    author: Author
    text: str
    created_at: datetime  # timezone-aware UTC
    url: str | None = None
    in_reply_to: str | None = None  # external id of the parent post/comment
    conversation_id: str | None = None  # platform thread key (root post id)
    metrics: dict[str, int] = field(default_factory=dict)  # reposts, likes, replies, quotes
    lang: str | None = None
    is_own: bool = False  # written by the board's own account
    is_repost: bool = False  # a plain repost/retweet with nothing added
    raw: dict[str, Any] = field(default_factory=dict)  # the payload as received
    # Set by connectors.validation.safe_mention when it had to change characters no database stores.
    text_note: str | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Opaque per-source cursor. ``cursor`` is since_id / since time / etag as the connector likes.

    ``rejected`` lists the items the fetch that made this checkpoint skipped (one reason each,
    e.g. ``"tweet 123: text: Field required"``): the cursor has moved past them, so they are
    reported once here for the worker to count and show, not retried. It is not part of the
    cursor and need not be stored with it.
    """

    cursor: dict[str, Any] = field(default_factory=dict)
    rejected: tuple[str, ...] = ()


@dataclass(slots=True)
class ParseResult:
    """What a payload parser made of one response body: the good items and why the others were skipped."""

    mentions: list[Mention] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def extend(self, other: ParseResult) -> None:
        self.mentions.extend(other.mentions)
        self.rejected.extend(other.rejected)


def mask_secret(secret: str | None) -> str:
    """How a credential is shown in reprs and logs: never the value, at most its edges (``a…z``)."""
    if not secret:
        return "<unset>"
    if len(secret) < 12:
        return "***"
    return f"{secret[0]}…{secret[-1]}"


# Credentials the connectors of this process hold, registered when each is built.
_known_secrets: set[str] = set()
_MIN_SECRET_LENGTH = 8  # shorter values would mask ordinary words
_CREDENTIAL_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization header values repeated in a message: "Bearer AAAA...", "OAuth oauth_token=..."
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=%-]{8,}"), r"\1 ***"),
    (re.compile(r'(?i)\b(oauth_[a-z_]+)="[^"]*"'), r'\1="***"'),
    # Query or form parameters that carry credentials (Graph's access_token, appsecret_proof, a feed's apikey)
    (
        re.compile(
            r"(?i)(?<![A-Za-z0-9_])((?:access_|refresh_|id_|auth_|api_)?token|client_secret|app_?secret|"
            r"appsecret_proof|api_?key|apikey|key|secret|password|passwd|pwd|signature|sig|oauth_[a-z_]+)"
            r"(=|%3D)([^&\s\"'#<>]+)"
        ),
        r"\1\2***",
    ),
    # user:password@ in a URL
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)([^/@\s:]+):([^/@\s]+)@"), r"\1\2:***@"),
)


def register_secret(*values: str | None) -> None:
    """Have every later ConnectorError message mask these values (a connector calls this when built)."""
    _known_secrets.update(v for v in values if v and len(v) >= _MIN_SECRET_LENGTH)


def scrub(text: str) -> str:
    """``text`` with credentials masked: the registered ones (as they are or URL-encoded) and anything
    shaped like one (a bearer token, an ``access_token=`` parameter, a password in a URL)."""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, mask_secret(secret))
    for pattern, replacement in _CREDENTIAL_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class ConnectorError(Exception):
    """Base of every error a connector raises. Its message is scrubbed of credentials here, once,
    for every connector: it is shown on the admin page, stored in the audit log and logged."""

    permanent: bool = False

    def __init__(self, message: str, *, retry_at: datetime | None = None) -> None:
        message = scrub(message)
        super().__init__(message)
        self.message = message
        self.retry_at = retry_at


class TemporaryError(ConnectorError):
    """Try again later: rate limit (retry_at = the reset time), 5xx, timeout, connection refused."""

    permanent = False


class PermanentError(ConnectorError):
    """Stop and tell an admin: token revoked or expired, permission missing, object gone."""

    permanent = True


class GoneError(PermanentError):
    """The object is gone: deleted, or never existed (404, Graph 100/33). Replying to it will never work."""


class PayloadError(TemporaryError):
    """The platform sent a body we cannot parse (malformed JSON): retried, since it is usually a glitch."""


class LookupIncomplete(ConnectorError):
    """The platform cannot say for sure whether our earlier post exists (more than it lets us read).

    Not retried: a person checks the platform and says "posted" or "not posted".
    """


class Connector(Protocol):
    slug: str
    max_reply_length: int

    def fetch(self, source: str, checkpoint: Checkpoint) -> tuple[list[Mention], Checkpoint]: ...

    def reply(self, *, source: str, in_reply_to: str, text: str, idempotency_key: str) -> str: ...

    def find_reply(
        self, *, source: str, in_reply_to: str, text: str, since: datetime | None = None
    ) -> str | None:
        """The platform id of a reply our account already posted to ``in_reply_to`` with this text, if any.

        Neither X nor the Graph API accepts an idempotency key, so the outbox must call this
        before re-sending a reply whose earlier attempt has no recorded outcome (a crash
        between the platform accepting it and the database recording it). ``since``: the
        first attempt's start; nothing older can be ours. However many posts the account
        made since, the answer is sure, or ``LookupIncomplete`` says that it cannot be.
        """
        ...

    def hide(self, *, source: str, external_id: str, hidden: bool = True) -> None: ...
