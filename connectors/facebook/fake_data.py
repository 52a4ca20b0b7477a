"""Graph's shapes, for the fake: its times, ids and paging cursors, its error bodies, and the
``fields`` and ``since``/``until`` parameters as Graph reads them."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

from connectors.fake_server import Failure, RecordedRequest, Response

GRAPH = "https://graph.facebook.com"
JSON = "application/json; charset=UTF-8"


def graph_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


# errors ------------------------------------------------------------------------------------


def graph_error(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    kind: str = "OAuthException",
    status: int = 400,
    headers: dict[str, str] | None = None,
) -> Failure:
    """A Graph API error body (e.g. 190 token invalid, 10/200 permission, 100+33 object gone)."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGhIjK"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return Failure(status=status, body={"error": error}, headers=dict(headers or {}), content_type=JSON)


def rate_limited(*, regain_minutes: int, code: int = 32, object_id: str = "104729318865221") -> Failure:
    """A page rate-limit error with the Business Use Case header that says when access returns."""
    usage = (
        f'{{"{object_id}":[{{"type":"pages","call_count":100,"total_cputime":40,'
        f'"total_time":60,"estimated_time_to_regain_access":{regain_minutes}}}]}}'
    )
    return graph_error(
        code,
        "(#32) Page request limit reached",
        status=400,
        headers={"X-Business-Use-Case-Usage": usage},
    )


def object_error(object_id: str) -> Response:
    message = (
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation."
    )
    body = {"error": {"message": message, "type": "GraphMethodException", "code": 100, "error_subcode": 33}}
    return Response(400, body, content_type=JSON)


def missing_message() -> Response:
    body = {
        "error": {
            "message": "(#100) The parameter message is required",
            "type": "OAuthException",
            "code": 100,
        }
    }
    return Response(400, body, content_type=JSON)


# objects and parameters --------------------------------------------------------------------


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def query_value(request: RecordedRequest, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values else None


def seq(object_id: str) -> int:
    return int(object_id.split("_")[-1])


def parse_graph_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


def graph_param_time(value: str | None) -> datetime | None:
    """``since``/``until`` as Graph takes them: a unix timestamp or an ISO time."""
    if value is None or value == "":
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def top_level_fields(spec: str) -> list[str]:
    """``id,from{id,name},comments.limit(5){message}`` -> ["id", "from", "comments"]."""
    names, depth, current = [], 0, ""
    for char in spec:
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        elif char == "," and depth == 0:
            names.append(current)
            current = ""
            continue
        current += char
    names.append(current)
    return [re.split(r"[.{(]", n.strip(), maxsplit=1)[0] for n in names if n.strip()]


def encode_cursor(object_id: str) -> str:
    return base64.urlsafe_b64encode(object_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return ""
