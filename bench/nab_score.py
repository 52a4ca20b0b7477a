"""The Numenta Anomaly Benchmark "standard" profile score, written again from NAB's published rules.

NAB (github.com/numenta/NAB, ``nab/sweeper.py`` and the runner's normalisation) scores the
rows a detector flags against labelled anomaly windows:

- the first 15% of a file's rows (at most 750) are probationary and not scored;
- inside a window, a flagged row scores ``S(p) = 2*sigmoid(-5p) - 1`` divided by ``S(-1)``,
  where ``p = -(right - i + 1) / width`` runs from -1 at the window's left edge towards 0 at its
  right edge; only the best (earliest) flagged row of a window counts;
- a window with no flagged row costs ``fn_weight``;
- a flagged row outside every window costs ``fp_weight * S(p)`` with ``p`` its distance past the
  previous window's right edge in window widths (``S(p) = -1`` before the first window or from
  3 widths on), so a false alarm just after a window is cheaper than one far from any;
- the raw sum over all files is normalised so that a detector that never flags scores 0 and a
  perfect one (every window flagged at its left edge, nothing else) scores 100.

Standard profile weights: true positive 1.0, false negative 1.0, false positive 0.11.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

TP_WEIGHT = 1.0
FN_WEIGHT = 1.0
FP_WEIGHT = 0.11
PROBATION_FRACTION = 0.15
PROBATION_MAX_ROWS = 750


def scaled_sigmoid(position: float) -> float:
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


@dataclass(frozen=True)
class FileScore:
    raw: float
    windows: int
    detected: int
    false_positives: int
    fp_cost: float


def probation_rows(n_rows: int) -> float:
    return min(math.floor(PROBATION_FRACTION * n_rows), PROBATION_FRACTION * 5000)


def score_file(
    timestamps: Sequence[datetime], alerts: Sequence[bool], windows: Sequence[tuple[datetime, datetime]]
) -> FileScore:
    """Raw NAB standard score of one file's alert rows (alert = anomaly score above the threshold)."""
    if len(timestamps) != len(alerts):
        raise ValueError("timestamps and alerts differ in length")
    index = {ts: i for i, ts in enumerate(timestamps)}
    probation = probation_rows(len(timestamps))
    max_tp = scaled_sigmoid(-1.0)
    spans = []
    for start, end in windows:
        if start not in index or end not in index:
            raise ValueError(f"window {start}..{end} does not start and end on rows of the file")
        spans.append((index[start], index[end]))
    spans.sort()

    best: dict[int, float] = {}
    scored_windows: set[int] = set()
    fp_cost = 0.0
    false_positives = 0
    prev_right: int | None = None
    prev_width = 0.0
    w = 0
    for i, flagged in enumerate(alerts):
        while w < len(spans) and spans[w][1] < i:
            prev_right, prev_width = spans[w][1], float(spans[w][1] - spans[w][0] + 1)
            w += 1
        in_window = w < len(spans) and spans[w][0] <= i <= spans[w][1]
        if i < probation:
            continue
        if in_window:
            scored_windows.add(w)
            if flagged:
                left, right = spans[w]
                position = -(right - i + 1) / float(right - left + 1)
                value = scaled_sigmoid(position) * TP_WEIGHT / max_tp
                best[w] = max(best.get(w, -FN_WEIGHT), value)
        elif flagged:
            position = 3.0 if prev_right is None else abs(prev_right - i) / (prev_width - 1.0)
            fp_cost += scaled_sigmoid(position) * FP_WEIGHT
            false_positives += 1
    raw = fp_cost + sum(best.get(w, -FN_WEIGHT) for w in scored_windows)
    return FileScore(raw, len(scored_windows), len(best), false_positives, fp_cost)


def normalised(raw_total: float, windows_total: int) -> float:
    """0 = never alerting (every window missed), 100 = every window flagged at its left edge only."""
    null = -FN_WEIGHT * windows_total
    perfect = TP_WEIGHT * windows_total
    return 100.0 * (raw_total - null) / (perfect - null)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).replace(tzinfo=None)


def load_windows(path: Path) -> dict[str, list[tuple[datetime, datetime]]]:
    """``windows.json`` keyed by file name (NAB keys look like ``realTweets/Twitter_volume_AAPL.csv``)."""
    labels = json.loads(path.read_text())
    return {
        Path(name).name: [(parse_time(a), parse_time(b)) for a, b in spans] for name, spans in labels.items()
    }


def load_series(path: Path) -> tuple[list[datetime], list[float]]:
    timestamps: list[datetime] = []
    values: list[float] = []
    with path.open() as fh:
        next(fh)
        for line in fh:
            if line.strip():
                ts, value = line.rsplit(",", 1)
                timestamps.append(parse_time(ts))
                values.append(float(value))
    return timestamps, values
