"""Replies from the queue: drafts, the reply checker, approval and lead overrides.

A reply moves draft -> pending_approval -> approved (the outbox sends it). A ``block``
finding from the reply checker stops sending unless a lead overrides it, and items in an
open crisis incident go out only with a lead's approval. Every decision is audited.
Closing an item without a reply and escalating it: :mod:`listener.replies.decisions`.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import twitter_text
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listener.accounts.users import has_role
from listener.intake.sources import REPLY_PLATFORMS
from listener.paths import load_config_toml
from listener.queue.items import ensure_holder, in_open_incident, lock_item
from listener.rules import lint_rules
from listener.settings import Settings
from listener.store import audit
from listener.store.models import Mention, QueueItem, Reply, Template, User
from triage.lint import Finding, LintResult, check_reply
from triage.lint.bluesky import bluesky_length
from triage.templates import ReplyTemplate, parse_templates

WORKING = ("draft", "pending_approval")
IN_FLIGHT = ("approved", "sending", "held", "sent")
MAX_REPLY_CHARS = 10_000  # far above any platform's limit: the checker reports the real one
MAX_REASON_CHARS = 2_000
INSTAGRAM_TOP_LEVEL_ONLY = (
    "Instagram only allows replies to top-level comments, and this is a reply to a comment. "
    "Answer the comment it replies to instead, starting with this person's @username."
)
INSTAGRAM_MENTION_IN_INSTAGRAM = (
    "This is someone else's Instagram post or comment that mentions the account: Instagram does not "
    "let Listening Post answer it. Answer it in the Instagram app, then close this item."
)


class ReplyError(Exception):
    """A reply action that cannot be done; ``str(exc)`` is the message for the person."""


class AlreadySending(ReplyError):
    """Another request (a double click, a second tab) queued this item's reply first."""

    def __init__(self) -> None:
        super().__init__("A reply to this item is already being sent (or has been sent).")


class TextChanged(ReplyError):
    """The reply's text is not the one the lead read: approval needs the current text read."""

    def __init__(self) -> None:
        super().__init__(
            "The reply was changed after you opened it. It is still waiting for approval: "
            "read the new text, then approve it."
        )


class LintBlocked(ReplyError):
    def __init__(self, result: LintResult) -> None:
        blocks = [f for f in result.findings if f.severity == "block"]
        super().__init__(
            "The reply checker found a problem that stops sending: "
            + " ".join(f.message for f in blocks)
            + " Fix it, or ask a comms lead to override."
        )
        self.result = result


@dataclass(frozen=True)
class SendOutcome:
    reply: Reply
    queued: bool  # approved: the outbox sends it
    needs_approval: bool  # waiting for a lead (crisis item)


def signs_replies(settings: Settings, source_key: str) -> bool:
    """Whether a reply going out from ``source_key`` ends with the writer's initials (policy 7.0).

    The one home of this rule (queue replies and incident posts both ask it). The account is
    the one the source names (``x:mentions:@handle``, ``facebook:page:<id>``); a source that
    names none (a search, or a bare platform slug) takes the setting its platform's accounts
    share, and signs when they differ or none is configured: a signature is never wrong.
    """
    platform, _, rest = source_key.partition(":")
    kind, _, name = rest.partition(":")
    accounts = [a for a in settings.accounts if a.platform == platform]
    if kind in ("mentions", "page"):
        named = [a for a in accounts if a.handle.lstrip("@").lower() == name.lstrip("@").lower()]
        if named:
            return named[0].signs_replies
    return not accounts or any(a.signs_replies for a in accounts)


def lint(text: str, *, source_key: str, settings: Settings) -> LintResult:
    """The reply checker for a reply going out from ``source_key`` (or a bare platform slug)."""
    return check_reply(
        text,
        platform=source_key.partition(":")[0],
        rules=lint_rules(),
        signs_replies=signs_replies(settings, source_key),
    )


def length_used(text: str, platform: str) -> tuple[int, int]:
    """(characters used, the platform's limit) as the platform counts them."""
    rules = lint_rules()
    if platform == "x":
        parsed = twitter_text.parse_tweet(text)
        return parsed.weightedLength, rules.x_max_weighted_length
    if platform == "bluesky":
        return bluesky_length(text, rules.bluesky_max_graphemes)[0], rules.bluesky_max_graphemes
    return len(text), rules.max_length(platform)


def reply_refusal(mention: Mention) -> str | None:
    """Why Listening Post cannot answer this post on its platform, or None when it can."""
    if mention.platform not in REPLY_PLATFORMS:
        return f"Listening Post cannot reply on {mention.platform}."
    if mention.platform == "instagram" and mention.kind == "reply":
        return INSTAGRAM_TOP_LEVEL_ONLY
    if mention.platform == "instagram" and mention.kind == "mention":
        return INSTAGRAM_MENTION_IN_INSTAGRAM
    return None


def replies_for(session: Session, item_id: int) -> list[Reply]:
    return list(session.scalars(select(Reply).where(Reply.queue_item_id == item_id).order_by(Reply.id)))


def working_reply(session: Session, item_id: int) -> Reply | None:
    return session.scalar(
        select(Reply)
        .where(Reply.queue_item_id == item_id, Reply.status.in_(WORKING))
        .order_by(Reply.id.desc())
        .limit(1)
    )


def _check_text(text: str) -> str:
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyError(f"A reply can be at most {MAX_REPLY_CHARS:,} characters.")
    return text


def ensure_nothing_in_flight(session: Session, item: QueueItem) -> None:
    """One answer per item: a double click or a second tab cannot queue a second reply.

    Runs after ``ensure_holder`` has locked the item, so on PostgreSQL it sees what a
    concurrent request committed; the partial unique index on live replies backs it up.
    """
    existing = session.scalar(
        select(Reply.status).where(Reply.queue_item_id == item.id, Reply.status.in_(IN_FLIGHT)).limit(1)
    )
    if existing is not None:
        raise AlreadySending()


def _upsert_working(
    session: Session, *, item: QueueItem, user: User, text: str, now: datetime, settings: Settings
) -> Reply:
    mention = session.get_one(Mention, item.mention_id)
    refusal = reply_refusal(mention)
    if refusal is not None:
        raise ReplyError(refusal)
    result = lint(text, source_key=mention.source_key, settings=settings)
    reply = working_reply(session, item.id)
    if reply is None:
        reply = Reply(
            queue_item_id=item.id,
            incident_id=item.incident_id,
            purpose="reply",
            platform=mention.platform,
            source_key=mention.source_key,
            in_reply_to=mention.external_id,
            text=text,
            status="draft",
            author_id=user.id,
            idempotency_key=uuid.uuid4().hex,
            created_at=now,
        )
        session.add(reply)
    else:
        reply.text = text
    reply.lint = [f.to_dict() for f in result.findings]
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # The partial unique index: another transaction's reply to this item got in first.
        raise AlreadySending() from None
    return reply


def _working_reply(
    session: Session, *, item: QueueItem, user: User, text: str, settings: Settings, now: datetime
) -> Reply:
    """The checks every write of the working reply needs, then the reply with ``text`` checked and saved."""
    item = ensure_holder(session, item=item, user=user, now=now)
    ensure_nothing_in_flight(session, item)
    return _upsert_working(session, item=item, user=user, text=_check_text(text), now=now, settings=settings)


def save_draft(
    session: Session, *, item: QueueItem, user: User, text: str, settings: Settings, now: datetime
) -> Reply:
    """Keep the text (and its checker findings) on the item without sending anything."""
    reply = _working_reply(session, item=item, user=user, text=text, now=now, settings=settings)
    reply.status = "draft"
    audit.record(
        session,
        actor=user,
        action="reply.draft",
        object_type="reply",
        object_id=reply.id,
        after={"text": text},
    )
    return reply


def request_approval(
    session: Session, *, item: QueueItem, user: User, text: str, settings: Settings, now: datetime
) -> Reply:
    """Ask a lead to approve the reply before it goes out."""
    reply = _working_reply(session, item=item, user=user, text=text, now=now, settings=settings)
    reply.status = "pending_approval"
    audit.record(
        session,
        actor=user,
        action="reply.request_approval",
        object_type="reply",
        object_id=reply.id,
        after={"text": text},
    )
    return reply


def _approve(session: Session, reply: Reply, *, approver: User, override: bool, now: datetime) -> None:
    blocks = [f for f in reply.lint if f.get("severity") == "block"]
    if blocks and not override:
        raise LintBlocked(LintResult(ok=False, findings=_findings(reply)))
    if blocks and override and not has_role(approver, "lead"):
        raise ReplyError("Only a comms lead can override the reply checker.")
    reply.status = "approved"
    reply.approved_by_id = approver.id
    reply.approved_at = now
    reply.next_attempt_at = now
    reply.last_error = None
    if blocks:
        reply.override_by_id = approver.id
        audit.record(
            session,
            actor=approver,
            action="reply.lint_override",
            object_type="reply",
            object_id=reply.id,
            after={"rules": sorted({b["rule"] for b in blocks}), "text": reply.text},
        )
    audit.record(
        session,
        actor=approver,
        action="reply.approve",
        object_type="reply",
        object_id=reply.id,
        after={"text": reply.text, "text_version": text_version(reply.text), "override": bool(blocks)},
    )


def _findings(reply: Reply) -> list[Finding]:
    return [Finding(**f) for f in reply.lint]


def send(
    session: Session,
    *,
    item: QueueItem,
    user: User,
    text: str,
    settings: Settings,
    now: datetime,
    override: bool = False,
) -> SendOutcome:
    """Put the reply in the outbox, or in front of a lead when the item is part of an open crisis.

    A ``block`` finding raises ``LintBlocked`` (the draft is kept) unless a lead overrides.
    """
    reply = _working_reply(session, item=item, user=user, text=text, now=now, settings=settings)
    blocked = any(f.get("severity") == "block" for f in reply.lint)
    if blocked and not (override and has_role(user, "lead")):
        reply.status = "draft"
        raise LintBlocked(LintResult(ok=False, findings=_findings(reply)))
    if in_open_incident(session, item) is not None and not has_role(user, "lead"):
        reply.status = "pending_approval"
        audit.record(
            session,
            actor=user,
            action="reply.request_approval",
            object_type="reply",
            object_id=reply.id,
            after={"text": text, "why": "crisis"},
        )
        return SendOutcome(reply=reply, queued=False, needs_approval=True)
    _approve(session, reply, approver=user, override=override, now=now)
    item.version += 1
    return SendOutcome(reply=reply, queued=True, needs_approval=False)


def text_version(text: str) -> str:
    """What an approval covers: a hash of the exact text the lead was shown."""
    return hashlib.sha256(text.encode()).hexdigest()


def approve(
    session: Session,
    *,
    reply: Reply,
    user: User,
    shown_version: str,
    now: datetime,
    override: bool = False,
) -> Reply:
    """A lead approves the reply text they read (``shown_version``); it goes to the outbox.

    The item is locked first, so of two approvals at once exactly one goes through. If the
    writer changed the text after the lead opened it, nothing is approved: ``TextChanged``.
    """
    if not has_role(user, "lead"):
        raise ReplyError("Only a comms lead can approve replies.")
    item = session.get(QueueItem, reply.queue_item_id) if reply.queue_item_id else None
    if item is not None:
        lock_item(session, item)
    session.refresh(reply)
    if reply.status != "pending_approval":
        raise ReplyError("This reply is not waiting for approval.")
    if shown_version != text_version(reply.text):
        audit.record(
            session,
            actor=user,
            action="reply.approval_refused",
            object_type="reply",
            object_id=reply.id,
            after={"why": "text changed since it was shown", "text": reply.text},
        )
        raise TextChanged()
    if item is not None:
        ensure_nothing_in_flight(session, item)
    _approve(session, reply, approver=user, override=override, now=now)
    if item is not None:
        item.version += 1
    return reply


def return_to_draft(session: Session, *, reply: Reply, user: User, note: str) -> Reply:
    """A lead sends a reply back to its writer with a note instead of approving it."""
    if not has_role(user, "lead"):
        raise ReplyError("Only a comms lead can send a reply back.")
    if reply.status != "pending_approval":
        raise ReplyError("This reply is not waiting for approval.")
    reply.status = "draft"
    audit.record(
        session,
        actor=user,
        action="reply.return_to_draft",
        object_type="reply",
        object_id=reply.id,
        after={"note": note[:MAX_REASON_CHARS]},
    )
    return reply


@lru_cache(maxsize=1)
def default_templates() -> tuple[ReplyTemplate, ...]:
    """The suggested replies a new installation starts with (``config/templates/replies.toml``)."""
    return tuple(parse_templates(load_config_toml("templates/replies.toml")))


def reply_templates(session: Session) -> list[ReplyTemplate]:
    """The defaults with an admin's edits (the ``templates`` table) laid over them by key."""
    merged = {t.id: t for t in default_templates()}
    for row in session.scalars(select(Template).order_by(Template.id)):
        base = merged.get(row.key)
        merged[row.key] = ReplyTemplate(
            id=row.key,
            title=row.title,
            for_kinds=tuple(row.for_kinds),
            body=row.body,
            platforms=base.platforms if base is not None else REPLY_PLATFORMS,
        )
    return list(merged.values())
