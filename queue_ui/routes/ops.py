"""Operations endpoints: ``/healthz`` (database and worker health) and ``/metrics`` (Prometheus).

Both are open without sign-in, for probes and scrapers, and so say nothing personal:
counts and states only, no post text, no source errors (those are on the admin page).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from listener.health import health_report
from listener.queue.items import OPEN_STATUSES
from listener.store.leases import JOB_PLATFORM
from listener.store.models import Alert, QueueItem, Reply, Source

router = APIRouter()
ALERT_WINDOW = timedelta(hours=24)


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> JSONResponse:
    engine: Engine = request.app.state.engine
    now = request.app.state.clock()
    try:
        with Session(engine) as session:
            session.execute(text("SELECT 1"))
            report = health_report(session, now=now)
    except SQLAlchemyError:
        return JSONResponse({"status": "down", "database": "unreachable"}, status_code=503)
    body = {
        "status": report.status,
        "database": "ok",
        "at": now.isoformat(),
        "workers": [
            {"worker": w.worker, "alive": w.alive, "last_seen_at": w.last_seen_at.isoformat()}
            for w in report.workers
        ],
        "sources": len(report.sources),
        "sources_needing_attention": sum(1 for s in report.sources if s.needs_attention),
        "outbox": {
            "waiting": report.outbox.waiting,
            "sending": report.outbox.sending,
            "held": report.outbox.held,
            "failed": report.outbox.failed,
        },
    }
    return JSONResponse(body)


class StoreCollector(Collector):
    """Reads the figures from the database at scrape time, so every worker and UI process agrees."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now: datetime = self.clock()
        with Session(self.engine) as session:
            depth = GaugeMetricFamily(
                "listening_post_queue_depth", "Open queue items by status", labels=["status"]
            )
            counts = dict(
                session.execute(
                    select(QueueItem.status, func.count())
                    .where(QueueItem.status.in_(OPEN_STATUSES))
                    .group_by(QueueItem.status)
                ).all()
            )
            for status in OPEN_STATUSES:
                depth.add_metric([status], counts.get(status, 0))
            yield depth

            breaches = GaugeMetricFamily(
                "listening_post_sla_breaches", "Open items past their first-response due time"
            )
            breaches.add_metric(
                [],
                session.scalar(
                    select(func.count())
                    .select_from(QueueItem)
                    .where(
                        QueueItem.status.in_(OPEN_STATUSES),
                        QueueItem.first_response_at.is_(None),
                        QueueItem.due_at <= now,
                    )
                )
                or 0,
            )
            yield breaches

            errors = GaugeMetricFamily(
                "listening_post_poll_errors", "Consecutive failed polls per source", labels=["platform"]
            )
            for platform, total in session.execute(
                select(Source.platform, func.coalesce(func.sum(Source.errors), 0))
                .where(Source.platform != JOB_PLATFORM)
                .group_by(Source.platform)
            ).all():
                errors.add_metric([platform], total)
            yield errors

            attention = GaugeMetricFamily(
                "listening_post_sources_needing_attention", "Sources stopped until an admin acts"
            )
            attention.add_metric(
                [],
                session.scalar(
                    select(func.count()).select_from(Source).where(Source.needs_attention.is_(True))
                )
                or 0,
            )
            yield attention

            outbox = GaugeMetricFamily("listening_post_outbox", "Replies by outbox state", labels=["status"])
            states = dict(
                session.execute(
                    select(Reply.status, func.count())
                    .where(Reply.status.in_(("approved", "sending", "held", "failed")))
                    .group_by(Reply.status)
                ).all()
            )
            for status in ("approved", "sending", "held", "failed"):
                outbox.add_metric([status], states.get(status, 0))
            yield outbox

            latency = GaugeMetricFamily(
                "listening_post_alert_latency_seconds",
                "Seconds from an alert being raised to its delivery, over the last 24 hours",
                labels=["quantile"],
            )
            delays = sorted(
                (sent - created).total_seconds()
                for created, sent in session.execute(
                    select(Alert.created_at, Alert.sent_at).where(
                        Alert.sent_at.is_not(None), Alert.created_at >= now - ALERT_WINDOW
                    )
                ).all()
                if sent is not None
            )
            for q in ("0.5", "0.95", "1"):
                if delays:
                    latency.add_metric([q], delays[min(len(delays) - 1, int(float(q) * len(delays)))])
            yield latency


def registry_for(request: Request) -> CollectorRegistry:
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = CollectorRegistry()
        registry.register(StoreCollector(request.app.state.engine, request.app.state.clock))
        request.app.state.metrics_registry = registry
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    try:
        body = generate_latest(registry_for(request))
    except SQLAlchemyError:
        return Response("database unreachable\n", status_code=503, media_type="text/plain")
    return Response(body, media_type=CONTENT_TYPE_LATEST)
