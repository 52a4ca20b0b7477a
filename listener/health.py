"""Worker health for ``/healthz`` and the admin page: who is running, how each source is doing, the outbox.

Workers write a heartbeat row every few seconds (``beat``); everything else is read from
the sources, checkpoints and replies tables, so the report is true whichever worker (or
none) is running.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from listener.store.db import upsert_insert, write_transaction
from listener.store.leases import JOB_PLATFORM
from listener.store.models import Checkpoint, Reply, Source, WorkerHeartbeat

HEARTBEAT_SECONDS = 15
# A worker not seen for this long is presumed dead (three missed beats and some slack).
STALE_AFTER = timedelta(seconds=4 * HEARTBEAT_SECONDS)
# Failed polls in a row before a source counts as a problem (one rate limit or 503 is normal).
FAILING_AFTER = 3

Overall = Literal["ok", "degraded", "down"]


def beat(
    engine: Engine, worker_id: str, *, now: datetime, started_at: datetime, detail: dict[str, Any]
) -> None:
    """Insert or refresh this worker's heartbeat row."""
    with write_transaction(engine) as session:
        stmt = upsert_insert(session, WorkerHeartbeat).values(
            worker=worker_id, started_at=started_at, last_seen_at=now, detail=detail
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["worker"], set_={"last_seen_at": now, "detail": stmt.excluded.detail}
            )
        )


def forget(engine: Engine, worker_id: str) -> None:
    """Remove the heartbeat of a worker that stopped cleanly (a killed one just goes stale)."""
    with write_transaction(engine) as session:
        session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker == worker_id))


@dataclass
class WorkerStatus:
    worker: str
    started_at: datetime
    last_seen_at: datetime
    alive: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class SourceStatus:
    key: str
    platform: str
    enabled: bool
    needs_attention: bool
    attention_reason: str | None
    polls: int
    errors_in_a_row: int
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    next_poll_at: datetime | None
    overdue_seconds: float  # how long past due it is now (0 when on time, paused or waiting for an admin)
    lag_seconds: float | None  # how late the last poll ran after it was due
    leased_by: str | None


@dataclass
class OutboxStatus:
    waiting: int  # approved, not yet sent (due now or retrying later)
    sending: int
    held: int  # may already be posted: waiting for a person to check the platform
    failed: int
    oldest_waiting_seconds: float | None


@dataclass
class HealthReport:
    status: Overall
    at: datetime
    workers: list[WorkerStatus]
    sources: list[SourceStatus]
    outbox: OutboxStatus
    problems: list[str]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (times as ISO strings)."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def health_report(session: Session, *, now: datetime) -> HealthReport:
    """The state of the worker side, read from the database."""
    workers = [
        WorkerStatus(
            worker=hb.worker,
            started_at=hb.started_at,
            last_seen_at=hb.last_seen_at,
            alive=now - hb.last_seen_at <= STALE_AFTER,
            detail=hb.detail,
        )
        for hb in session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.started_at))
    ]
    sources = [_source_status(src, cp, now) for src, cp in _sources(session)]
    outbox = _outbox(session, now)
    problems: list[str] = []
    if not any(w.alive for w in workers):
        problems.append("no worker is running")
    for s in sources:
        if s.needs_attention:
            problems.append(f"{s.key} needs attention: {s.attention_reason}")
        elif not s.enabled:
            continue
        elif s.polls == 0 and s.last_error and s.next_poll_at is None:
            problems.append(f"{s.key} is not polled: {s.last_error}")
        elif s.errors_in_a_row >= FAILING_AFTER:
            problems.append(f"{s.key} failed {s.errors_in_a_row} times in a row: {s.last_error}")
        elif s.overdue_seconds > 0:
            problems.append(f"{s.key} is {int(s.overdue_seconds)} s overdue")
    status: Overall = "down" if not any(w.alive for w in workers) else ("degraded" if problems else "ok")
    return HealthReport(
        status=status, at=now, workers=workers, sources=sources, outbox=outbox, problems=problems
    )


def _sources(session: Session) -> list[tuple[Source, Checkpoint | None]]:
    rows = session.execute(
        select(Source, Checkpoint)
        .outerjoin(Checkpoint, Checkpoint.source_id == Source.id)
        .where(Source.platform != JOB_PLATFORM)
        .order_by(Source.key)
    ).all()
    return [(src, cp) for src, cp in rows]


def _source_status(src: Source, cp: Checkpoint | None, now: datetime) -> SourceStatus:
    # Late by more than the lease means no worker is taking it (small delays are normal scheduling).
    overdue = 0.0
    if src.enabled and not src.needs_attention and src.next_poll_at is not None:
        late = (now - src.next_poll_at).total_seconds()
        overdue = late if late > src.interval_seconds else 0.0
    return SourceStatus(
        key=src.key,
        platform=src.platform,
        enabled=src.enabled,
        needs_attention=src.needs_attention,
        attention_reason=src.attention_reason,
        polls=src.polls,
        errors_in_a_row=src.errors,
        last_poll_at=cp.last_poll_at if cp else None,
        last_success_at=cp.last_success_at if cp else None,
        last_error=cp.last_error if cp else None,
        last_error_at=cp.last_error_at if cp else None,
        next_poll_at=src.next_poll_at,
        overdue_seconds=overdue,
        lag_seconds=cp.lag_seconds if cp else None,
        leased_by=src.lease_owner if src.lease_expires_at and src.lease_expires_at > now else None,
    )


def _outbox(session: Session, now: datetime) -> OutboxStatus:
    counts = dict(
        session.execute(
            select(Reply.status, func.count())
            .where(Reply.status.in_(("approved", "sending", "held", "failed")))
            .group_by(Reply.status)
        ).all()
    )
    oldest = session.scalar(
        select(func.min(func.coalesce(Reply.approved_at, Reply.created_at))).where(Reply.status == "approved")
    )
    return OutboxStatus(
        waiting=counts.get("approved", 0),
        sending=counts.get("sending", 0),
        held=counts.get("held", 0),
        failed=counts.get("failed", 0),
        oldest_waiting_seconds=(now - oldest).total_seconds() if oldest is not None else None,
    )
