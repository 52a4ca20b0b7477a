"""NAB scores of the spike detector, leave-one-file-out over the 53 development series.

    BENCH_DATA=/work/shared/data .venv/bin/python -m bench.spikes_accuracy

Reads every series of ``$BENCH_DATA/nab-realtweets-dev`` (5 X volume series) and
``$BENCH_DATA/nab-other-dev`` (48 others: artificial, ad exchange, AWS CloudWatch, known causes,
traffic) and their ``windows.json``, and scores alerts with NAB's standard and
reward-low-false-positives profiles (bench/nab_score.py).

Every constant of ``SpikeConfig`` is chosen by leave-one-file-out: for each held-out file the
configuration with the best total score on the other 52 is picked from a capped grid, and the
held-out file is scored with it. The grid is the full product of the three alerting constants
(threshold x peak margin x cooldown) crossed with each other constant moved, one at a time, to
a low and a high value around the pre-set centre (the detector's defaults before any held-out
check). The same is done over the five tweet series alone (pick on four, score the fifth).

Speed: the baseline (expected count and sigmas per row) is run once per baseline variant with
the detector's own ``SpikeDetector``; the sustained evidence, the daily-peak bars and the gate
are then replayed in plain Python for each alerting variant (only rows that could alert at the
lowest bar are visited). The fitted configuration is finally run through the real detector (and
the tweet series through the ``listening-post spikes`` row loop), which must reproduce the
replayed figure exactly.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.nab_score import (  # noqa: E402
    PROFILES,
    STANDARD,
    FileScore,
    Profile,
    load_series,
    normalised,
    parse_time,
    score_rows,
    window_rows,
)
from listening_post.cli.spikes import RowError, detect_rows  # noqa: E402
from triage.spikes import PeakTracker, SpikeConfig, SpikeDetector, half_life_rate, sustained_step  # noqa: E402

# Published NAB detectors on the 5 tweet series (their outputs at NAB's thresholds, standard profile).
PUBLISHED = {
    "ARTime": 83.8,
    "earthgeckoSkyline": 77.8,
    "contextOSE": 76.0,
    "htmjava": 70.1,
    "knncad": 68.6,
    "numenta": 66.1,
    "twitterADVec": 66.0,
    "windowedGaussian": 64.8,
}
CORE_GRID: dict[str, list[float]] = {
    "threshold": [4.0, 5.0, 6.0, 7.0, 8.0, 10.0],
    "peak_margin": [0.5, 1.0, 2.0, 3.0],
    "cooldown_seconds": [3600, 6 * 3600, 12 * 3600, 24 * 3600],
}
# Each moved alone, to a low and a high value, around the centre (SpikeConfig's pre-set defaults).
BASELINE_MOVES: dict[str, list[float]] = {
    "level_half_life_seconds": [2 * 3600, 24 * 3600],
    "profile_half_life_days": [1.0, 10.0],
    "weekday_half_life_weeks": [1.0, 6.0],
    "profile_smoothing_seconds": [0, 5400],
    "spread_half_life_days": [0.25, 4.0, 16.0],
    "robust_sigmas": [2.0, 5.0],
    "pseudo_counts": [20.0, 500.0],
    "warmup_seconds": [12 * 3600, 48 * 3600],
}
EVIDENCE_MOVES: dict[str, list[float]] = {
    "sustained_half_life_seconds": [3600, 6 * 3600],
    "peak_memory_days": [3.0, 14.0],
}
GATE_MOVES: dict[str, list[float]] = {"rearm_fraction": [0.3, 0.7], "min_volume": [2.0]}
CENTRE = SpikeConfig(
    threshold=7.0,
    peak_margin=2.0,
    cooldown_seconds=12 * 3600,
    rearm_fraction=0.5,
    min_volume=5,
    warmup_seconds=86_400,
    level_half_life_seconds=6 * 3600,
    profile_half_life_days=3.0,
    weekday_half_life_weeks=2.0,
    profile_smoothing_seconds=1800,
    spread_half_life_days=1.0,
    robust_sigmas=3.0,
    pseudo_counts=100.0,
    sustained_half_life_seconds=3 * 3600,
    peak_memory_days=7.0,
)


@dataclass
class Series:
    name: str
    group: str
    times: list[datetime]
    values: list[float]
    spans: list[tuple[int, int]]
    lines: list[str] | None = None  # the CSV text, for tweet series (run through the CLI row loop)


@dataclass
class Evidence:
    """Per row of one series under one baseline + evidence variant: what the gate needs."""

    sigmas: list[float]
    sustained: list[float]
    burst_bar: list[tuple[float, float]]  # (typical daily peak or -inf, spread)
    sustained_bar: list[tuple[float, float]]
    seconds: list[float]  # since the first row
    counts: list[bool]
    values: list[float]


def load(root: Path) -> list[Series]:
    series = []
    for folder in ("nab-realtweets-dev", "nab-other-dev"):
        labels = {
            Path(k).name: [(parse_time(a), parse_time(b)) for a, b in v]
            for k, v in json.loads((root / folder / "windows.json").read_text()).items()
        }
        for path in sorted((root / folder).rglob("*.csv")):
            times, values = load_series(path)
            times = strictly_increasing(times)
            group = "tweets" if folder == "nab-realtweets-dev" else path.parent.name
            lines = path.read_text().splitlines() if group == "tweets" else None
            series.append(
                Series(path.name, group, times, values, window_rows(times, labels[path.name]), lines)
            )
    return series


def strictly_increasing(times: list[datetime]) -> list[datetime]:
    """A repeated timestamp (one NAB file has a daylight-saving repeat) moves one second on."""
    out: list[datetime] = []
    for t in times:
        out.append(t if not out or t > out[-1] else out[-1] + timedelta(seconds=1))
    return out


def baseline_run(s: Series, config: SpikeConfig) -> tuple[list[float], list[bool], int]:
    """Sigmas per row and the count flag, from the detector itself; and the bucket it inferred."""
    detector = SpikeDetector(config)
    sigmas, counts = [], []
    for ts, value in zip(s.times, s.values, strict=True):
        sigmas.append(detector.update(ts, value).sigmas)
        counts.append(detector.baseline.counts)
    return sigmas, counts, detector.baseline.bucket_seconds()


def evidence(
    s: Series, sigmas: list[float], counts: list[bool], bucket: int, config: SpikeConfig
) -> Evidence:
    """Replays SpikeDetector's sustained evidence and daily-peak trackers (same arithmetic)."""
    rate = half_life_rate(config.sustained_half_life_seconds / bucket)
    day_rate = half_life_rate(config.peak_memory_days)
    burst, sustained_peaks = PeakTracker(), PeakTracker()
    sustained, bars_b, bars_s = [], [], []
    previous = 0.0
    day = None
    for i, (ts, sig) in enumerate(zip(s.times, sigmas, strict=True)):
        today = (ts.year, ts.month, ts.day)
        if day is not None and today != day:
            burst.close_day(day_rate)
            sustained_peaks.close_day(day_rate)
        day = today
        current = 0.0 if i == 0 else sustained_step(previous, sig, rate, config.robust_sigmas)
        previous = current
        sustained.append(current)
        bars_b.append((float("-inf") if burst.typical is None else burst.typical, burst.spread))
        bars_s.append(
            (
                float("-inf") if sustained_peaks.typical is None else sustained_peaks.typical,
                sustained_peaks.spread,
            )
        )
        burst.today = max(burst.today, sig)
        sustained_peaks.today = max(sustained_peaks.today, current)
    first = s.times[0]
    seconds = [(t - first).total_seconds() for t in s.times]
    return Evidence(sigmas, sustained, bars_b, bars_s, seconds, counts, s.values)


def strength(e: Evidence, i: int, floor: float, margin: float) -> float:
    typical, spread = e.burst_bar[i]
    bar_b = max(floor, typical + margin * spread) if typical != float("-inf") else floor
    typical, spread = e.sustained_bar[i]
    bar_s = max(floor, typical + margin * spread) if typical != float("-inf") else floor
    return max(e.sigmas[i] / bar_b, e.sustained[i] / bar_s)


def candidates(e: Evidence) -> list[int]:
    """Rows that could alert at the lowest bar of the grid (a higher bar only removes rows)."""
    floor, margin = min(CORE_GRID["threshold"]), min(CORE_GRID["peak_margin"])
    return [i for i in range(len(e.sigmas)) if strength(e, i, floor, margin) >= 1.0]


def gate(e: Evidence, rows: list[int], config: SpikeConfig) -> list[int]:
    """AlertGate.decide over the candidate rows (re-arming found by scanning forward)."""
    c = config
    alerts: list[int] = []
    armed_after = -1  # the row at which the gate re-armed
    quiet_until = float("-inf")
    for i in rows:
        if i <= armed_after or e.seconds[i] < c.warmup_seconds or e.seconds[i] < quiet_until:
            continue
        if e.counts[i] and e.values[i] < c.min_volume:
            continue
        if strength(e, i, c.threshold, c.peak_margin) < 1.0:
            continue
        alerts.append(i)
        quiet_until = e.seconds[i] + c.cooldown_seconds
        j = i + 1
        while j < len(e.sigmas) and strength(e, j, c.threshold, c.peak_margin) >= c.rearm_fraction:
            j += 1
        armed_after = j
    return alerts


def variants() -> list[tuple[dict, dict, dict]]:
    """(baseline change, evidence change, gate change) from the centre, one constant at a time."""
    out: list[tuple[dict, dict, dict]] = [({}, {}, {})]
    out += [({k: v}, {}, {}) for k, values in BASELINE_MOVES.items() for v in values]
    out += [({}, {k: v}, {}) for k, values in EVIDENCE_MOVES.items() for v in values]
    out += [({}, {}, {k: v}) for k, values in GATE_MOVES.items() for v in values]
    return out


def build_table(series: list[Series]) -> tuple[list[SpikeConfig], dict[str, list[list[FileScore]]]]:
    """Every configuration of the grid, and its FileScore per series for each profile."""
    configs: list[SpikeConfig] = []
    table: dict[str, list[list[FileScore]]] = {p.name: [] for p in PROFILES}
    core = [dict(zip(CORE_GRID, v, strict=True)) for v in itertools.product(*CORE_GRID.values())]
    by_baseline: dict[tuple, list[tuple[dict, dict]]] = {}
    for b, ev, g in variants():
        by_baseline.setdefault(tuple(b.items()), []).append((ev, g))
    for n, (b_items, rest) in enumerate(by_baseline.items(), 1):
        print(f"  baseline variant {n}/{len(by_baseline)}: {dict(b_items) or 'centre'}", file=sys.stderr)
        base_config = CENTRE.model_copy(update=dict(b_items))
        runs = [baseline_run(s, base_config) for s in series]
        for ev, g in rest:
            ev_config = base_config.model_copy(update=ev)
            evid = [evidence(s, *run, ev_config) for s, run in zip(series, runs, strict=True)]
            rows = [candidates(e) for e in evid]
            for c in core:
                config = ev_config.model_copy(update={**g, **c})
                configs.append(config)
                alerts = [gate(e, r, config) for e, r in zip(evid, rows, strict=True)]
                for p in PROFILES:
                    table[p.name].append(
                        [score_rows(len(s.times), a, s.spans, p) for s, a in zip(series, alerts, strict=True)]
                    )
    return configs, table


def leave_one_out(scores: list[list[FileScore]], members: list[int]) -> tuple[list[FileScore], list[int]]:
    """For each member file, the held-out score of the configuration best on the other members."""
    totals = [sum(row[i].raw for i in members) for row in scores]
    held, picks = [], []
    for f in members:
        pick = max(range(len(scores)), key=lambda c: totals[c] - scores[c][f].raw)
        held.append(scores[pick][f])
        picks.append(pick)
    return held, picks


def total(scores: list[FileScore], profile: Profile) -> float:
    return normalised(sum(s.raw for s in scores), sum(s.windows for s in scores), profile)


def file_figure(s: FileScore, profile: Profile) -> float | None:
    return normalised(s.raw, s.windows, profile) if s.windows else None


def changed(config: SpikeConfig) -> str:
    diff = {k: v for k, v in config.model_dump().items() if getattr(CENTRE, k) != v}
    return ", ".join(f"{k}={v:g}" for k, v in diff.items()) or "centre"


def report_profile(
    series: list[Series], configs: list[SpikeConfig], scores: list[list[FileScore]], p: Profile
) -> int:
    everyone = list(range(len(series)))
    tweets = [i for i, s in enumerate(series) if s.group == "tweets"]
    held, picks = leave_one_out(scores, everyone)
    fitted = max(range(len(configs)), key=lambda c: sum(s.raw for s in scores[c]))
    held5, _ = leave_one_out(scores, tweets)
    fitted5 = max(range(len(configs)), key=lambda c: sum(scores[c][i].raw for i in tweets))
    print(f"\n== NAB {p.name} profile (false alert {p.fp}, missed window {p.fn}) ==")
    print(f"  53 series, leave-one-file-out (held out): {total(held, p):5.1f}")
    print(
        f"  53 series, fitted on all 53:             {total(scores[fitted], p):5.1f}   "
        f"({changed(configs[fitted])})"
    )
    print(f"  5 tweet series, held out within the 5:  {total(held5, p):5.1f}")
    print(f"  5 tweet series, held out over all 53:   {total([held[i] for i in tweets], p):5.1f}")
    print(f"  5 tweet series, fitted on the 5:         {total([scores[fitted5][i] for i in tweets], p):5.1f}")
    groups = sorted({s.group for s in series})
    parts = []
    for g in groups:
        members = [held[i] for i, s in enumerate(series) if s.group == g]
        if sum(m.windows for m in members):
            parts.append(f"{g} {total(members, p):.1f}")
        else:
            parts.append(f"{g} (no windows) {sum(m.false_positives for m in members)} false alerts")
    print("  by group (held out over all 53): " + ", ".join(parts))
    figures = [(file_figure(h, p), series[i].name, h, configs[picks[i]]) for i, h in enumerate(held)]
    scored = sorted((f, n, h, c) for f, n, h, c in figures if f is not None)
    values = [f for f, *_ in scored]
    print(
        f"  per file (held out, {len(values)} files with windows): min {min(values):.1f}  "
        f"median {statistics.median(values):.1f}  max {max(values):.1f}"
    )
    print("  worst files:")
    for f, name, h, _ in scored[:6]:
        print(f"    {name:46} {f:6.1f}  windows {h.detected}/{h.windows}  false alerts {h.false_positives}")
    quiet = [(n, h) for f, n, h, _ in figures if f is None]
    print(
        f"  files without windows ({len(quiet)}): false alerts "
        + ", ".join(f"{n} {h.false_positives}" for n, h in quiet)
    )
    distinct = sorted({changed(configs[c]) for c in picks})
    print(f"  picks across the 53 folds: {len(distinct)} distinct: " + "; ".join(distinct[:6]))
    return fitted


def verify(series: list[Series], config: SpikeConfig, replayed: list[FileScore]) -> None:
    """The real detector (and the CLI row loop for tweets) reproduces the replayed scores."""
    for s, expected in zip(series, replayed, strict=True):
        if s.lines is not None:
            alerts = []
            for row in detect_rows(s.lines, config):
                if isinstance(row, RowError):
                    raise SystemExit(f"{s.name} line {row.line}: {row.reason}")
                alerts.append(row[4] == "1")
        else:
            detector = SpikeDetector(config)
            alerts = [detector.update(t, v).alert for t, v in zip(s.times, s.values, strict=True)]
        rows = [i for i, a in enumerate(alerts) if a]
        got = score_rows(len(s.times), rows, s.spans, STANDARD)
        if abs(got.raw - expected.raw) > 1e-9:
            raise SystemExit(f"replay and detector disagree on {s.name}: {got} vs {expected}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    root = os.environ.get("BENCH_DATA")
    if not root:
        print("skip: set BENCH_DATA to the shared data folder (e.g. BENCH_DATA=../shared/data)")
        return 0
    series = load(Path(root))
    if not series:
        print(f"skip: no series under {root}")
        return 0
    configs, table = build_table(series)
    print(f"{len(series)} series, {sum(len(s.times) for s in series):,} rows, {len(configs)} configurations")
    fitted = {p.name: report_profile(series, configs, table[p.name], p) for p in PROFILES}

    default = SpikeConfig()
    default_index = next((i for i, c in enumerate(configs) if c == default), None)
    if default_index is None:
        print("\nSpikeConfig() defaults are not in the grid")
    else:
        verify(series, default, table[STANDARD.name][default_index])
        tweets = [i for i, s in enumerate(series) if s.group == "tweets"]
        print("\nSpikeConfig() defaults (real detector, CLI row loop for tweets; equal to the replay):")
        for p in PROFILES:
            row = table[p.name][default_index]
            print(
                f"  {p.name}: 53 series {total(row, p):.1f}, "
                f"5 tweet series {total([row[i] for i in tweets], p):.1f}"
            )
        if configs[fitted[STANDARD.name]] != default:
            print(f"  (the all-data standard pick is {changed(configs[fitted[STANDARD.name]])})")

    print("\npublished detectors on the 5 tweet series (standard profile):")
    for name, value in PUBLISHED.items():
        print(f"  {name:24} {value:5.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
