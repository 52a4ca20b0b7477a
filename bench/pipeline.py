"""Ingest throughput: realistic mentions through ingest, scoring and the crisis watch into SQLite.

    .venv/bin/python -m bench.pipeline [--mentions 100000] [--batch 100] [--db sqlite|postgres]
                                         [--processes N]

The worker's own path, minus the network: each batch is one poll's worth of mentions
(``--batch``, default a full X page of 100), stored by ``listener.intake.ingest.ingest`` with the
real triage stage (``listener.intake.pipeline.build_stage``) in one write transaction, then the
crisis watch (``listener.incidents.crisis_watch.CrisisWatch.step``) reads what was stored, feeds the
crisis monitor and spike baselines, and opens incidents. The stream is synthetic
(``bench.seed``): a busy fortnight with a daily rhythm, 1% re-deliveries, and a crisis
burst on every sixth day.

Baseline: bare ``vaderSentiment`` ``polarity_scores`` of the same texts, in the same process.
The two run interleaved in ten segments, so a machine busy with other work slows both alike.
``--processes`` sets ``[triage] scoring_processes`` (default 1: the one-core figure; more
scores each poll in a process pool, see ``listener.intake.scoring_pool``).
Targets (issue 21): the pipeline at 0.3 or more of bare VADER's rate on one process, 0.7
with the spare cores.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench.common import figure, fresh_store, machine_note
from bench.seed import synthetic_mentions
from connectors.base import Mention
from listener.incidents.crisis_watch import CrisisWatch
from listener.intake.ingest import TriageStage, ingest, to_input
from listener.intake.pipeline import build_stage
from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.migrate import upgrade

TARGET_ONE_CORE = 0.3
TARGET_SPARE_CORES = 0.7
SEGMENTS = 10


@dataclass
class Timings:
    vader: float = 0.0
    scoring: float = 0.0  # scorer + topic, no store: what triage alone costs
    ingest: float = 0.0  # ingest transactions (scoring included)
    crisis: float = 0.0  # crisis watch steps
    new: int = 0
    duplicates: int = 0
    events: int = 0

    @property
    def pipeline(self) -> float:
        return self.ingest + self.crisis


def run_vader(analyzer: SentimentIntensityAnalyzer, texts: Sequence[str]) -> float:
    started = time.perf_counter()
    for t in texts:
        analyzer.polarity_scores(t)
    return time.perf_counter() - started


def run_scoring(stage: TriageStage, mentions: Sequence[Mention], batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(mentions), batch):
        polled = mentions[start : start + batch]
        stage.score_all([to_input(m) for m in polled])
        for m in polled:
            stage.topic_of(m.text, m.url)
    return time.perf_counter() - started


def run_pipeline(
    engine: Engine,
    stage: TriageStage,
    watch: CrisisWatch,
    mentions: Sequence[Mention],
    batch: int,
    t: Timings,
) -> None:
    for start in range(0, len(mentions), batch):
        polled = mentions[start : start + batch]
        now = max(m.created_at for m in polled)
        began = time.perf_counter()
        with write_transaction(engine) as session:
            result = ingest(session, polled, stage, now=now)
        stored = time.perf_counter()
        events = watch.step(now=now)
        t.ingest += stored - began
        t.crisis += time.perf_counter() - stored
        t.new += len(result.new)
        t.duplicates += result.duplicates
        t.events += len(events)


def measure(kind: str, mentions: list[Mention], batch: int, processes: int = 1) -> Timings:
    settings = Settings.model_validate({"triage": {"scoring_processes": processes}})
    stage = build_stage(settings)
    if stage.pool is not None:
        stage.score_all([to_input(m) for m in mentions[: stage.pool.min_batch]])  # start the processes
    analyzer = SentimentIntensityAnalyzer()
    timings = Timings()
    texts = [m.text for m in mentions]
    size = -(-len(mentions) // SEGMENTS)
    with fresh_store(kind) as engine:
        upgrade(engine)
        watch = CrisisWatch(engine, settings)
        for start in range(0, len(mentions), size):
            part = mentions[start : start + size]
            gc.collect()
            timings.vader += run_vader(analyzer, texts[start : start + size])
            timings.scoring += run_scoring(stage, part, batch)
            run_pipeline(engine, stage, watch, part, batch, timings)
    if stage.pool is not None:
        stage.pool.close()
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100, help="mentions per poll (one ingest transaction)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--processes", type=int, default=1, help="processes that score each poll")
    args = parser.parse_args(argv)

    mentions = list(synthetic_mentions(args.mentions, per_hour=300, crisis_every_days=6))
    hours = (mentions[-1].created_at - mentions[0].created_at).total_seconds() / 3600
    print(
        f"{len(mentions):,} mentions over {hours:.0f} simulated hours into {args.db}, "
        f"polls of {args.batch}, crisis watch after each poll, {args.processes} scoring process(es)"
    )
    print(machine_note())
    t = measure(args.db, mentions, args.batch, args.processes)
    n = len(mentions)
    vader_rate, pipeline_rate = n / t.vader, n / t.pipeline
    ratio = pipeline_rate / vader_rate
    figure("bare VADER polarity_scores", f"{vader_rate:,.0f} /s")
    figure("triage alone (scorer + topic, no store)", f"{n / t.scoring:,.0f} /s")
    figure("pipeline (ingest + triage + crisis watch)", f"{pipeline_rate:,.0f} /s")
    target = TARGET_ONE_CORE if args.processes == 1 else TARGET_SPARE_CORES
    figure("pipeline rate / bare VADER rate", f"{ratio:.2f}", f">= {target}", ratio >= target)
    share = {
        "triage (scorer + topic)": t.scoring,
        "store (ingest minus triage)": max(0.0, t.ingest - t.scoring),
        "crisis watch (read back, monitor, incidents)": t.crisis,
    }
    print("  where the pipeline's time goes:")
    for label, seconds in share.items():
        print(f"    {label:<46} {seconds / t.pipeline:6.1%}  ({seconds * 1e6 / n:,.0f} us per mention)")
    print(f"  stored {t.new:,} new, {t.duplicates:,} duplicates; {t.events} crisis events")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
