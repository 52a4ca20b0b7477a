"""A post's text as the PDS counts it: what it refuses (empty, too long), and texts compared as posted."""

from __future__ import annotations

import regex

from connectors.base import PermanentError

MAX_GRAPHEMES = 300  # app.bsky.feed.post#text maxGraphemes
MAX_TEXT_BYTES = 3000  # app.bsky.feed.post#text maxLength (UTF-8 bytes)


def grapheme_length(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as the app and the PDS count them."""
    return len(regex.findall(r"\X", text))


def check_text(text: str) -> None:
    """Refuse before sending what the PDS would refuse: empty, over 300 graphemes or 3,000 bytes."""
    if not text.strip():
        raise PermanentError("the reply cannot be empty")
    if grapheme_length(text) > MAX_GRAPHEMES or len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise PermanentError(
            f"the reply is longer than Bluesky allows ({MAX_GRAPHEMES} characters, {MAX_TEXT_BYTES:,} bytes)"
        )


def comparable(text: str) -> str:
    return " ".join(text.split())
