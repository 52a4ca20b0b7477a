"""One line of a replay stream (JSON lines, the format in DESIGN.md) -> a Mention.

A line::

    {"platform": "x", "id": "1790000000000000001", "created_at": "2024-05-01T09:15:00Z",
     "text": "...", "author": {"id": "42", "handle": "pat", "name": "Pat", "followers": 120},
     "source": "x:mentions:@NHSCovWarks"}

Optional: ``kind`` (mention, comment, reply, post, message, news; default mention),
``in_reply_to``, ``url``, ``lang``, ``reposts``; other keys are kept in ``raw``. A line is
invalid when it is not a JSON object, a required field is missing or of the wrong type,
``created_at`` is not an ISO 8601 time (or not between 2000 and 2199: such a date is a forgery,
and would overflow the SLA arithmetic), or the text is over 100,000 characters. Anything
else is accepted, and the text is kept as sent, except what no database can store: a lone
UTF-16 surrogate becomes U+FFFD and NUL is removed (``connectors.validation.safe_mention``,
which notes the change on the mention and keeps the original line in ``raw``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from connectors.base import Author, Mention
from connectors.validation import describe, repairer, utc_time

MAX_TEXT = 100_000

NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class InvalidLine(ValueError):
    """This line of the stream cannot be used; ``reason`` says why in one line (it never repeats the text)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Author(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")

    id: NonEmpty
    handle: str
    name: str
    followers: Annotated[int, Field(ge=0)]


class _Line(BaseModel):
    # strict: "42" is not a number and 42 is not a string; a stream with loose types is a broken stream.
    model_config = ConfigDict(strict=True, extra="allow")

    platform: NonEmpty
    id: NonEmpty
    created_at: str
    text: str
    author: _Author
    source: NonEmpty
    kind: Literal["mention", "comment", "reply", "post", "message", "news"] = "mention"
    in_reply_to: str | None = None
    url: str | None = None
    lang: str | None = None
    reposts: Annotated[int, Field(ge=0)] | None = None


def parse_time(value: str) -> datetime:
    """ISO 8601 (``Z`` or an offset; a time without one is taken as UTC) -> aware UTC datetime.

    ValueError when it does not parse, or is not a plausible time for a post (``utc_time``);
    the message never repeats the value.
    """
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return utc_time(parsed)


def parse_line(line: str | bytes) -> Mention:
    """The Mention on this line, or InvalidLine(reason)."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidLine("not UTF-8 text") from None
    try:
        data: Any = json.loads(line)
    except (ValueError, RecursionError):
        raise InvalidLine("not a JSON object (the line is not valid JSON)") from None
    if not isinstance(data, dict):
        raise InvalidLine(f"not a JSON object (got a JSON {type(data).__name__})")
    try:
        record = _Line.model_validate(data)
    except ValidationError as exc:
        raise InvalidLine(describe(exc)) from None
    if len(record.text) > MAX_TEXT:
        raise InvalidLine(f"text is {len(record.text):,} characters; the limit is {MAX_TEXT:,}")
    try:
        created_at = parse_time(record.created_at)
    except ValueError as exc:
        raise InvalidLine(f"created_at is {exc}") from None
    author = record.author
    return repairer(line)(
        Mention(
            platform=record.platform,
            external_id=record.id,
            source=record.source,
            kind=record.kind,
            author=Author(id=author.id, handle=author.handle, name=author.name, followers=author.followers),
            text=record.text,
            created_at=created_at,
            url=record.url,
            in_reply_to=record.in_reply_to,
            metrics={"reposts": record.reposts} if record.reposts is not None else {},
            lang=record.lang,
            raw=data,
        )
    )
