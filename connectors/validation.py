"""Helpers for the payload parsers: bodies and pydantic errors into typed errors and short reasons."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, ValidationError

from connectors.base import Mention, PayloadError

# Posts are dated within these bounds. Beyond them a time is a forgery or a bug, and it would break
# later arithmetic (SLA due times overflow past 9999-12-31; year 1 cannot be shown in local time).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def utc_time(value: datetime) -> datetime:
    """An aware time moved to UTC; ValueError when it cannot be (year 1 at +05:00) or is not plausible."""
    try:
        moved = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None
    if not EARLIEST <= moved < LATEST:
        raise ValueError(f"not between {EARLIEST.year} and {LATEST.year - 1}")
    return moved


# A post's creation time as the models validate it: aware, in UTC, plausible.
PostTime = Annotated[AwareDatetime, AfterValidator(utc_time)]


def load_json_object(body: dict[str, Any] | str | bytes, *, what: str) -> dict[str, Any]:
    """``body`` as a dict, or PayloadError when it is not JSON or not a JSON object."""
    if isinstance(body, dict):
        return body
    try:
        parsed = json.loads(body)
    except (ValueError, TypeError, RecursionError) as exc:
        raise PayloadError(f"{what}: the body is not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(parsed, dict):
        raise PayloadError(f"{what}: the body is a JSON {type(parsed).__name__}, not an object")
    return parsed


def describe(error: ValidationError) -> str:
    """A one-line reason from a pydantic error, without echoing the (possibly huge or personal) input."""
    parts = []
    for item in error.errors(include_url=False, include_input=False)[:3]:
        where = ".".join(str(p) for p in item["loc"]) or "value"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def label(item: Any, index: int) -> str:
    """How a rejected item is named in reasons: its id when it has a usable one, else its position."""
    if isinstance(item, dict) and isinstance(item.get("id"), str) and len(item["id"]) <= 64:
        return item["id"]
    return f"#{index}"


# --- text both databases can store ------------------------------------------------------------

# A lone UTF-16 surrogate ("\ud800" is valid JSON) cannot be encoded to UTF-8, so neither SQLite
# nor psycopg will take it; PostgreSQL refuses NUL in text and in JSONB. One such post would fail
# its whole batch on every poll, so the parsers repair it here and say what they changed.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
ORIGINAL_KEY = "original_json"  # raw[ORIGINAL_KEY]: the payload as received, as JSON with \u escapes


@dataclass
class Repairs:
    """What ``safe_text`` changed: lone surrogates replaced by U+FFFD, NUL characters removed."""

    replaced: int = 0
    removed: int = 0

    def __bool__(self) -> bool:
        return bool(self.replaced or self.removed)

    def note(self) -> str:
        """The sentence shown with the post, e.g. ``2 characters could not be shown and were replaced``."""
        parts = []
        if self.replaced:
            parts.append(
                f"{_count(self.replaced)} could not be shown and {_were(self.replaced)} replaced with �"
            )
        if self.removed:
            parts.append(f"{_count(self.removed, 'NUL character')} {_were(self.removed)} removed")
        return "; ".join(parts)


def _count(n: int, what: str = "character") -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _were(n: int) -> str:
    return "were" if n != 1 else "was"


def storable(value: str) -> bool:
    """Whether both databases take ``value`` as it is (checked the cheap way first: most text is ASCII)."""
    if value.isascii():
        return "\x00" not in value
    return _UNSTORABLE.search(value) is None


def _raw_storable(raw: dict[str, Any]) -> bool:
    try:
        dumped = json.dumps(raw, ensure_ascii=False)  # in C: much cheaper than walking the payload
    except (TypeError, ValueError):
        return False  # not plain JSON: let safe_value walk it
    return "\\u0000" not in dumped and storable(dumped)


def safe_text(value: str, repairs: Repairs) -> str:
    """``value`` with lone surrogates as U+FFFD and NUL removed, counted in ``repairs``."""
    if storable(value):
        return value
    without_nul = value.replace("\x00", "")
    repairs.removed += len(value) - len(without_nul)
    # Through UTF-16 and back: a surrogate pair that Python kept as two code points joins up,
    # and each lone surrogate left becomes one U+FFFD.
    joined = without_nul.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    repairs.replaced += joined.count("\ufffd") - without_nul.count("\ufffd")
    return joined


def safe_value(value: Any, repairs: Repairs) -> Any:
    """A JSON-like value (dicts, lists, strings ...) with every string and key made safe."""
    if isinstance(value, str):
        return safe_text(value, repairs)
    if isinstance(value, dict):
        return {safe_text(str(k), repairs): safe_value(v, repairs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_value(v, repairs) for v in value]
    return value


# How a JSON body can carry a NUL or a lone surrogate: only as an escape (raw NUL is invalid JSON,
# a raw surrogate is invalid UTF-8). The escape's hex digits may be in either case.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])")


def repairer(body: dict[str, Any] | str | bytes) -> Callable[[Mention], Mention]:
    """``safe_mention`` for a body that may hold what no database stores, else a no-op.

    Checking the body once is far cheaper than checking each mention and its raw payload,
    and almost every body is clean.
    """
    if isinstance(body, dict):
        return safe_mention
    if isinstance(body, str):
        if not storable(body):
            return safe_mention
        body = body.encode("utf-8")
    suspect = b"\\u" in body and _UNSTORABLE_ESCAPE.search(body) is not None
    return safe_mention if suspect else _unchanged


def _unchanged(m: Mention) -> Mention:
    return m


def _safe_optional(value: str | None, repairs: Repairs) -> str | None:
    return None if value is None else safe_text(value, repairs)


def safe_mention(m: Mention) -> Mention:
    """``m`` with text the databases accept; ``text_note`` says what changed, the raw keeps the original.

    The raw payload is stored repaired too (JSONB refuses the same characters), with the
    original beside it under ``original_json`` as JSON text whose ``\\u`` escapes both accept.
    """
    in_text, in_details, in_raw = Repairs(), Repairs(), Repairs()
    m.text = safe_text(m.text, in_text)
    a = m.author
    m.author = replace(
        a,
        id=safe_text(a.id, in_details),
        handle=safe_text(a.handle, in_details),
        name=safe_text(a.name, in_details),
    )
    m.external_id = safe_text(m.external_id, in_details)
    m.source = safe_text(m.source, in_details)
    m.url = _safe_optional(m.url, in_details)
    m.in_reply_to = _safe_optional(m.in_reply_to, in_details)
    m.conversation_id = _safe_optional(m.conversation_id, in_details)
    m.lang = _safe_optional(m.lang, in_details)
    raw = m.raw if _raw_storable(m.raw) else safe_value(m.raw, in_raw)
    if in_raw:
        raw[ORIGINAL_KEY] = json.dumps(m.raw, ensure_ascii=True)
        m.raw = raw
    notes = [in_text.note()] if in_text else []
    if in_details:
        notes.append("the author's details or the post's link had characters replaced")
    if in_raw and not notes:
        notes.append("the stored payload had characters replaced")
    if notes:
        m.text_note = ("; ".join(notes) + "; the original is kept with the post")[:200]
    return m
