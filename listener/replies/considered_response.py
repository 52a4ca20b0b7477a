"""The considered response to an incident (policy 7.2): its format, the 7.2 checklist, and a
sign-off per configured stakeholder. A sign-off is bound to a hash of the text it approved, so
an edit voids it, and the response cannot be posted while any stakeholder's sign-off is
missing. It ends as ``Reply`` rows (purpose ``response``) that the outbox sends. All audited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listener.incidents.lifecycle import set_responding
from listener.replies.incident_approval import (
    POSTABLE_PLATFORMS,
    NotPermitted,
    NotReady,
    Target,
    approved_replies,
    ensure_open,
    lock_incident,
    locked_response,
    platform_of,
    require_lead,
)
from listener.settings import Settings
from listener.store import audit
from listener.store.models import Incident, Reply, Response, SignOff, User
from listener.store.types import utcnow

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
    require_lead(user)
    incident = lock_incident(session, incident)
    ensure_open(incident)
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
    require_lead(user)
    if stakeholder not in settings.incidents.stakeholders:
        raise ValueError(f"{stakeholder!r} is not a configured stakeholder")
    response = locked_response(session, response)
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
    require_lead(user)
    incident = lock_incident(session, incident)
    response = locked_response(session, response)
    ensure_open(incident)
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
    made = approved_replies(
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
