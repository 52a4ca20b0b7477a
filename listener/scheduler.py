"""APScheduler wiring: which worker method runs when. The jobs themselves live on ``Worker``.

Each worker process runs its own in-memory ``BackgroundScheduler``: APScheduler 3 job
stores must never be shared between schedulers, so the database (leases, SKIP LOCKED
claims), not the scheduler, decides which worker does what.

Some jobs also run as soon as another has made work for them (a poll that stored mentions
runs the crisis job; a crisis step that queued an alert runs the alert job). Those runs go
through a ``JobGate``, so a job still never runs twice at once in a process.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from listener.health import HEARTBEAT_SECONDS

if TYPE_CHECKING:
    from listener.worker import Worker

OUTBOX_SECONDS = 5
CRISIS_SECONDS = 30
ALERTS_SECONDS = 15
SLA_SECONDS = 60
ESCALATION_SECONDS = 60
MODERATION_SECONDS = 10
INSTAGRAM_MENTIONS_SECONDS = 30
SETTINGS_SECONDS = 60  # how soon an admin's change of SLA targets reaches the worker
THREADS = 8

T = TypeVar("T")


class JobGate:
    """One run of a job at a time in this process; asked while it runs, it runs once more after.

    Why not ``scheduler.modify_job(id, next_run_time=now)``: APScheduler skips a run that
    comes due while the job's one allowed instance is still running ("maximum number of
    running instances reached"), so mentions stored during a crisis step would wait for
    the next tick. Here the request is never lost: the running caller sees it and goes
    round again, and the asking thread returns at once.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._running = False
        self._again = False

    def run(self, fn: Callable[[], T]) -> T | None:
        """``fn()``'s result, or None when another thread was running it (it will run it again)."""
        with self._guard:
            if self._running:
                self._again = True
                return None
            self._running = True
        try:
            while True:
                result = fn()
                with self._guard:  # the check and the hand-back are one step: no request falls between
                    if not self._again:
                        self._running = False
                        return result
                    self._again = False
        except BaseException:
            with self._guard:
                self._running = self._again = False
            raise


def build_scheduler(worker: Worker) -> BackgroundScheduler:
    """A scheduler with one job per pollable source and the worker's periodic jobs (not started)."""
    settings = worker.settings
    scheduler = BackgroundScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(THREADS)},
        # The APScheduler default grace of one second drops a tick whenever the pool is busy.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    # Real time, whatever clock the worker's jobs are given: APScheduler runs on the wall clock.
    now = datetime.now(UTC)
    jitter = settings.polling.jitter_seconds
    intervals = {s.key: s.interval_seconds for s in settings.sources}
    for key in worker.pollable_sources():
        interval = intervals.get(key, settings.polling.default_interval_seconds)
        scheduler.add_job(
            worker.poll,
            IntervalTrigger(seconds=interval, jitter=jitter or None),
            args=[key],
            id=f"poll:{key}",
            name=f"poll {key}",
            # Start soon, spread over the jitter so sources are not all fetched on the same second.
            next_run_time=now + timedelta(seconds=random.uniform(0, jitter)),
            misfire_grace_time=interval,
        )

    def every(seconds: int, fn: Callable[[], object], job_id: str, *, first_in: float = 0.0) -> None:
        scheduler.add_job(
            fn,
            IntervalTrigger(seconds=seconds),
            id=job_id,
            name=job_id,
            next_run_time=now + timedelta(seconds=first_in),
            misfire_grace_time=seconds,
        )

    every(OUTBOX_SECONDS, worker.send_replies, "outbox")
    every(CRISIS_SECONDS, worker.watch_crisis, "crisis", first_in=CRISIS_SECONDS)
    every(ALERTS_SECONDS, worker.deliver_alerts, "alerts", first_in=1)
    every(SLA_SECONDS, worker.warn_sla, "sla", first_in=SLA_SECONDS)
    every(ESCALATION_SECONDS, worker.escalate, "escalation", first_in=ESCALATION_SECONDS)
    every(MODERATION_SECONDS, worker.hide_comments, "moderation", first_in=2)
    every(INSTAGRAM_MENTIONS_SECONDS, worker.read_instagram_mentions, "instagram_mentions", first_in=3)
    every(SETTINGS_SECONDS, worker.refresh_settings, "settings", first_in=SETTINGS_SECONDS)
    every(HEARTBEAT_SECONDS, worker.heartbeat, "heartbeat", first_in=HEARTBEAT_SECONDS)
    run_at = settings.retention.run_at
    scheduler.add_job(
        worker.run_retention,
        CronTrigger(hour=run_at.hour, minute=run_at.minute, timezone=settings.general.timezone),
        id="retention",
        name="retention",
        misfire_grace_time=3600,
    )
    return scheduler
