"""What both of an incident's public messages share (policy 7.2): a lead's approval on the
locked incident, the reply checker per platform, and one approved ``Reply`` per target and
part, never twice (a unique index backs this up). The messages themselves:
:mod:`listener.replies.incident_posts` (the listening message) and
:mod:`listener.replies.considered_response`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listener.accounts.users import has_role
from listener.incidents.lifecycle import IncidentClosed
from listener.replies.drafts import signs_replies
from listener.rules import lint_rules
from listener.settings import Settings
from listener.store import audit
from listener.store.models import Incident, Reply, Response, User
from triage.lint import Finding, LintConfig, check_reply

POSTABLE_PLATFORMS = ("x", "facebook")


class NotPermitted(Exception):
    """The user's role is too low for this step."""


class Blocked(Exception):
    """The reply checker found a problem that stops sending; a lead may override it."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        super().__init__("; ".join(f.message for f in findings))
        self.findings = list(findings)


class NotReady(Exception):
    """The response cannot be posted yet: the message says what is missing."""


def require_lead(user: User) -> None:
    if not has_role(user, "lead"):
        raise NotPermitted("this needs a comms lead")


def ensure_open(incident: Incident) -> None:
    if incident.status == "resolved":
        raise IncidentClosed("this incident is resolved")


def lock_incident(session: Session, incident: Incident) -> Incident:
    """Lock the incident's row and read it afresh: its public posts and sign-offs change one at a time.

    Two leads (or one lead's double click) then run one after the other on PostgreSQL, and
    the second sees what the first committed; the unique indexes back this up.
    """
    return session.get_one(Incident, incident.id, with_for_update=True, populate_existing=True)


def locked_response(session: Session, response: Response) -> Response:
    lock_incident(session, session.get_one(Incident, response.incident_id))
    session.refresh(response)
    return response


def platform_of(source_key: str) -> str:
    return source_key.split(":", 1)[0]


def lint(settings: Settings, text: str, source_key: str, rules: LintConfig | None = None) -> list[Finding]:
    return check_reply(
        text,
        platform=platform_of(source_key),
        rules=rules or lint_rules(),
        signs_replies=signs_replies(settings, source_key),
    ).findings


@dataclass(frozen=True)
class Target:
    """Where one copy of a message goes: a new post on an account, or a reply to one item."""

    source_key: str
    in_reply_to: str | None = None
    queue_item_id: int | None = None

    @property
    def key(self) -> str:
        return (
            f"item:{self.queue_item_id}" if self.queue_item_id is not None else f"account:{self.source_key}"
        )


def _idempotency(incident_id: int, purpose: str, target_key: str, text: str) -> str:
    return hashlib.sha256(f"{purpose}:{incident_id}:{target_key}:{text}".encode()).hexdigest()


def _already(session: Session, incident: Incident, purpose: str) -> set[tuple[str, int | None, str | None]]:
    rows = session.execute(
        select(Reply.source_key, Reply.queue_item_id, Reply.in_reply_to).where(
            Reply.incident_id == incident.id, Reply.purpose == purpose, Reply.status != "failed"
        )
    ).all()
    return {(r.source_key, r.queue_item_id, r.in_reply_to) for r in rows}


def approved_replies(
    session: Session,
    settings: Settings,
    *,
    incident: Incident,
    user: User,
    purpose: str,
    texts: Sequence[str],
    targets: Sequence[Target],
    override: bool,
    now: datetime,
) -> list[Reply]:
    """One approved ``Reply`` per target and part (checked, and never twice); the outbox sends them.

    A ``block`` finding raises :class:`Blocked` unless ``override``, which is audited.
    """
    findings = {
        (platform_of(t.source_key), text): lint(settings, text, t.source_key)
        for t in targets
        for text in texts
    }
    blocking = [f for found in findings.values() for f in found if f.severity == "block"]
    if blocking and not override:
        raise Blocked(blocking)
    done = _already(session, incident, purpose)
    made = []
    for target in targets:
        if (target.source_key, target.queue_item_id, target.in_reply_to) in done:
            continue  # already on its way or sent: never twice
        for part, text in enumerate(texts):
            found = findings[(platform_of(target.source_key), text)]
            reply = _approved_reply(incident, user, purpose, target, part, text, found, bool(blocking), now)
            session.add(reply)
            made.append(reply)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise NotReady(
            f"the {purpose} message is already on its way to one of these accounts or items"
        ) from None
    if blocking:
        audit.record(
            session,
            actor=user,
            action=f"incident.{purpose}.override",
            object_type="incident",
            object_id=incident.id,
            after={"findings": sorted({f.rule for f in blocking})},
        )
    return made


def _approved_reply(
    incident: Incident,
    user: User,
    purpose: str,
    target: Target,
    part: int,
    text: str,
    findings: Sequence[Finding],
    overridden: bool,
    now: datetime,
) -> Reply:
    return Reply(
        queue_item_id=target.queue_item_id,
        incident_id=incident.id,
        purpose=purpose,
        platform=platform_of(target.source_key),
        source_key=target.source_key,
        in_reply_to=target.in_reply_to,
        part=part,
        text=text,
        status="approved",
        lint=[f.to_dict() for f in findings],
        override_by_id=user.id if overridden else None,
        author_id=user.id,
        approved_by_id=user.id,
        approved_at=now,
        idempotency_key=_idempotency(incident.id, purpose, f"{target.key}:{part}", text),
        created_at=now,
    )
