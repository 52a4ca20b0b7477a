"""What an incident says in public (policy 7.2): the listening message, then the considered response.

The listening message goes out once a lead approves it: a post on each affected account,
and — in the same step if the lead asks — a reply to each open item of the incident. It
ends as ``Reply`` rows (purpose ``listening``) that the outbox sends, audited. The considered
response and its sign-offs: :mod:`listener.replies.considered_response`; what both share:
:mod:`listener.replies.incident_approval`. The web app's incident pages reach all three
through this module, which re-exports the names they use.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from listener.replies.considered_response import (
    CHECKLIST,
    RESPONSE_FORMATS,
    current_response,
    missing_signoffs,
    post_response,
    save_response,
    sign_off,
    signoff_state,
    text_version,
    unanswered_checklist,
)
from listener.replies.incident_approval import (
    POSTABLE_PLATFORMS,
    Blocked,
    NotPermitted,
    NotReady,
    Target,
    approved_replies,
    ensure_open,
    lint,
    lock_incident,
    platform_of,
    require_lead,
)
from listener.settings import Settings
from listener.store import audit
from listener.store.models import LIVE_REPLY_STATUSES, Incident, Mention, QueueItem, Reply, User
from listener.store.types import utcnow
from triage.lint import Finding

__all__ = [
    "CHECKLIST",
    "RESPONSE_FORMATS",
    "Blocked",
    "NotPermitted",
    "NotReady",
    "Target",
    "check_message",
    "current_response",
    "incident_items",
    "lint",
    "listening_targets",
    "missing_signoffs",
    "post_listening_message",
    "post_response",
    "save_response",
    "sign_off",
    "signoff_state",
    "suggested_listening_message",
    "text_version",
    "unanswered_checklist",
]

ANSWERED = (*LIVE_REPLY_STATUSES, "sent")  # an item with a reply in one of these gets no listening reply


def suggested_listening_message(settings: Settings, user: User) -> str:
    return f"{settings.incidents.listening_message} ^{user.initials}"


def listening_targets(session: Session, incident: Incident, *, to_items: bool) -> list[Target]:
    """The affected accounts, and the incident's items still waiting for a first response."""
    targets = [Target(source) for source in incident.accounts if platform_of(source) in POSTABLE_PLATFORMS]
    if to_items:
        open_items = (
            select(QueueItem.id)
            .where(QueueItem.incident_id == incident.id, QueueItem.status.in_(("new", "claimed")))
            .order_by(QueueItem.id)
        )
        # Lock them first (as a send from the queue does), then read their replies afresh.
        session.execute(open_items.with_for_update()).all()
        items = session.scalars(
            select(QueueItem)
            .options(joinedload(QueueItem.mention))
            .where(
                QueueItem.incident_id == incident.id,
                QueueItem.status.in_(("new", "claimed")),
                QueueItem.first_response_at.is_(None),
                # An item someone is answering (a draft, waiting for approval, sending) gets no second reply.
                ~select(Reply.id)
                .where(Reply.queue_item_id == QueueItem.id, Reply.status.in_(ANSWERED))
                .exists(),
            )
            .order_by(QueueItem.id)
        ).all()
        targets += [
            Target(item.mention.source_key, item.mention.external_id, item.id)
            for item in items
            if item.mention.platform in POSTABLE_PLATFORMS
        ]
    return targets


def check_message(settings: Settings, text: str, targets: Sequence[Target]) -> dict[str, list[Finding]]:
    """Findings per platform the message goes to (the page shows them before the lead approves)."""
    by_platform: dict[str, list[Finding]] = {}
    for target in targets:
        platform = platform_of(target.source_key)
        if platform not in by_platform:
            by_platform[platform] = lint(settings, text, target.source_key)
    return by_platform


def post_listening_message(
    session: Session,
    settings: Settings,
    *,
    incident: Incident,
    user: User,
    text: str,
    to_items: bool = False,
    override: bool = False,
    now: datetime | None = None,
) -> list[Reply]:
    """A lead approves the listening message: one post per affected account (and a reply per open item)."""
    require_lead(user)
    incident = lock_incident(session, incident)
    ensure_open(incident)
    now = now or utcnow()
    text = text.strip()
    if not text:
        raise NotReady("the listening message is empty")
    targets = listening_targets(session, incident, to_items=to_items)
    if not targets:
        raise NotReady("no account to post on: the incident has no X or Facebook account")
    made = approved_replies(
        session,
        settings,
        incident=incident,
        user=user,
        purpose="listening",
        texts=[text],
        targets=targets,
        override=override,
        now=now,
    )
    if made and incident.listening_message_at is None:
        incident.listening_message_at = now
    audit.record(
        session,
        actor=user,
        action="incident.listening_message",
        object_type="incident",
        object_id=incident.id,
        after={"text": text, "replies": [r.id for r in made], "to_items": to_items},
    )
    return made


def incident_items(session: Session, incident: Incident) -> list[QueueItem]:
    return list(
        session.scalars(
            select(QueueItem)
            .options(joinedload(QueueItem.mention).joinedload(Mention.author))
            .where(QueueItem.incident_id == incident.id)
            .order_by(QueueItem.id)
        ).all()
    )
