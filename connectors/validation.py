"""Helpers for the payload parsers: bodies and pydantic errors into typed errors and short reasons."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from connectors.base import PayloadError


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
