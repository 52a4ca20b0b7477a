"""NAB "standard" score of `listening-post spikes` on the realTweets development series.

    BENCH_DATA=/work/shared/data .venv/bin/python bench/spikes_accuracy.py [--no-loo]

Runs the command's own row loop (``listening_post.cli.spikes.detect_rows``) over every
``Twitter_volume_*.csv`` in ``$BENCH_DATA/nab-realtweets-dev``, scores the ``alert`` column
against ``windows.json`` (bench/nab_score.py) and prints the figure beside the published NAB
detectors' scores on the same five series.

With five series it is easy to fit constants to them, so the bench also runs a leave-one-out
check: for each series, the detector's two alerting constants (``threshold`` x ``peak_margin``,
over a small grid) are picked on the other four, and the held-out series is scored with that
pick. A large gap between the two figures means the defaults are fitted, not general.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.nab_score import FileScore, load_windows, normalised, parse_time, score_file  # noqa: E402
from listening_post.cli.spikes import RowError, detect_rows  # noqa: E402
from triage.spikes import SpikeConfig  # noqa: E402

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
GRID = {"threshold": [6.0, 6.5, 7.0, 7.5, 8.0, 9.0], "peak_margin": [1.5, 2.0, 2.5, 3.0]}


def score_series(lines: list[str], windows, config: SpikeConfig) -> FileScore:
    timestamps, alerts = [], []
    for row in detect_rows(lines, config):
        if isinstance(row, RowError):
            raise SystemExit(f"line {row.line}: {row.reason}")
        timestamps.append(parse_time(row[0]))
        alerts.append(row[4] == "1")
    return score_file(timestamps, alerts, windows)


def total(scores: list[FileScore]) -> float:
    return normalised(sum(s.raw for s in scores), sum(s.windows for s in scores))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-loo", action="store_true", help="skip the leave-one-out check")
    args = parser.parse_args()
    root = os.environ.get("BENCH_DATA")
    if not root:
        print("skip: set BENCH_DATA to the shared data folder (e.g. BENCH_DATA=../shared/data)")
        return 0
    folder = Path(root) / "nab-realtweets-dev"
    labels = load_windows(folder / "windows.json")
    series = {p.name: p.read_text().splitlines() for p in sorted(folder.glob("Twitter_volume_*.csv"))}
    if not series:
        print(f"skip: no Twitter_volume_*.csv in {folder}")
        return 0

    default = SpikeConfig()
    print(f"NAB standard profile, {len(series)} series, default SpikeConfig")
    scores = []
    for name, lines in series.items():
        s = score_series(lines, labels[name], default)
        scores.append(s)
        print(
            f"  {name:28} windows {s.detected}/{s.windows}  false alarms {s.false_positives:3d}  "
            f"score {normalised(s.raw, s.windows):5.1f}"
        )
    ours = total(scores)
    print(f"  all series: {ours:.1f}")

    if not args.no_loo:
        keys = list(GRID)
        configs = [dict(zip(keys, values, strict=True)) for values in itertools.product(*GRID.values())]
        table = {
            tuple(c.items()): {
                n: score_series(lines, labels[n], SpikeConfig(**c)) for n, lines in series.items()
            }
            for c in configs
        }
        held_scores = []
        print("leave-one-out (threshold x peak_margin picked on the other series):")
        for held in series:
            pick = max(table, key=lambda c: sum(table[c][n].raw for n in series if n != held))
            s = table[pick][held]
            held_scores.append(s)
            print(f"  {held:28} pick {dict(pick)}  held-out score {normalised(s.raw, s.windows):5.1f}")
        print(f"  leave-one-out: {total(held_scores):.1f}")

    print("published detectors on these series:")
    rows = sorted([*PUBLISHED.items(), ("listening-post (this)", round(ours, 1))], key=lambda kv: -kv[1])
    for name, value in rows:
        print(f"  {name:24} {value:5.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
