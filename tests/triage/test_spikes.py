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


def three_bursts(cooldown_hours: float) -> tuple[list[int], tuple[int, int, int]]:
    """Bursts at midday, four hours later and the next midday, after a week of history."""
    config = SpikeConfig(cooldown_seconds=int(cooldown_hours * 3600))
    means = [daily(i, 5, 40) for i in range(9 * PER_DAY)]
    first = 7 * PER_DAY + PER_DAY // 2
    starts = (first, first + 4 * 12, first + 24 * 12)
    for start in starts:
        for i in range(start, start + 6):
            means[i] *= 15
    return alert_indexes(run(means, config=config)), starts


def test_cooldown_keeps_a_second_burst_inside_it_quiet() -> None:
    alerts, (first, second, third) = three_bursts(12)
    assert alerts[0] in range(first, first + 3)
    assert not any(second <= i < second + 6 for i in alerts)  # inside the cooldown
    assert any(third <= i < third + 6 for i in alerts)  # after it


def test_the_default_cooldown_spans_an_afternoon() -> None:
    alerts, (_, second, _) = three_bursts(SpikeConfig().cooldown_seconds / 3600)
    assert not any(second <= i < second + 6 for i in alerts)


def test_a_short_cooldown_lets_the_second_burst_alert() -> None:
    # The evidence settles between the bursts, so only the cooldown kept the second one quiet.
    alerts, (first, second, _) = three_bursts(3)
    assert any(second <= i < second + 6 for i in alerts)


def test_a_plateau_alerts_once_without_a_cooldown_then_rearms() -> None:
    # Six hours at ten times the usual volume, with no cooldown: the gate waits for the evidence
    # to fall below rearm_fraction of the bar before it alerts again.
    config = SpikeConfig(cooldown_seconds=0)
    means = [daily(i, 5, 40) for i in range(11 * PER_DAY)]
    plateau = 7 * PER_DAY + PER_DAY // 2
    later = plateau + 3 * PER_DAY  # once the spread learnt during the plateau has faded
    for i in range(plateau, plateau + 6 * 12):
        means[i] *= 10
    for i in range(later, later + 6):
        means[i] *= 20
    alerts = alert_indexes(run(means, config=config))
    assert [i for i in alerts if i < later] == [plateau]
    assert [i for i in alerts if i >= later][:1] in ([later], [later + 1])


def test_rearm_fraction_decides_when_an_episode_has_ended() -> None:
    # A burst, an hour at about the bar's half, another burst: one episode at a low rearm
    # share, two at a high one.
    means = [daily(i, 5, 40) for i in range(9 * PER_DAY)]
    first = 7 * PER_DAY + PER_DAY // 2
    for i in range(first, first + 3):
        means[i] *= 15
    for i in range(first + 3, first + 15):
        means[i] *= 2.2
    for i in range(first + 15, first + 18):
        means[i] *= 15
    low = alert_indexes(run(means, config=SpikeConfig(cooldown_seconds=0, rearm_fraction=0.1)))
    high = alert_indexes(run(means, config=SpikeConfig(cooldown_seconds=0, rearm_fraction=0.9)))
    assert [i for i in low if first <= i < first + 18] == [first]
    assert len([i for i in high if first <= i < first + 18]) == 2


def test_a_series_with_daily_bursts_raises_its_own_bar() -> None:
    # The same burst every afternoon (it reads as ever more sigmas as the baseline settles):
    # the typical daily peak follows it, so it becomes routine; a much bigger burst still alerts.
    days = 16
    means = [daily(i, 5, 40) for i in range(days * PER_DAY)]
    for day in range(1, days):
        start = day * PER_DAY + 150 + (day * 37) % 40
        for i in range(start, start + 4):
            means[i] *= 8 if day < days - 1 else 40
    bar = {"threshold": 7.0, "spread_half_life_days": 1.0, "peak_memory_days": 2.0}
    adaptive = {i // PER_DAY for i in alert_indexes(run(means, config=SpikeConfig(**bar, peak_margin=2)))}
    flat = {i // PER_DAY for i in alert_indexes(run(means, config=SpikeConfig(**bar, peak_margin=0)))}
    routine = set(range(6, days - 1))
    assert len(flat & routine) >= 8  # the floor alone alerts on most routine days
    assert len(adaptive & routine) <= 1
    assert days - 1 in adaptive


def measures(scale: float) -> list[float]:
    """A non-count series (a rate around 0.1 with a daily swing), a jump to 0.4 on day 4."""
    rng = random.Random(5)
    values = []
    for i in range(5 * PER_DAY):
        level = 0.1 + 0.02 * math.sin(2 * math.pi * i / PER_DAY)
        if 3 * PER_DAY + 100 <= i < 3 * PER_DAY + 106:
            level = 0.4
        values.append(scale * level * (1 + rng.gauss(0, 0.05)))
    return values


def alerts_of(values: list[float], config: SpikeConfig | None = None) -> list[int]:
    detector = SpikeDetector(config)
    return [i for i, v in enumerate(values) if detector.update(START + i * BUCKET, v).alert]


def test_a_series_of_measures_is_read_on_its_own_scale() -> None:
    # Read as counts, 0.1 -> 0.4 is nothing; in pseudo-counts it is a fourfold jump.
    small, large = alerts_of(measures(1.0)), alerts_of(measures(1000.0))
    assert small == [3 * PER_DAY + 100]
    assert large == small  # the same series in other units
    assert alerts_of(measures(1.0), SpikeConfig(pseudo_counts=0.5)) == []  # a Poisson floor of 0.5 items


def test_measures_output_is_causal() -> None:
    values = measures(1.0)
    full, prefix = SpikeDetector(), SpikeDetector()
    a = [full.update(START + i * BUCKET, v) for i, v in enumerate(values)]
    b = [prefix.update(START + i * BUCKET, v) for i, v in enumerate(values[: 2 * PER_DAY])]
    assert a[: 2 * PER_DAY] == b


def test_an_alert_says_why_in_words() -> None:
    start = 7 * PER_DAY + PER_DAY // 2
    means = [daily(i, 5, 40) for i in range(9 * PER_DAY)]
    for i in range(start, start + 24):
        means[i] *= 10
    points = run(means)
    alert = next(p for p in points if p.alert)
    last_hour = [p for p in points if alert.ts - timedelta(minutes=55) <= p.ts <= alert.ts]
    assert alert.recent == sum(p.value for p in last_hour)
    assert alert.recent_expected == pytest.approx(sum(p.expected for p in last_hour))
    assert alert.why.startswith(f"{alert.recent:,.0f} posts in the last hour against about ")
    assert "at this time on a Monday" in alert.why  # 2026-03-09 is a Monday
    assert all(p.why == "" for p in points if not p.alert)


def quiet_with_a_bump(bump: int, *, min_volume: float) -> list[int]:
    """Two quiet days (one item now and then), then a bucket of ``bump`` items at a low bar."""
    detector = SpikeDetector(SpikeConfig(min_volume=min_volume, threshold=2.0, peak_margin=0.0))
    alerts = []
    for i in range(2 * PER_DAY + 10):
        value = bump if i == 2 * PER_DAY else (1 if i % 97 == 0 else 0)
        if detector.update(START + i * BUCKET, value).alert:
            alerts.append(i)
    return alerts


def test_no_alert_below_the_minimum_volume() -> None:
    # The same bump alerts when the gate allows it, so only the gate keeps it quiet.
    assert quiet_with_a_bump(4, min_volume=4) == [2 * PER_DAY]
    assert quiet_with_a_bump(4, min_volume=5) == []


def test_the_default_minimum_volume_is_five_posts() -> None:
    default = SpikeConfig().min_volume
    assert quiet_with_a_bump(5, min_volume=default) == [2 * PER_DAY]
    assert quiet_with_a_bump(4, min_volume=default) == []


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
    assert detector.baseline.bucket_seconds() == 900
    assert SpikeDetector(SpikeConfig(bucket_seconds=60)).baseline.bucket_seconds() == 60


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
