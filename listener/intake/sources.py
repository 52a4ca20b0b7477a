"""Sources: the ``[[sources]]`` of the settings as rows, and the connector that polls each one.

The settings file is the source of truth for what is polled; the ``sources`` table holds
the state (checkpoint, lease, errors, "needs attention"). A source removed from the
settings is disabled, not deleted, so its history and mentions stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors import registry
from connectors.base import Connector
from listener.intake.session_files import SessionFile
from listener.settings import Settings, SourceSettings
from listener.store import audit, leases
from listener.store.db import upsert_insert
from listener.store.models import Checkpoint, Source, User
from listener.store.types import utcnow

# The platforms replies are posted to (news feeds are read only).
REPLY_PLATFORMS = ("x", "facebook", "instagram", "linkedin", "bluesky")


class ConnectorUnavailable(Exception):
    """The settings or secrets do not allow building this source's connector (one clear line)."""


def sync_sources(session: Session, settings: Settings) -> list[str]:
    """Make the ``sources`` table match ``settings.sources``; returns the keys of enabled sources.

    New keys are added, intervals and ``enabled`` follow the settings, keys no longer listed
    are disabled. The lease, checkpoint and "needs attention" state are left alone.
    """
    wanted = {s.key: s for s in settings.sources}
    if wanted:
        # Several workers start at once on PostgreSQL: DO NOTHING lets them all add the same key.
        session.execute(
            upsert_insert(session, Source).on_conflict_do_nothing(index_elements=["key"]),
            [{"key": key, "platform": registry.platform_of(key), "polls": 0, "errors": 0} for key in wanted],
        )
    rows = {
        row.key: row for row in session.scalars(select(Source).where(Source.platform != leases.JOB_PLATFORM))
    }
    for key, configured in wanted.items():
        row = rows[key]
        row.interval_seconds = configured.interval_seconds
        row.enabled = configured.enabled
    for key, row in rows.items():
        if key not in wanted:
            row.enabled = False
    session.flush()
    return [key for key, s in wanted.items() if s.enabled]


def clear_attention(session: Session, source_key: str, *, actor: User | str) -> None:
    """An admin has fixed what stopped a source (token, permission): poll it again at once."""
    source = session.scalars(select(Source).where(Source.key == source_key)).one()
    before = {"needs_attention": source.needs_attention, "reason": source.attention_reason}
    source.needs_attention = False
    source.attention_reason = None
    source.errors = 0
    source.next_poll_at = None
    audit.record(
        session,
        actor=actor,
        action="source.attention_cleared",
        object_type="source",
        object_id=source_key,
        before=before,
        after={"needs_attention": False},
    )


def note_unavailable(session: Session, source_key: str, reason: str, *, now: datetime | None = None) -> None:
    """Show on the source's checkpoint why it is not polled by this worker (e.g. a secret is missing)."""
    source = session.scalars(select(Source).where(Source.key == source_key)).one()
    checkpoint = session.get(Checkpoint, source.id)
    if checkpoint is None:
        checkpoint = Checkpoint(source_id=source.id, cursor={})
        session.add(checkpoint)
    checkpoint.last_error = reason
    checkpoint.last_error_at = now or utcnow()


def _secret(settings: Settings, name: str) -> str | None:
    value = getattr(settings.secrets, name)
    return value.get_secret_value() if value is not None else None


# Facebook and Instagram are both read with the Facebook page's token: what each says without it.
_GRAPH_TOKEN_MISSING = {
    "facebook": "Facebook needs LISTENING_POST_FACEBOOK_PAGE_TOKEN (a page access token)",
    "instagram": "Instagram needs LISTENING_POST_FACEBOOK_PAGE_TOKEN (the token of the linked Facebook page)",
}


def _build(settings: Settings, platform: str, base_url: str | None) -> Connector:
    if platform not in registry.CONNECTORS:
        raise ConnectorUnavailable(
            f"{platform} sources are not polled by the worker (see `listening-post {platform}`)"
        )
    timeout = settings.polling.request_timeout_seconds
    cls = registry.connector_class(platform)
    if platform == "x":
        return _build_x(settings, cls, base_url, timeout)
    if platform in _GRAPH_TOKEN_MISSING:
        return _build_graph(settings, cls, base_url, timeout, missing=_GRAPH_TOKEN_MISSING[platform])
    if platform == "linkedin":
        token = _secret(settings, "linkedin_access_token")
        if not token:
            raise ConnectorUnavailable(
                "LinkedIn needs LISTENING_POST_LINKEDIN_ACCESS_TOKEN (a page admin's token)"
            )
        return cls(
            access_token=token, api_version=settings.linkedin.api_version, base_url=base_url, timeout=timeout
        )
    if platform == "rss":
        return cls(keywords=settings.general.keywords, timeout=timeout)
    if platform == "bluesky":
        return _build_bluesky(settings, cls, base_url, timeout)
    raise ConnectorUnavailable(f"no settings are known for building a {platform} connector")


def _build_x(settings: Settings, cls: type, base_url: str | None, timeout: float) -> Connector:
    """X with the app's bearer token, or the four OAuth 1.0a user-context values; the board's accounts."""
    bearer = _secret(settings, "x_bearer_token")
    user_context = [
        _secret(settings, n)
        for n in ("x_consumer_key", "x_consumer_secret", "x_access_token", "x_access_token_secret")
    ]
    if not bearer and not all(user_context):
        raise ConnectorUnavailable(
            "X needs LISTENING_POST_X_BEARER_TOKEN, or the four LISTENING_POST_X_CONSUMER_KEY/"
            "_CONSUMER_SECRET/_ACCESS_TOKEN/_ACCESS_TOKEN_SECRET values"
        )
    accounts = [a for a in settings.accounts if a.platform == "x"]
    return cls(
        bearer_token=bearer,
        consumer_key=user_context[0],
        consumer_secret=user_context[1],
        access_token=user_context[2],
        access_token_secret=user_context[3],
        base_url=base_url,
        timeout=timeout,
        own_handles=[a.handle for a in accounts],
        user_ids={a.handle: a.user_id for a in accounts if a.user_id},
    )


def _build_graph(
    settings: Settings, cls: type, base_url: str | None, timeout: float, *, missing: str
) -> Connector:
    token = _secret(settings, "facebook_page_token")
    if not token:
        raise ConnectorUnavailable(missing)
    return cls(
        page_token=token,
        app_secret=_secret(settings, "facebook_app_secret"),
        api_version=settings.facebook.graph_api_version,
        base_url=base_url,
        timeout=timeout,
    )


def _build_bluesky(settings: Settings, cls: type, base_url: str | None, timeout: float) -> Connector:
    """The board's Bluesky account: its handle from [[accounts]] (or its mentions source), an app password."""
    password = _secret(settings, "bluesky_app_password")
    if not password:
        raise ConnectorUnavailable(
            "Bluesky needs LISTENING_POST_BLUESKY_APP_PASSWORD (an app password, not the account's password)"
        )
    accounts = [a.handle.removeprefix("@") for a in settings.accounts if a.platform == "bluesky"]
    watched = [
        s.key.removeprefix("bluesky:mentions:@")
        for s in settings.sources
        if s.key.startswith("bluesky:mentions:@")
    ]
    handle = next(iter(accounts or watched), None)
    if not handle:
        raise ConnectorUnavailable(
            'Bluesky needs the account\'s handle: an [[accounts]] entry with platform = "bluesky"'
        )
    return cls(
        handle=handle,
        app_password=password,
        base_url=base_url,
        timeout=timeout,
        own_handles=accounts,
        session_store=SessionFile.for_account(settings.general.data_dir, "bluesky", handle),
    )


@dataclass
class Connectors:
    """The connectors of one worker: one per source (polling) and one per platform (the outbox)."""

    by_source: dict[str, Connector]
    by_platform: dict[str, Connector]  # the REPLY_PLATFORMS: the outbox's
    unavailable: dict[str, str]  # source key -> why it has no connector


def build_connectors(settings: Settings) -> Connectors:
    """A connector for every enabled source, shared between sources with the same platform and host."""
    cache: dict[tuple[str, str | None], Connector] = {}
    built = Connectors(by_source={}, by_platform={}, unavailable={})
    for source in settings.sources:
        if not source.enabled:
            continue
        try:
            connector = _cached(cache, settings, source)
        except (ConnectorUnavailable, ValueError) as exc:
            built.unavailable[source.key] = str(exc)
            continue
        built.by_source[source.key] = connector
        if registry.platform_of(source.key) in REPLY_PLATFORMS:
            built.by_platform.setdefault(registry.platform_of(source.key), connector)
    # Replies can go to an account that has no polled source (e.g. polling paused): build from secrets.
    for platform in REPLY_PLATFORMS:
        if platform not in built.by_platform:
            try:
                built.by_platform[platform] = _build(settings, platform, None)
            except (ConnectorUnavailable, ValueError):
                pass  # no credentials for this platform: replies to it wait, with the reason on them
    return built


def _cached(
    cache: dict[tuple[str, str | None], Connector], settings: Settings, source: SourceSettings
) -> Connector:
    platform = registry.platform_of(source.key)
    key = (platform, source.api_base_url)
    if key not in cache:
        cache[key] = _build(settings, platform, source.api_base_url)
    return cache[key]
