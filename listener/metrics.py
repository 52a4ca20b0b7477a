"""Operational figures for ``/metrics``: counts and states only, read from the database at scrape
time so every worker and UI process reports the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listener.queue.items import OPEN_STATUSES
from listener.store.leases import JOB_PLATFORM
from listener.store.models import Alert, QueueItem, Reply, Source

ALERT_WINDOW = timedelta(hours=24)
OUTBOX_STATES = ("approved", "sending", "held", "failed")
LATENCY_QUANTILES = ("0.5", "0.95", "1")


@dataclass(frozen=True)
class OperationalFigures:
    queue_depth: dict[str, int]  # open items by status
    sla_breaches: int  # open items past their first-response due time
    poll_errors: dict[str, int]  # consecutive failed polls, summed per platform
    sources_needing_attention: int
    outbox: dict[str, int]  # replies by outbox state
    alert_latency: dict[str, float]  # seconds from raised to delivered, last 24 hours, by quantile


def operational_figures(session: Session, *, now: datetime) -> OperationalFigures:
    depth = dict(
        session.execute(
            select(QueueItem.status, func.count())
            .where(QueueItem.status.in_(OPEN_STATUSES))
            .group_by(QueueItem.status)
        ).all()
    )
    breaches = session.scalar(
        select(func.count())
        .select_from(QueueItem)
        .where(
            QueueItem.status.in_(OPEN_STATUSES),
            QueueItem.first_response_at.is_(None),
            QueueItem.due_at <= now,
        )
    )
    errors = session.execute(
        select(Source.platform, func.coalesce(func.sum(Source.errors), 0))
        .where(Source.platform != JOB_PLATFORM)
        .group_by(Source.platform)
    ).all()
    attention = session.scalar(
        select(func.count()).select_from(Source).where(Source.needs_attention.is_(True))
    )
    states = dict(
        session.execute(
            select(Reply.status, func.count()).where(Reply.status.in_(OUTBOX_STATES)).group_by(Reply.status)
        ).all()
    )
    return OperationalFigures(
        queue_depth={status: depth.get(status, 0) for status in OPEN_STATUSES},
        sla_breaches=breaches or 0,
        poll_errors={platform: int(total) for platform, total in errors},
        sources_needing_attention=attention or 0,
        outbox={status: states.get(status, 0) for status in OUTBOX_STATES},
        alert_latency=_alert_latency(session, now=now),
    )


def _alert_latency(session: Session, *, now: datetime) -> dict[str, float]:
    delays = sorted(
        (sent - created).total_seconds()
        for created, sent in session.execute(
            select(Alert.created_at, Alert.sent_at).where(
                Alert.sent_at.is_not(None), Alert.created_at >= now - ALERT_WINDOW
            )
        ).all()
        if sent is not None
    )
    if not delays:
        return {}
    return {q: delays[min(len(delays) - 1, int(float(q) * len(delays)))] for q in LATENCY_QUANTILES}
