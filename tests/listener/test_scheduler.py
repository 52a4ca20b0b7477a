"""The scheduler wiring and the worker's job wrappers, without letting any job run on a timer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from connectors.base import Checkpoint
from listener.intake.sources import Connectors
from listener.queue import sla
from listener.scheduler import build_scheduler
from listener.settings import Settings, SourceSettings
from listener.store.db import write_transaction
from listener.store.models import Checkpoint as CheckpointRow
from listener.store.models import Source, WorkerHeartbeat
from listener.worker import Worker
from tests.listener.worker_support import SOURCE, Clock, stub_stage

RSS = "rss:https://news.example/feed"
FACEBOOK = "facebook:page:104729318865221"


class Quiet:
    def fetch(self, source, checkpoint):
        return [], Checkpoint({"seen": 1})


def make_settings() -> Settings:
    return Settings(
        sources=[
            SourceSettings(key=SOURCE, interval_seconds=120),
            SourceSettings(key=RSS, interval_seconds=600),
            SourceSettings(key=FACEBOOK, interval_seconds=300),
        ],
        polling={"jitter_seconds": 15},
    )


def make_worker(engine, worker_id="w1", clock=None) -> Worker:
    connectors = Connectors(
        by_source={SOURCE: Quiet(), RSS: Quiet()},
        by_platform={},
        unavailable={FACEBOOK: "Facebook needs LISTENING_POST_FACEBOOK_PAGE_TOKEN"},
    )
    return Worker(
        make_settings(),
        engine,
        worker_id=worker_id,
        connectors=connectors,
        stage=stub_stage(),
        clock=clock or Clock(),
    )


@pytest.fixture
def scheduler(engine):
    sched = build_scheduler(make_worker(engine))
    sched.start(paused=True)  # jobs get their defaults, none runs
    yield sched
    sched.shutdown(wait=False)


def test_each_pollable_source_has_one_jittered_job_at_its_interval(scheduler):
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {"poll:" + SOURCE, "poll:" + RSS} <= set(jobs)
    assert "poll:" + FACEBOOK not in jobs  # no credentials: not scheduled, the reason is shown instead
    for key, interval in ((SOURCE, 120), (RSS, 600)):
        job = jobs["poll:" + key]
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval == timedelta(seconds=interval) and job.trigger.jitter == 15
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, interval)
        assert job.args == (key,)


def test_the_periodic_jobs_are_scheduled(scheduler):
    jobs = {job.id: job for job in scheduler.get_jobs()}
    intervals = {
        name: jobs[name].trigger.interval.total_seconds()
        for name in ("outbox", "crisis", "alerts", "sla", "escalation", "heartbeat")
    }
    assert intervals == {
        "outbox": 5,
        "crisis": 30,
        "alerts": 15,
        "sla": 60,
        "escalation": 60,
        "heartbeat": 15,
    }
    assert all(jobs[name].max_instances == 1 and jobs[name].coalesce for name in intervals)
    retention = jobs["retention"].trigger
    assert isinstance(retention, CronTrigger) and str(retention.timezone) == "Europe/London"
    assert {f.name: str(f) for f in retention.fields if f.name in ("hour", "minute")} == {
        "hour": "2",
        "minute": "30",
    }


def test_prepare_syncs_the_sources_and_shows_why_one_cannot_be_polled(engine):
    worker = make_worker(engine)
    worker.prepare()
    with write_transaction(engine) as s:
        keys = set(s.scalars(select(Source.key)))
        fb = s.scalars(select(Source).where(Source.key == FACEBOOK)).one()
        reason = s.scalar(select(CheckpointRow.last_error).where(CheckpointRow.source_id == fb.id))
        beat = s.scalars(select(WorkerHeartbeat)).one()
    assert keys == {SOURCE, RSS, FACEBOOK}
    assert reason == "Facebook needs LISTENING_POST_FACEBOOK_PAGE_TOKEN"
    assert beat.worker == "w1" and beat.detail["unavailable"] == {FACEBOOK: reason}


def test_a_poll_job_polls_through_poll_source(engine):
    worker = make_worker(engine)
    worker.prepare()
    outcome = worker.poll(SOURCE)
    assert outcome.status == "polled"
    assert worker.jobs["poll:" + SOURCE]["runs"] == 1


def test_a_failing_job_is_recorded_for_the_admin_page_not_raised(engine, monkeypatch):
    worker = make_worker(engine)
    worker.prepare()

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("listener.worker.send_due_replies", broken)
    assert worker.send_replies() is None
    worker.heartbeat()
    with write_transaction(engine) as s:
        jobs = s.scalars(select(WorkerHeartbeat)).one().detail["jobs"]
    assert jobs["outbox"]["failures"] == 1
    assert jobs["outbox"]["last_error"] == "RuntimeError; see the worker log"


def test_a_leader_only_job_runs_on_one_worker_until_its_leader_stops(engine, monkeypatch):
    ran: list[str] = []
    clock = Clock()
    first, second = make_worker(engine, "w1", clock), make_worker(engine, "w2", clock)
    for w in (first, second):
        w.prepare()
    monkeypatch.setattr(sla, "warn_due_items", lambda engine, settings, now: ran.append(now) or 0)

    first.warn_sla()
    second.warn_sla()
    assert len(ran) == 1

    first.stop()  # a clean stop hands the lease over at once
    second.warn_sla()
    assert len(ran) == 2


def test_the_crisis_watch_runs_on_its_leader_only(engine):
    clock = Clock()
    first, second = make_worker(engine, "w1", clock), make_worker(engine, "w2", clock)
    assert first.watch_crisis() == []  # nothing stored yet: no events, but it ran
    assert second.watch_crisis() is None
    assert first.jobs["crisis"]["runs"] == 1 and "last_error" not in first.jobs["crisis"]


def test_stop_returns_leases_and_removes_the_heartbeat(engine):
    worker = make_worker(engine)
    worker.start()
    worker.stop()
    with write_transaction(engine) as s:
        assert s.scalars(select(WorkerHeartbeat)).all() == []
        assert s.scalars(select(Source.key).where(Source.lease_owner.is_not(None))).all() == []
    assert worker.send_replies() is None  # a stopped worker starts no new work
