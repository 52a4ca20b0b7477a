"""The X connector: mentions of our accounts and keyword searches in; replies, posts and hiding out."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from twitter_text import parse_tweet

from connectors.base import (
    Checkpoint,
    LookupIncomplete,
    Mention,
    PayloadError,
    PermanentError,
    mask_secret,
    register_secret,
)
from connectors.http import DEFAULT_TIMEOUT
from connectors.validation import describe
from connectors.x.client import call, make_client
from connectors.x.models import CreatedTweet, SingleEnvelope
from connectors.x.parse import TweetsPage, parse_tweets_page
from connectors.x.window import Progress, next_cursor, open_window, x_time

TWEET_FIELDS = [
    "created_at",
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "public_metrics",
    "lang",
    "entities",
    "note_tweet",
]
USER_FIELDS = ["username", "name", "public_metrics", "verified"]
EXPANSIONS = ["author_id", "referenced_tweets.id", "in_reply_to_user_id"]
# X's user timeline returns at most an account's latest 3,200 posts, however it is paged.
TIMELINE_REACH = 3200


def parse_source(source: str) -> tuple[str, str]:
    """``x:mentions:@handle`` -> ("mentions", "handle"); ``x:search:<query>`` -> ("search", query)."""
    platform, _, rest = source.partition(":")
    kind, _, arg = rest.partition(":")
    if platform != "x" or kind not in ("mentions", "search") or not arg.strip():
        raise PermanentError(f"not an X source: {source!r} (expected x:mentions:@handle or x:search:<query>)")
    if kind == "mentions":
        if not re.fullmatch(r"@?\w{1,15}", arg):
            raise PermanentError(f"not an X handle in {source!r}")
        return kind, arg.lstrip("@")
    return kind, arg


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _PageReader:
    """One page of a mentions timeline or a recent search, and what marks a post as ours."""

    get_page: Callable[..., Any]
    token_param: str
    default_kind: str
    own_ids: set[str]
    own_handles: set[str]


class XConnector:
    """X API v2 through ``tweepy.Client``.

    Reading uses the app's bearer token. Posting and hiding replies need user context: the
    four OAuth 1.0a values (consumer key/secret, access token/secret) of the board's account,
    or else ``bearer_token`` must be an OAuth 2.0 user token with ``tweet.write``.

    ``base_url`` sends every call to another host (a local fake or a proxy) instead of
    ``https://api.twitter.com``.
    """

    slug = "x"
    max_reply_length = 280  # weighted: X counts a URL as 23 characters and most CJK/emoji as 2
    page_size = 100  # the most X returns per page

    def __init__(
        self,
        *,
        bearer_token: str | None = None,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        access_token: str | None = None,
        access_token_secret: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        own_handles: Collection[str] = (),
        user_ids: Mapping[str, str] | None = None,
        max_pages: int = 20,
        initial_lookback: timedelta = timedelta(days=1),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """``own_handles``: the board's accounts (their posts are marked ``is_own``). ``user_ids``:
        known numeric ids by handle, to skip the lookup. ``max_pages``: pages read per fetch;
        the rest is read by the next fetch. ``initial_lookback``: how far back the first fetch
        of a source (no checkpoint) reaches."""
        if not bearer_token and not (
            consumer_key and consumer_secret and access_token and access_token_secret
        ):
            raise ValueError("X needs a bearer token or the four OAuth 1.0a user-context values")
        self._user_context = bool(consumer_key and consumer_secret and access_token and access_token_secret)
        register_secret(bearer_token, consumer_key, consumer_secret, access_token, access_token_secret)
        self._bearer_token = bearer_token
        self._access_token = access_token
        self.base_url = base_url
        self.timeout = timeout
        self.own_handles = {h.lstrip("@").lower() for h in own_handles}
        self._user_ids = {k.lstrip("@").lower(): v for k, v in (user_ids or {}).items()}
        self._me_id: str | None = None
        self.max_pages = max_pages
        self.initial_lookback = initial_lookback
        self.clock = clock
        self.client = make_client(
            bearer_token=bearer_token,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            base_url=base_url,
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return (
            f"XConnector(base_url={self.base_url!r}, bearer_token={mask_secret(self._bearer_token)!r}, "
            f"access_token={mask_secret(self._access_token)!r}, user_context={self._user_context})"
        )

    # reads use the bearer token when there is one; writes always need user context
    @property
    def _read_user_auth(self) -> bool:
        return not self._bearer_token

    @property
    def _write_user_auth(self) -> bool:
        return self._user_context

    def _call(self, action: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return call(action, fn, *args, now=self.clock, **kwargs)

    # accounts --------------------------------------------------------------------------

    def user_id(self, handle: str) -> str:
        """The numeric id of ``@handle`` (looked up once, then cached)."""
        key = handle.lstrip("@").lower()
        if key not in self._user_ids:
            body = self._call(
                f"looking up @{key}", self.client.get_user, username=key, user_auth=self._read_user_auth
            )
            self._user_ids[key] = self._single_id(body, what=f"X account @{key}")
        return self._user_ids[key]

    def me_id(self) -> str:
        """The numeric id of the account we post as."""
        if self._me_id is None:
            body = self._call(
                "looking up our own account", self.client.get_me, user_auth=self._write_user_auth
            )
            self._me_id = self._single_id(body, what="our X account")
        return self._me_id

    def _single_id(self, body: Any, *, what: str) -> str:
        try:
            envelope = SingleEnvelope.model_validate(body)
        except ValidationError as exc:
            raise PayloadError(f"{what}: unexpected response ({describe(exc)})") from None
        if envelope.data is None:
            raise PermanentError(f"{what} was not found on X")
        value = envelope.data.get("id")
        if not isinstance(value, str) or not value.isdigit():
            raise PayloadError(f"{what}: the response has no numeric id")
        return value

    # fetch -----------------------------------------------------------------------------

    def fetch(self, source: str, checkpoint: Checkpoint) -> tuple[list[Mention], Checkpoint]:
        """Every new post for the source since the checkpoint, all pages, oldest data never skipped.

        At most ``max_pages`` pages are read; the cursor (see :mod:`connectors.x.window`) says
        where the next fetch carries on.
        """
        kind, arg = parse_source(source)
        reader = self._page_reader(kind, arg)
        cursor, window = open_window(
            kind, checkpoint.cursor, now=self.clock(), initial_lookback=self.initial_lookback
        )
        progress = Progress(newest=int(cursor.get("newest_id") or 0))
        mentions, rejected = self._read_pages(source, reader, window, progress)
        ordered = sorted(mentions.values(), key=lambda m: int(m.external_id))
        return ordered, Checkpoint(next_cursor(cursor, progress), tuple(rejected))

    def _page_reader(self, kind: str, arg: str) -> _PageReader:
        """How to read one page of a mentions timeline or a recent search, and whose posts are ours."""
        own_ids = {v for k, v in self._user_ids.items() if k in self.own_handles}
        if kind == "search":

            def search_page(**params: Any) -> Any:
                return self.client.search_recent_tweets(arg, user_auth=self._read_user_auth, **params)

            return _PageReader(search_page, "next_token", "post", own_ids, self.own_handles)
        user_id = self.user_id(arg)

        def mentions_page(**params: Any) -> Any:
            return self.client.get_users_mentions(user_id, user_auth=self._read_user_auth, **params)

        own_handles = self.own_handles | {arg.lower()}
        return _PageReader(mentions_page, "pagination_token", "mention", own_ids | {user_id}, own_handles)

    def _read_pages(
        self, source: str, reader: _PageReader, window: dict[str, Any], progress: Progress
    ) -> tuple[dict[str, Mention], list[str]]:
        """Up to ``max_pages`` pages of the window: posts by id and rejected payloads; ``progress``
        is kept up to date, its ``token`` left set when more pages remain."""
        params: dict[str, Any] = {
            "max_results": self.page_size,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
            "expansions": EXPANSIONS,
            **window,
        }
        mentions: dict[str, Mention] = {}
        rejected: list[str] = []
        for _ in range(self.max_pages):
            if progress.token:
                params[reader.token_param] = progress.token
            body = self._call(f"reading {source}", reader.get_page, **params)
            page: TweetsPage = parse_tweets_page(
                body,
                source=source,
                default_kind=reader.default_kind,
                own_user_ids=reader.own_ids,
                own_handles=reader.own_handles,
            )
            if page.not_found():
                raise PermanentError(f"{source}: X says the account or query target does not exist")
            for mention in page.result.mentions:
                mentions.setdefault(mention.external_id, mention)  # duplicates across pages: keep one
            rejected.extend(page.result.rejected)
            ids = [int(m.external_id) for m in page.result.mentions]
            ids += [int(i) for i in (page.meta.newest_id, page.meta.oldest_id) if i]
            progress.note(ids, page.meta.next_token)
            if not progress.token:
                break
        return mentions, rejected

    # replies ---------------------------------------------------------------------------

    def reply(self, *, source: str, in_reply_to: str, text: str, idempotency_key: str) -> str:
        """Post ``text`` as a reply to post ``in_reply_to``; returns the new post's id.

        X has no idempotency key (``idempotency_key`` is accepted for the common interface
        and not sent). After any TemporaryError the reply may or may not have been posted:
        call :meth:`find_reply` before trying again.
        """
        _check_text(text, what="reply", limit=self.max_reply_length)
        body = self._call(
            f"replying to {in_reply_to}",
            self.client.create_tweet,
            text=text,
            in_reply_to_tweet_id=in_reply_to,
            user_auth=self._write_user_auth,
        )
        try:
            return CreatedTweet.model_validate(SingleEnvelope.model_validate(body).data).id
        except ValidationError as exc:
            raise PayloadError(
                f"X accepted the reply to {in_reply_to} but its answer is unreadable ({describe(exc)})"
            ) from None

    def find_reply(
        self, *, source: str, in_reply_to: str, text: str, since: datetime | None = None
    ) -> str | None:
        """The id of a reply our account already posted to ``in_reply_to`` with the same text, or None.

        Reads every post of ours since ``since`` (the first attempt; without it, since the post
        replied to), page after page, however many there are: X's user timeline reaches back
        only ``TIMELINE_REACH`` posts, and past that ``LookupIncomplete`` says it cannot tell.
        Texts are compared after undoing X's HTML escaping, replacing links (X rewrites them
        to t.co) and folding whitespace.
        """
        wanted = _comparable(text)
        window = {"start_time": x_time(since)} if since is not None else {"since_id": in_reply_to}
        for mention in self._own_posts(source, "looking for an earlier reply", window):
            if mention.in_reply_to == in_reply_to and _comparable(mention.text) == wanted:
                return mention.external_id
        return None

    def _own_posts(self, source: str, action: str, params: dict[str, Any]) -> Iterator[Mention]:
        """Our posts matching ``params``, newest first, every page; ``LookupIncomplete`` past reach."""
        me = self.me_id()
        params = {"max_results": 100, "tweet_fields": ["referenced_tweets"], **params}
        read = 0
        while True:
            body = self._call(
                action, self.client.get_users_tweets, me, user_auth=self._read_user_auth, **params
            )
            page = parse_tweets_page(body, source=source)
            yield from page.result.mentions
            read += max(page.meta.result_count, len(page.result.mentions))
            if read >= TIMELINE_REACH:
                raise LookupIncomplete(
                    f"X shows only an account's latest {TIMELINE_REACH:,} posts, and ours has posted "
                    "more than that since the first attempt: it cannot say whether this one went out"
                )
            if not page.meta.next_token:
                return
            params["pagination_token"] = page.meta.next_token

    # new posts -------------------------------------------------------------------------

    def post(self, *, source: str, text: str, idempotency_key: str) -> str:
        """Publish ``text`` as a new post (not a reply) of the account we post as; returns its id.

        ``source`` names the account (an X source key); the credentials decide which account
        posts. As with :meth:`reply`, ``idempotency_key`` is not sent, and after any
        TemporaryError :meth:`find_post` says whether the post went out.
        """
        parse_source(source)
        _check_text(text, what="post", limit=self.max_reply_length)
        body = self._call(
            "publishing a post", self.client.create_tweet, text=text, user_auth=self._write_user_auth
        )
        try:
            return CreatedTweet.model_validate(SingleEnvelope.model_validate(body).data).id
        except ValidationError as exc:
            raise PayloadError(
                f"X accepted the post but its answer is unreadable ({describe(exc)})"
            ) from None

    def find_post(self, *, source: str, text: str, within: timedelta = timedelta(days=1)) -> str | None:
        """The id of a post (not a reply) our account published in the last ``within`` with the same text.

        Only recent posts count: the same standard text (a listening message) may well have
        been posted for an earlier incident, and that one is not this post. Every page of the
        window is read, as in :meth:`find_reply`, and past X's reach ``LookupIncomplete``.
        """
        parse_source(source)
        wanted = _comparable(text)
        window = {"start_time": x_time(self.clock() - within), "exclude": ["replies", "retweets"]}
        for mention in self._own_posts(source, "looking for an earlier post", window):
            if mention.in_reply_to is None and _comparable(mention.text) == wanted:
                return mention.external_id
        return None

    def hide(self, *, source: str, external_id: str, hidden: bool = True) -> None:
        """Hide (or unhide) a reply in a conversation our account started."""
        fn = self.client.hide_reply if hidden else self.client.unhide_reply
        body = self._call(
            f"{'hiding' if hidden else 'unhiding'} {external_id}",
            fn,
            external_id,
            user_auth=self._write_user_auth,
        )
        try:
            data = SingleEnvelope.model_validate(body).data
        except ValidationError as exc:
            raise PayloadError(f"X answered the hide request unreadably ({describe(exc)})") from None
        if not data or data.get("hidden") is not hidden:
            raise PayloadError(f"X did not confirm that {external_id} is {'hidden' if hidden else 'visible'}")


_URL = re.compile(r"https?://\S+")


def _check_text(text: str, *, what: str, limit: int) -> None:
    """Refuse before sending what X would refuse: an empty text, or one over the weighted limit."""
    if not text.strip():
        raise PermanentError(f"the {what} cannot be empty")
    if not parse_tweet(text).valid:
        raise PermanentError(f"the {what} is longer than X allows ({limit} weighted characters)")


def _comparable(text: str) -> str:
    return " ".join(_URL.sub("<link>", html.unescape(text)).split())
