"""The crisis monitor inside a viral burst: cost per mention at 10k, 50k and 100k mentions an hour.

    .venv/bin/python -m bench.crisis_burst [--rates 10000,50000,100000] [--burst-minutes 60]

A ``triage.crisis.CrisisMonitor`` learns an ordinary week (300 mentions an hour with a
daily rhythm, ``bench.seed`` texts), then takes a burst at the given rate for
``--burst-minutes`` (seven in ten posts angry about one surgery, the rest ordinary), fed two ways:

- ``batch``: in the batches the crisis job reads (``observe_batch``, one per 30 s of stream time);
- ``per mention``: one ``observe`` per mention, as the replay feeds it.

Mentions are scored once, before timing, with the product's scorer (a pool of scored posts; each
mention's text is made unique, so the monitor's own text analysis runs for every one). The
figure is CPU time of the monitor per mention in the burst.

Baselines, measured in the same run: bare ``vaderSentiment`` ``polarity_scores`` per mention on
the same texts, and the monitor's own cost per mention on the ordinary days (a quiet stream).
Target (issue 21): under 0.3 ms a mention, flat in the burst size up to 100,000 an hour.
"""

from __future__ import annotations

import argparse
import copy
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench.common import figure, machine_note
from bench.seed import BENCH_START, TextMaker, _rhythm
from listener.intake.triage_setup import build_scorer
from listener.paths import load_config_toml
from triage.crisis import CrisisMonitor, ObservedMention
from triage.model import MentionInput, Score

TARGET_MS = 0.3
FLAT = 1.5  # the 100k-an-hour cost at most this many times the 10k-an-hour cost counts as flat
HISTORY_DAYS = 7  # a week: the volume baseline knows the time of day before the burst
HISTORY_PER_HOUR = 300
BATCH_SECONDS = 30
POOL = 1_500


class Pool:
    """Scored posts to draw from: ordinary ones and the burst's angry ones."""

    def __init__(self, rng: random.Random) -> None:
        media = load_config_toml("media.toml")
        scorer = build_scorer(media.get("handles", []), media.get("domains", []))
        maker = TextMaker(rng)
        self.rng = rng

        def scored(posts: list) -> list[tuple[str, str | None, Score]]:
            out = []
            for post in posts:
                score = scorer.score(
                    MentionInput(
                        text=post.text, platform="x", kind=post.kind, author_handle="someone", url=post.url
                    )
                )
                out.append((post.text, post.url, score))
            return out

        self.ordinary = scored([maker.post("x") for _ in range(POOL)])
        self.angry = scored([maker.crisis_post() for _ in range(POOL // 3)])
        self.n = 0

    def mention(self, at: datetime, *, burst: bool) -> ObservedMention:
        self.n += 1
        text, url, score = self.rng.choice(self.angry if burst and self.rng.random() < 0.7 else self.ordinary)
        return ObservedMention(
            id=str(self.n),
            created_at=at,
            text=f"{text} {self.n}",  # unique text; numbers are not terms, so the subject is unchanged
            score=score,
            url=url,
            reposts=int(self.rng.paretovariate(1.5)) - 1,
        )


def history(pool: Pool) -> list[ObservedMention]:
    out, at = [], BENCH_START
    end = BENCH_START + timedelta(days=HISTORY_DAYS)
    while at < end:
        at += timedelta(seconds=pool.rng.expovariate(HISTORY_PER_HOUR * _rhythm(at) / 3600))
        out.append(pool.mention(at, burst=False))
    return out


def burst(pool: Pool, per_hour: int, minutes: int) -> list[ObservedMention]:
    start = BENCH_START + timedelta(days=HISTORY_DAYS, hours=13)
    step = 3600 / per_hour
    return [
        pool.mention(start + timedelta(seconds=i * step), burst=True) for i in range(per_hour * minutes // 60)
    ]


def batches(mentions: Sequence[ObservedMention]) -> list[list[ObservedMention]]:
    """What the crisis job reads every ``BATCH_SECONDS``."""
    out: list[list[ObservedMention]] = []
    start: datetime | None = None
    for m in mentions:
        if start is None or (m.created_at - start).total_seconds() >= BATCH_SECONDS:
            out.append([])
            start = m.created_at
        out[-1].append(m)
    return out


def run(monitor: CrisisMonitor, mentions: list[ObservedMention], *, batched: bool) -> tuple[list, float]:
    """Feed the burst as the crisis job does (batches) or as the replay does; events and ms a mention."""
    events: list = []
    started = time.process_time()
    if batched:
        for chunk in batches(mentions):
            events.extend(monitor.observe_batch(chunk))
    else:
        for m in mentions:
            events.extend(monitor.observe(m))
    return events, (time.process_time() - started) * 1000 / max(len(mentions), 1)


def cpu_per_mention(run: Callable[[], object], mentions: int) -> float:
    """Milliseconds of CPU per mention."""
    started = time.process_time()
    run()
    return (time.process_time() - started) * 1000 / max(mentions, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10000,50000,100000", help="burst sizes, mentions an hour")
    parser.add_argument("--burst-minutes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    print(machine_note())
    pool = Pool(random.Random(args.seed))
    quiet = history(pool)
    bursts = {rate: burst(pool, rate, args.burst_minutes) for rate in rates}

    vader = SentimentIntensityAnalyzer()
    sample = [m.text for m in quiet[:2000]] + [m.text for m in bursts[rates[0]][:2000]]
    vader_ms = cpu_per_mention(lambda: [vader.polarity_scores(t) for t in sample], len(sample))
    warmed = CrisisMonitor()
    quiet_ms = cpu_per_mention(lambda: warmed.observe_batch(quiet), len(quiet))
    print(
        f"baselines (same run): bare VADER {vader_ms:.3f} ms a mention; the monitor on the ordinary week "
        f"{quiet_ms:.3f} ms a mention ({len(quiet):,} mentions)"
    )

    results: dict[str, dict[int, float]] = {"batch": {}, "per mention": {}}
    for mode, results_for in results.items():
        for rate in rates:
            mentions = bursts[rate]
            events, ms = run(copy.deepcopy(warmed), mentions, batched=mode == "batch")
            results_for[rate] = ms
            opened = [e for e in events if e.kind == "open"]
            if not opened:
                print(f"  the burst of {rate:,}/h opened no incident: the figure is not a crisis's")
            figure(
                f"{mode}, burst of {rate:,}/h ({len(mentions):,} mentions)",
                f"{ms:.3f} ms",
                f"< {TARGET_MS} ms",
                ms < TARGET_MS,
                width=44,
            )
            print(f"  {'':44} {ms / vader_ms:>11.2f} x bare VADER, {ms / quiet_ms:.2f} x the quiet stream")
        flat = results_for[rates[-1]] / results_for[rates[0]]
        figure(
            f"{mode}: {rates[-1]:,}/h cost / {rates[0]:,}/h cost",
            f"{flat:.2f}",
            f"<= {FLAT} (flat)",
            flat <= FLAT,
            width=44,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
