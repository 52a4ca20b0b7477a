"""What people decide about a queue item instead of replying: no reply needed (with the reason,
kept for the FOI export and reports), or escalation to a manager with an alert. Both audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from listener.incidents import alerts
from listener.queue.items import ensure_holder
from listener.replies.drafts import MAX_REASON_CHARS, ReplyError, ensure_nothing_in_flight
from listener.settings import Settings
from listener.store import audit
from listener.store.models import Mention, QueueItem, User


def _reason(reason: str, what: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ReplyError(f"Give a reason for {what}.")
    if len(reason) > MAX_REASON_CHARS:
        raise ReplyError(f"The reason can be at most {MAX_REASON_CHARS:,} characters.")
    return reason


def no_reply_needed(
    session: Session, *, item: QueueItem, user: User, reason: str, now: datetime
) -> QueueItem:
    """Close the item without answering, saying why (kept for the FOI export and reports)."""
    reason = _reason(reason, "closing without a reply")
    item = ensure_holder(session, item=item, user=user, now=now)
    ensure_nothing_in_flight(session, item)
    before = {"status": item.status}
    item.status = "no_reply_needed"
    item.no_reply_reason = reason
    item.closed_at = now
    item.version += 1
    audit.record(
        session,
        actor=user,
        action="item.no_reply_needed",
        object_type="queue_item",
        object_id=item.id,
        before=before,
        after={"status": item.status, "reason": reason},
    )
    return item


def escalate(
    session: Session, *, item: QueueItem, user: User, reason: str, settings: Settings, now: datetime
) -> QueueItem:
    """Pass the item to a manager (policy 5.1: concerns about staff conduct) and alert the escalation list."""
    reason = _reason(reason, "escalating")
    item = ensure_holder(session, item=item, user=user, now=now)
    if item.escalated_at is not None:
        raise ReplyError("This item has already been escalated to a manager.")
    item.escalated_at = now
    item.escalation_reason = reason
    item.version += 1
    mention = session.get_one(Mention, item.mention_id)
    base = settings.general.base_url.rstrip("/")
    personal = mention.score.personal_data if mention.score is not None else []
    alerts.queue_alert(
        session,
        kind="escalation",
        audience="escalation",
        title=f"Queue item {item.id} escalated to a manager by {user.name}",
        body=(
            f"Reason: {reason}\n\nPost ({mention.platform}): {alerts.quote(mention.text, personal)}\n\n"
            f"Open it: {base}/items/{item.id}"
        ),
        dedupe_key=f"item-escalation:{item.id}",
        now=now,
    )
    audit.record(
        session,
        actor=user,
        action="item.escalate",
        object_type="queue_item",
        object_id=item.id,
        after={"reason": reason},
    )
    return item
