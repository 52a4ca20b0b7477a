"""What the Bluesky fake stores and how it answers: record keys and cids, profiles, post views,
notifications and threads as the lexicons shape them, session tokens, and XRPC errors."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import regex

from connectors.fake_server import Failure

POST = "app.bsky.feed.post"
THREAD_VIEW = "app.bsky.feed.defs#threadViewPost"
ACCESS_LIFETIME = timedelta(hours=2)
REFRESH_LIFETIME = timedelta(days=90)
RATE_LIMIT = 3000  # per 5 minutes, as the PDS's global limit
_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"


def xrpc_error(status: int, error: str, message: str = "", headers: dict[str, str] | None = None) -> Failure:
    """An XRPC error answer: ``http_error(400, "ExpiredToken", "Token has expired")``."""
    body: dict[str, Any] = {"error": error}
    if message:
        body["message"] = message
    return Failure(status=status, body=body, headers=dict(headers or {}))


def http_error(status: int) -> Failure:
    """The XRPC error a PDS sends with each status the failure table uses."""
    error, message = {
        401: ("AuthenticationRequired", "Invalid identifier or password"),
        403: ("Forbidden", "This app password cannot use this method"),
        404: ("MethodNotImplemented", "Method Not Implemented"),
        500: ("InternalServerError", "Internal Server Error"),
        503: ("ServiceUnavailable", "Service Unavailable"),
    }.get(status, ("Error", "Error"))
    return xrpc_error(status, error, message)


def rate_limited(*, reset_at: int, limit: int = RATE_LIMIT) -> Failure:
    """A 429 as the PDS sends it: the window resets at the epoch second ``reset_at``."""
    return xrpc_error(
        429,
        "RateLimitExceeded",
        "Rate Limit Exceeded",
        headers={
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(reset_at),
            "ratelimit-policy": f"{limit};w=300",
        },
    )


def tid(at: datetime, sequence: int = 0) -> str:
    """A record key in the TID format: 13 base32-sortable characters of microseconds and a clock id."""
    value = (int(at.timestamp() * 1_000_000) << 10) | (sequence & 0x3FF)
    return "".join(_TID_CHARS[(value >> (5 * i)) & 31] for i in range(12, -1, -1))


def cid_of(data: Any) -> str:
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).digest()
    return "bafyrei" + base64.b32encode(digest).decode().lower().rstrip("=")


def iso(at: datetime) -> str:
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def jwt(payload: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(payload)}.{secrets.token_urlsafe(32)}"


def session_tokens(did: str, now: datetime) -> tuple[str, str]:
    """A new (access, refresh) JWT pair for the account ``did``, as createSession/refreshSession issue."""
    claims = {"scope": "com.atproto.appPass", "sub": did, "iat": int(now.timestamp())}
    access = jwt({**claims, "exp": int((now + ACCESS_LIFETIME).timestamp())})
    refresh = jwt(
        {**claims, "scope": "com.atproto.refresh", "exp": int((now + REFRESH_LIFETIME).timestamp())}
    )
    return access, refresh


def rate_limit_headers(now: datetime) -> dict[str, str]:
    """The headers of an answer within the limit (the window resets 5 minutes on)."""
    reset = int((now + timedelta(minutes=5)).timestamp())
    return {
        "ratelimit-limit": str(RATE_LIMIT),
        "ratelimit-remaining": str(RATE_LIMIT - 1),
        "ratelimit-reset": str(reset),
        "ratelimit-policy": f"{RATE_LIMIT};w=300",
    }


# stored objects ----------------------------------------------------------------------------


def new_profile(handle: str, *, name: str, verified: bool) -> dict[str, Any]:
    did = "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
    profile: dict[str, Any] = {"did": did, "handle": handle, "displayName": name, "labels": []}
    if verified:
        profile["verification"] = {
            "verifications": [],
            "verifiedStatus": "valid",
            "trustedVerifierStatus": "none",
        }
    return profile


def basic(profile: dict[str, Any]) -> dict[str, Any]:
    """A profile as a post or notification names its author (``profileViewBasic``)."""
    return {
        k: v for k, v in profile.items() if k in ("did", "handle", "displayName", "labels", "verification")
    }


def post_view(
    uri: str,
    record: dict[str, Any],
    profile: dict[str, Any],
    indexed: datetime,
    counts: dict[str, int] | None,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "uri": uri,
        "cid": cid_of([uri, record]),
        "author": basic(profile),
        "record": record,
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": 0,
        "quoteCount": 0,
        "bookmarkCount": 0,
        "indexedAt": iso(indexed),
        "labels": [],
    }
    view.update(counts or {})
    return view


def notification_reason(record: dict[str, Any], me: dict[str, Any]) -> tuple[str, str | None] | None:
    """Why a post notifies our account ``me`` (reply, mention, quote) and its subject; None: it does not."""
    reply = record.get("reply")
    embed = record.get("embed", {}).get("record", {})
    if reply and reply["parent"]["uri"].startswith(f"at://{me['did']}/"):
        return "reply", reply["parent"]["uri"]
    if f"@{me['handle']}" in record["text"].lower():
        return "mention", None
    if embed.get("uri", "").startswith(f"at://{me['did']}/"):
        return "quote", embed["uri"]
    return None


def notification(
    reason: str,
    profile: dict[str, Any],
    uri: str,
    cid: str,
    record: dict[str, Any],
    subject: str | None,
    at: datetime,
) -> dict[str, Any]:
    note: dict[str, Any] = {
        "uri": uri,
        "cid": cid,
        "author": basic(profile),
        "reason": reason,
        "record": record,
        "isRead": False,
        "indexedAt": iso(at),
        "labels": [],
    }
    if subject:
        note["reasonSubject"] = subject
    return note


def thread_view(post: dict[str, Any], replies: list[dict[str, Any]]) -> dict[str, Any]:
    """A post with its replies one level down, as getPostThread answers with ``depth=1``."""
    return {
        "$type": THREAD_VIEW,
        "post": post,
        "replies": [{"$type": THREAD_VIEW, "post": r, "replies": []} for r in replies],
    }


def refused_post(body: dict[str, Any], me: dict[str, Any]) -> str | None:
    """Why the PDS refuses our account's createRecord of a post (an InvalidRequest); None: it takes it."""
    record = body.get("record") or {}
    if body.get("repo") not in (me["did"], me["handle"]) or body.get("collection") != POST:
        return "Invalid repo or collection"
    text = record.get("text")
    if not isinstance(text, str) or "createdAt" not in record:
        return 'Invalid app.bsky.feed.post record: Record must have the property "text"'
    if len(regex.findall(r"\X", text)) > 300 or len(text.encode()) > 3000:
        return "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes"
    return None
