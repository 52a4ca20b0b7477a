"""The Bluesky connector: mentions, replies and quotes of our account and keyword searches in; replies out."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from connectors.base import (
    Checkpoint,
    GoneError,
    Mention,
    PayloadError,
    PermanentError,
    mask_secret,
    register_secret,
)
from connectors.bluesky.errors import SessionExpired
from connectors.bluesky.models import POST_TYPE, PostsEnvelope, PostView, ThreadEnvelope, ThreadViewPost
from connectors.bluesky.parse import POST_REASONS, Page, parse_notifications_page, parse_posts_page
from connectors.bluesky.post_text import MAX_GRAPHEMES, check_text, comparable
from connectors.bluesky.session import MemorySessionStore, SessionStore
from connectors.bluesky.window import Window, iso, parse_time
from connectors.http import DEFAULT_TIMEOUT
from connectors.validation import describe

if TYPE_CHECKING:
    from atproto import Session, SessionEvent, models

# atproto takes seconds to import (its generated clients), and the registry imports every connector
# at start-up: so this module imports it (client, richtext) only once a connector is made and used.

BLUESKY_SERVICE = "https://bsky.social"
# The AT Protocol's handle syntax: a domain name of two or more labels.
HANDLE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")

THREAD_VIEW = "app.bsky.feed.defs#threadViewPost"


def parse_source(source: str) -> tuple[str, str]:
    """``bluesky:mentions:@handle`` -> ("mentions", handle); ``bluesky:search:<q>`` -> ("search", q)."""
    platform, _, rest = source.partition(":")
    kind, _, arg = rest.partition(":")
    if platform != "bluesky" or kind not in ("mentions", "search") or not arg.strip():
        raise PermanentError(
            f"not a Bluesky source: {source!r} (expected bluesky:mentions:@handle or bluesky:search:<query>)"
        )
    if kind == "mentions":
        handle = arg.removeprefix("@").lower()
        if len(handle) > 253 or not HANDLE.fullmatch(handle):
            raise PermanentError(f"not a Bluesky handle in {source!r} (e.g. @nhscovwarks.bsky.social)")
        return kind, handle
    return kind, arg.strip()


def utc_now() -> datetime:
    return datetime.now(UTC)


class BlueskyConnector:
    """One Bluesky account through ``atproto.Client``, logged in with an app password.

    ``base_url`` is the account's service (https://bsky.social, or a local fake). The
    session is kept in ``session_store`` and refreshed, never re-created per poll; a new
    login happens only when the stored session's tokens are refused as expired or invalid.
    """

    slug = "bluesky"
    max_reply_length = MAX_GRAPHEMES  # graphemes, links counted as the app shortens them
    page_size = 100  # the most listNotifications and searchPosts return per page

    def __init__(
        self,
        *,
        handle: str,
        app_password: str,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        own_handles: Collection[str] = (),
        session_store: SessionStore | None = None,
        max_pages: int = 20,
        initial_lookback: timedelta = timedelta(days=1),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """``handle``: the account we log in as and whose notifications we read. ``own_handles``:
        the board's other accounts (their posts are marked ``is_own``). ``max_pages``: pages read
        per fetch; the rest is read by the next fetch. ``initial_lookback``: how far back the
        first fetch of a source (no checkpoint) reaches."""
        if not handle or not app_password:
            raise ValueError("Bluesky needs the account's handle and an app password")
        self.handle = handle.removeprefix("@").lower()
        self._password = app_password
        register_secret(app_password)
        self.service = (base_url or BLUESKY_SERVICE).rstrip("/")
        self.timeout = timeout
        self.own_handles = {h.removeprefix("@").lower() for h in own_handles} | {self.handle}
        self.store: SessionStore = session_store or MemorySessionStore()
        self.max_pages = max_pages
        self.initial_lookback = initial_lookback
        self.clock = clock
        self._did: str | None = None
        self._lock = threading.RLock()
        from connectors.bluesky import client as xrpc

        self._xrpc = xrpc
        self.client = xrpc.make_client(service=self.service, timeout=timeout, clock=clock)
        self.client.on_session_change(self._remember)

    def __repr__(self) -> str:
        return (
            f"BlueskyConnector(base_url={self.service!r}, handle={self.handle!r}, "
            f"app_password={mask_secret(self._password)!r})"
        )

    # session ---------------------------------------------------------------------------

    def _remember(self, event: SessionEvent, session: Session) -> None:
        from atproto import SessionEvent

        self._did = session.did
        if event in (SessionEvent.CREATE, SessionEvent.REFRESH):
            self.store.save(json.dumps({"service": self.service, "session": session.export()}))

    def _resume(self, *, only_if_changed: bool = False) -> bool:
        """Take up the stored session if it is this account's on this service; no request is made.

        ``only_if_changed``: only when it differs from the session in use (another worker on the
        same store has refreshed it, which used up the refresh token this one holds).
        """
        from atproto import Session
        from atproto_core.exceptions import AtProtocolError

        try:
            stored = json.loads(self.store.load() or "null")
            if not isinstance(stored, dict) or stored.get("service") != self.service:
                return False
            session = Session.decode(stored["session"])
            if not session.access_jwt_payload.exp:
                return False
        except (ValueError, KeyError, TypeError, AttributeError, AtProtocolError):  # unreadable: log in
            return False
        if session.handle.lower() != self.handle:
            return False
        if (
            only_if_changed
            and self._did is not None
            and session.export() == self.client.export_session_string()
        ):
            return False
        self.client.login(session_string=session.export(), fetch_bsky_profile=False)
        return True

    def _login(self) -> None:
        self.client.update_base_url(self.service)  # a resumed session may have moved it to its PDS
        self._xrpc.call(
            f"logging in as @{self.handle}",
            self.client.login,
            self.handle,
            self._password,
            fetch_bsky_profile=False,
            now=self.clock,
        )

    def _ensure_session(self) -> None:
        with self._lock:
            if self._did is None and not self._resume():
                self._login()

    def _renew(self) -> None:
        """Refresh the session; when the refresh token is refused too, log in again (one createSession)."""
        with self._lock:
            if self._resume(only_if_changed=True):
                return
            try:
                # atproto's own refresh (no public method does only this): rotates both tokens.
                self._xrpc.call(
                    "refreshing the session", self.client._refresh_and_set_session, now=self.clock
                )
            except PermanentError:
                self._login()

    def _call(self, action: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._ensure_session()
        try:
            return self._xrpc.call(action, fn, *args, now=self.clock, **kwargs)
        except SessionExpired:
            self._renew()
            return self._xrpc.call(action, fn, *args, now=self.clock, **kwargs)

    def _query(self, action: str, nsid: str, params: Any) -> Any:
        return self._call(action, self.client.invoke_query, nsid, params=params).content

    def did(self) -> str:
        """The DID of the account we post as (known once a session exists)."""
        self._ensure_session()
        if self._did is None:  # the session callback sets it; a session without one is unusable
            raise PayloadError("Bluesky's session names no account (no DID)")
        return self._did

    # fetch -----------------------------------------------------------------------------

    def fetch(self, source: str, checkpoint: Checkpoint) -> tuple[list[Mention], Checkpoint]:
        """Every new post for the source since the checkpoint, all pages, oldest data never skipped.

        At most ``max_pages`` pages are read; the cursor (see :mod:`connectors.bluesky.window`)
        says where the next fetch carries on.
        """
        kind, arg = parse_source(source)
        if kind == "mentions" and arg != self.handle:
            raise PermanentError(
                f"{source}: the app password is for @{self.handle}; notifications can only be read "
                "for the account that is logged in"
            )
        cursor = checkpoint.cursor
        since = parse_time(cursor.get("since")) or self.clock() - self.initial_lookback
        window = Window.open(cursor, since)
        mentions, rejected = self._read_pages(self._page_reader(source, kind, arg, since), window)
        return list(mentions.values()), Checkpoint(cursor=window.next_cursor(), rejected=tuple(rejected))

    def _page_reader(self, source: str, kind: str, arg: str, since: datetime) -> Callable[[str | None], Page]:
        """Reads one page of the notifications or of a search, from a listing cursor (None: the newest)."""
        from atproto import models

        own = {"own_dids": {self.did()}, "own_handles": self.own_handles}

        def get_page(page_cursor: str | None) -> Page:
            if kind == "mentions":
                params = models.AppBskyNotificationListNotifications.Params(
                    limit=self.page_size, cursor=page_cursor, reasons=list(POST_REASONS)
                )
                body = self._query(f"reading {source}", "app.bsky.notification.listNotifications", params)
                return parse_notifications_page(body, source=source, **own)
            params = models.AppBskyFeedSearchPosts.Params(
                q=arg, sort="latest", since=iso(since), limit=self.page_size, cursor=page_cursor
            )
            body = self._query(f"reading {source}", "app.bsky.feed.searchPosts", params)
            return parse_posts_page(body, source=source, **own)

        return get_page

    def _read_pages(
        self, get_page: Callable[[str | None], Page], window: Window
    ) -> tuple[dict[str, Mention], list[str]]:
        """Pages newest first until the window's lower bound or ``max_pages``: posts by URI and
        rejected payloads; ``window`` is kept up to date."""
        mentions: dict[str, Mention] = {}
        rejected: list[str] = []
        for _ in range(self.max_pages):
            page = get_page(window.resume)
            rejected.extend(page.result.rejected)
            reached = False
            for mention in page.result.mentions:
                at = page.indexed_at[mention.external_id]
                if window.already_read(mention.external_id, at):
                    reached = True
                    continue
                mentions.setdefault(mention.external_id, mention)  # duplicates across pages: keep one
                window.note(mention.external_id, at)
            window.resume = page.cursor
            if reached or not page.cursor or not page.size:
                window.finished = True
                break
        return mentions, rejected

    # replies ---------------------------------------------------------------------------

    def post_view(self, uri: str) -> PostView:
        """The post at ``uri`` as the app shows it now (its current cid and reply refs)."""
        from atproto import models

        body = self._query(
            f"reading {uri}", "app.bsky.feed.getPosts", models.AppBskyFeedGetPosts.Params(uris=[uri])
        )
        try:
            posts = PostsEnvelope.model_validate(body).posts
            view = PostView.model_validate(posts[0]) if posts else None
        except (ValidationError, TypeError) as exc:
            reason = describe(exc) if isinstance(exc, ValidationError) else "not an object"
            raise PayloadError(f"Bluesky answered unreadably for {uri} ({reason})") from None
        if view is None:
            raise GoneError(f"Bluesky says the post is gone: {uri}")
        return view

    def rich_text(self, text: str) -> tuple[str, list[models.AppBskyRichtextFacet.Main]]:
        """The text as it will be posted (links shortened) and its facets (handles resolved to DIDs)."""
        from connectors.bluesky.richtext import merge_facets, shorten_links

        shortened, links = shorten_links(text)
        detected = self._call("resolving the handles mentioned", self.client.detect_facets, shortened)
        return shortened, merge_facets(links, detected)

    def reply(self, *, source: str, in_reply_to: str, text: str, idempotency_key: str) -> str:
        """Reply to the post ``in_reply_to`` (an at:// URI) as our account; returns the new post's URI.

        The reply refs are strong refs (URI and cid): ``parent`` is the post answered and ``root``
        the start of its thread (the parent's own root when the parent is itself a reply).
        createRecord takes no idempotency key (``idempotency_key`` is accepted for the common
        interface and not sent): after any TemporaryError, call :meth:`find_reply` first.
        """
        from atproto import models

        from connectors.bluesky.richtext import shorten_links

        check_text(shorten_links(text)[0])
        shortened, facets = self.rich_text(text)
        parent = self.post_view(in_reply_to)
        parent_ref = models.ComAtprotoRepoStrongRef.Main(uri=parent.uri, cid=parent.cid)
        root = parent.record.reply.root if parent.record.reply else None
        root_ref = models.ComAtprotoRepoStrongRef.Main(uri=root.uri, cid=root.cid) if root else parent_ref
        record = models.AppBskyFeedPost.Record(
            created_at=iso(self.clock()),
            text=shortened,
            facets=facets or None,
            langs=["en"],
            reply=models.AppBskyFeedPost.ReplyRef(root=root_ref, parent=parent_ref),
        )
        created = self._call(
            f"replying to {in_reply_to}",
            self.client.com.atproto.repo.create_record,
            models.ComAtprotoRepoCreateRecord.Data(repo=self.did(), collection=POST_TYPE, record=record),
        )
        return str(created.uri)

    def find_reply(
        self, *, source: str, in_reply_to: str, text: str, since: datetime | None = None
    ) -> str | None:
        """The URI of a reply our account already posted to ``in_reply_to`` with this text, or None.

        Reads the replies to the parent post (``getPostThread``, one level down) and compares
        texts as posted (links shortened, whitespace folded): the answer does not depend on how
        much the account posted since (``since`` is accepted for the connector contract).
        """
        from atproto import models

        from connectors.bluesky.richtext import shorten_links

        params = models.AppBskyFeedGetPostThread.Params(uri=in_reply_to, depth=1, parent_height=0)
        body = self._query("looking for an earlier reply", "app.bsky.feed.getPostThread", params)
        try:
            thread = ThreadEnvelope.model_validate(body).thread
        except ValidationError as exc:
            raise PayloadError(
                f"Bluesky sent an unreadable thread for {in_reply_to} ({describe(exc)})"
            ) from None
        if thread.get("$type") != THREAD_VIEW:
            return None  # the parent is gone or blocked: nothing of ours can be seen under it
        me, wanted = self.did(), comparable(shorten_links(text)[0])
        for item in ThreadViewPost.model_validate(thread).replies:
            try:
                view = PostView.model_validate(ThreadViewPost.model_validate(item).post)
            except ValidationError:
                continue  # a blocked or deleted reply: not ours to find
            reply = view.record.reply
            if (
                view.author.did == me
                and reply is not None
                and reply.parent.uri == in_reply_to
                and comparable(view.record.text) == wanted
            ):
                return view.uri
        return None

    def delete(self, *, source: str, external_id: str) -> None:
        """Delete one of our account's posts (an at:// URI)."""
        from atproto import models

        repo, _, rest = external_id.removeprefix("at://").partition("/")
        collection, _, rkey = rest.partition("/")
        if repo != self.did() or collection != POST_TYPE or not rkey:
            raise PermanentError(f"only our own account's posts can be deleted, not {external_id}")
        self._call(
            f"deleting {external_id}",
            self.client.com.atproto.repo.delete_record,
            models.ComAtprotoRepoDeleteRecord.Data(repo=repo, collection=collection, rkey=rkey),
        )

    def hide(self, *, source: str, external_id: str, hidden: bool = True) -> None:
        raise PermanentError(
            "Bluesky replies cannot be hidden from Listening Post: hide or report them in the Bluesky app"
        )
