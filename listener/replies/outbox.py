"""The outbox: approved replies go to the platform, each exactly once, in order within a conversation.

A reply is claimed (status ``sending``, with ``next_attempt_at`` as the claim's expiry), an
attempt row is committed, and only then is the platform called. Neither X nor the Graph
API takes an idempotency key, so a reply that has any earlier attempt — one that failed in
a way that may still have posted, or one left open by a worker that died between the
platform accepting the reply and the database recording it — is first looked for on the
platform (``connector.find_reply``, from the first attempt's start on, however many posts the
account made since) and marked sent if it is there. When the platform cannot say for sure
(``LookupIncomplete``), the reply is ``held``: a person checks the platform and says "not
posted, send it" or "posted, mark it sent" (``send_after_check`` / ``mark_posted``).

Replies to one conversation go out in approval order: a reply waits while an earlier one
in its conversation is still approved or sending (retrying after a temporary failure).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast, runtime_checkable

from sqlalchemy import ColumnElement, Engine, Exists, and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from connectors.base import Connector, ConnectorError, LookupIncomplete, PermanentError
from listener.settings import Settings
from listener.store import audit
from listener.store.db import write_transaction
from listener.store.models import Mention, QueueItem, Reply, ReplyAttempt, User
from listener.store.types import utcnow

log = logging.getLogger(__name__)

WORKER_ACTOR = "worker"
MAX_ATTEMPTS = 8
# Platform clocks and ours differ a little: look back this much further than the first attempt.
FIND_POST_MARGIN = timedelta(minutes=10)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
# Outcomes of a ReplyAttempt
SENT, TEMPORARY, PERMANENT, FOUND_EXISTING, LOST = "sent", "temporary", "permanent", "found_existing", "lost"
UNKNOWN = "unknown"  # the platform could not say whether this attempt posted: the reply is held
CHECKED = "checked"  # a person checked the platform: this attempt did not post
HELD_MESSAGE = "May already be posted: check the platform before sending again."


def retry_delay(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min ... up to an hour."""
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 16), MAX_RETRY)


def _order_key(reply: Any) -> ColumnElement[datetime]:
    return func.coalesce(reply.approved_at, reply.created_at)


def _earlier_in_conversation() -> Exists:
    """EXISTS an approved, sending or held reply in the same conversation approved before this one."""
    other, other_item, other_mention = aliased(Reply), aliased(QueueItem), aliased(Mention)
    own_item, own_mention = aliased(QueueItem), aliased(Mention)
    return (
        select(other.id)
        .join(other_item, other_item.id == other.queue_item_id)
        .join(other_mention, other_mention.id == other_item.mention_id)
        .join(own_mention, own_mention.conversation_id == other_mention.conversation_id)
        .join(own_item, own_item.mention_id == own_mention.id)
        .where(
            own_item.id == Reply.queue_item_id,
            other.id != Reply.id,
            other.status.in_(("approved", "sending", "held")),
            or_(
                _order_key(other) < _order_key(Reply),
                and_(_order_key(other) == _order_key(Reply), other.id < Reply.id),
            ),
        )
        .exists()
    )


def claim_due_replies(engine: Engine, *, now: datetime, limit: int, claim_for: timedelta) -> list[int]:
    """Claim up to ``limit`` replies that are due, oldest approval first; returns their ids in that order.

    Due: approved and past any retry time, or ``sending`` under a claim that has expired (its
    worker died). One statement, ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP
    LOCKED)``: on PostgreSQL concurrent workers skip each other's rows; SQLite serialises.
    """
    due = or_(
        and_(Reply.status == "approved", or_(Reply.next_attempt_at.is_(None), Reply.next_attempt_at <= now)),
        and_(Reply.status == "sending", Reply.next_attempt_at <= now),
    )
    candidates = (
        select(Reply.id)
        .where(due, ~_earlier_in_conversation())
        .order_by(_order_key(Reply), Reply.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Reply)
    )
    with write_transaction(engine) as session:
        rows = session.execute(
            update(Reply)
            .where(Reply.id.in_(candidates.scalar_subquery()))
            .values(status="sending", next_attempt_at=now + claim_for)
            .returning(Reply.id, _order_key(Reply))
            .execution_options(synchronize_session=False)
        ).all()
    return [reply_id for reply_id, _ in sorted(rows, key=lambda r: (r[1], r[0]))]


@runtime_checkable
class Publisher(Protocol):
    """A connector that can also publish a new post (the incident's listening message or response).

    ``find_post`` is the crash check for new posts, as ``find_reply`` is for replies.
    """

    def post(self, *, source: str, text: str, idempotency_key: str) -> str: ...

    def find_post(self, *, source: str, text: str, within: timedelta) -> str | None: ...


@dataclass(frozen=True)
class _Job:
    """What sending one reply needs, read once so no session is open during the platform call."""

    id: int
    platform: str
    source_key: str
    in_reply_to: str | None
    text: str
    idempotency_key: str
    attempts: int
    first_tried_at: (
        datetime | None
    )  # the first unchecked attempt's start: the earliest an earlier post can be

    @property
    def tried_before(self) -> bool:
        return self.first_tried_at is not None


def send_due_replies(
    engine: Engine,
    settings: Settings,
    *,
    connectors: Mapping[str, Connector],
    now: datetime | None = None,
    worker_id: str,
    limit: int = 10,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Send up to ``limit`` due replies; returns how many are now sent (posted or found already posted).

    ``connectors`` maps a platform slug to its connector. ``should_stop`` is asked between
    replies (SIGTERM): the claimed replies not yet started are handed back.
    """
    now = now or utcnow()
    claimed = claim_due_replies(
        engine, now=now, limit=limit, claim_for=timedelta(seconds=settings.polling.lease_seconds)
    )
    sent = 0
    for index, reply_id in enumerate(claimed):
        if should_stop is not None and should_stop():
            _unclaim(engine, claimed[index:])
            break
        sent += _send_one(engine, reply_id, connectors, now, worker_id)
    return sent


def _unclaim(engine: Engine, reply_ids: list[int]) -> None:
    with write_transaction(engine) as session:
        session.execute(
            update(Reply)
            .where(Reply.id.in_(reply_ids), Reply.status == "sending")
            .values(status="approved", next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )


def _load(engine: Engine, reply_id: int) -> _Job:
    with write_transaction(engine) as session:
        reply = session.get_one(Reply, reply_id)
        first_tried = session.scalar(
            select(func.min(ReplyAttempt.started_at)).where(
                ReplyAttempt.reply_id == reply_id,
                or_(ReplyAttempt.outcome.is_(None), ReplyAttempt.outcome != CHECKED),
            )
        )
        return _Job(
            id=reply.id,
            platform=reply.platform,
            source_key=reply.source_key,
            in_reply_to=reply.in_reply_to,
            text=reply.text,
            idempotency_key=reply.idempotency_key,
            attempts=reply.attempts,
            first_tried_at=first_tried,
        )


def _send_one(
    engine: Engine, reply_id: int, connectors: Mapping[str, Connector], now: datetime, worker_id: str
) -> int:
    job = _load(engine, reply_id)
    connector = connectors.get(job.platform)
    if connector is None:
        # Credentials missing or the platform not configured: keep it, an admin can fix the settings.
        _retry(engine, job, f"no {job.platform} connector is configured (check the account's secrets)", now)
        return 0
    if job.in_reply_to is None and not isinstance(connector, Publisher):
        _fail(
            engine,
            job,
            f"Listening Post cannot publish new posts on {job.platform} (this message answers no post); "
            "publish it on the platform by hand",
            now,
        )
        return 0
    if job.tried_before:
        found = _look_for_earlier_post(engine, job, connector, now)
        if found is not None:
            return found
    attempt_id = _start_attempt(engine, job, now, worker_id)
    try:
        platform_id = _publish(connector, job)
    except ConnectorError as exc:
        _failed_attempt(engine, job, attempt_id, exc, now)
        return 0
    except Exception as exc:  # a connector bug: the post may or may not exist; find_reply decides next time
        log.exception("unexpected error while sending reply %s", job.id)
        _failed_attempt(
            engine, job, attempt_id, ConnectorError(f"unexpected error: {type(exc).__name__}"), now
        )
        return 0
    _mark_sent(engine, job, platform_id, now, attempt_id=attempt_id, outcome=SENT)
    return 1


def _publish(connector: Connector, job: _Job) -> str:
    if job.in_reply_to is None:  # only a Publisher gets here (checked in _send_one)
        return cast(Publisher, connector).post(
            source=job.source_key, text=job.text, idempotency_key=job.idempotency_key
        )
    return connector.reply(
        source=job.source_key, in_reply_to=job.in_reply_to, text=job.text, idempotency_key=job.idempotency_key
    )


def _look_for_earlier_post(engine: Engine, job: _Job, connector: Connector, now: datetime) -> int | None:
    """1 if the reply is already on the platform (marked sent), 0 if it must wait, None to post it now."""
    try:
        if job.in_reply_to is None:  # only a Publisher gets here (checked in _send_one)
            # Look back to just before the first attempt, however long ago: a shorter window could
            # miss our own post and publish it twice, a longer one could take another incident's.
            within = now - (job.first_tried_at or now) + FIND_POST_MARGIN
            found = cast(Publisher, connector).find_post(source=job.source_key, text=job.text, within=within)
        else:
            since = (job.first_tried_at or now) - FIND_POST_MARGIN
            found = connector.find_reply(
                source=job.source_key, in_reply_to=job.in_reply_to, text=job.text, since=since
            )
    except LookupIncomplete as exc:
        _hold(engine, job, exc.message, now)
        return 0
    except ConnectorError as exc:
        if isinstance(exc, PermanentError):
            _fail(engine, job, f"could not check for an earlier post: {exc.message}", now)
        else:
            _retry(engine, job, f"could not check for an earlier post: {exc.message}", now, exc.retry_at)
        return 0
    with write_transaction(engine) as session:
        open_attempts = select(ReplyAttempt.id).where(
            ReplyAttempt.reply_id == job.id, ReplyAttempt.finished_at.is_(None)
        )
        session.execute(
            update(ReplyAttempt)
            .where(ReplyAttempt.id.in_(open_attempts.scalar_subquery()))
            .values(
                finished_at=now,
                outcome=FOUND_EXISTING if found else LOST,
                error=None if found else "no outcome was recorded and the reply is not on the platform",
            )
            .execution_options(synchronize_session=False)
        )
    if found is None:
        return None
    log.info("reply %s was already posted as %s: marked sent without posting again", job.id, found)
    _mark_sent(engine, job, found, now, attempt_id=None, outcome=FOUND_EXISTING)
    return 1


def _start_attempt(engine: Engine, job: _Job, now: datetime, worker_id: str) -> int:
    """Commit the attempt before the call: after a crash, an open attempt says "check before resending"."""
    with write_transaction(engine) as session:
        attempt = ReplyAttempt(reply_id=job.id, worker=worker_id, started_at=now)
        session.add(attempt)
        session.execute(
            update(Reply)
            .where(Reply.id == job.id)
            .values(attempts=Reply.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        session.flush()
        return attempt.id


def _finish_attempt(
    session: Session, attempt_id: int, now: datetime, outcome: str, error: str | None
) -> None:
    session.execute(
        update(ReplyAttempt)
        .where(ReplyAttempt.id == attempt_id)
        .values(finished_at=now, outcome=outcome, error=error)
        .execution_options(synchronize_session=False)
    )


def _mark_sent(
    engine: Engine, job: _Job, platform_id: str, now: datetime, *, attempt_id: int | None, outcome: str
) -> None:
    with write_transaction(engine) as session:
        if attempt_id is not None:
            _finish_attempt(session, attempt_id, now, outcome, None)
        _record_sent(session, session.get_one(Reply, job.id), platform_id, now)
        audit.record(
            session,
            actor=WORKER_ACTOR,
            action="reply.sent",
            object_type="reply",
            object_id=job.id,
            after={"platform_reply_id": platform_id, "how": outcome},
        )


def _record_sent(session: Session, reply: Reply, platform_id: str | None, now: datetime) -> None:
    reply.status = "sent"
    reply.platform_reply_id = platform_id
    reply.sent_at = now
    reply.next_attempt_at = None
    reply.last_error = None
    if reply.queue_item_id is not None:
        item = session.get_one(QueueItem, reply.queue_item_id)
        if item.first_response_at is None:
            item.first_response_at = now
        if item.status in ("new", "claimed"):
            item.status = "replied"
        item.version += 1


def _failed_attempt(engine: Engine, job: _Job, attempt_id: int, exc: ConnectorError, now: datetime) -> None:
    permanent = isinstance(exc, PermanentError)
    with write_transaction(engine) as session:
        _finish_attempt(session, attempt_id, now, PERMANENT if permanent else TEMPORARY, exc.message[:2000])
    if permanent:
        _fail(engine, job, exc.message, now)
    elif job.attempts + 1 >= MAX_ATTEMPTS:
        _fail(engine, job, f"gave up after {job.attempts + 1} attempts: {exc.message}", now)
    else:
        _retry(engine, job, exc.message, now, exc.retry_at, attempts=job.attempts + 1)


def _retry(
    engine: Engine,
    job: _Job,
    error: str,
    now: datetime,
    retry_at: datetime | None = None,
    *,
    attempts: int | None = None,
) -> None:
    wait_until = now + retry_delay(attempts if attempts is not None else max(job.attempts, 1))
    if retry_at is not None and retry_at > wait_until:
        wait_until = retry_at  # the platform's rate-limit reset
    log.warning("reply %s not sent (%s); next try at %s", job.id, error, wait_until.isoformat())
    with write_transaction(engine) as session:
        session.execute(
            update(Reply)
            .where(Reply.id == job.id, Reply.status == "sending")
            .values(status="approved", next_attempt_at=wait_until, last_error=error[:2000])
            .execution_options(synchronize_session=False)
        )


def _fail(engine: Engine, job: _Job, error: str, now: datetime) -> None:
    """The reply will not be sent: its author sees why on the item (``last_error``) and in the audit log."""
    log.error("reply %s failed: %s", job.id, error)
    with write_transaction(engine) as session:
        reply = session.get_one(Reply, job.id)
        reply.status = "failed"
        reply.last_error = error[:2000]
        reply.next_attempt_at = None
        audit.record(
            session,
            actor=WORKER_ACTOR,
            action="reply.failed",
            object_type="reply",
            object_id=job.id,
            after={"error": error[:2000], "author_id": reply.author_id, "queue_item_id": reply.queue_item_id},
        )


def _hold(engine: Engine, job: _Job, reason: str, now: datetime) -> None:
    """Stop: the reply may already be on the platform, and only a person can tell (audited)."""
    log.warning("reply %s held for a person to check: %s", job.id, reason)
    with write_transaction(engine) as session:
        session.execute(
            update(ReplyAttempt)
            .where(ReplyAttempt.reply_id == job.id, ReplyAttempt.finished_at.is_(None))
            .values(finished_at=now, outcome=UNKNOWN, error=reason[:2000])
            .execution_options(synchronize_session=False)
        )
        reply = session.get_one(Reply, job.id)
        reply.status = "held"
        reply.next_attempt_at = None
        reply.last_error = f"{HELD_MESSAGE} {reason}"[:2000]
        audit.record(
            session,
            actor=WORKER_ACTOR,
            action="reply.held",
            object_type="reply",
            object_id=job.id,
            after={"reason": reason[:2000], "queue_item_id": reply.queue_item_id},
        )


class NotHeld(Exception):
    """The reply is not waiting for a person's check (someone else has answered it)."""


def _held(session: Session, reply: Reply) -> Reply:
    if reply.queue_item_id is not None:
        session.get_one(QueueItem, reply.queue_item_id, with_for_update=True)
    session.refresh(reply, with_for_update=True)
    if reply.status != "held":
        raise NotHeld("This reply is no longer waiting for a check.")
    return reply


def send_after_check(session: Session, *, reply: Reply, user: User, now: datetime) -> Reply:
    """A person checked the platform and the reply is not there: send it now (audited).

    The earlier attempts are marked checked, so the outbox does not look for them again.
    """
    reply = _held(session, reply)
    session.execute(
        update(ReplyAttempt)
        .where(ReplyAttempt.reply_id == reply.id)
        .values(outcome=CHECKED)
        .execution_options(synchronize_session=False)
    )
    reply.status = "approved"
    reply.next_attempt_at = now
    reply.last_error = None
    audit.record(
        session,
        actor=user,
        action="reply.checked_not_posted",
        object_type="reply",
        object_id=reply.id,
        after={"text": reply.text},
    )
    return reply


def mark_posted(session: Session, *, reply: Reply, user: User, now: datetime, link: str = "") -> Reply:
    """A person found the reply on the platform: record it as sent, with its link if given (audited)."""
    reply = _held(session, reply)
    _record_sent(session, reply, None, now)
    link = link.strip()
    if link.startswith(("https://", "http://")):
        reply.platform_url = link[:2000]
    audit.record(
        session,
        actor=user,
        action="reply.checked_posted",
        object_type="reply",
        object_id=reply.id,
        after={"link": reply.platform_url},
    )
    return reply
