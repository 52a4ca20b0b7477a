"""A fake of the X API v2 endpoints Listening Post uses, on 127.0.0.1.

Shapes follow the real API: ids are numeric strings (snowflakes that encode their creation
time), every tweet carries ``edit_history_tweet_ids``, fields other than ``id``/``text``
appear only when asked for with ``tweet.fields`` / ``user.fields``, expansions fill
``includes.users`` and ``includes.tweets``, pages are linked by ``meta.next_token``, and
every answer carries ``x-rate-limit-*`` headers.

Endpoints: ``GET /2/users/by/username/:username``, ``GET /2/users/me``,
``GET /2/users/:id/mentions``, ``GET /2/users/:id/tweets`` (``exclude=replies,retweets``, ``start_time``;
the latest 3,200 posts only, as on X),
``GET /2/tweets/search/recent``, ``POST /2/tweets`` (a reply, or a new post), ``PUT /2/tweets/:id/hidden``.

Script it::

    fake = FakeXApi(me="NHSCovWarks").start()
    fake.add_user("patient_pat", name="Pat", followers=120)
    fake.add_tweet(author="patient_pat", text="@NHSCovWarks how do I book a jab?")
    fake.inject(rate_limited(reset_at=1_700_000_000), path="/mentions$")
    ...
    fake.replies          # replies our account posted through POST /2/tweets, in order
    fake.posts_published  # new posts (not replies) our account posted through POST /2/tweets
    fake.hidden           # {tweet id: hidden?}
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from connectors.fake_server import Clock, FakeServer, RecordedRequest, Response, utc_now
from connectors.x.fake_data import (
    QueryMatcher,
    http_error,
    new_tweet,
    new_user,
    parse_time,
    problem,
    query_set,
    query_value,
    rate_limited,
    render_tweet,
    render_user,
    snowflake,
    user_not_found,
)

__all__ = ["FakeXApi", "http_error", "problem", "rate_limited", "snowflake"]

# ``exclude`` on a user's timeline: the kind of referenced post each value leaves out
_EXCLUDE_KINDS = {"replies": "replied_to", "retweets": "retweeted"}
TIMELINE_REACH = 3200


class FakeXApi(FakeServer):
    service = "x"

    def __init__(
        self,
        *,
        me: str = "NHSCovWarks",
        me_name: str = "NHS Coventry and Warwickshire",
        tokens: set[str] | None = None,
        clock: Clock = utc_now,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """``tokens``: if given, a request whose Authorization header contains none of them gets a 401."""
        super().__init__(host=host, port=port, clock=clock)
        self.tokens = set(tokens or ())
        self._users: dict[str, dict[str, Any]] = {}  # id -> user
        self._tweets: dict[str, dict[str, Any]] = {}  # id -> stored tweet (all fields)
        self._mentions: dict[str, list[str]] = {}  # user id -> tweet ids mentioning them
        self._replies: list[dict[str, Any]] = []
        self._posts_published: list[dict[str, Any]] = []
        self._hidden: dict[str, bool] = {}
        self._last_id = 0
        self._next_user_id = 1_500_000_000_000_000_000
        self.me = self.add_user(me, name=me_name, followers=25_000, verified=True)
        self.route("GET", r"/2/users/by/username/(?P<username>[^/]+)", self._user_by_username)
        self.route("GET", r"/2/users/me", self._users_me)
        self.route("GET", r"/2/users/(?P<id>\d+)/mentions", self._users_mentions)
        self.route("GET", r"/2/users/(?P<id>\d+)/tweets", self._users_tweets)
        self.route("GET", r"/2/tweets/search/recent", self._search_recent)
        self.route("POST", r"/2/tweets", self._create_tweet)
        self.route("PUT", r"/2/tweets/(?P<id>\d+)/hidden", self._hide)

    # script ------------------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        *,
        name: str | None = None,
        followers: int = 0,
        verified: bool = False,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            existing = self._user_by_name(username)
            if existing:
                return dict(existing)
            if user_id is None:
                self._next_user_id += 1
                user_id = str(self._next_user_id)
            user = new_user(user_id, username, name=name, followers=followers, verified=verified)
            self._users[user_id] = user
            return dict(user)

    def add_tweet(
        self,
        *,
        author: str,
        text: str,
        created_at: datetime | None = None,
        in_reply_to: str | None = None,
        retweet_of: str | None = None,
        quote_of: str | None = None,
        lang: str = "en",
        metrics: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """Publish a post by ``author`` (a username; created if new). Returns the stored tweet.

        Ids grow in the order posts are added, whatever ``created_at`` says, as the real ones
        do in arrival order, so ``since_id`` polling sees every post added after a poll.
        """
        with self.lock:
            user = self._user_by_name(author) or self.add_user(author)
            return self._publish(user, text, created_at, in_reply_to, retweet_of, quote_of, lang, metrics)

    @property
    def replies(self) -> list[dict[str, Any]]:
        """Replies made through ``POST /2/tweets`` (our account's), oldest first."""
        with self.lock:
            return [dict(t) for t in self._replies]

    @property
    def posts_published(self) -> list[dict[str, Any]]:
        """New posts (not replies) made through ``POST /2/tweets`` (our account's), oldest first."""
        with self.lock:
            return [dict(t) for t in self._posts_published]

    @property
    def hidden(self) -> dict[str, bool]:
        with self.lock:
            return dict(self._hidden)

    def tweet(self, tweet_id: str) -> dict[str, Any] | None:
        with self.lock:
            found = self._tweets.get(tweet_id)
            return dict(found) if found else None

    # internals ---------------------------------------------------------------------------

    def _user_by_name(self, username: str) -> dict[str, Any] | None:
        wanted = username.lstrip("@").lower()
        return next((u for u in self._users.values() if u["username"].lower() == wanted), None)

    def _publish(
        self,
        user: dict[str, Any],
        text: str,
        created_at: datetime | None,
        in_reply_to: str | None,
        retweet_of: str | None,
        quote_of: str | None,
        lang: str,
        metrics: dict[str, int] | None,
    ) -> dict[str, Any]:
        at = (created_at or self.clock()).astimezone(UTC)
        new_id = max(self._last_id + 1, snowflake(at))
        self._last_id = new_id
        tweet_id = str(new_id)
        referenced: list[dict[str, str]] = []
        conversation_id = tweet_id
        in_reply_to_user_id = None
        if in_reply_to:
            parent = self._tweets.get(in_reply_to)
            referenced.append({"type": "replied_to", "id": in_reply_to})
            if parent:
                conversation_id = parent["conversation_id"]
                in_reply_to_user_id = parent["author_id"]
        if retweet_of:
            referenced.append({"type": "retweeted", "id": retweet_of})
        if quote_of:
            referenced.append({"type": "quoted", "id": quote_of})
        tweet = new_tweet(
            tweet_id,
            author_id=user["id"],
            text=text,
            at=at,
            conversation_id=conversation_id,
            referenced=referenced,
            in_reply_to_user_id=in_reply_to_user_id,
            lang=lang,
            metrics=metrics,
        )
        self._tweets[tweet_id] = tweet
        for mentioned in self._mentioned_user_ids(text, in_reply_to_user_id, user["id"]):
            self._mentions.setdefault(mentioned, []).append(tweet_id)
        return dict(tweet)

    def _mentioned_user_ids(self, text: str, in_reply_to_user_id: str | None, author_id: str) -> set[str]:
        """Everyone @named in the text, and the author of the post replied to (unless that is the author)."""
        ids = {in_reply_to_user_id} if in_reply_to_user_id and in_reply_to_user_id != author_id else set()
        for handle in re.findall(r"@(\w{1,15})", text):
            user = self._user_by_name(handle)
            if user:
                ids.add(user["id"])
        return ids

    def _authorised(self, request: RecordedRequest) -> bool:
        if not self.tokens:
            return True
        header = request.headers.get("authorization", "")
        return any(token in header for token in self.tokens)

    def _dispatch(self, request: RecordedRequest) -> Response:
        if not self._authorised(request):
            return problem(401, "Unauthorized", "Unauthorized")
        response = super()._dispatch(request)
        reset = int(self.clock().timestamp()) + 900
        response.headers.setdefault("x-rate-limit-limit", "450")
        response.headers.setdefault("x-rate-limit-remaining", "449")
        response.headers.setdefault("x-rate-limit-reset", str(reset))
        return response

    def not_found(self, request: RecordedRequest) -> Response:
        return problem(404, "Not Found Error", f"no route for {request.method} {request.path}")

    def _user_by_username(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        user = self._user_by_name(match["username"])
        if user is None:
            return user_not_found(match["username"], "username")
        return Response(200, {"data": render_user(user, query_set(request, "user.fields"))})

    def _users_me(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        return Response(200, {"data": render_user(self.me, query_set(request, "user.fields"))})

    def _users_mentions(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if match["id"] not in self._users:
            return user_not_found(match["id"], "id")
        ids = self._mentions.get(match["id"], [])
        return self._timeline(request, [self._tweets[i] for i in ids], token_param="pagination_token", low=5)

    def _users_tweets(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if match["id"] not in self._users:
            return user_not_found(match["id"], "id")
        excluded = query_set(request, "exclude")
        if unknown := excluded - _EXCLUDE_KINDS.keys():
            detail = f"The `exclude` query parameter value [{','.join(sorted(unknown))}] is not one of"
            return problem(400, "Invalid Request", f"{detail} [replies,retweets]")
        skipped = {_EXCLUDE_KINDS[e] for e in excluded}
        # As X does: the timeline reaches back only the account's latest 3,200 posts, whatever the filters.
        latest = sorted(
            (t for t in self._tweets.values() if t["author_id"] == match["id"]),
            key=lambda t: int(t["id"]),
            reverse=True,
        )[:TIMELINE_REACH]
        own = [t for t in latest if not skipped & {r["type"] for r in t.get("referenced_tweets", [])}]
        return self._timeline(request, own, token_param="pagination_token", low=5)

    def _search_recent(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        query = query_value(request, "query")
        if not query:
            return problem(400, "Invalid Request", "The `query` query parameter can not be empty")
        matcher = QueryMatcher(query)
        hits = [t for t in self._tweets.values() if matcher.matches(t, self._users[t["author_id"]])]
        return self._timeline(request, hits, token_param="next_token", low=10)

    def _timeline(
        self, request: RecordedRequest, tweets: list[dict[str, Any]], *, token_param: str, low: int
    ) -> Response:
        try:
            max_results = int(query_value(request, "max_results") or 10)
        except ValueError:
            max_results = -1
        if not low <= max_results <= 100:
            return problem(
                400,
                "Invalid Request",
                f"The `max_results` query parameter value [{max_results}] is not between {low} and 100",
            )
        try:
            since_id = int(query_value(request, "since_id") or 0)
            until_id = int(query_value(request, "until_id") or 0)
            start = parse_time(query_value(request, "start_time"))
            token = query_value(request, token_param)
            token_id = int(token, 16) if token else None
        except ValueError as exc:
            return problem(
                400, "Invalid Request", f"One or more parameters to your request was invalid: {exc}"
            )
        selected = sorted(tweets, key=lambda t: int(t["id"]), reverse=True)
        selected = [
            t
            for t in selected
            if int(t["id"]) > since_id
            and (not until_id or int(t["id"]) < until_id)
            and (start is None or parse_time(t["created_at"]) >= start)  # type: ignore[operator]
        ]
        if token_id is not None:
            selected = [t for t in selected if int(t["id"]) <= token_id]
        page, rest = selected[:max_results], selected[max_results:]
        meta: dict[str, Any] = {"result_count": len(page)}
        if not page:
            return Response(200, {"meta": meta})
        meta["newest_id"] = page[0]["id"]
        meta["oldest_id"] = page[-1]["id"]
        if rest:
            meta["next_token"] = format(int(rest[0]["id"]), "x")
        tweet_fields = query_set(request, "tweet.fields")
        user_fields = query_set(request, "user.fields")
        expansions = query_set(request, "expansions")
        body: dict[str, Any] = {"data": [render_tweet(t, tweet_fields) for t in page], "meta": meta}
        includes: dict[str, Any] = {}
        if "author_id" in expansions:
            authors = dict.fromkeys(t["author_id"] for t in page)
            includes["users"] = [render_user(self._users[a], user_fields) for a in authors]
        if "referenced_tweets.id" in expansions:
            refs = dict.fromkeys(r["id"] for t in page for r in t.get("referenced_tweets", []))
            found = [self._tweets[r] for r in refs if r in self._tweets]
            if found:
                includes["tweets"] = [render_tweet(t, tweet_fields) for t in found]
        if includes:
            body["includes"] = includes
        return Response(200, body)

    def _create_tweet(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        try:
            payload = request.json()
        except ValueError:
            return problem(400, "Invalid Request", "body is not JSON")
        text = payload.get("text") if isinstance(payload, dict) else None
        if not isinstance(text, str) or not text.strip():
            return problem(400, "Invalid Request", "text is required")
        parent = (payload.get("reply") or {}).get("in_reply_to_tweet_id")
        if parent is not None and parent not in self._tweets:
            return problem(
                403, "Forbidden", "You attempted to reply to a Tweet that is deleted or not visible to you."
            )
        tweet = self._publish(self.me, text, None, parent, None, None, "en", None)
        (self._replies if parent is not None else self._posts_published).append(tweet)
        data = {
            "id": tweet["id"],
            "text": tweet["text"],
            "edit_history_tweet_ids": tweet["edit_history_tweet_ids"],
        }
        return Response(201, {"data": data})

    def _hide(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if match["id"] not in self._tweets:
            return problem(404, "Not Found Error", f"Could not find tweet with id: [{match['id']}].")
        try:
            hidden = bool(request.json()["hidden"])
        except (ValueError, KeyError, TypeError):
            return problem(400, "Invalid Request", "hidden is required")
        self._hidden[match["id"]] = hidden
        return Response(200, {"data": {"hidden": hidden}})
