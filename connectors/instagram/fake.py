"""A fake of the Instagram Graph API endpoints Listening Post uses, on 127.0.0.1.

Shapes follow Meta's public reference (IG User, IG Media, IG Comment, Mentioned Comment):
paths start with a version (``/v21.0/...``); ids are digit strings; times look like
``2025-03-03T10:00:00+0000``; lists are ``{"data": [...], "paging": {"cursors": {...},
"next": "https://graph.facebook.com/...&access_token=..."}}`` (the ``next`` link repeats the
token, as the real one does); only the requested ``fields`` come back, with ``replies{...}``
expanded on comments; errors are HTTP 400 with ``{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}``.

Endpoints: ``GET /{ig-user-id}/media``, ``GET /{ig-user-id}/tags``, ``GET /{media-id}/comments``
(top-level comments), ``GET /{comment-id}/replies``, ``GET /{id}`` (a comment, or the IG user
with ``mentioned_comment.comment_id(..)`` / ``mentioned_media.media_id(..)``),
``POST /{comment-id}/replies`` (our reply: refused on a reply, as Instagram does) and
``POST /{comment-id}`` with ``hide``.

Script it::

    fake = InstagramFake(ig_user_id="17841400000000001", page_token="tok").start()
    media = fake.add_media(caption="Flu jabs at Coventry pharmacies this week")
    c = fake.add_comment(on=media["id"], text="Do I need to book?", username="sam.p")
    fake.replies   # comments the account posted through the API
    fake.hidden    # {comment id: hidden?}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime
from itertools import count
from typing import Any
from urllib.parse import urlencode

from connectors.fake_server import Clock, FakeServer, RecordedRequest, Response, utc_now
from connectors.instagram.fake_data import (
    COMMENT_DEFAULT,
    GRAPH,
    JSON,
    MEDIA_DEFAULT,
    decode_cursor,
    encode_cursor,
    error_response,
    field_specs,
    gone,
    graph_error,
    ig_time,
    param_time,
    parse_time,
    public,
    query_value,
    rate_limited,
)

__all__ = ["JSON", "InstagramFake", "graph_error", "rate_limited"]

VERSION = r"/v\d+\.\d+"


class InstagramFake(FakeServer):
    service = "instagram"

    def __init__(
        self,
        *,
        ig_user_id: str = "17841400000000001",
        username: str = "nhscovwarks",
        page_token: str | None = None,
        app_secret: str | None = None,
        clock: Clock = utc_now,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """With ``page_token`` set, other tokens get error 190; with ``app_secret`` set, a missing or
        wrong ``appsecret_proof`` gets error 100, as on the Facebook fake."""
        super().__init__(host=host, port=port, clock=clock)
        self.ig_user_id = ig_user_id
        self.username = username
        self.page_token = page_token
        self.app_secret = app_secret
        self._media: dict[str, dict[str, Any]] = {}
        self._comments: dict[str, dict[str, Any]] = {}
        self._replies: list[dict[str, Any]] = []
        self._hidden: dict[str, bool] = {}
        self._ids = count(17_900_000_000_000_001)
        self.route("GET", VERSION + r"/(?P<id>\d+)/media", self._own_media)
        self.route("GET", VERSION + r"/(?P<id>\d+)/tags", self._tags)
        self.route("GET", VERSION + r"/(?P<id>\d+)/comments", self._list_comments)
        self.route("GET", VERSION + r"/(?P<id>\d+)/replies", self._list_replies)
        self.route("GET", VERSION + r"/(?P<id>\d+)", self._node)
        self.route("POST", VERSION + r"/(?P<id>\d+)/replies", self._create_reply)
        self.route("POST", VERSION + r"/(?P<id>\d+)", self._update_comment)

    # script ------------------------------------------------------------------------------

    def add_media(
        self, *, caption: str, username: str | None = None, created_at: datetime | None = None
    ) -> dict[str, Any]:
        """Media posted by the account, or (with ``username``) by someone else, tagging it."""
        with self.lock:
            media_id = str(next(self._ids))
            code = base64.urlsafe_b64encode(media_id.encode()).decode()[:11]
            media = {
                "id": media_id,
                "caption": caption,
                "media_type": "IMAGE",
                "permalink": f"https://www.instagram.com/p/{code}/",
                "timestamp": ig_time(created_at or self.clock()),
                "username": username or self.username,
                "like_count": 0,
                "comments_count": 0,
                "_tagged": username is not None,
            }
            self._media[media_id] = media
            return public(media)

    def add_comment(
        self, *, on: str, text: str, username: str | None = None, created_at: datetime | None = None
    ) -> dict[str, Any]:
        """A comment on media ``on`` (a reply when ``on`` is a comment); by the account by default."""
        with self.lock:
            return self._add_comment(on, text, username, created_at)

    @property
    def replies(self) -> list[dict[str, Any]]:
        """Replies the account posted through ``POST /{comment-id}/replies`` (``parent_id`` = target)."""
        with self.lock:
            return [dict(r) for r in self._replies]

    @property
    def hidden(self) -> dict[str, bool]:
        with self.lock:
            return dict(self._hidden)

    # internals ---------------------------------------------------------------------------

    def _add_comment(
        self, on: str, text: str, username: str | None, created_at: datetime | None
    ) -> dict[str, Any]:
        if on in self._media:
            media_id, parent = on, None
        elif on in self._comments:
            media_id, parent = self._comments[on]["media"]["id"], on
        else:
            raise KeyError(f"no media or comment {on!r} in the fake")
        name = username or self.username
        user_id = (
            self.ig_user_id
            if username is None
            else str(17_841_000_000_000_000 + int(hashlib.sha256(name.encode()).hexdigest()[:8], 16))
        )
        comment_id = str(next(self._ids))
        comment: dict[str, Any] = {
            "id": comment_id,
            "text": text,
            "timestamp": ig_time(created_at or self.clock()),
            "username": name,
            "from": {"id": user_id, "username": name},
            "like_count": 0,
            "hidden": False,
            "media": {"id": media_id},
            "parent_id": parent,
        }
        self._comments[comment_id] = comment
        self._media[media_id]["comments_count"] += 1
        return public(comment)

    def _dispatch(self, request: RecordedRequest) -> Response:
        params = request.form if request.method == "POST" else request.query
        token = (params.get("access_token") or [""])[0]
        if self.page_token is not None and token != self.page_token:
            return error_response(190, "Invalid OAuth access token - Cannot parse access token")
        if self.app_secret is not None:
            proof = (params.get("appsecret_proof") or [""])[0]
            expected = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(proof, expected):
                return error_response(
                    100, "Invalid appsecret_proof provided in the API argument", kind="GraphMethodException"
                )
        return super()._dispatch(request)

    def not_found(self, request: RecordedRequest) -> Response:
        return error_response(2500, f"Unknown path components: {request.path}")

    def _own_media(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if match["id"] != self.ig_user_id:
            return gone(match["id"])
        items = [m for m in self._media.values() if not m["_tagged"]]
        since = param_time(query_value(request, "since"))
        items = [m for m in items if since is None or parse_time(m["timestamp"]) >= since]
        return self._listing(request, items, MEDIA_DEFAULT)

    def _tags(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if match["id"] != self.ig_user_id:
            return gone(match["id"])
        return self._listing(request, [m for m in self._media.values() if m["_tagged"]], MEDIA_DEFAULT)

    def _list_comments(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if match["id"] not in self._media:
            return gone(match["id"])
        found = [c for c in self._comments.values() if c["media"]["id"] == match["id"] and not c["parent_id"]]
        return self._listing(request, found, COMMENT_DEFAULT)

    def _list_replies(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if match["id"] not in self._comments:
            return gone(match["id"])
        found = [c for c in self._comments.values() if c["parent_id"] == match["id"]]
        return self._listing(request, found, COMMENT_DEFAULT, oldest_first=True)

    def _node(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        node_id = match["id"]
        spec = query_value(request, "fields") or "id"
        if node_id == self.ig_user_id:
            return Response(200, self._user_node(spec), content_type=JSON)
        if node_id in self._comments:
            return Response(200, self._render(self._comments[node_id], spec), content_type=JSON)
        if node_id in self._media:
            unknown = [f for f, _ in field_specs(spec) if f not in self._media[node_id] and f != "id"]
            if unknown:
                return error_response(
                    100, f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type (IGMedia)"
                )
            return Response(200, self._render(self._media[node_id], spec), content_type=JSON)
        return gone(node_id)

    def _user_node(self, spec: str) -> dict[str, Any]:
        """The IG user; ``mentioned_comment.comment_id(X){..}`` and ``mentioned_media.media_id(X)``."""
        out: dict[str, Any] = {"id": self.ig_user_id}
        for name, sub in field_specs(spec):
            if name == "username":
                out["username"] = self.username
            lookup = re.fullmatch(
                r"(mentioned_comment)\.comment_id\((\d+)\)|(mentioned_media)\.media_id\((\d+)\)", name
            )
            if lookup:
                field, wanted = (lookup[1], lookup[2]) if lookup[1] else (lookup[3], lookup[4])
                table = self._comments if field == "mentioned_comment" else self._media
                if wanted in table:
                    out[field] = self._render(table[wanted], sub or "id")
        return out

    def _listing(
        self,
        request: RecordedRequest,
        items: list[dict[str, Any]],
        default: str,
        *,
        oldest_first: bool = False,
    ) -> Response:
        limit = min(int(query_value(request, "limit") or 25), 100)
        ordered = sorted(items, key=lambda i: (i["timestamp"], int(i["id"])), reverse=not oldest_first)
        after = query_value(request, "after")
        if after:
            ids = [i["id"] for i in ordered]
            last = decode_cursor(after)
            ordered = ordered[ids.index(last) + 1 :] if last in ids else []
        page, rest = ordered[:limit], ordered[limit:]
        spec = query_value(request, "fields") or default
        body: dict[str, Any] = {"data": [self._render(i, spec) for i in page]}
        if page:
            paging: dict[str, Any] = {
                "cursors": {"before": encode_cursor(page[0]["id"]), "after": encode_cursor(page[-1]["id"])}
            }
            if rest:
                query = {k: v[0] for k, v in request.query.items() if k not in ("after", "before")}
                query["after"] = encode_cursor(page[-1]["id"])
                paging["next"] = f"{GRAPH}{request.path}?{urlencode(query)}"
            body["paging"] = paging
        return Response(200, body, content_type=JSON)

    def _render(self, item: dict[str, Any], spec: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, sub in field_specs(spec):
            base = name.split(".", 1)[0]
            if base == "replies" and "media" in item:  # a comment: its replies, oldest first, one page
                limit = int(m[1]) if (m := re.search(r"\.limit\((\d+)\)", name)) else 25
                replies = sorted(
                    (c for c in self._comments.values() if c["parent_id"] == item["id"]),
                    key=lambda c: (c["timestamp"], int(c["id"])),
                )
                edge: dict[str, Any] = {
                    "data": [self._render(r, sub or "id,text,timestamp") for r in replies[:limit]]
                }
                if len(replies) > limit:
                    query = {
                        "fields": sub or "id",
                        "limit": str(limit),
                        "after": encode_cursor(replies[limit - 1]["id"]),
                    }
                    edge["paging"] = {"next": f"{GRAPH}/v21.0/{item['id']}/replies?{urlencode(query)}"}
                out["replies"] = edge
            elif base == "media" and sub and "media" in item:  # a comment's media, expanded
                out["media"] = self._render(self._media[item["media"]["id"]], sub)
            elif base == "parent_id":
                if item.get("parent_id"):
                    out["parent_id"] = item["parent_id"]
            elif not base.startswith("_") and base in item:
                out[base] = item[base]
        out["id"] = item["id"]
        return out

    def _create_reply(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        target = match["id"]
        if target not in self._comments:
            return gone(target)
        if self._comments[target]["parent_id"]:
            return error_response(100, "(#100) Replies to replies are not supported", subcode=2534023)
        message = (request.form.get("message") or [""])[0]
        if not message.strip():
            return error_response(100, "(#100) The parameter message is required")
        comment = self._add_comment(target, message, None, None)
        self._replies.append({"id": comment["id"], "message": message, "parent_id": target})
        return Response(200, {"id": comment["id"]}, content_type=JSON)

    def _update_comment(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        target = match["id"]
        if target not in self._comments:
            return gone(target)
        value = (request.form.get("hide") or [""])[0].lower()
        if value not in ("true", "false"):
            return error_response(100, "(#100) Param hide must be a boolean")
        self._comments[target]["hidden"] = value == "true"
        self._hidden[target] = value == "true"
        return Response(200, {"success": True}, content_type=JSON)
