"""Hiding comments: a person asks (with a reason), the worker calls the platform (``connector.hide``).

LinkedIn cannot hide comments, so there the same request deletes the comment (``connector.delete``):
the item page says so, since a deletion cannot be undone.

The request is a row first, like a reply in the outbox: a platform outage delays it,
never loses it, and the item page shows whether it is pending, done or failed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, cast

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from connectors.base import Connector, ConnectorError, PermanentError
from listener.queue.items import ensure_holder
from listener.store import audit
from listener.store.db import write_transaction
from listener.store.models import Mention, ModerationRequest, QueueItem, User

HIDE_PLATFORMS = ("facebook", "instagram")
DELETE_PLATFORMS = ("linkedin",)  # the platform has no hiding: a page admin can only delete
MODERATED_PLATFORMS = (*HIDE_PLATFORMS, *DELETE_PLATFORMS)
MAX_ATTEMPTS = 8
MAX_REASON_CHARS = 2_000


class ModerationError(Exception):
    """A hide request that cannot be made; ``str(exc)`` is the message for the person."""


class Deleter(Protocol):
    def delete(self, *, source: str, external_id: str) -> None: ...


def action_for(platform: str) -> str:
    """What a request to take a comment down does on ``platform``: ``hide``, or ``delete`` on LinkedIn."""
    return "delete" if platform in DELETE_PLATFORMS else "hide"


def moderation_refusal(mention: Mention) -> str | None:
    """Why this post cannot be hidden (or deleted) from Listening Post, or None when it can."""
    if mention.platform not in MODERATED_PLATFORMS:
        return (
            "Only Facebook and Instagram comments can be hidden, and LinkedIn comments deleted, "
            "from Listening Post."
        )
    if action_for(mention.platform) == "delete" and mention.kind not in ("comment", "reply"):
        return "Only comments on the page's own posts can be deleted on LinkedIn."
    return None


def request_hide(
    session: Session, *, item: QueueItem, user: User, reason: str, now: datetime
) -> ModerationRequest:
    """Record that the comment behind ``item`` should be hidden, and why (audited).

    The same claim rule as replying: an open item, held by the person asking (or a lead).
    """
    reason = reason.strip()
    if not reason:
        raise ModerationError("Give a reason for hiding the comment.")
    if len(reason) > MAX_REASON_CHARS:
        raise ModerationError(f"The reason can be at most {MAX_REASON_CHARS:,} characters.")
    item = ensure_holder(session, item=item, user=user, now=now)
    mention = session.get_one(Mention, item.mention_id)
    refusal = moderation_refusal(mention)
    if refusal is not None:
        raise ModerationError(refusal)
    action = action_for(mention.platform)
    existing = session.scalar(
        select(ModerationRequest).where(
            ModerationRequest.queue_item_id == item.id,
            ModerationRequest.action == action,
            ModerationRequest.status.in_(("pending", "done")),
        )
    )
    if existing is not None:
        raise ModerationError(
            "This comment is already hidden or waiting to be hidden."
            if action == "hide"
            else "This comment is already deleted or waiting to be deleted."
        )
    request = ModerationRequest(
        queue_item_id=item.id,
        action=action,
        platform=mention.platform,
        source_key=mention.source_key,
        external_id=mention.external_id,
        reason=reason,
        requested_by_id=user.id,
        requested_at=now,
        status="pending",
        next_attempt_at=now,
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor=user,
        action=f"item.{action}_requested",
        object_type="queue_item",
        object_id=item.id,
        after={"reason": reason, "request": request.id},
    )
    return request


def requests_for(session: Session, item_id: int) -> list[ModerationRequest]:
    return list(
        session.scalars(
            select(ModerationRequest)
            .where(ModerationRequest.queue_item_id == item_id)
            .order_by(ModerationRequest.id)
        )
    )


def retry_delay(attempts: int) -> timedelta:
    return min(timedelta(seconds=30) * 2 ** min(attempts, 16), timedelta(hours=1))


def perform_due_hides(
    engine: Engine, connector_for: Callable[[str], Connector], *, now: datetime, limit: int = 20
) -> int:
    """The worker's job: call ``connector.hide`` (``delete`` on LinkedIn) for due requests; returns how many.

    ``connector_for(source_key)`` gives the connector for the request's source. A temporary
    failure is retried with backoff; a permanent one (or too many tries) is marked failed
    with the platform's reason, which the item page shows.
    """
    with write_transaction(engine) as session:
        due = session.execute(
            select(
                ModerationRequest.id,
                ModerationRequest.action,
                ModerationRequest.source_key,
                ModerationRequest.external_id,
            )
            .where(
                ModerationRequest.status == "pending",
                or_(ModerationRequest.next_attempt_at.is_(None), ModerationRequest.next_attempt_at <= now),
            )
            .order_by(ModerationRequest.id)
            .limit(limit)
        ).all()
    done = 0
    for request_id, action, source_key, external_id in due:
        try:
            connector = connector_for(source_key)
            if action == "delete":
                cast(Deleter, connector).delete(source=source_key, external_id=external_id)
            else:
                connector.hide(source=source_key, external_id=external_id, hidden=True)
        except ConnectorError as exc:
            _record_failure(engine, request_id, exc, now)
            continue
        with write_transaction(engine) as session:
            request = session.get_one(ModerationRequest, request_id)
            request.status = "done"
            request.done_at = now
            request.attempts += 1
            request.last_error = None
            audit.record(
                session,
                actor="worker",
                action="item.deleted" if action == "delete" else "item.hidden",
                object_type="queue_item",
                object_id=request.queue_item_id,
            )
        done += 1
    return done


def _record_failure(engine: Engine, request_id: int, exc: ConnectorError, now: datetime) -> None:
    with write_transaction(engine) as session:
        request = session.get_one(ModerationRequest, request_id)
        request.attempts += 1
        request.last_error = exc.message[:2000]
        if isinstance(exc, PermanentError) or request.attempts >= MAX_ATTEMPTS:
            request.status = "failed"
        else:
            request.next_attempt_at = max(now + retry_delay(request.attempts), exc.retry_at or now)
