"""A fake of the Facebook Graph API endpoints Listening Post uses, on 127.0.0.1.

Shapes follow the real API: every path starts with a version (``/v21.0/...``); ids are
numeric strings joined by ``_`` (``{page}_{post}``, ``{post}_{comment}``); times look like
``2024-05-01T10:00:00+0000``; lists come as ``{"data": [...], "paging": {"cursors": ...,
"next": "https://graph.facebook.com/...&access_token=..."}}`` (the ``next`` link repeats the
token, as the real one does); errors are HTTP 400 with ``{"error": {"message", "type",
"code", "error_subcode", "fbtrace_id"}}``; only the requested ``fields`` are returned.

Endpoints: ``GET /{page-id}/feed``, ``GET /{page-id}/posts`` (the page's own posts),
``GET /{page-id}/tagged``, ``GET /{object-id}/comments`` (``filter=stream`` adds replies with
``parent``), ``POST /{page-id}/feed`` (a new post by the page), ``POST /{object-id}/comments``
(our reply), ``POST /{comment-id}`` with ``is_hidden``.

Script it::

    fake = FakeGraphApi(page_id="104729318865221", page_token="tok", app_secret="s").start()
    post = fake.add_post(text="Our winter vaccine clinics open on Monday")       # by the page
    c = fake.add_comment(on=post["id"], text="Where is the nearest?", author_name="Sam Patel")
    fake.inject(graph_error(190, "Error validating access token"), path="/feed$")
    fake.replies    # comments the page posted through the API, in order
    fake.posts_published  # posts the page published through the API, in order
    fake.hidden     # {comment id: hidden?}
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from itertools import count
from typing import Any
from urllib.parse import urlencode

from connectors.facebook.fake_data import (
    GRAPH,
    JSON,
    decode_cursor,
    encode_cursor,
    graph_error,
    graph_param_time,
    graph_time,
    missing_message,
    object_error,
    parse_graph_time,
    public,
    query_value,
    rate_limited,
    seq,
    top_level_fields,
)
from connectors.fake_server import Clock, FakeServer, RecordedRequest, Response, utc_now

__all__ = ["JSON", "FakeGraphApi", "graph_error", "rate_limited"]

VERSION = r"/v\d+\.\d+"


class FakeGraphApi(FakeServer):
    service = "graph"

    def __init__(
        self,
        *,
        page_id: str = "104729318865221",
        page_name: str = "NHS Coventry and Warwickshire",
        page_token: str | None = None,
        app_secret: str | None = None,
        clock: Clock = utc_now,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """With ``page_token`` set, other tokens get error 190; with ``app_secret`` set, a missing or
        wrong ``appsecret_proof`` gets error 100, as a real app with "Require App Secret" does."""
        super().__init__(host=host, port=port, clock=clock)
        self.page_id = page_id
        self.page_name = page_name
        self.page_token = page_token
        self.app_secret = app_secret
        self._posts: dict[str, dict[str, Any]] = {}
        self._comments: dict[str, dict[str, Any]] = {}
        self._replies: list[dict[str, Any]] = []
        self._posts_published: list[dict[str, Any]] = []
        self._hidden: dict[str, bool] = {}
        self._ids = count(900_000_000_000_001)
        self.route("GET", VERSION + r"/(?P<id>\w+)/feed", self._feed)
        self.route("GET", VERSION + r"/(?P<id>\w+)/posts", self._page_posts)
        self.route("GET", VERSION + r"/(?P<id>\w+)/tagged", self._tagged)
        self.route("POST", VERSION + r"/(?P<id>\w+)/feed", self._create_post)
        self.route("GET", VERSION + r"/(?P<id>\w+)/comments", self._list_comments)
        self.route("POST", VERSION + r"/(?P<id>\w+)/comments", self._create_comment)
        self.route("POST", VERSION + r"/(?P<id>\w+)", self._update_object)

    # script ------------------------------------------------------------------------------

    def add_post(
        self,
        *,
        text: str,
        author_id: str | None = None,
        author_name: str | None = None,
        created_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A post on the page's feed: by the page itself unless an author id or name is given."""
        with self.lock:
            return self._add_post(text, author_id, author_name, created_at, tagged=False)

    def add_tagged_post(
        self,
        *,
        text: str,
        author_id: str | None = None,
        author_name: str = "Someone",
        created_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A post elsewhere on Facebook that tags the page (shows on ``/{page}/tagged``, not the feed)."""
        with self.lock:
            return self._add_post(text, author_id, author_name, created_at, tagged=True)

    def add_comment(
        self,
        *,
        on: str,
        text: str,
        author_id: str | None = None,
        author_name: str | None = None,
        created_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A comment on post ``on`` (a reply if ``on`` is a comment); by the page unless given an author."""
        with self.lock:
            return self._add_comment(on, text, author_id, author_name, created_at)

    @property
    def replies(self) -> list[dict[str, Any]]:
        """Comments the page posted through ``POST /{id}/comments``, oldest first (``parent_id`` = target)."""
        with self.lock:
            return [dict(r) for r in self._replies]

    @property
    def posts_published(self) -> list[dict[str, Any]]:
        """Posts the page published through ``POST /{page-id}/feed``, oldest first (``id``, ``message``)."""
        with self.lock:
            return [dict(p) for p in self._posts_published]

    @property
    def hidden(self) -> dict[str, bool]:
        with self.lock:
            return dict(self._hidden)

    # internals ---------------------------------------------------------------------------

    def _author(self, author_id: str | None, author_name: str | None) -> dict[str, str]:
        if author_id is None and author_name is None:
            return {"id": self.page_id, "name": self.page_name}
        name = author_name or "Facebook user"
        if author_id is None:
            author_id = str(10_000_000_000 + int(hashlib.sha256(name.encode()).hexdigest()[:8], 16))
        return {"id": author_id, "name": name}

    def _add_post(
        self,
        text: str,
        author_id: str | None,
        author_name: str | None,
        created_at: datetime | None,
        *,
        tagged: bool,
    ) -> dict[str, Any]:
        at = graph_time(created_at or self.clock())
        owner = self.page_id if not tagged else str(next(self._ids))
        post_id = f"{owner}_{next(self._ids)}"
        post = {
            "id": post_id,
            "message": text,
            "created_time": at,
            "updated_time": at,
            "from": self._author(author_id, author_name),
            "permalink_url": f"https://www.facebook.com/{post_id.replace('_', '/posts/')}",
            "_tagged": tagged,
        }
        self._posts[post_id] = post
        return public(post)

    def _add_comment(
        self, on: str, text: str, author_id: str | None, author_name: str | None, created_at: datetime | None
    ) -> dict[str, Any]:
        at = graph_time(created_at or self.clock())
        if on in self._posts:
            post_id, parent = on, None
        elif on in self._comments:
            post_id, parent = self._comments[on]["_post"], on
        else:
            raise KeyError(f"no post or comment {on!r} in the fake")
        comment_id = f"{post_id.split('_')[-1]}_{next(self._ids)}"
        comment = {
            "id": comment_id,
            "message": text,
            "created_time": at,
            "from": self._author(author_id, author_name),
            "permalink_url": f"{self._posts[post_id]['permalink_url']}?comment_id={seq(comment_id)}",
            "like_count": 0,
            "comment_count": 0,
            "is_hidden": False,
            "_post": post_id,
            "_parent": parent,
        }
        self._comments[comment_id] = comment
        self._posts[post_id]["updated_time"] = max(self._posts[post_id]["updated_time"], at)
        if parent:
            self._comments[parent]["comment_count"] += 1
        return public(comment)

    def _check_auth(self, request: RecordedRequest) -> Response | None:
        params = request.form if request.method == "POST" else request.query
        token = (params.get("access_token") or [""])[0]
        if self.page_token is not None and token != self.page_token:
            body = {
                "error": {
                    "message": "Invalid OAuth access token - Cannot parse access token",
                    "type": "OAuthException",
                    "code": 190,
                }
            }
            return Response(400, body, content_type=JSON)
        if self.app_secret is not None:
            proof = (params.get("appsecret_proof") or [""])[0]
            expected = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(proof, expected):
                message = (
                    "Invalid appsecret_proof provided in the API argument"
                    if proof
                    else "API calls from the server require an appsecret_proof argument"
                )
                body = {"error": {"message": message, "type": "GraphMethodException", "code": 100}}
                return Response(400, body, content_type=JSON)
        return None

    def _dispatch(self, request: RecordedRequest) -> Response:
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        response = super()._dispatch(request)
        response.headers.setdefault("X-App-Usage", '{"call_count":1,"total_cputime":1,"total_time":1}')
        return response

    def not_found(self, request: RecordedRequest) -> Response:
        return Response(
            400,
            {
                "error": {
                    "message": f"Unknown path components: {request.path}",
                    "type": "OAuthException",
                    "code": 2500,
                }
            },
            content_type=JSON,
        )

    def _feed(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if match["id"] != self.page_id:
            return object_error(match["id"])
        posts = [p for p in self._posts.values() if not p["_tagged"]]
        return self._listing(
            request, match, posts, newest_first=True, default_fields="id,message,created_time"
        )

    def _page_posts(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if match["id"] != self.page_id:
            return object_error(match["id"])
        posts = [p for p in self._posts.values() if not p["_tagged"] and p["from"]["id"] == self.page_id]
        return self._listing(
            request, match, posts, newest_first=True, default_fields="id,message,created_time"
        )

    def _tagged(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if match["id"] != self.page_id:
            return object_error(match["id"])
        posts = [p for p in self._posts.values() if p["_tagged"]]
        return self._listing(
            request, match, posts, newest_first=True, default_fields="id,message,created_time"
        )

    def _list_comments(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        object_id = match["id"]
        if object_id not in self._posts and object_id not in self._comments:
            return object_error(object_id)
        stream = query_value(request, "filter") == "stream"
        if object_id in self._posts:
            found = [
                c
                for c in self._comments.values()
                if c["_post"] == object_id and (stream or c["_parent"] is None)
            ]
        else:
            found = [c for c in self._comments.values() if c["_parent"] == object_id]
        newest_first = query_value(request, "order") == "reverse_chronological"
        return self._listing(
            request, match, found, newest_first=newest_first, default_fields="id,message,created_time,from"
        )

    def _listing(
        self,
        request: RecordedRequest,
        match: re.Match[str],
        items: list[dict[str, Any]],
        *,
        newest_first: bool,
        default_fields: str,
    ) -> Response:
        try:
            limit = min(int(query_value(request, "limit") or 25), 100)
            since = graph_param_time(query_value(request, "since"))
            until = graph_param_time(query_value(request, "until"))
        except ValueError as exc:
            error = {"error": {"message": f"(#100) {exc}", "type": "OAuthException", "code": 100}}
            return Response(400, error, content_type=JSON)
        ordered = sorted(items, key=lambda i: (i["created_time"], seq(i["id"])), reverse=newest_first)
        ordered = [
            i
            for i in ordered
            if (since is None or parse_graph_time(i["created_time"]) >= since)
            and (until is None or parse_graph_time(i["created_time"]) <= until)
        ]
        after = query_value(request, "after")
        if after:
            last = decode_cursor(after)
            ids = [i["id"] for i in ordered]
            ordered = ordered[ids.index(last) + 1 :] if last in ids else []
        page, rest = ordered[:limit], ordered[limit:]
        fields = top_level_fields(query_value(request, "fields") or default_fields)
        body: dict[str, Any] = {"data": [self._render(i, fields) for i in page]}
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

    def _render(self, item: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in fields:
            if name == "parent":
                if item.get("_parent"):
                    parent = self._comments[item["_parent"]]
                    out["parent"] = {"id": parent["id"], "created_time": parent["created_time"]}
            elif not name.startswith("_") and name in item:
                out[name] = item[name]
        out["id"] = item["id"]
        return out

    def _create_comment(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        target = match["id"]
        if target not in self._posts and target not in self._comments:
            return object_error(target)
        message = (request.form.get("message") or [""])[0]
        if not message.strip():
            return missing_message()
        comment = self._add_comment(target, message, None, None, None)
        self._replies.append({"id": comment["id"], "message": message, "parent_id": target})
        return Response(200, {"id": comment["id"]}, content_type=JSON)

    def _create_post(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if match["id"] != self.page_id:
            return object_error(match["id"])
        message = (request.form.get("message") or [""])[0]
        if not message.strip():
            return missing_message()
        post = self._add_post(message, None, None, None, tagged=False)
        self._posts_published.append({"id": post["id"], "message": message})
        return Response(200, {"id": post["id"]}, content_type=JSON)

    def _update_object(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        object_id = match["id"]
        if object_id not in self._comments:
            return object_error(object_id)
        value = (request.form.get("is_hidden") or [""])[0].lower()
        if value not in ("true", "false"):
            body = {
                "error": {
                    "message": "(#100) is_hidden must be a boolean",
                    "type": "OAuthException",
                    "code": 100,
                }
            }
            return Response(400, body, content_type=JSON)
        self._comments[object_id]["is_hidden"] = value == "true"
        self._hidden[object_id] = value == "true"
        return Response(200, {"success": True}, content_type=JSON)
