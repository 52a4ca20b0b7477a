"""Worker memory: peak RSS of a worker process that ingests 1,000,000 mentions.

    .venv/bin/python -m bench.memory [--mentions 1000000]

A child process does the worker's own work, nothing else: it polls a source
(``listener.intake.polling.poll_source``) whose connector hands over the next 100 mentions of a
synthetic stream (made as it goes, never held in memory), and runs the crisis job
(``CrisisWatch.step``) after each poll, into a SQLite store in a temporary folder. It
reports its resident memory every 100,000 mentions; the parent reads the child's peak from
the kernel (``ru_maxrss``). Target: peak RSS under 300 MB.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import ListenOnlyConnector, figure, machine_note
from connectors.base import Checkpoint, Mention

TARGET_MB = 300
PAGE = 100
REPORT_EVERY = 100_000


def rss_mb() -> float:
    """Current resident set size (Linux: /proc/self/statm, in pages)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


class PagedConnector(ListenOnlyConnector):
    """Hands over the next page of an endless stream at each fetch."""

    def __init__(self, stream: Iterator[Mention]) -> None:
        self.stream = stream
        self.last_at: datetime | None = None

    def fetch(self, source: str, checkpoint: Checkpoint) -> tuple[list[Mention], Checkpoint]:
        page = list(itertools.islice(self.stream, PAGE))
        if page:
            self.last_at = page[-1].created_at
        return page, Checkpoint({"page": len(page)})


def child(mentions: int) -> int:
    """The worker side: runs in its own process so its peak memory is its own.

    The product is imported here, not at the top, so the parent process stays small.
    """
    from sqlalchemy import insert

    from bench.seed import BENCH_START, X_SOURCE, synthetic_mentions
    from listener.incidents.crisis_watch import CrisisWatch
    from listener.intake.pipeline import build_stage
    from listener.intake.polling import poll_source
    from listener.settings import Settings
    from listener.store.db import make_engine, write_transaction
    from listener.store.migrate import upgrade
    from listener.store.models import Source

    settings = Settings()
    stage = build_stage(settings)
    connector = PagedConnector(synthetic_mentions(mentions, per_hour=1500, crisis_every_days=6))
    interval = timedelta(seconds=60)
    with tempfile.TemporaryDirectory(prefix="lp-bench-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'worker.db'}")
        upgrade(engine)
        with write_transaction(engine) as session:
            session.execute(insert(Source).values(key=X_SOURCE, platform="x", interval_seconds=60))
        watch = CrisisWatch(engine, settings)
        print(f"after start-up: {rss_mb():.0f} MB", flush=True)
        done, next_report, started = 0, REPORT_EVERY, time.perf_counter()
        now = BENCH_START
        while done < mentions:
            outcome = poll_source(
                engine, settings, X_SOURCE, connector=connector, stage=stage, now=now, worker_id="bench"
            )
            if outcome.status != "polled" or not outcome.new + outcome.duplicates:
                break
            done += outcome.new + outcome.duplicates
            watch.step(now=now)
            # The next poll: after the last mention handed over, and at least an interval later.
            now = max(connector.last_at or now, now + interval)
            if done >= next_report:
                rate = done / (time.perf_counter() - started)
                print(f"{done:>9,} mentions: {rss_mb():.0f} MB now ({rate:,.0f} mentions/s)", flush=True)
                next_report += REPORT_EVERY
        engine.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.mentions)
    print(machine_note())
    print(f"a worker process ingesting {args.mentions:,} mentions (polls of {PAGE}, crisis job after each):")
    rc = subprocess.call([sys.executable, "-m", "bench.memory", "--child", "--mentions", str(args.mentions)])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: kilobytes
    if rc != 0:
        print(f"  the worker process failed (exit {rc})")
        return 1
    figure("worker peak RSS", f"{peak_mb:,.0f} MB", f"< {TARGET_MB} MB", peak_mb < TARGET_MB)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
