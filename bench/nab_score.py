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

Standard profile weights: true positive 1.0, false negative 1.0, false positive 0.11; the
reward-low-false-positives profile doubles the false positive weight to 0.22.
"""

from __future__ import annotations

import bisect
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


@dataclass(frozen=True)
class Profile:
    """NAB application profile weights (``config/profiles.json`` in NAB)."""

    name: str
    tp: float
    fp: float
    fn: float


STANDARD = Profile("standard", TP_WEIGHT, FP_WEIGHT, FN_WEIGHT)
LOW_FP = Profile("reward_low_FP_rate", 1.0, 0.22, 1.0)
PROFILES = (STANDARD, LOW_FP)


def score_file(
    timestamps: Sequence[datetime],
    alerts: Sequence[bool],
    windows: Sequence[tuple[datetime, datetime]],
    profile: Profile = STANDARD,
) -> FileScore:
    """Raw NAB score of one file's alert rows (alert = anomaly score above the threshold)."""
    if len(timestamps) != len(alerts):
        raise ValueError("timestamps and alerts differ in length")
    return score_rows(
        len(timestamps), [i for i, a in enumerate(alerts) if a], window_rows(timestamps, windows), profile
    )


def window_rows(
    timestamps: Sequence[datetime], windows: Sequence[tuple[datetime, datetime]]
) -> list[tuple[int, int]]:
    """Each window as (first row, last row), in order."""
    index = {ts: i for i, ts in enumerate(timestamps)}
    spans = []
    for start, end in windows:
        if start not in index or end not in index:
            raise ValueError(f"window {start}..{end} does not start and end on rows of the file")
        spans.append((index[start], index[end]))
    return sorted(spans)


def score_rows(
    n_rows: int, alert_rows: Sequence[int], spans: Sequence[tuple[int, int]], profile: Profile = STANDARD
) -> FileScore:
    """Raw NAB score from the indexes of the flagged rows (ascending) and the windows' row spans."""
    probation = probation_rows(n_rows)
    max_tp = scaled_sigmoid(-1.0)
    rights = [right for _, right in spans]
    scored_windows = [w for w, (_, right) in enumerate(spans) if right >= probation]
    best: dict[int, float] = {}
    fp_cost = 0.0
    false_positives = 0
    for i in alert_rows:
        if i < probation:
            continue
        w = bisect.bisect_left(rights, i)  # the first window not wholly before row i
        if w < len(spans) and spans[w][0] <= i:
            if w not in best:  # rows come in order: the earliest flagged row is the best
                left, right = spans[w]
                best[w] = scaled_sigmoid(-(right - i + 1) / float(right - left + 1)) * profile.tp / max_tp
            continue
        if w == 0:
            position = 3.0
        else:
            left, right = spans[w - 1]
            position = abs(right - i) / (float(right - left + 1) - 1.0)
        fp_cost += scaled_sigmoid(position) * profile.fp
        false_positives += 1
    raw = fp_cost + sum(best.get(w, -profile.fn) for w in scored_windows)
    return FileScore(raw, len(scored_windows), len(best), false_positives, fp_cost)


def normalised(raw_total: float, windows_total: int, profile: Profile = STANDARD) -> float:
    """0 = never alerting (every window missed), 100 = every window flagged at its left edge only."""
    null = -profile.fn * windows_total
    perfect = profile.tp * windows_total
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
