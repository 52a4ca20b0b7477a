"""Operations endpoints: ``/healthz`` (database and worker health) and ``/metrics`` (Prometheus).

Both are open without sign-in, for probes and scrapers, and so say nothing personal:
counts and states only, no post text, no source errors (those are on the admin page).
Worker names (host and process id) are shown to signed-in staff only: to anyone else
they map the deployment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from listener.accounts import sessions
from listener.health import health_report
from listener.metrics import operational_figures
from queue_ui.deps import session_lifetime

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> JSONResponse:
    engine: Engine = request.app.state.engine
    now = request.app.state.clock()
    try:
        with Session(engine) as session:
            session.execute(text("SELECT 1"))
            report = health_report(session, now=now)
            token = request.session.get("sid")
            signed_in = isinstance(token, str) and (
                sessions.check_session(session, token=token, now=now, lifetime=session_lifetime(request))
                is not None
            )
    except SQLAlchemyError:
        return JSONResponse({"status": "down", "database": "unreachable"}, status_code=503)
    body = {
        "status": report.status,
        "database": "ok",
        "at": now.isoformat(),
        "workers": [
            {
                **({"worker": w.worker} if signed_in else {}),
                "alive": w.alive,
                "last_seen_at": w.last_seen_at.isoformat(),
            }
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
        with Session(self.engine) as session:
            figures = operational_figures(session, now=self.clock())
        depth = GaugeMetricFamily(
            "listening_post_queue_depth", "Open queue items by status", labels=["status"]
        )
        for status, count in figures.queue_depth.items():
            depth.add_metric([status], count)
        yield depth
        breaches = GaugeMetricFamily(
            "listening_post_sla_breaches", "Open items past their first-response due time"
        )
        breaches.add_metric([], figures.sla_breaches)
        yield breaches
        errors = GaugeMetricFamily(
            "listening_post_poll_errors", "Consecutive failed polls per source", labels=["platform"]
        )
        for platform, total in figures.poll_errors.items():
            errors.add_metric([platform], total)
        yield errors
        attention = GaugeMetricFamily(
            "listening_post_sources_needing_attention", "Sources stopped until an admin acts"
        )
        attention.add_metric([], figures.sources_needing_attention)
        yield attention
        outbox = GaugeMetricFamily("listening_post_outbox", "Replies by outbox state", labels=["status"])
        for status, count in figures.outbox.items():
            outbox.add_metric([status], count)
        yield outbox
        latency = GaugeMetricFamily(
            "listening_post_alert_latency_seconds",
            "Seconds from an alert being raised to its delivery, over the last 24 hours",
            labels=["quantile"],
        )
        for quantile, seconds in figures.alert_latency.items():
            latency.add_metric([quantile], seconds)
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
