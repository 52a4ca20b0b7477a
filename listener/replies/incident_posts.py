"""What an incident says in public (policy 7.2): the listening message, then the considered response.

The listening message goes out once a lead approves it: a post on each affected account,
and — in the same step if the lead asks — a reply to each open item of the incident. The
considered response carries its format, the 7.2 checklist and a sign-off per configured
stakeholder; a sign-off is bound to a hash of the text it approved, so an edit voids it,
and the response cannot be posted while any stakeholder's sign-off is missing. Both end as
``Reply`` rows (purpose ``listening`` / ``response``) that the outbox sends. All audited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from listener.accounts.users import has_role
from listener.incidents.lifecycle import IncidentClosed, set_responding
from listener.replies.drafts import signs_replies
from listener.rules import lint_rules
from listener.settings import Settings
from listener.store import audit
from listener.store.models import (
    LIVE_REPLY_STATUSES,
    Incident,
    Mention,
    QueueItem,
    Reply,
    Response,
    SignOff,
    User,
)
from listener.store.types import utcnow
from triage.lint import Finding, LintConfig, check_reply

POSTABLE_PLATFORMS = ("x", "facebook")
RESPONSE_FORMATS = {
    "post": "A post",
    "thread": "A thread (parts separated by a line with only ---)",
    "statement": "A statement",
    "news_release": "A news release",
}
# Policy 7.2's checklist for the considered response, as questions on the form.
CHECKLIST = {
    "answers_questions": "Does it answer the questions people are asking?",
    "public_domain": "Is all the information in it already in the public domain?",
    "empathy": "Does it show empathy?",
    "apology": "Does it say sorry, if we are sorry?",
    "transparent": "Is it transparent?",
    "other_channels": "Are other channels, such as the website, updated?",
    "plain_english": "Is it in plain English, with no jargon?",
    "faqs": "Are FAQs published alongside it?",
}
ANSWERS = ("yes", "no", "not_applicable")
THREAD_BREAK = "---"
ANSWERED = (*LIVE_REPLY_STATUSES, "sent")  # an item with a reply in one of these gets no listening reply


class NotPermitted(Exception):
    """The user's role is too low for this step."""


class Blocked(Exception):
    """The reply checker found a problem that stops sending; a lead may override it."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        super().__init__("; ".join(f.message for f in findings))
        self.findings = list(findings)


class NotReady(Exception):
    """The response cannot be posted yet: the message says what is missing."""


def _require_lead(user: User) -> None:
    if not has_role(user, "lead"):
        raise NotPermitted("this needs a comms lead")


def _open(incident: Incident) -> None:
    if incident.status == "resolved":
        raise IncidentClosed("this incident is resolved")


def _lock(session: Session, incident: Incident) -> Incident:
    """Lock the incident's row and read it afresh: its public posts and sign-offs change one at a time.

    Two leads (or one lead's double click) then run one after the other on PostgreSQL, and
    the second sees what the first committed; the unique indexes back this up.
    """
    return session.get_one(Incident, incident.id, with_for_update=True, populate_existing=True)


def _locked_response(session: Session, response: Response) -> Response:
    _lock(session, session.get_one(Incident, response.incident_id))
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


# --- the listening message -------------------------------------------------------------------


def suggested_listening_message(settings: Settings, user: User) -> str:
    return f"{settings.incidents.listening_message} ^{user.initials}"


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


def _idempotency(incident_id: int, purpose: str, target_key: str, text: str) -> str:
    return hashlib.sha256(f"{purpose}:{incident_id}:{target_key}:{text}".encode()).hexdigest()


def _already(session: Session, incident: Incident, purpose: str) -> set[tuple[str, int | None, str | None]]:
    rows = session.execute(
        select(Reply.source_key, Reply.queue_item_id, Reply.in_reply_to).where(
            Reply.incident_id == incident.id, Reply.purpose == purpose, Reply.status != "failed"
        )
    ).all()
    return {(r.source_key, r.queue_item_id, r.in_reply_to) for r in rows}


def _approved_replies(
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
            reply = Reply(
                queue_item_id=target.queue_item_id,
                incident_id=incident.id,
                purpose=purpose,
                platform=platform_of(target.source_key),
                source_key=target.source_key,
                in_reply_to=target.in_reply_to,
                part=part,
                text=text,
                status="approved",
                lint=[f.to_dict() for f in findings[(platform_of(target.source_key), text)]],
                override_by_id=user.id if blocking else None,
                author_id=user.id,
                approved_by_id=user.id,
                approved_at=now,
                idempotency_key=_idempotency(incident.id, purpose, f"{target.key}:{part}", text),
                created_at=now,
            )
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
    _require_lead(user)
    incident = _lock(session, incident)
    _open(incident)
    now = now or utcnow()
    text = text.strip()
    if not text:
        raise NotReady("the listening message is empty")
    targets = listening_targets(session, incident, to_items=to_items)
    if not targets:
        raise NotReady("no account to post on: the incident has no X or Facebook account")
    made = _approved_replies(
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


# --- the considered response -----------------------------------------------------------------


def text_version(fmt: str, text: str) -> str:
    """What a sign-off approves: the format and the exact text."""
    return hashlib.sha256(f"{fmt}\n{text}".encode()).hexdigest()


def current_response(session: Session, incident: Incident) -> Response | None:
    return session.scalars(
        select(Response)
        .where(Response.incident_id == incident.id)
        .order_by(Response.id.desc())
        .execution_options(populate_existing=True)
    ).first()


def save_response(
    session: Session,
    *,
    incident: Incident,
    user: User,
    fmt: str,
    text: str,
    checklist: Mapping[str, str],
    now: datetime | None = None,
) -> Response:
    """Create or edit the draft. Changing the text or format voids every sign-off given so far."""
    _require_lead(user)
    incident = _lock(session, incident)
    _open(incident)
    if fmt not in RESPONSE_FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    answers = {k: v for k, v in checklist.items() if k in CHECKLIST and v in ANSWERS}
    now = now or utcnow()
    response = current_response(session, incident)
    if response is not None and response.status == "posted":
        raise NotReady("the response has been posted; it can no longer change")
    if response is None:
        response = Response(incident_id=incident.id, created_by_id=user.id, created_at=now, text="")
        session.add(response)
    before = {"format": response.format, "text": response.text, "checklist": dict(response.checklist or {})}
    old_version = text_version(response.format or "post", response.text or "")
    response.format = fmt
    response.text = text.strip()
    response.checklist = answers
    response.updated_at = now
    session.flush()
    voided = []
    if text_version(fmt, response.text) != old_version:
        voided = [s.stakeholder for s in signoffs(session, response) if s.text_version == old_version]
        response.status = "draft"
    set_responding(session, incident=incident, user=user)
    audit.record(
        session,
        actor=user,
        action="response.saved",
        object_type="response",
        object_id=response.id,
        before=before,
        after={"format": fmt, "text": response.text, "checklist": answers, "voided_signoffs": voided},
    )
    return response


def signoffs(session: Session, response: Response) -> list[SignOff]:
    return list(
        session.scalars(
            select(SignOff)
            .where(SignOff.response_id == response.id)
            .order_by(SignOff.id)
            .execution_options(populate_existing=True)
        ).all()
    )


def signoff_state(session: Session, settings: Settings, response: Response) -> list[dict[str, Any]]:
    """Per configured stakeholder: signed (on this text), void (signed an older text) or missing."""
    current = text_version(response.format, response.text)
    given = {s.stakeholder: s for s in signoffs(session, response)}
    state = []
    for stakeholder in settings.incidents.stakeholders:
        s = given.get(stakeholder)
        status = "missing" if s is None else ("signed" if s.text_version == current else "void")
        state.append({"stakeholder": stakeholder, "status": status, "signoff": s})
    return state


def missing_signoffs(session: Session, settings: Settings, response: Response) -> list[str]:
    return [s["stakeholder"] for s in signoff_state(session, settings, response) if s["status"] != "signed"]


def sign_off(
    session: Session,
    settings: Settings,
    *,
    response: Response,
    user: User,
    stakeholder: str,
    comment: str = "",
    now: datetime | None = None,
) -> SignOff:
    """Sign the current text for one stakeholder. One person signs for one stakeholder per response.

    The incident is locked first, so two sign-offs at once run one after the other, and a
    unique index (response, text, person) refuses a second stakeholder signed by the same person.
    """
    _require_lead(user)
    if stakeholder not in settings.incidents.stakeholders:
        raise ValueError(f"{stakeholder!r} is not a configured stakeholder")
    response = _locked_response(session, response)
    if response.status == "posted":
        raise NotReady("the response has been posted")
    if not response.text:
        raise NotReady("there is no text to sign off yet")
    now = now or utcnow()
    version = text_version(response.format, response.text)
    existing = {s.stakeholder: s for s in signoffs(session, response)}
    for other, s in existing.items():
        if other != stakeholder and s.user_id == user.id and s.text_version == version:
            raise NotPermitted(f"you have signed this text as {other}; another person signs as {stakeholder}")
    signoff = existing.get(stakeholder)
    if signoff is None:
        signoff = SignOff(
            response_id=response.id, stakeholder=stakeholder, user_id=user.id, text_version=version
        )
        session.add(signoff)
    signoff.user_id = user.id
    signoff.text_version = version
    signoff.comment = comment.strip() or None
    signoff.signed_at = now
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise NotPermitted(
            f"you have signed this text for another stakeholder; another person signs as {stakeholder}"
        ) from None
    if not missing_signoffs(session, settings, response):
        response.status = "signed_off"
    audit.record(
        session,
        actor=user,
        action="response.signed_off",
        object_type="response",
        object_id=response.id,
        after={"stakeholder": stakeholder, "text_version": version, "comment": signoff.comment},
    )
    return signoff


def unanswered_checklist(response: Response) -> list[str]:
    return [
        question for key, question in CHECKLIST.items() if (response.checklist or {}).get(key) not in ANSWERS
    ]


def response_parts(response: Response) -> list[str]:
    """A thread is posted part by part; every other format is one text."""
    if response.format != "thread":
        return [response.text]
    parts: list[str] = []
    current: list[str] = []
    for line in response.text.splitlines():
        if line.strip() == THREAD_BREAK:
            parts.append("\n".join(current).strip())
            current = []
        else:
            current.append(line)
    parts.append("\n".join(current).strip())
    return [p for p in parts if p]


def post_response(
    session: Session,
    settings: Settings,
    *,
    incident: Incident,
    response: Response,
    user: User,
    override: bool = False,
    now: datetime | None = None,
) -> list[Reply]:
    """Post the considered response on the affected accounts: only with every sign-off on this text.

    A statement or news release is published by the press office and the website; posting
    it here records it as published and, for the accounts, posts its text as well.
    """
    _require_lead(user)
    incident = _lock(session, incident)
    response = _locked_response(session, response)
    _open(incident)
    if response.status == "posted":
        raise NotReady("the response has been posted already")
    missing = missing_signoffs(session, settings, response)
    if missing:
        raise NotReady("sign-off missing from " + ", ".join(missing))
    unanswered = unanswered_checklist(response)
    if unanswered:
        raise NotReady("checklist not answered: " + " ".join(unanswered))
    now = now or utcnow()
    targets = [Target(source) for source in incident.accounts if platform_of(source) in POSTABLE_PLATFORMS]
    made = _approved_replies(
        session,
        settings,
        incident=incident,
        user=user,
        purpose="response",
        texts=response_parts(response),
        targets=targets,
        override=override,
        now=now,
    )
    response.status = "posted"
    response.posted_at = now
    audit.record(
        session,
        actor=user,
        action="response.posted",
        object_type="response",
        object_id=response.id,
        after={
            "format": response.format,
            "text_version": text_version(response.format, response.text),
            "replies": [r.id for r in made],
        },
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
