"""One poll of one source: lease, fetch, ingest + checkpoint in one transaction, or record the failure.

``poll_source`` is the unit of work the scheduler repeats. It never raises for what a
platform does (errors, rate limits, malformed payloads): every outcome is written to the
source's row and checkpoint, where the admin page shows it, and returned as a PollOutcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from connectors.base import Checkpoint as ConnectorCheckpoint
from connectors.base import Connector, ConnectorError, Mention, PayloadError, PermanentError
from listener.incidents import alerts
from listener.intake.ingest import TriageStage, ingest_or_skip_refused
from listener.settings import Settings
from listener.store import audit, leases
from listener.store.db import write_transaction
from listener.store.models import Checkpoint, Source
from listener.store.types import utcnow

log = logging.getLogger(__name__)

# Consecutive failures back off exponentially from the source's interval up to this.
MAX_BACKOFF = timedelta(hours=1)
WORKER_ACTOR = "worker"

Status = Literal["polled", "skipped", "temporary_error", "permanent_error", "lost_lease"]


@dataclass(frozen=True)
class PollOutcome:
    source_key: str
    status: Status
    new: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str | None = None
    next_poll_at: datetime | None = None
    rejected_reasons: tuple[str, ...] = field(default=(), repr=False)


class LeaseLost(Exception):
    """Another worker took the source while this one was fetching: its work is thrown away."""


def _slack(interval_seconds: int) -> timedelta:
    """How early a source counts as due again: a worker's own next tick must never find it not due.

    The scheduler fires at ``interval`` after the previous fire time while the poll starts a
    moment later, so ``started + interval`` would be just after the next tick.
    """
    return timedelta(seconds=min(30, max(1, interval_seconds // 10)))


def backoff(interval_seconds: int, failures_before: int) -> timedelta:
    """The wait after the ``failures_before + 1``-th failure in a row: interval, 2x, 4x ... up to an hour."""
    return min(timedelta(seconds=interval_seconds) * 2 ** min(failures_before, 16), MAX_BACKOFF)


@dataclass(frozen=True)
class _Taken:
    """What the poll read from the source's row when it took the lease."""

    cursor: dict[str, Any]
    due_at: datetime | None
    interval: int
    failures: int  # failures in a row before this poll
    last_error: str | None


class IntakeFailure(ConnectorError):
    """A failure of ours, not the platform's: a connector bug, or posts the store could not take.

    Retrying fixes these only if something changed; the same one twice in a row means nothing
    will, so the source is marked as needing attention (``_record_failure``).
    """


# Failures that, repeated the same way twice in a row, stop the source and tell the admins.
STUCK_WHEN_REPEATED = (IntakeFailure, PayloadError)


def poll_source(
    engine: Engine,
    settings: Settings,
    source_key: str,
    *,
    connector: Connector,
    stage: TriageStage,
    now: datetime | None = None,
    worker_id: str,
) -> PollOutcome:
    """Poll ``source_key`` once if it is due and no other worker holds it.

    The new mentions and the new checkpoint are committed together, and only while this
    worker still holds the source's lease: a crash at any point leaves either the old
    checkpoint (the next poll fetches the same posts again, and ingest counts them as
    duplicates) or the new one with every post stored.
    """
    now = now or utcnow()
    with write_transaction(engine) as session:
        taken = _take(session, settings, source_key, worker_id, now)
        if taken is None:
            return PollOutcome(source_key, "skipped", error=_why_not(session, source_key, worker_id, now))
    try:
        mentions, new_checkpoint = connector.fetch(source_key, ConnectorCheckpoint(taken.cursor))
    except ConnectorError as exc:
        return _record_failure(engine, settings, source_key, exc, now, worker_id, taken)
    except Exception as exc:  # a connector bug must not stop the worker; the admin page shows it
        log.exception("unexpected error while fetching %s", source_key)
        # Only the type on the page: a library's message may repeat a URL that carries a token.
        error = IntakeFailure(f"unexpected error in the connector ({type(exc).__name__}); see the worker log")
        return _record_failure(engine, settings, source_key, error, now, worker_id, taken)
    for reason in new_checkpoint.rejected:
        log.warning("%s: skipped an item: %s", source_key, reason)
    return _store(engine, settings, source_key, mentions, new_checkpoint, stage, now, worker_id, taken)


def _take(
    session: Session, settings: Settings, source_key: str, worker_id: str, now: datetime
) -> _Taken | None:
    """Take the source's lease if it is due and free; what the poll needs from its row, or None."""
    ttl = timedelta(seconds=settings.polling.lease_seconds)
    if not leases.take(session, source_key, owner=worker_id, now=now, ttl=ttl, due_only=True):
        return None
    source = session.scalars(select(Source).where(Source.key == source_key)).one()
    checkpoint = session.get(Checkpoint, source.id)
    return _Taken(
        cursor=dict(checkpoint.cursor) if checkpoint else {},
        due_at=source.next_poll_at,
        interval=source.interval_seconds,
        failures=source.errors,
        last_error=checkpoint.last_error if checkpoint else None,
    )


def _store(
    engine: Engine,
    settings: Settings,
    source_key: str,
    mentions: list[Mention],
    new_checkpoint: ConnectorCheckpoint,
    stage: TriageStage,
    now: datetime,
    worker_id: str,
    taken: _Taken,
) -> PollOutcome:
    """Store the fetched mentions and the new checkpoint in one transaction, while the lease is ours."""
    next_poll = now + timedelta(seconds=taken.interval) - _slack(taken.interval)
    lag = (now - taken.due_at).total_seconds() if taken.due_at is not None else 0.0
    try:
        with write_transaction(engine) as session:
            _finish_lease(session, source_key, worker_id, next_poll_at=next_poll, errors=0)
            result, refused = ingest_or_skip_refused(
                session,
                mentions,
                stage,
                source_key=source_key,
                checkpoint=dict(new_checkpoint.cursor),
                now=now,
            )
            session.execute(
                update(Checkpoint)
                .where(
                    Checkpoint.source_id
                    == select(Source.id).where(Source.key == source_key).scalar_subquery()
                )
                .values(lag_seconds=max(0.0, lag), last_count=len(result.new))
            )
    except LeaseLost:
        log.warning("%s: another worker took the source during the fetch; its poll wins", source_key)
        return PollOutcome(source_key, "lost_lease")
    except (OperationalError, InterfaceError):
        raise  # the database itself is failing: nothing can be recorded now; the lease expires
    except Exception as exc:  # e.g. a triage bug on some text: it must not hold the source's lease
        log.exception("%s: storing the fetched posts failed", source_key)
        # Only the type on the page: a database error's message repeats the posts' texts.
        error = IntakeFailure(f"could not store the fetched posts ({type(exc).__name__}); see the worker log")
        return _record_failure(engine, settings, source_key, error, now, worker_id, taken)
    return PollOutcome(
        source_key,
        "polled",
        new=len(result.new),
        duplicates=result.duplicates,
        rejected=len(new_checkpoint.rejected) + len(refused),
        next_poll_at=next_poll,
        rejected_reasons=(*new_checkpoint.rejected, *refused),
    )


def _finish_lease(
    session: Session, source_key: str, worker_id: str, *, next_poll_at: datetime | None, **values: Any
) -> None:
    """Release the lease and set when the source is next due — or raise LeaseLost if it is not ours."""
    done = session.execute(
        update(Source)
        .where(Source.key == source_key, Source.lease_owner == worker_id)
        .values(lease_owner=None, lease_expires_at=None, next_poll_at=next_poll_at, **values)
        .execution_options(synchronize_session=False)
    )
    if leases.rows_changed(done) != 1:
        raise LeaseLost(source_key)


def _record_failure(
    engine: Engine,
    settings: Settings,
    source_key: str,
    exc: ConnectorError,
    now: datetime,
    worker_id: str,
    taken: _Taken,
) -> PollOutcome:
    message = exc.message or type(exc).__name__
    repeated = isinstance(exc, STUCK_WHEN_REPEATED) and taken.failures > 0 and taken.last_error == message
    stop = isinstance(exc, PermanentError) or repeated
    retry_at: datetime | None
    if stop:
        retry_at = None
    elif exc.retry_at is not None and exc.retry_at > now:
        retry_at = exc.retry_at  # a rate-limit reset: polling before it would only be refused again
    else:
        retry_at = now + backoff(taken.interval, taken.failures)
    reason = f"failed the same way twice in a row: {message}" if repeated else message
    try:
        with write_transaction(engine) as session:
            extra: dict[str, Any] = {"errors": Source.errors + 1}
            if stop:
                extra.update(needs_attention=True, attention_reason=reason)
            _finish_lease(session, source_key, worker_id, next_poll_at=retry_at, **extra)
            _save_error(session, source_key, message, now, retry_at)
            if stop:
                _tell_admins(session, settings, source_key, reason, now, repeated=repeated)
    except LeaseLost:
        return PollOutcome(source_key, "lost_lease", error=message)
    if retry_at is None:
        log.error(
            "%s needs attention and will not be polled until an admin clears it: %s", source_key, reason
        )
        return PollOutcome(source_key, "permanent_error", error=message)
    log.warning("%s: %s; next try at %s", source_key, message, retry_at.isoformat())
    return PollOutcome(source_key, "temporary_error", error=message, next_poll_at=retry_at)


def _save_error(
    session: Session, source_key: str, message: str, now: datetime, retry_at: datetime | None
) -> None:
    source = session.scalars(select(Source).where(Source.key == source_key)).one()
    checkpoint = session.get(Checkpoint, source.id)
    if checkpoint is None:
        checkpoint = Checkpoint(source_id=source.id, cursor={})
        session.add(checkpoint)
    checkpoint.last_poll_at = now
    checkpoint.last_error = message
    checkpoint.last_error_at = now
    checkpoint.retry_at = retry_at


def _tell_admins(
    session: Session, settings: Settings, source_key: str, message: str, now: datetime, *, repeated: bool
) -> None:
    fix = (
        "Check the worker log for the post or the bug at fault"
        if repeated
        else "Fix the account or credentials"
    )
    audit.record(
        session,
        actor=WORKER_ACTOR,
        action="source.needs_attention",
        object_type="source",
        object_id=source_key,
        after={"reason": message},
    )
    alerts.queue_alert(
        session,
        kind="source_attention",
        audience="admins",
        title=f"Listening Post stopped polling {source_key}",
        body=(
            f"{source_key} failed with an error that retrying will not fix:\n{message}\n\n"
            f"{fix}, then clear the source on the admin page "
            f"({settings.general.base_url}/admin)."
        ),
        dedupe_key=f"source_attention:{source_key}:{now.strftime('%Y%m%dT%H%M%S')}",
        now=now,
    )


def _why_not(session: Session, source_key: str, worker_id: str, now: datetime) -> str:
    source = session.scalars(select(Source).where(Source.key == source_key)).one_or_none()
    if source is None:
        return "unknown source (not in the settings)"
    if not source.enabled:
        return "disabled"
    if source.needs_attention:
        return f"needs attention: {source.attention_reason}"
    if source.lease_owner not in (None, worker_id) and (source.lease_expires_at or now) > now:
        return f"held by {source.lease_owner}"
    return f"not due until {source.next_poll_at.isoformat() if source.next_poll_at else '?'}"
