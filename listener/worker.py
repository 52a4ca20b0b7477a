"""The worker process: polls sources, sends approved replies, runs the crisis watch and the other jobs.

``Worker`` holds what the jobs share (settings, engine, connectors, the triage stage) and
one method per job. Each method does one unit of work through a plain function
(``poll_source``, ``send_due_replies`` ...), records how it went for the heartbeat, and never
lets an exception escape into the scheduler: a failing job is logged and shown on the
admin page, and runs again at its next tick.

A poll that stored mentions runs the crisis job at once, and a crisis step that queued an
alert runs the alert job at once (each through its ``JobGate``: never two runs at a time),
so a crisis alert leaves within one polling interval of the post that crossed the threshold.
The scheduled ticks stay as the safety net.

Several workers may share one PostgreSQL database: sources are leased (one poller at a
time), replies are claimed with SKIP LOCKED, and the leader-only jobs (crisis watch, SLA
warnings, escalation, retention) run on whichever worker holds the job's lease.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from connectors.base import Connector
from connectors.registry import platform_of
from listener import health
from listener.incidents import alerts
from listener.incidents import lifecycle as incidents
from listener.incidents.alerts import ChannelFactory
from listener.incidents.crisis_watch import CrisisWatch
from listener.intake.ingest import TriageStage
from listener.intake.instagram_mentions import MentionLookup, process_mention_events
from listener.intake.pipeline import build_stage
from listener.intake.polling import PollOutcome, poll_source
from listener.intake.sources import Connectors, build_connectors, note_unavailable, sync_sources
from listener.overrides import effective_settings
from listener.queue import sla
from listener.replies import moderation
from listener.replies.outbox import send_due_replies
from listener.reports import retention
from listener.scheduler import JobGate, build_scheduler
from listener.settings import Settings
from listener.store import leases
from listener.store.db import is_sqlite, write_transaction
from listener.store.types import utcnow
from triage.crisis import CrisisEvent

log = logging.getLogger(__name__)

OUTBOX_BATCH = 10


def default_worker_id(now: datetime | None = None) -> str:
    """``host:pid:start`` — unique per process, readable on the admin page."""
    return f"{socket.gethostname()}:{os.getpid()}:{int((now or utcnow()).timestamp())}"


class Worker:
    """One worker process's jobs. ``start()`` schedules them; ``stop()`` finishes the current ones."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        worker_id: str | None = None,
        connectors: Connectors | None = None,
        stage: TriageStage | None = None,
        clock: Callable[[], datetime] = utcnow,
        alert_channels: ChannelFactory | None = None,
        crisis_watch: CrisisWatch | None = None,
    ) -> None:
        self.file_settings = settings  # as loaded; ``settings`` adds the admin's overrides
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.started_at = clock()
        self.worker_id = worker_id or default_worker_id(self.started_at)
        self.connectors = connectors if connectors is not None else build_connectors(settings)
        self.stage = stage if stage is not None else build_stage(settings)  # loads the lexicons: once
        self._stopping = threading.Event()
        self._jobs_lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.alert_channels = alert_channels  # None: apprise, from the settings
        self._crisis_watch = crisis_watch
        self._crisis_gate = JobGate()
        self._alerts_gate = JobGate()
        self.scheduler: BackgroundScheduler | None = None

    # lifecycle ---------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def pollable_sources(self) -> list[str]:
        return list(self.connectors.by_source)

    def prepare(self) -> None:
        """Bring the sources table in line with the settings, and say which sources cannot be polled."""
        self.refresh_settings()
        now = self.clock()
        with write_transaction(self.engine) as session:
            enabled = sync_sources(session, self.settings)
            for key in enabled:
                if key in self.connectors.unavailable:
                    note_unavailable(session, key, self.connectors.unavailable[key], now=now)
        for key, reason in self.connectors.unavailable.items():
            log.error("%s will not be polled: %s", key, reason)
        if is_sqlite(self.engine):
            others = self._live_peers(now)
            if others:
                log.warning(
                    "another worker (%s) seems to be using this SQLite database: run one worker on SQLite, "
                    "or use PostgreSQL for several",
                    ", ".join(others),
                )
        self.heartbeat()

    def _live_peers(self, now: datetime) -> list[str]:
        with write_transaction(self.engine) as session:
            workers = health.health_report(session, now=now).workers
        return [w.worker for w in workers if w.alive and w.worker != self.worker_id]

    def start(self) -> None:
        self.prepare()
        self.scheduler = build_scheduler(self)
        self.scheduler.start()
        log.info("worker %s started: %d sources", self.worker_id, len(self.pollable_sources()))

    def stop(self) -> None:
        """Let running jobs finish their unit of work, then hand back leases and the heartbeat."""
        self._stopping.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        leases.release_all(self.engine, owner=self.worker_id)
        health.forget(self.engine, self.worker_id)
        log.info("worker %s stopped", self.worker_id)

    # bookkeeping -------------------------------------------------------------------------

    def _run(self, name: str, fn: Callable[[], Any]) -> Any:
        if self.stopping:
            return None
        started = self.clock()
        try:
            result = fn()
        except Exception as exc:
            log.exception("job %s failed", name)
            # The type only: a database error's message repeats its statement's values (post texts).
            self._note(name, started, error=f"{type(exc).__name__}; see the worker log")
            return None
        self._note(name, started, error=None)
        return result

    def _note(self, name: str, at: datetime, *, error: str | None) -> None:
        with self._jobs_lock:
            entry = self.jobs.setdefault(name, {"runs": 0, "failures": 0})
            entry["runs"] += 1
            entry["last_run"] = at.isoformat()
            if error is None:
                entry["last_ok"] = at.isoformat()
            else:
                entry["failures"] += 1
                entry["last_error"] = error
                entry["last_error_at"] = at.isoformat()

    def _leader(self, name: str, ttl: timedelta, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` only on the worker that holds the job's lease (taking it if free or expired)."""
        if not leases.take_job_lease(self.engine, name, owner=self.worker_id, now=self.clock(), ttl=ttl):
            return None
        return fn()

    # jobs --------------------------------------------------------------------------------

    def poll(self, source_key: str) -> PollOutcome | None:
        def once() -> PollOutcome:
            return poll_source(
                self.engine,
                self.settings,
                source_key,
                connector=self.connectors.by_source[source_key],
                stage=self.stage,
                now=self.clock(),
                worker_id=self.worker_id,
            )

        outcome: PollOutcome | None = self._run(f"poll:{source_key}", once)
        if outcome is not None and outcome.status == "polled" and (outcome.new or outcome.rejected):
            log.info(
                "%s: %d new, %d duplicates, %d rejected",
                source_key,
                outcome.new,
                outcome.duplicates,
                outcome.rejected,
            )
        if outcome is not None and outcome.new:
            self.watch_crisis()  # now, not at its next tick: the new mentions may cross a threshold
        return outcome

    def send_replies(self) -> int | None:
        return self._run(
            "outbox",
            lambda: send_due_replies(
                self.engine,
                self.settings,
                connectors=self.connectors.by_platform,
                now=self.clock(),
                worker_id=self.worker_id,
                limit=OUTBOX_BATCH,
                should_stop=lambda: self.stopping,
            ),
        )

    def deliver_alerts(self) -> int | None:
        # deliver_due_alerts claims each alert itself, so every worker may run it.
        def deliver() -> int:
            return alerts.deliver_due_alerts(
                self.engine, self.settings, now=self.clock(), notifier_factory=self.alert_channels
            )

        return self._alerts_gate.run(lambda: self._run("alerts", deliver))

    def warn_sla(self) -> int | None:
        return self._run(
            "sla",
            lambda: self._leader(
                "sla",
                timedelta(minutes=3),
                lambda: sla.warn_due_items(self.engine, self.settings, now=self.clock()),
            ),
        )

    def escalate(self) -> int | None:
        return self._run(
            "escalation",
            lambda: self._leader(
                "escalation",
                timedelta(minutes=3),
                lambda: incidents.escalate_unacknowledged(self.engine, self.settings, now=self.clock()),
            ),
        )

    def watch_crisis(self) -> list[CrisisEvent] | None:
        """One crisis step (on the leader only), then the alert job at once if the step had events.

        None when this worker does not lead, the step failed, or another thread is running
        the job (it then runs once more for this request).
        """

        def step() -> list[CrisisEvent]:
            # Built on first use: a worker that never leads never loads the monitor.
            if self._crisis_watch is None:
                self._crisis_watch = CrisisWatch(self.engine, self.settings)
            return self._crisis_watch.step(now=self.clock())

        def step_then_deliver() -> list[CrisisEvent] | None:
            events = self._run("crisis", lambda: self._leader("crisis", timedelta(seconds=90), step))
            # An incident opened or changed: it may have queued an alert; the run sends what is due.
            if events:
                self.deliver_alerts()
            return events

        return self._crisis_gate.run(step_then_deliver)

    def run_retention(self) -> dict[str, Any] | None:
        # Held for an hour: a peer whose daily tick fires a little later finds it taken and skips.
        return self._run(
            "retention",
            lambda: self._leader(
                "retention",
                timedelta(hours=1),
                lambda: retention.run_retention(self.engine, self.settings, now=self.clock()),
            ),
        )

    def hide_comments(self) -> int | None:
        def connector_for(source_key: str) -> Connector:
            return (
                self.connectors.by_source.get(source_key)
                or self.connectors.by_platform[platform_of(source_key)]
            )

        return self._run(
            "moderation",
            lambda: moderation.perform_due_hides(self.engine, connector_for, now=self.clock()),
        )

    def read_instagram_mentions(self) -> int | None:
        """Look up and store the Instagram @mentions Meta's webhook announced (on the leader only:
        two workers would call Instagram twice for the same post)."""
        lookups = {k: c for k, c in self.connectors.by_source.items() if isinstance(c, MentionLookup)}
        return self._run(
            "instagram_mentions",
            lambda: self._leader(
                "instagram_mentions",
                timedelta(seconds=90),
                lambda: process_mention_events(self.engine, lookups, self.stage, now=self.clock()),
            ),
        )

    def refresh_settings(self) -> None:
        """Pick up thresholds and SLA targets an admin changed in the UI (stored as overrides)."""

        def refresh() -> None:
            with write_transaction(self.engine) as session:
                self.settings = effective_settings(session, self.file_settings)
            self.stage.sla = self.settings.sla

        self._run("settings", refresh)

    def heartbeat(self) -> None:
        self._run("heartbeat", self._beat)

    def _beat(self) -> None:
        with self._jobs_lock:
            jobs = {name: dict(entry) for name, entry in self.jobs.items()}
        detail = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "sources": self.pollable_sources(),
            "unavailable": dict(self.connectors.unavailable),
            "jobs": jobs,
            "stopping": self.stopping,
        }
        health.beat(self.engine, self.worker_id, now=self.clock(), started_at=self.started_at, detail=detail)
