"""What tells people something waits for them: replies a lead returned, replies waiting for approval.

A lead returning a reply is recorded once, in the audit log (``reply.return_to_draft`` with the
lead's note); the reply goes back to ``draft``. So a returned reply is a draft with such an event,
and its note is the latest event's. Nothing is copied: the audit log stays the one record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, String, and_, cast, func, select
from sqlalchemy.orm import Session

from listener.store.models import AuditEvent, Reply, User

RETURNED_ACTION = "reply.return_to_draft"
COUNT_CAP = 999


@dataclass(frozen=True)
class ReturnNote:
    reply_id: int
    note: str
    by: str  # the lead's name (or the actor recorded, when the account is gone)
    at: datetime


def _return_event_of_reply() -> ColumnElement[bool]:
    return and_(
        AuditEvent.action == RETURNED_ACTION,
        AuditEvent.object_type == "reply",
        AuditEvent.object_id == cast(Reply.id, String),
    )


def returned_replies(user: User) -> ColumnElement[bool]:
    """Condition on ``Reply``: a draft of ``user``'s that a lead sent back."""
    return and_(
        Reply.author_id == user.id,
        Reply.status == "draft",
        select(AuditEvent.id).where(_return_event_of_reply()).exists(),
    )


def return_note(session: Session, reply: Reply | None) -> ReturnNote | None:
    """The lead's note on a reply they sent back, while it is still a draft."""
    if reply is None or reply.status != "draft":
        return None
    row = session.execute(
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(
            AuditEvent.action == RETURNED_ACTION,
            AuditEvent.object_type == "reply",
            AuditEvent.object_id == str(reply.id),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    event, name = row
    return ReturnNote(
        reply_id=reply.id, note=str((event.after or {}).get("note", "")), by=name or event.actor, at=event.at
    )


def waiting_approval(session: Session, cap: int = COUNT_CAP) -> int:
    """Replies waiting for a lead's approval, up to ``cap + 1``: the header shows it on every page."""
    capped = select(Reply.id).where(Reply.status == "pending_approval").limit(cap + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(capped)) or 0)
