"""The append-only audit log: every state change a person (or the worker) makes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from listener.store.models import AuditEvent, User


def record(
    session: Session,
    *,
    actor: User | str,
    action: str,
    object_type: str,
    object_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        user_id=actor.id if isinstance(actor, User) else None,
        actor=actor.email if isinstance(actor, User) else actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=before,
        after=after,
    )
    session.add(event)
    return event
