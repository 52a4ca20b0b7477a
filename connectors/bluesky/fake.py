"""A fake of the Bluesky XRPC endpoints Listening Post uses, on 127.0.0.1.

Shapes follow the lexicons: every call is ``/xrpc/<nsid>``; errors are
``{"error": "<Name>", "message": "..."}`` (``AuthenticationRequired``, ``ExpiredToken``,
``InvalidToken``, ``InvalidRequest``, ``NotFound``, ``RateLimitExceeded``); every answer
carries ``ratelimit-limit``/``-remaining``/``-reset``/``-policy`` headers; sessions are JWTs
(whose ``exp`` the client reads) made by ``createSession`` and rotated by ``refreshSession``;
posts are addressed by at:// URI and cid; listings run newest first with an opaque ``cursor``.

Endpoints: ``com.atproto.server.createSession``/``refreshSession``,
``com.atproto.identity.resolveHandle``, ``app.bsky.notification.listNotifications``,
``app.bsky.feed.searchPosts``, ``app.bsky.feed.getPosts``, ``app.bsky.feed.getPostThread``,
``com.atproto.repo.createRecord``/``deleteRecord``.

Script it::

    fake = FakeBluesky(handle="nhscovwarks.bsky.social", app_password="abcd-efgh-ijkl-mnop").start()
    pat = fake.add_account("pat.bsky.social", name="Pat")
    fake.add_post(author="pat.bsky.social", text="@nhscovwarks.bsky.social how do I book a jab?")
    fake.inject(rate_limited(reset_at=1_700_000_000), path="listNotifications$")
    fake.created      # records our account made through createRecord, in order
    fake.logins       # how many times createSession succeeded
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from connectors.bluesky.fake_data import (
    ACCESS_LIFETIME,
    POST,
    RATE_LIMIT,
    REFRESH_LIFETIME,
    cid_of,
    http_error,
    iso,
    new_profile,
    notification,
    notification_reason,
    post_view,
    rate_limit_headers,
    rate_limited,
    refused_post,
    session_tokens,
    thread_view,
    tid,
    xrpc_error,
)
from connectors.fake_server import Clock, FakeServer, RecordedRequest, Response, utc_now

__all__ = ["RATE_LIMIT", "FakeBluesky", "http_error", "rate_limited", "tid", "xrpc_error"]


class FakeBluesky(FakeServer):
    service = "bluesky"

    def __init__(
        self,
        *,
        handle: str = "nhscovwarks.bsky.social",
        app_password: str = "abcd-efgh-ijkl-mnop",
        name: str = "NHS Coventry and Warwickshire",
        clock: Clock = utc_now,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port, clock=clock)
        self.app_password = app_password
        self._accounts: dict[str, dict[str, Any]] = {}  # did -> profile
        self._posts: dict[str, dict[str, Any]] = {}  # uri -> {"view": postView, "sort": n}
        self._notifications: list[dict[str, Any]] = []  # for our account, oldest first
        self._access: dict[str, datetime] = {}  # access token -> expiry
        self._refresh: dict[str, datetime] = {}  # live refresh token -> expiry
        self._created: list[dict[str, Any]] = []
        self._deleted: list[str] = []
        self._sequence = 0
        self.logins = 0
        self.me = self.add_account(handle, name=name)
        for nsid, method, handler in (
            ("com.atproto.server.createSession", "POST", self._create_session),
            ("com.atproto.server.refreshSession", "POST", self._refresh_session),
            ("com.atproto.identity.resolveHandle", "GET", self._resolve_handle),
            ("app.bsky.notification.listNotifications", "GET", self._list_notifications),
            ("app.bsky.feed.searchPosts", "GET", self._search_posts),
            ("app.bsky.feed.getPosts", "GET", self._get_posts),
            ("app.bsky.feed.getPostThread", "GET", self._get_post_thread),
            ("com.atproto.repo.createRecord", "POST", self._create_record),
            ("com.atproto.repo.deleteRecord", "POST", self._delete_record),
        ):
            self.route(method, rf"/xrpc/{nsid}", handler)

    # script ------------------------------------------------------------------------------

    def add_account(self, handle: str, *, name: str = "", verified: bool = False) -> dict[str, Any]:
        with self.lock:
            handle = handle.removeprefix("@").lower()
            existing = self._account_by_handle(handle)
            if existing:
                return dict(existing)
            profile = new_profile(handle, name=name, verified=verified)
            self._accounts[profile["did"]] = profile
            return dict(profile)

    def add_post(
        self,
        *,
        author: str,
        text: str,
        reply_to: str | None = None,
        quote_of: str | None = None,
        at: datetime | None = None,
        lang: str = "en",
        counts: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """Publish a post by ``author`` (a handle; created if new) and notify our account if it
        mentions, replies to or quotes us. Returns the post view."""
        with self.lock:
            profile = self._account_by_handle(author) or self.add_account(author)
            record: dict[str, Any] = {
                "$type": POST,
                "text": text,
                "createdAt": iso(at or self.clock()),
                "langs": [lang],
            }
            if reply_to:
                record["reply"] = self._reply_refs(reply_to)
            if quote_of:
                quoted = self._posts[quote_of]["view"]
                record["embed"] = {
                    "$type": "app.bsky.embed.record",
                    "record": {"uri": quoted["uri"], "cid": quoted["cid"]},
                }
            return self._store(profile, record, at, counts)

    def add_notification(self, reason: str, *, author: str, subject: str | None = None) -> None:
        """A notification that is not a post (``like``, ``repost``, ``follow``): to be left out."""
        with self.lock:
            profile = self._account_by_handle(author) or self.add_account(author)
            self._sequence += 1
            at = self.clock()
            kind = {"like": "app.bsky.feed.like", "repost": "app.bsky.feed.repost"}.get(
                reason, "app.bsky.graph.follow"
            )
            record: dict[str, Any] = {"$type": kind, "createdAt": iso(at)}
            if subject:
                record["subject"] = {"uri": subject, "cid": self._posts[subject]["view"]["cid"]}
            uri = f"at://{profile['did']}/{kind}/{tid(at, self._sequence)}"
            self._notify(reason, profile, uri, cid_of(record), record, subject, at)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now expired (the client must refresh)."""
        with self.lock:
            past = self.clock() - timedelta(seconds=1)
            self._access = {token: past for token in self._access}

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token is refused (as after the app password was revoked and re-created)."""
        with self.lock:
            self._refresh.clear()

    @property
    def created(self) -> list[dict[str, Any]]:
        """createRecord calls of our account (``repo``, ``collection``, ``record``, and the new ``uri``)."""
        with self.lock:
            return [dict(c) for c in self._created]

    @property
    def notifications(self) -> list[dict[str, Any]]:
        """Our account's notifications as listNotifications shows them, newest first."""
        with self.lock:
            return [dict(n) for n in reversed(self._notifications)]

    @property
    def deleted(self) -> list[str]:
        with self.lock:
            return list(self._deleted)

    def post(self, uri: str) -> dict[str, Any] | None:
        with self.lock:
            found = self._posts.get(uri)
            return dict(found["view"]) if found else None

    # internals ---------------------------------------------------------------------------

    def _account_by_handle(self, handle: str) -> dict[str, Any] | None:
        wanted = handle.removeprefix("@").lower()
        return next((a for a in self._accounts.values() if a["handle"] == wanted), None)

    def _reply_refs(self, parent_uri: str) -> dict[str, Any]:
        parent = self._posts[parent_uri]["view"]
        parent_ref = {"uri": parent["uri"], "cid": parent["cid"]}
        root = parent["record"].get("reply", {}).get("root", parent_ref)
        return {"root": dict(root), "parent": parent_ref}

    def _store(
        self,
        profile: dict[str, Any],
        record: dict[str, Any],
        at: datetime | None,
        counts: dict[str, int] | None,
    ) -> dict[str, Any]:
        self._sequence += 1
        indexed = at or self.clock()
        uri = f"at://{profile['did']}/{POST}/{tid(indexed, self._sequence)}"
        view = post_view(uri, record, profile, indexed, counts)
        self._posts[uri] = {"view": view, "sort": self._sequence, "at": indexed}
        reply = record.get("reply")
        if reply:
            self._posts[reply["parent"]["uri"]]["view"]["replyCount"] += 1
        if profile["did"] != self.me["did"]:
            self._notify_about(profile, view, indexed)
        return dict(view)

    def _notify_about(self, profile: dict[str, Any], view: dict[str, Any], at: datetime) -> None:
        why = notification_reason(view["record"], self.me)
        if why is not None:
            self._notify(why[0], profile, view["uri"], view["cid"], view["record"], why[1], at)

    def _notify(
        self,
        reason: str,
        profile: dict[str, Any],
        uri: str,
        cid: str,
        record: dict[str, Any],
        subject: str | None,
        at: datetime,
    ) -> None:
        self._notifications.append(notification(reason, profile, uri, cid, record, subject, at))

    # auth --------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return rate_limit_headers(self.clock())

    def _ok(self, body: dict[str, Any]) -> Response:
        return Response(200, body, headers=self._headers())

    def _error(self, status: int, error: str, message: str) -> Response:
        return Response(status, {"error": error, "message": message}, headers=self._headers())

    @staticmethod
    def _bearer(request: RecordedRequest) -> str | None:
        value = request.headers.get("authorization", "")
        return value[len("Bearer ") :] if value.startswith("Bearer ") else None

    def _denied(self, request: RecordedRequest) -> Response | None:
        """None when the request carries a live access token, else the PDS's refusal."""
        token = self._bearer(request)
        if token is None:
            return self._error(401, "AuthenticationRequired", "Authentication Required")
        expires = self._access.get(token)
        if expires is None:
            return self._error(400, "InvalidToken", "Token could not be verified")
        if expires <= self.clock():
            return self._error(400, "ExpiredToken", "Token has expired")
        return None

    def _session(self) -> dict[str, Any]:
        now = self.clock()
        access, refresh = session_tokens(self.me["did"], now)
        self._access[access] = now + ACCESS_LIFETIME
        self._refresh[refresh] = now + REFRESH_LIFETIME
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": self.me["handle"],
            "did": self.me["did"],
            "active": True,
        }

    def _create_session(self, request: RecordedRequest, _: Any) -> Response:
        body = request.json() or {}
        identifier = str(body.get("identifier", "")).removeprefix("@").lower()
        if identifier not in (self.me["handle"], self.me["did"]) or body.get("password") != self.app_password:
            return self._error(401, "AuthenticationRequired", "Invalid identifier or password")
        self.logins += 1
        return self._ok(self._session())

    def _refresh_session(self, request: RecordedRequest, _: Any) -> Response:
        token = self._bearer(request)
        expires = self._refresh.pop(token, None) if token else None  # a refresh token is used once
        if expires is None:
            return self._error(400, "InvalidToken", "Token could not be verified")
        if expires <= self.clock():
            return self._error(400, "ExpiredToken", "Token has expired")
        return self._ok(self._session())

    # reads -------------------------------------------------------------------------------

    def _resolve_handle(self, request: RecordedRequest, _: Any) -> Response:
        handle = request.query.get("handle", [""])[0]
        account = self._account_by_handle(handle)
        if account is None:
            return self._error(400, "InvalidRequest", "Unable to resolve handle")
        return self._ok({"did": account["did"]})

    @staticmethod
    def _limit(request: RecordedRequest) -> int:
        return max(1, min(100, int(request.query.get("limit", ["50"])[0])))

    def _list_notifications(self, request: RecordedRequest, _: Any) -> Response:
        denied = self._denied(request)
        if denied:
            return denied
        reasons = set(request.query.get("reasons", []))
        items = [n for n in reversed(self._notifications) if not reasons or n["reason"] in reasons]
        after = request.query.get("cursor", [None])[0]
        if after:  # the cursor is the last item's "<indexedAt>::<cid>", as the AppView's keyset cursors
            keys = [f"{n['indexedAt']}::{n['cid']}" for n in items]
            items = items[keys.index(after) + 1 :] if after in keys else []
        page = items[: self._limit(request)]
        body: dict[str, Any] = {"notifications": page, "priority": False}
        if len(items) > len(page):
            body["cursor"] = f"{page[-1]['indexedAt']}::{page[-1]['cid']}"
        return self._ok(body)

    def _search_posts(self, request: RecordedRequest, _: Any) -> Response:
        denied = self._denied(request)
        if denied:
            return denied
        query = request.query.get("q", [""])[0].lower()
        since = request.query.get("since", [None])[0]
        words = [w.strip('"') for w in query.split()]
        found = [
            p
            for p in sorted(self._posts.values(), key=lambda p: p["sort"], reverse=True)
            if all(w in p["view"]["record"]["text"].lower() for w in words)
            and (since is None or p["view"]["indexedAt"] >= since)
        ]
        offset = int(request.query.get("cursor", ["0"])[0] or 0)
        page = found[offset : offset + self._limit(request)]
        body: dict[str, Any] = {"posts": [p["view"] for p in page], "hitsTotal": len(found)}
        if offset + len(page) < len(found):
            body["cursor"] = str(offset + len(page))
        return self._ok(body)

    def _get_posts(self, request: RecordedRequest, _: Any) -> Response:
        denied = self._denied(request)
        if denied:
            return denied
        uris = request.query.get("uris", [])
        if len(uris) > 25:
            return self._error(400, "InvalidRequest", "uris must not have more than 25 elements")
        return self._ok({"posts": [self._posts[u]["view"] for u in uris if u in self._posts]})

    def _get_post_thread(self, request: RecordedRequest, _: Any) -> Response:
        denied = self._denied(request)
        if denied:
            return denied
        uri = request.query.get("uri", [""])[0]
        if uri not in self._posts:
            return self._error(400, "NotFound", f"Post not found: {uri}")
        replies = [
            p["view"]
            for p in self._posts.values()
            if p["view"]["record"].get("reply", {}).get("parent", {}).get("uri") == uri
        ]
        return self._ok({"thread": thread_view(self._posts[uri]["view"], replies)})

    # writes ------------------------------------------------------------------------------

    def _create_record(self, request: RecordedRequest, _: Any) -> Response:
        denied = self._denied(request)
        if denied:
            return denied
        body = request.json() or {}
        refusal = refused_post(body, self.me)
        if refusal:
            return self._error(400, "InvalidRequest", refusal)
        record = body["record"]
        reply = record.get("reply")
        if reply and reply["parent"]["uri"] not in self._posts:
            return self._error(400, "InvalidRequest", "Could not locate record: " + reply["parent"]["uri"])
        view = self._store(self.me, record, None, None)
        self._created.append({"repo": body["repo"], "collection": POST, "record": record, "uri": view["uri"]})
        return self._ok(
            {
                "uri": view["uri"],
                "cid": view["cid"],
                "commit": {"cid": cid_of(view), "rev": tid(self.clock())},
                "validationStatus": "valid",
            }
        )

    def _delete_record(self, request: RecordedRequest, _: Any) -> Response:
        denied = self._denied(request)
        if denied:
            return denied
        body = request.json() or {}
        if body.get("repo") not in (self.me["did"], self.me["handle"]):
            return self._error(400, "InvalidRequest", "Invalid repo")
        uri = f"at://{self.me['did']}/{body.get('collection')}/{body.get('rkey')}"
        if self._posts.pop(uri, None) is not None:
            self._deleted.append(uri)
        return self._ok({"commit": {"cid": cid_of(uri), "rev": tid(self.clock())}})
