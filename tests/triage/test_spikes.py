"""The spike detector on synthetic series: steps alert once, trends and seasons do not."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import pytest

from triage.spikes import SpikeConfig, SpikeDetector

START = datetime(2026, 3, 2)  # a Monday
BUCKET = timedelta(minutes=5)
PER_DAY = 288


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's sampler (means here are small enough), or a normal approximation for big ones."""
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def daily(i: int, low: float, high: float) -> float:
    """Quiet at night, busy in the afternoon."""
    phase = (i % PER_DAY) / PER_DAY
    return low + (high - low) * (0.5 - 0.5 * math.cos(2 * math.pi * phase))


def run(means: list[float], *, seed: int = 7, config: SpikeConfig | None = None) -> list:
    rng = random.Random(seed)
    detector = SpikeDetector(config)
    return [detector.update(START + i * BUCKET, poisson(rng, m)) for i, m in enumerate(means)]


def alert_indexes(points: list) -> list[int]:
    return [i for i, p in enumerate(points) if p.alert]


def test_a_step_alerts_once_on_its_rising_edge() -> None:
    start = 7 * PER_DAY + PER_DAY // 2  # a week of history, then midday
    means = [daily(i, 5, 40) for i in range(9 * PER_DAY)]
    for i in range(start, start + 24):  # two hours at ten times the usual volume
        means[i] *= 10
    alerts = alert_indexes(run(means))
    assert len(alerts) == 1
    assert start <= alerts[0] <= start + 2  # within 15 minutes of the step


def test_a_huge_burst_alerts_even_in_the_first_days() -> None:
    start = 2 * PER_DAY + PER_DAY // 2
    means = [daily(i, 5, 40) for i in range(3 * PER_DAY)]
    for i in range(start, start + 6):
        means[i] *= 30
    assert alert_indexes(run(means)) == [start]


def test_a_slow_trend_does_not_alert() -> None:
    # Volume triples over ten days: the level follows it.
    days = 10
    means = [daily(i, 5, 40) * (1 + 2 * i / (days * PER_DAY)) for i in range(days * PER_DAY)]
    assert alert_indexes(run(means)) == []


def test_daily_seasonality_does_not_alert() -> None:
    means = [daily(i, 2, 120) for i in range(10 * PER_DAY)]
    points = run(means)
    assert alert_indexes(points) == []
    # and the baseline has learnt the shape: afternoon expected well above the night's
    last_day = points[-PER_DAY:]
    assert last_day[PER_DAY // 2].expected > 10 * last_day[0].expected


def test_quiet_weekends_do_not_alert_on_monday_morning() -> None:
    means = [daily(i, 5, 60) * (0.3 if (i // PER_DAY) % 7 >= 5 else 1.0) for i in range(21 * PER_DAY)]
    assert alert_indexes(run(means)) == []


def test_cooldown_keeps_a_second_burst_inside_it_quiet() -> None:
    config = SpikeConfig(cooldown_seconds=12 * 3600)
    means = [daily(i, 5, 40) for i in range(9 * PER_DAY)]
    first = 7 * PER_DAY + PER_DAY // 2  # midday
    second, third = first + 4 * 12, first + 24 * 12  # 4 hours later; the next midday
    for start in (first, second, third):
        for i in range(start, start + 6):
            means[i] *= 15
    alerts = alert_indexes(run(means, config=config))
    assert alerts[0] in range(first, first + 3)
    assert not any(second <= i < second + 6 for i in alerts)  # inside the cooldown
    assert any(third <= i < third + 6 for i in alerts)  # after it


def test_no_alert_below_the_minimum_volume() -> None:
    means = [0.05] * (3 * PER_DAY)
    detector = SpikeDetector(SpikeConfig(min_volume=5))
    for i, _ in enumerate(means):
        point = detector.update(START + i * BUCKET, 4 if i == 2 * PER_DAY else 0)
        assert not point.alert


def test_a_burst_from_a_quiet_series_alerts() -> None:
    rng = random.Random(3)
    detector = SpikeDetector()
    points = [detector.update(START + i * BUCKET, poisson(rng, 0.2)) for i in range(2 * PER_DAY)]
    burst = detector.update(START + 2 * PER_DAY * BUCKET, 30)
    assert not any(p.alert for p in points)
    assert burst.alert and burst.score == 1.0


def test_no_alert_during_warmup() -> None:
    means = [10.0] * 100 + [500.0] * 5
    assert alert_indexes(run(means)) == []


@pytest.mark.parametrize(("mean", "tolerance"), [(0.05, 0.6), (0.2, 0.3), (2.0, 0.3), (30.0, 0.3)])
def test_expected_follows_the_mean_at_any_volume(mean: float, tolerance: float) -> None:
    # A quiet series must not have its expected count collapse to zero (which makes any
    # single mention look like a spike), nor a busy one drift.
    points = run([mean] * (10 * PER_DAY))
    tail = [p.expected for p in points[-7 * PER_DAY :]]
    assert sum(tail) / len(tail) == pytest.approx(mean, rel=tolerance)


def test_output_is_causal() -> None:
    means = [daily(i, 5, 40) for i in range(3 * PER_DAY)]
    full = run(means)
    prefix = run(means[:PER_DAY])  # same seed: same counts for the prefix
    assert full[:PER_DAY] == prefix


def test_bucket_length_is_inferred_or_given() -> None:
    detector = SpikeDetector()
    detector.update(START, 3)
    detector.update(START + timedelta(minutes=15), 4)
    assert detector._bucket_seconds() == 900
    assert SpikeDetector(SpikeConfig(bucket_seconds=60))._bucket_seconds() == 60


def test_buckets_out_of_order_are_refused() -> None:
    detector = SpikeDetector()
    detector.update(START, 1)
    with pytest.raises(ValueError, match="time order"):
        detector.update(START, 2)


def test_peek_does_not_learn() -> None:
    means = [daily(i, 5, 40) for i in range(2 * PER_DAY)]
    rng = random.Random(1)
    a, b = SpikeDetector(), SpikeDetector()
    for i, m in enumerate(means):
        x = poisson(rng, m)
        a.update(START + i * BUCKET, x)
        b.update(START + i * BUCKET, x)
    peeked = a.peek(START + len(means) * BUCKET, 400)
    assert not peeked.alert and peeked.sigmas > 5
    nxt = START + len(means) * BUCKET
    assert a.update(nxt, 20) == b.update(nxt, 20)


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        SpikeConfig(threshold=0)
    with pytest.raises(ValueError):
        SpikeConfig(unknown_field=1)
