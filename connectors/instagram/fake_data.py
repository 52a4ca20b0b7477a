"""Instagram's Graph shapes, for the fake: its times, error bodies and paging cursors, and the
``fields`` (with ``{sub-fields}``) and ``since`` parameters as Graph reads them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from connectors.fake_server import Failure, RecordedRequest, Response

GRAPH = "https://graph.facebook.com"
JSON = "application/json; charset=UTF-8"
MEDIA_DEFAULT = "id"
COMMENT_DEFAULT = "id,text,timestamp"


def ig_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def graph_error(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    kind: str = "OAuthException",
    status: int = 400,
    headers: dict[str, str] | None = None,
) -> Failure:
    """A Graph API error body (190 token, 10/200 permission, 100+33 object gone, 4/17/32/613 limits)."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGhIjK"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return Failure(status=status, body={"error": error}, headers=dict(headers or {}), content_type=JSON)


def rate_limited(*, regain_minutes: int, ig_user_id: str) -> Failure:
    """An Instagram business-use-case limit (code 80002) with the header saying when access returns."""
    usage = (
        f'{{"{ig_user_id}":[{{"type":"instagram","call_count":100,"total_cputime":30,'
        f'"total_time":45,"estimated_time_to_regain_access":{regain_minutes}}}]}}'
    )
    return graph_error(
        80002,
        "There have been too many calls to this Instagram account. Wait a bit and try again.",
        headers={"X-Business-Use-Case-Usage": usage},
    )


def error_response(
    code: int, message: str, *, subcode: int | None = None, kind: str = "OAuthException"
) -> Response:
    failure = graph_error(code, message, subcode=subcode, kind=kind)
    return Response(failure.status, failure.body, content_type=JSON)


def gone(object_id: str) -> Response:
    return error_response(
        100,
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation.",
        subcode=33,
        kind="GraphMethodException",
    )


# objects and parameters --------------------------------------------------------------------


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def query_value(request: RecordedRequest, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values else None


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


def param_time(value: str | None) -> datetime | None:
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def field_specs(spec: str) -> list[tuple[str, str]]:
    """``id,from{id,username}`` -> [("id", ""), ("from", "id,username")]: names with their sub-fields."""
    out, depth, name, sub = [], 0, "", ""
    for char in spec + ",":
        if char == "{":
            depth += 1
            if depth == 1:
                continue
        elif char == "}":
            depth -= 1
            if depth == 0:
                continue
        if depth == 0 and char == ",":
            if name.strip():
                out.append((name.strip(), sub))
            name, sub = "", ""
        elif depth == 0:
            name += char
        else:
            sub += char
    return out


def encode_cursor(object_id: str) -> str:
    return base64.urlsafe_b64encode(object_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return ""
