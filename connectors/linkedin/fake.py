"""A fake of the LinkedIn Community Management API endpoints Listening Post uses, on 127.0.0.1.

Shapes follow LinkedIn's public reference for the versioned API (Posts, Comments,
Organization Social Action Notifications): every call needs ``Authorization: Bearer``,
``LinkedIn-Version: YYYYMM`` (a retired or unknown one gets 426 ``NONEXISTENT_VERSION``) and
``X-Restli-Protocol-Version: 2.0.0``; URNs in paths and queries are percent-encoded; times are
epoch milliseconds; collections are ``{"elements": [...], "paging": {"start", "count",
"total", "links": [{"rel": "next", "href"}]}}``; errors are ``{"status", "serviceErrorCode",
"code", "message"}``; a token without the needed scope gets 403 ``ACCESS_DENIED``.

Endpoints under ``/rest``: ``GET posts?q=author``, ``GET posts/{urn}``, ``GET
socialActions/{urn}/comments`` (on a post, or on a comment), ``POST socialActions/{urn}/comments``
(201 with ``x-restli-id``), ``DELETE socialActions/{object}/comments/{id}?actor=`` (204),
``GET organizationalEntityNotifications?q=criteria`` (SHARE_MENTION).

Script it::

    fake = LinkedInFake(org_id="2414183", token="tok").start()
    post = fake.add_post(text="Join our nursing open day")           # by the organisation
    c = fake.add_comment(on=post["id"], text="Is parking free?")     # by a member
    fake.add_mention(text="Thanks @NHS Coventry and Warwickshire")   # a member's post mentioning it
    fake.replies, fake.deleted
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from itertools import count
from typing import Any
from urllib.parse import quote, unquote

# The fake server moves to connectors/fake_server.py (issue 22); the lead re-points this import.
from connectors.fake_server import Clock, Failure, FakeServer, RecordedRequest, Response, utc_now

JSON = "application/json"
ALL_SCOPES = frozenset({"r_organization_social", "w_organization_social", "rw_organization_admin"})
_COMMENT = re.compile(r"urn:li:comment:\((?P<object>urn:li:activity:\d+),(?P<id>\d+)\)")


def millis(at: datetime) -> int:
    return int(at.astimezone(UTC).timestamp() * 1000)


def li_error(status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> Failure:
    """A LinkedIn error body: ``{"status", "serviceErrorCode", "code", "message"}``."""
    body = {
        "status": status,
        "serviceErrorCode": 100 if status == 403 else 0,
        "code": code,
        "message": message,
    }
    return Failure(status=status, body=body, headers=dict(headers or {}), content_type=JSON)


def _error(status: int, code: str, message: str) -> Response:
    failure = li_error(status, code, message)
    return Response(failure.status, failure.body, content_type=JSON)


class LinkedInFake(FakeServer):
    service = "linkedin"

    def __init__(
        self,
        *,
        org_id: str = "2414183",
        token: str | None = None,
        scopes: frozenset[str] = ALL_SCOPES,
        versions: frozenset[str] = frozenset({"202610", "202609", "202601"}),
        clock: Clock = utc_now,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """``token``: the only accepted bearer token (any when None). ``scopes``: what it was granted.
        ``versions``: the ``LinkedIn-Version`` values still served."""
        super().__init__(host=host, port=port, clock=clock)
        self.org = f"urn:li:organization:{org_id}"
        self.token = token
        self.scopes = scopes
        self.versions = versions
        self._posts: dict[str, dict[str, Any]] = {}
        self._comments: dict[str, dict[str, Any]] = {}
        self._notifications: list[dict[str, Any]] = []
        self._replies: list[dict[str, Any]] = []
        self._deleted: list[str] = []
        self._ids = count(7_100_000_000_000_000_001)
        self.route("GET", r"/rest/posts", self._list_posts)
        self.route("GET", r"/rest/posts/(?P<urn>[^/]+)", self._get_post)
        self.route("GET", r"/rest/socialActions/(?P<urn>[^/]+)/comments", self._list_comments)
        self.route("POST", r"/rest/socialActions/(?P<urn>[^/]+)/comments", self._create_comment)
        self.route("DELETE", r"/rest/socialActions/(?P<urn>[^/]+)/comments/(?P<id>\d+)", self._delete_comment)
        self.route("GET", r"/rest/organizationalEntityNotifications", self._notifications_finder)

    # script ------------------------------------------------------------------------------

    def add_post(self, *, text: str, created_at: datetime | None = None) -> dict[str, Any]:
        """A post by the organisation."""
        with self.lock:
            return self._add_post(text, self.org, created_at)

    def add_mention(
        self, *, text: str, member: str = "Sam Patel", created_at: datetime | None = None
    ) -> dict[str, Any]:
        """A member's post that mentions the organisation (and the SHARE_MENTION notification of it)."""
        with self.lock:
            post = self._add_post(text, _person(member), created_at)
            self._notifications.append(
                {
                    "action": "SHARE_MENTION",
                    "organizationalEntity": self.org,
                    "sourcePost": post["id"],
                    "lastModifiedAt": post["createdAt"],
                }
            )
            return post

    def add_comment(
        self, *, on: str, text: str, member: str | None = "Alex Kim", created_at: datetime | None = None
    ) -> dict[str, Any]:
        """A member's comment on post ``on``, or on comment ``on``; ``member=None``: by the organisation."""
        with self.lock:
            return self._add_comment(on, text, _person(member) if member else self.org, created_at)

    @property
    def replies(self) -> list[dict[str, Any]]:
        """Comments created through the API, in order: the request body plus the new ``commentUrn``."""
        with self.lock:
            return [dict(r) for r in self._replies]

    @property
    def deleted(self) -> list[str]:
        with self.lock:
            return list(self._deleted)

    # internals ---------------------------------------------------------------------------

    def _add_post(self, text: str, author: str, created_at: datetime | None) -> dict[str, Any]:
        at = millis(created_at or self.clock())
        post_id = f"urn:li:share:{next(self._ids)}"
        post: dict[str, Any] = {
            "id": post_id,
            "author": author,
            "commentary": text,
            "createdAt": at,
            "lastModifiedAt": at,
            "publishedAt": at,
            "visibility": "PUBLIC",
            "lifecycleState": "PUBLISHED",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "_activity": f"urn:li:activity:{next(self._ids)}",
        }
        self._posts[post_id] = post
        return _public(post)

    def _add_comment(self, on: str, text: str, actor: str, created_at: datetime | None) -> dict[str, Any]:
        if on in self._posts:
            post, parent = self._posts[on], None
        elif on in self._comments:
            parent = self._comments[on]
            post = self._posts[parent["_post"]]
        else:
            raise KeyError(f"no post or comment {on!r} in the fake")
        comment_id = str(next(self._ids))
        stamp = {"actor": actor, "time": millis(created_at or self.clock())}
        comment: dict[str, Any] = {
            "actor": actor,
            "commentUrn": f"urn:li:comment:({post['_activity']},{comment_id})",
            "created": stamp,
            "lastModified": dict(stamp),
            "id": comment_id,
            "message": {"attributes": [], "text": text},
            "object": post["_activity"],
            "commentsSummary": {
                "selectedComments": [],
                "totalFirstLevelComments": 0,
                "aggregatedTotalComments": 0,
            },
            "likesSummary": {"selectedLikes": [], "likedByCurrentUser": False, "totalLikes": 0},
            "_post": post["id"],
        }
        if parent is not None:
            comment["parentComment"] = parent["commentUrn"]
            parent["commentsSummary"]["totalFirstLevelComments"] += 1
            parent["commentsSummary"]["aggregatedTotalComments"] += 1
        self._comments[comment["commentUrn"]] = comment
        return _public(comment)

    def _dispatch(self, request: RecordedRequest) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or (self.token is not None and auth[7:] != self.token):
            return _error(401, "INVALID_ACCESS_TOKEN", "Invalid access token")
        version = request.headers.get("linkedin-version")
        if not version:
            return _error(
                400,
                "VERSION_MISSING",
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
            )
        if version not in self.versions:
            return _error(426, "NONEXISTENT_VERSION", f"Requested version {version} is not active")
        if request.headers.get("x-restli-protocol-version") != "2.0.0":
            return _error(400, "ILLEGAL_ARGUMENT", "Rest.li protocol 2.0.0 is required for this resource")
        needed = {
            "GET": "r_organization_social",
            "POST": "w_organization_social",
            "DELETE": "w_organization_social",
        }
        scope = (
            "rw_organization_admin"
            if "organizationalEntityNotifications" in request.path
            else needed[request.method]
        )
        if scope not in self.scopes:
            return _error(
                403,
                "ACCESS_DENIED",
                f"Not enough permissions to access: {request.method} {request.path.split('?')[0]}",
            )
        return super()._dispatch(request)

    def not_found(self, request: RecordedRequest) -> Response:
        return _error(404, "NOT_FOUND", f"No virtual resource found for {request.path}")

    def _collection(self, request: RecordedRequest, items: list[dict[str, Any]]) -> Response:
        start = int(_one(request, "start") or 0)
        size = min(int(_one(request, "count") or 10), 100)
        page = items[start : start + size]
        links = []
        if start + size < len(items):
            query = "&".join(
                f"{k}={quote(v[0], safe='(),:')}" for k, v in request.query.items() if k != "start"
            )
            links.append(
                {
                    "type": "application/json",
                    "rel": "next",
                    "href": f"{request.path}?{query}&start={start + size}",
                }
            )
        paging = {"start": start, "count": size, "total": len(items), "links": links}
        return Response(200, {"elements": [_public(i) for i in page], "paging": paging}, content_type=JSON)

    def _list_posts(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if _one(request, "q") != "author" or _one(request, "author") != self.org:
            return _error(403, "ACCESS_DENIED", "Not enough permissions to access posts of that author")
        posts = sorted(
            (p for p in self._posts.values() if p["author"] == self.org),
            key=lambda p: (p["createdAt"], p["id"]),
            reverse=True,
        )
        return self._collection(request, posts)

    def _get_post(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        post = self._posts.get(unquote(match["urn"]))
        if post is None:
            return self.not_found(request)
        return Response(200, _public(post), content_type=JSON)

    def _list_comments(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        target = unquote(match["urn"])
        if target in self._posts:
            found = [c for c in self._comments.values() if c["_post"] == target and "parentComment" not in c]
        elif target in self._comments:
            found = [c for c in self._comments.values() if c.get("parentComment") == target]
        else:
            return self.not_found(request)
        found.sort(key=lambda c: (c["created"]["time"], int(c["id"])), reverse=True)
        return self._collection(request, found)

    def _create_comment(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        target = unquote(match["urn"])
        body = request.json()
        if target not in self._posts and target not in self._comments:
            return self.not_found(request)
        if not isinstance(body, dict) or body.get("actor") != self.org:
            return _error(403, "ACCESS_DENIED", "Not enough permissions to comment as that actor")
        text = (body.get("message") or {}).get("text") or ""
        if not text.strip():
            return _error(422, "UNPROCESSABLE_ENTITY", "/message/text :: field is required but not found")
        if target in self._comments and body.get("parentComment") != target:
            return _error(400, "ILLEGAL_ARGUMENT", "parentComment must be the comment being commented on")
        comment = self._add_comment(target, text, self.org, None)
        self._replies.append({**body, "commentUrn": comment["commentUrn"]})
        return Response(201, comment, headers={"x-restli-id": comment["id"]}, content_type=JSON)

    def _delete_comment(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        urn = f"urn:li:comment:({unquote(match['urn'])},{match['id']})"
        if urn not in self._comments:
            post = self._posts.get(unquote(match["urn"]))
            urn = f"urn:li:comment:({post['_activity']},{match['id']})" if post else urn
        if urn not in self._comments:
            return self.not_found(request)
        if _one(request, "actor") != self.org:
            return _error(403, "ACCESS_DENIED", "Not enough permissions to delete as that actor")
        del self._comments[urn]
        self._deleted.append(urn)
        return Response(204, None, content_type="")

    def _notifications_finder(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        window = re.fullmatch(r"\(start:(\d+),end:(\d+)\)", _one(request, "timeRange") or "")
        if _one(request, "q") != "criteria" or window is None:
            return _error(400, "ILLEGAL_ARGUMENT", "q=criteria and timeRange=(start:..,end:..) are required")
        if _one(request, "organizationalEntity") != self.org:
            return _error(403, "ACCESS_DENIED", "Not enough permissions to access that organization")
        actions = re.fullmatch(r"List\((.*)\)", _one(request, "actions") or "")
        wanted = set(actions[1].split(",")) if actions else set()
        start, end = int(window[1]), int(window[2])
        found = [
            n for n in self._notifications if n["action"] in wanted and start <= n["lastModifiedAt"] <= end
        ]
        found.sort(key=lambda n: n["lastModifiedAt"], reverse=True)
        return self._collection(request, found)


def _person(name: str) -> str:
    return f"urn:li:person:{hashlib.sha256(name.encode()).hexdigest()[:10]}"


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _one(request: RecordedRequest, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values else None
