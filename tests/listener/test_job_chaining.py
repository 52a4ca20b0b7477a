"""Jobs run as soon as another made work for them: a poll that stored mentions runs the crisis step,
a crisis step that queued an alert runs the delivery — one call, the clock never moved, no timer."""

from __future__ import annotations

import bisect
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.base import Checkpoint
from connectors.replay import InvalidLine, parse_line
from listener.incidents.crisis_watch import CrisisWatch
from listener.intake.pipeline import build_stage
from listener.intake.sources import Connectors
from listener.scheduler import JobGate
from listener.settings import Settings, SourceSettings
from listener.store.db import write_transaction
from listener.store.models import Alert
from listener.worker import Worker
from tests.listener.worker_support import Clock

CRISIS = Path(__file__).resolve().parents[1] / "fixtures" / "streams" / "crisis.jsonl"
SOURCE = "x:mentions:@NHSCovWarks"


@pytest.fixture(scope="module")
def stage():
    return build_stage(Settings())


@pytest.fixture(scope="module")
def stream():
    found = []
    for line in CRISIS.read_bytes().splitlines():
        try:
            found.append(parse_line(line))
        except InvalidLine:
            continue
    return sorted(found, key=lambda m: m.created_at)


class StreamUpToNow:
    """Hands over the stream's posts created since the checkpoint, up to the clock's now."""

    def __init__(self, mentions, clock):
        self.mentions, self.clock = mentions, clock
        self.times = [m.created_at for m in mentions]

    def fetch(self, source, checkpoint):
        start = int(checkpoint.cursor.get("next", 0))
        end = bisect.bisect_right(self.times, self.clock())
        return self.mentions[start:end], Checkpoint({"next": end})


class NotingChannel:
    key, label = "test", "test channel"

    def __init__(self, clock, handed):
        self.clock, self.handed = clock, handed

    def send(self, *, title, body):
        self.handed.append((self.clock(), title))


def make_worker(engine, stage, stream, clock, handed, worker_id="w1"):
    settings = Settings(
        sources=[SourceSettings(key=SOURCE, interval_seconds=120)], polling={"jitter_seconds": 0}
    )
    worker = Worker(
        settings,
        engine,
        worker_id=worker_id,
        connectors=Connectors(
            by_source={SOURCE: StreamUpToNow(stream, clock)}, by_platform={}, unavailable={}
        ),
        stage=stage,
        clock=clock,
        alert_channels=lambda audience, urls: [NotingChannel(clock, handed)],
    )
    worker.prepare()
    return worker


def test_a_poll_that_stores_the_crossing_post_delivers_the_alert_in_the_same_call(engine, stage, stream):
    quiet_end = next(m.created_at for m in stream if m.created_at.day >= 3 and m.created_at.hour >= 18)
    clock = Clock(quiet_end)
    handed: list = []
    worker = make_worker(engine, stage, stream, clock, handed)

    assert worker.poll(SOURCE).new > 0  # the quiet days: stored, the crisis step ran, nothing to send
    assert worker.jobs["crisis"]["runs"] == 1
    assert handed == [] and "alerts" not in worker.jobs

    clock.now = stream[-1].created_at  # the burst is in: the next poll fetches it
    outcome = worker.poll(SOURCE)

    assert outcome.new > 0
    assert worker.jobs["crisis"]["runs"] == 2 and "last_error" not in worker.jobs["crisis"]
    assert worker.jobs["alerts"]["runs"] == 1
    assert [at for at, _ in handed] == [clock.now]  # handed to the channel within the poll, same instant
    with write_transaction(engine) as session:
        assert session.scalars(select(Alert.kind).where(Alert.status == "sent")).all() == ["incident"]


def test_a_poll_that_stores_nothing_does_not_run_the_crisis_step(engine, stage, stream):
    clock = Clock(stream[0].created_at.replace(year=2025))  # before the stream: nothing to fetch
    worker = make_worker(engine, stage, stream, clock, [])
    assert worker.poll(SOURCE).new == 0
    assert "crisis" not in worker.jobs


def test_mentions_stored_while_the_crisis_step_runs_get_a_second_step_never_a_parallel_one(
    engine, stage, stream, monkeypatch
):
    clock = Clock(stream[len(stream) // 2].created_at)
    worker = make_worker(engine, stage, stream, clock, [])
    running, most_at_once, steps = [0], [0], []
    original = CrisisWatch.step

    def step(self, now=None):
        running[0] += 1
        most_at_once[0] = max(most_at_once[0], running[0])
        steps.append(now)
        if len(steps) == 1:
            # A poll lands while this step runs (another scheduler thread in production).
            clock.now = stream[-1].created_at
            assert worker.poll(SOURCE).new > 0
        try:
            return original(self, now=now)
        finally:
            running[0] -= 1

    monkeypatch.setattr(CrisisWatch, "step", step)
    worker.watch_crisis()
    assert len(steps) == 2 and most_at_once[0] == 1
    assert steps[1] == stream[-1].created_at  # the second step saw the poll's time, and its mentions


def test_a_gate_asked_while_running_returns_at_once_and_runs_the_job_again():
    gate = JobGate()
    calls: list[object] = []

    def job():
        calls.append("run")
        if len(calls) == 1:
            calls.append(gate.run(job))  # asked again mid-run: not run inside, answered None
        return len(calls)

    assert gate.run(job) == 3  # run, None (the nested ask), run again
    assert calls == ["run", None, "run"]
    assert gate.run(lambda: "free again") == "free again"


def test_a_failing_run_frees_the_gate():
    gate = JobGate()

    def broken():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        gate.run(broken)
    assert gate.run(lambda: "ran") == "ran"
