"""Crisis alert latency: from the mention that crosses the crisis threshold to the alert handed to a channel.

    .venv/bin/python -m bench.alert_latency [--trials 8] [--poll-seconds 120]

A simulated clock drives the worker's own functions on the worker's own schedule: the
source is polled every ``--poll-seconds`` (``listener.intake.polling.poll_source``, with a
connector that hands over the stream's mentions created since its checkpoint), the crisis
job runs every 30 s (``CrisisWatch.step``) and the alert job every 15 s
(``listener.incidents.alerts.deliver_due_alerts``, with a channel that notes the simulated time it
was handed the alert). Each trial starts the three jobs at random phases.

The stream (``bench.seed.synthetic_mentions``) is five quiet days and then a surgery
closure that people are angry about. Which mention crosses the threshold is decided by
the crisis monitor itself: the stream is first run through ``triage.crisis.CrisisMonitor``
alone, and the mention whose ``observe`` first returns an alert- or crisis-level event is
the crossing one. Target: the alert goes out within one polling interval of it.

Two schedules are run in the same process on the same stream and phases:

- ``worker`` — the worker's own jobs (``Worker.poll``, ``Worker.watch_crisis``,
  ``Worker.deliver_alerts``) on their ticks. The worker chains them itself: a poll that
  stored mentions runs the crisis step, a step that queued an alert runs the delivery.
- ``baseline`` — the same three functions ticking independently, as the worker ran them
  before the chaining (worst case a poll interval + 30 s + 15 s).

Targets: worst <= one polling interval, median <= 30 s.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import random
import shutil
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert

from bench.common import ListenOnlyConnector, figure, machine_note, ratio_of
from bench.seed import X_SOURCE, synthetic_mentions
from connectors.base import Checkpoint as ConnectorCheckpoint
from connectors.base import Mention
from listener.incidents import alerts
from listener.incidents.crisis_watch import CrisisWatch, crisis_config, load_observed
from listener.incidents.lifecycle import ALERT_LEVELS
from listener.intake.ingest import TriageStage, ingest, to_input
from listener.intake.pipeline import build_stage
from listener.intake.polling import poll_source
from listener.intake.sources import Connectors
from listener.scheduler import ALERTS_SECONDS, CRISIS_SECONDS
from listener.settings import Settings
from listener.store.db import make_engine, write_transaction
from listener.store.migrate import upgrade
from listener.store.models import Mention as MentionRow
from listener.store.models import Source
from listener.worker import Worker
from triage.crisis import CrisisMonitor, ObservedMention

WORKER = "bench-worker"
WINDOW_BEFORE = timedelta(hours=1)  # the simulation starts this long before the crossing mention
WINDOW_AFTER = timedelta(minutes=30)  # and gives up this long after it
MEDIAN_TARGET = 30.0


class StreamConnector(ListenOnlyConnector):
    """Hands over the stream's mentions created since the checkpoint, up to the simulated now."""

    def __init__(self, mentions: Sequence[Mention], clock: Callable[[], datetime]) -> None:
        self.mentions = list(mentions)
        self.times = [m.created_at for m in self.mentions]
        self.clock = clock

    def fetch(
        self, source: str, checkpoint: ConnectorCheckpoint
    ) -> tuple[list[Mention], ConnectorCheckpoint]:
        start = int(checkpoint.cursor.get("next", 0))
        end = bisect.bisect_right(self.times, self.clock())
        return self.mentions[start:end], ConnectorCheckpoint({"next": end})


class NotingChannel:
    """An alert channel that notes when (on the simulated clock) it was handed an alert."""

    key = "bench"
    label = "bench channel"

    def __init__(self, clock: Callable[[], datetime], handed: list[tuple[datetime, str]]) -> None:
        self.clock = clock
        self.handed = handed

    def send(self, *, title: str, body: str) -> None:
        self.handed.append((self.clock(), title))


@dataclass(frozen=True)
class Crossing:
    mention: Mention
    level: str


def find_crossing(stage: TriageStage, settings: Settings, mentions: Sequence[Mention]) -> Crossing:
    """The mention whose observation first lifts the monitor to an alerting level."""
    monitor = CrisisMonitor(crisis_config(settings))
    seen: set[str] = set()
    for m in mentions:
        if m.external_id in seen:
            continue
        seen.add(m.external_id)
        score = stage.scorer.score(to_input(m))
        score.topic = stage.topic_of(m.text, m.url)
        observed = ObservedMention(
            id=m.external_id,
            created_at=m.created_at,
            text=m.text,
            score=score,
            url=m.url,
            source=m.source,
            author_handle=m.author.handle,
            followers=m.author.followers,
            reposts=int(m.metrics.get("reposts", 0) or 0),
        )
        for event in monitor.observe(observed):
            if event.level in ALERT_LEVELS:
                return Crossing(m, event.level)
    raise RuntimeError(
        "the stream never reached an alerting level: the benchmark stream needs a stronger crisis"
    )


def store_history(path: Path, stage: TriageStage, history: Sequence[Mention], start: datetime) -> None:
    """The days before the window, ingested once and copied for each trial."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with write_transaction(engine) as session:
        session.execute(
            insert(Source).values(key=X_SOURCE, platform="x", interval_seconds=120, next_poll_at=start)
        )
    for i in range(0, len(history), 500):
        batch = history[i : i + 500]
        with write_transaction(engine) as session:
            ingest(session, batch, stage, now=batch[-1].created_at)
    engine.dispose()


def run_trial(
    db: Path,
    settings: Settings,
    stage: TriageStage,
    window: Sequence[Mention],
    crossing: Crossing,
    *,
    start: datetime,
    poll_seconds: int,
    use_worker: bool,
    phases: tuple[float, float, float],
) -> float | None:
    """Seconds from the crossing mention's ``created_at`` to the alert handed to the channel."""
    engine = make_engine(f"sqlite:///{db}")
    now = start
    clock = lambda: now  # noqa: E731 - the simulated clock every job reads
    handed: list[tuple[datetime, str]] = []
    connector = StreamConnector(window, clock)
    channels = lambda audience, urls: [NotingChannel(clock, handed)]  # noqa: E731
    watch = CrisisWatch(engine, settings)
    _catch_up(watch, engine, start)
    worker = Worker(
        settings,
        engine,
        worker_id=WORKER,
        connectors=Connectors(by_source={X_SOURCE: connector}, by_platform={}, unavailable={}),
        stage=stage,
        clock=clock,
        alert_channels=channels,
        crisis_watch=watch,
    )
    run: dict[str, Callable[[], object]] = (
        {
            "poll": lambda: worker.poll(X_SOURCE),
            "crisis": worker.watch_crisis,
            "alerts": worker.deliver_alerts,
        }
        if use_worker
        else {
            "poll": lambda: poll_source(
                engine, settings, X_SOURCE, connector=connector, stage=stage, now=now, worker_id=WORKER
            ),
            "crisis": lambda: watch.step(now=now),
            "alerts": lambda: alerts.deliver_due_alerts(engine, settings, now=now, notifier_factory=channels),
        }
    )
    # (time, order, job): the three jobs at random phases, each re-queued at its interval.
    every = {"poll": poll_seconds, "crisis": CRISIS_SECONDS, "alerts": ALERTS_SECONDS}
    jobs: list[tuple[datetime, int, str]] = [
        (start + timedelta(seconds=phase * every[job]), order, job)
        for order, (job, phase) in enumerate(zip(every, phases, strict=True))
    ]
    heapq.heapify(jobs)
    end = crossing.mention.created_at + WINDOW_AFTER
    while not handed and jobs[0][0] <= end:
        now, order, job = heapq.heappop(jobs)
        heapq.heappush(jobs, (now + timedelta(seconds=every[job]), order, job))
        run[job]()
    engine.dispose()
    return (handed[0][0] - crossing.mention.created_at).total_seconds() if handed else None


def _catch_up(watch: CrisisWatch, engine: Engine, now: datetime) -> None:
    """Feed the stored history to the monitor in-process, as the replay does, before the window.

    (``step`` would read it 5,000 at a time and tick to ``now`` after the first batch, so the
    rest would count as late deliveries at ``now``.)
    """
    with write_transaction(engine) as session:
        history = load_observed(session, MentionRow.id > 0)
        watch.apply(session, watch.observe(history), now=now)
        watch.mark_fed(session, max(int(o.id) for o in history), now)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--poll-seconds", type=int, default=Settings().polling.default_interval_seconds)
    args = parser.parse_args(argv)
    print(machine_note())
    settings = Settings()
    stage = build_stage(settings)
    stream = []
    for m in synthetic_mentions(40_000, per_hour=120, crisis_every_days=6):
        stream.append(m)
        if m.created_at.day > stream[0].created_at.day + 5:
            break
    crossing = find_crossing(stage, settings, stream)
    start = crossing.mention.created_at - WINDOW_BEFORE
    history = [m for m in stream if m.created_at < start]
    window = [m for m in stream if m.created_at >= start]
    print(
        f"crossing mention at {crossing.mention.created_at:%Y-%m-%d %H:%M:%S} (level {crossing.level}), "
        f"after {len(history):,} mentions of history; polls every {args.poll_seconds} s, "
        f"crisis job every {CRISIS_SECONDS} s, alert job every {ALERTS_SECONDS} s"
    )
    rng = random.Random(12)
    phases = [(rng.random(), rng.random(), rng.random()) for _ in range(args.trials)]
    found: dict[bool, list[float | None]] = {}
    with tempfile.TemporaryDirectory(prefix="lp-bench-") as folder:
        base = Path(folder) / "history.db"
        store_history(base, stage, history, start)
        for use_worker in (False, True):
            found[use_worker] = []
            for trial, phase in enumerate(phases):
                db = Path(folder) / f"trial-{int(use_worker)}-{trial}.db"
                shutil.copy(base, db)
                found[use_worker].append(
                    run_trial(
                        db,
                        settings,
                        stage,
                        window,
                        crossing,
                        start=start,
                        poll_seconds=args.poll_seconds,
                        use_worker=use_worker,
                        phases=phase,
                    )
                )
                db.unlink()
    report(found, args.poll_seconds)
    return 0


def report(found: dict[bool, list[float | None]], poll_seconds: int) -> None:
    """Each schedule's trials, then worst and median with their targets and the ratio to the baseline."""
    summary: dict[bool, tuple[float, float]] = {}
    for use_worker, latencies in found.items():
        name = "worker (jobs chained)" if use_worker else "baseline (jobs tick independently)"
        print(f"  {name}: " + ", ".join("never" if x is None else f"{x:.0f} s" for x in latencies))
        done = [x for x in latencies if x is not None]
        never = len(done) < len(latencies)
        summary[use_worker] = (
            float("inf") if never or not done else max(done),
            statistics.median(done) if done else float("inf"),
        )
    (base_worst, base_median), (worst, median) = summary[False], summary[True]
    figure(
        "crisis alert after the crossing post, worst",
        f"{worst:.0f} s",
        f"<= {poll_seconds} s",
        worst <= poll_seconds,
        baseline=f"{base_worst:.0f} s",
        ratio=ratio_of(worst, base_worst),
    )
    figure(
        "crisis alert after the crossing post, median",
        f"{median:.0f} s",
        f"<= {MEDIAN_TARGET:.0f} s",
        median <= MEDIAN_TARGET,
        baseline=f"{base_median:.0f} s",
        ratio=ratio_of(median, base_median),
    )
    # The worst phase: the post lands just after a poll, and each later job has just run.
    figure(
        "worst the worker's schedule allows",
        f"{poll_seconds} s",
        f"<= {poll_seconds} s",
        True,
        baseline=f"{poll_seconds + CRISIS_SECONDS + ALERTS_SECONDS} s",
        ratio=poll_seconds / (poll_seconds + CRISIS_SECONDS + ALERTS_SECONDS),
    )


if __name__ == "__main__":
    raise SystemExit(main())
