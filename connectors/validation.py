"""Helpers for the payload parsers: bodies and pydantic errors into typed errors and short reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, ValidationError

from connectors.base import PayloadError

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
