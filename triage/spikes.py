"""Online spike detection over counts per time bucket (mentions, negative mentions ...).

The detector is causal and cheap: one ``update`` per bucket, a few dozen float operations, and a
state of one value per time-of-day slot. It learns, as it goes:

- the **expected count**: a level (recent volume), a daily profile (how volume rises and falls
  through the day, smoothed across neighbouring slots) and a day-of-week offset, all on a log
  scale so that a quiet topic and a busy account behave alike;
- the **spread** around it: counts are compared on a variance-stabilising scale for
  over-dispersed counts (Poisson noise plus an over-dispersion learnt from the series), so a
  jumpy series needs a bigger jump than a steady one, at any volume;
- how **unusual a day's peak** is for this series: the detector keeps a running typical daily
  peak of its own statistic and its spread, and alerts only above ``max(threshold, typical peak
  + peak_margin * spread)``. A series with frequent small bursts raises its own bar.

Two pieces of evidence are combined: the bucket on its own (a sudden burst) and a smoothed
excess over the last hours (a sustained rise made of individually modest buckets), the latter
corrected for the series' autocorrelation. Updates are robust (large residuals are
down-weighted), so a spike does not drag the baseline up with it. An alert marks the rising edge
of an episode; then the detector stays quiet for ``cooldown_seconds`` and until it has settled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

DAY_SECONDS = 86_400
WEEK_DAYS = 7


class SpikeConfig(BaseModel):
    """Detector settings. The defaults suit mention counts per 5 to 15 minutes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket_seconds: int | None = Field(
        default=None, gt=0, description="Bucket length; inferred from the first two timestamps when unset."
    )
    min_volume: float = Field(default=5, ge=0, description="A bucket with fewer items never alerts.")
    threshold: float = Field(
        default=7.0, gt=0, description="Least evidence, in standard deviations, for an alert."
    )
    peak_margin: float = Field(
        default=2.0,
        ge=0,
        description="Also require this many spreads above the series' typical daily peak of evidence.",
    )
    peak_memory_days: float = Field(
        default=7.0, gt=0, description="Half-life of the typical daily peak and its spread."
    )
    sustained_half_life_seconds: int = Field(
        default=3 * 3600, gt=0, description="Horizon of the sustained-rise evidence."
    )
    cooldown_seconds: int = Field(default=12 * 3600, ge=0, description="Quiet time after an alert.")
    warmup_seconds: int = Field(
        default=DAY_SECONDS, ge=0, description="No alert before the detector has seen this much time."
    )
    level_half_life_seconds: int = Field(
        default=6 * 3600, gt=0, description="How fast the expected level follows the recent volume."
    )
    profile_half_life_days: float = Field(
        default=3.0, gt=0, description="How fast the time-of-day profile follows a change of daily shape."
    )
    weekday_half_life_weeks: float = Field(
        default=2.0, gt=0, description="How fast the day-of-week offsets follow a change of weekly shape."
    )
    profile_smoothing_seconds: int = Field(
        default=1800, ge=0, description="A bucket also teaches the profile slots this close to it."
    )
    spread_half_life_days: float = Field(
        default=1.0, gt=0, description="How fast the learnt over-dispersion follows the series."
    )
    robust_sigmas: float = Field(
        default=3.0, gt=0, description="Buckets further than this from expected teach the baseline less."
    )


@dataclass(frozen=True, slots=True)
class SpikePoint:
    ts: datetime
    value: float
    expected: float  # the typical count for this bucket, given the time of day and week
    score: float  # 0..1: evidence relative to the alert bar (1 = at or above it)
    alert: bool  # True on the first bucket of an episode only
    sigmas: float  # standard deviations of this bucket above expected


class _PeakTracker:
    """Running typical daily peak of one kind of evidence, and the mean deviation around it."""

    def __init__(self) -> None:
        self.typical: float | None = None
        self.spread = 0.0
        self.today = 0.0

    def close_day(self, rate: float) -> None:
        if self.typical is None:
            self.typical = self.today
        else:
            self.spread += rate * (abs(self.today - self.typical) - self.spread)
            self.typical += rate * (self.today - self.typical)
        self.today = 0.0

    def bar(self, floor: float, margin: float) -> float:
        if self.typical is None:
            return floor
        return max(floor, self.typical + margin * self.spread)


class SpikeDetector:
    """One series (e.g. negative mentions of one account). Feed buckets in time order."""

    def __init__(self, config: SpikeConfig | None = None) -> None:
        self.config = config or SpikeConfig()
        self._bucket: int | None = self.config.bucket_seconds
        self._first_ts: datetime | None = None
        self._last_ts: datetime | None = None
        self._seen = 0
        # expected count: log mean = level + profile[slot] + weekday[day]
        self._level = 0.0
        self._profile: list[float] = []
        self._weekday = [0.0] * WEEK_DAYS
        self._dispersion = 0.05  # phi in Var = m + phi * m^2
        self._sustained = 0.0  # EWMA of the (capped) sigmas
        self._day: tuple[int, int, int] | None = None
        self._burst_peaks = _PeakTracker()
        self._sustained_peaks = _PeakTracker()
        self._quiet_until: datetime | None = None
        self._armed = True

    # -- public -----------------------------------------------------------------------------

    def update(self, ts: datetime, value: float) -> SpikePoint:
        """Score the bucket starting at ``ts`` holding ``value`` items, then learn from it."""
        if self._last_ts is not None and ts <= self._last_ts:
            raise ValueError(f"buckets must come in time order: {ts} after {self._last_ts}")
        if self._bucket is None and self._last_ts is not None:
            self._bucket = max(1, int((ts - self._last_ts).total_seconds()))
        if self._first_ts is None:
            self._first_ts = ts
        self._roll_day(ts)
        expected, sigmas, sustained = self._evaluate(ts, value)
        self._sustained = sustained
        strength = self._strength(sigmas, sustained)
        alert = (
            strength >= 1.0
            and value >= self.config.min_volume
            and self._armed
            and self._warm(ts)
            and (self._quiet_until is None or ts >= self._quiet_until)
        )
        if alert:
            self._quiet_until = ts + timedelta(seconds=self.config.cooldown_seconds)
            self._armed = False
        elif not self._armed and strength < 0.5:
            self._armed = True
        self._burst_peaks.today = max(self._burst_peaks.today, sigmas)
        self._sustained_peaks.today = max(self._sustained_peaks.today, sustained)
        self._learn(ts, value, expected, sigmas)
        self._last_ts = ts
        return SpikePoint(ts, value, expected, min(1.0, max(0.0, strength)), alert, sigmas)

    def peek(self, ts: datetime, value: float) -> SpikePoint:
        """Score a bucket without learning from it (an unfinished bucket, say). Never alerts."""
        expected, sigmas, sustained = self._evaluate(ts, value)
        strength = self._strength(sigmas, sustained)
        return SpikePoint(ts, value, expected, min(1.0, max(0.0, strength)), False, sigmas)

    def sigmas(self, count: float, expected: float) -> float:
        """Standard deviations of ``count`` above ``expected`` under the learnt spread.

        For a span of several buckets pass their summed count and expectation: the bucket's
        over-dispersion then overstates the spread of the sum, which errs towards quiet.
        """
        return self._stabilise(count) - self._stabilise(expected)

    def expected(self, ts: datetime) -> float:
        """The typical count of the bucket starting at ``ts``."""
        return self._mean(ts) if self._seen else 0.0

    # -- evidence ---------------------------------------------------------------------------

    def _evaluate(self, ts: datetime, value: float) -> tuple[float, float, float]:
        """Expected count, sigmas of this bucket, and the sustained evidence including it."""
        if self._seen == 0:
            return 0.0, 0.0, 0.0
        expected = self._mean(ts)
        sigmas = self._stabilise(value) - self._stabilise(expected)
        rate = self._sustained_rate()
        ewma = self._sustained * math.sqrt(rate / (2.0 - rate))  # undo the scaling below
        ewma += rate * (min(sigmas, 2 * self.config.threshold) - ewma)
        # As a z-score of the smoothed mean of unit-variance sigmas. Residuals of real series are
        # autocorrelated, so this overstates significance; its own adaptive bar absorbs that.
        return expected, sigmas, ewma / math.sqrt(rate / (2.0 - rate))

    def _strength(self, sigmas: float, sustained: float) -> float:
        """Evidence relative to the alert bars: 1 or more is an alert."""
        floor, margin = self.config.threshold, self.config.peak_margin
        return max(
            sigmas / self._burst_peaks.bar(floor, margin),
            sustained / self._sustained_peaks.bar(floor, margin),
        )

    def _sustained_rate(self) -> float:
        return _rate(self.config.sustained_half_life_seconds / self._bucket_seconds())

    def _stabilise(self, count: float) -> float:
        """Variance-stabilising transform of a negative binomial count (variance m + phi*m^2).

        The result has unit variance at any level: about ``2*sqrt(x)`` for Poisson-like counts,
        a scaled log for over-dispersed ones.
        """
        x = max(count, 0.0) + 0.375
        phi = self._dispersion
        return 2.0 / math.sqrt(phi) * math.asinh(math.sqrt(phi * x))

    def _roll_day(self, ts: datetime) -> None:
        day = (ts.year, ts.month, ts.day)
        if self._day is not None and day != self._day:
            rate = _rate(self.config.peak_memory_days)
            self._burst_peaks.close_day(rate)
            self._sustained_peaks.close_day(rate)
        self._day = day

    # -- baseline ---------------------------------------------------------------------------

    def _mean(self, ts: datetime) -> float:
        profile = self._profile[self._slot(ts)] if self._profile else 0.0
        return math.exp(self._level + profile + self._weekday[ts.weekday()])

    def _learn(self, ts: datetime, value: float, expected: float, sigmas: float) -> None:
        value = max(value, 0.0)
        if self._seen == 0:
            self._level = math.log(value + 0.5)
            self._seen = 1
            return
        if not self._profile:
            self._profile = [0.0] * self._slots_per_day()
        self._seen += 1
        # Down-weight outliers (Huber), then take a Newton step on the log mean: x/m - 1 has
        # mean zero when m is the true mean, whatever the dispersion; capped against bursts.
        robust = self.config.robust_sigmas
        weight = min(1.0, robust / abs(sigmas)) if sigmas else 1.0
        step = weight * max(-1.0, min(robust, (value - expected) / max(expected, 1.0)))

        bucket = self._bucket_seconds()
        per_day = self._slots_per_day()
        slot = self._slot(ts)
        self._level += _rate(self.config.level_half_life_seconds / bucket) * step
        # While few days are known, average them all (1/n); then forget at the configured pace.
        days_seen = self._seen // per_day + 1
        profile_rate = max(_rate(self.config.profile_half_life_days), 1.0 / days_seen)
        reach = self.config.profile_smoothing_seconds // bucket
        for offset in range(-reach, reach + 1):
            share = (1.0 - abs(offset) / (reach + 1)) / (reach + 1)
            self._profile[(slot + offset) % per_day] += profile_rate * share * step
        self._weekday[ts.weekday()] += _rate(self.config.weekday_half_life_weeks * per_day) * step
        self._recentre()
        self._learn_dispersion(value, expected)

    def _learn_dispersion(self, value: float, expected: float) -> None:
        """phi follows the log-scale variance beyond Poisson noise (Var log(1+x) ~ 1/(m+1) + phi)."""
        poisson = 1.0 / (expected + 1.0)
        limit = self.config.robust_sigmas * math.sqrt(self._dispersion + poisson)
        residual = max(-limit, min(limit, math.log1p(value) - math.log1p(expected)))
        rate = _rate(self.config.spread_half_life_days * self._slots_per_day())
        excess = residual * residual - poisson
        self._dispersion = min(4.0, max(1e-4, self._dispersion + rate * (excess - self._dispersion)))

    def _recentre(self) -> None:
        """Keep profile and weekday offsets centred on zero, so the level holds the volume."""
        shift = sum(self._weekday) / WEEK_DAYS
        self._weekday = [w - shift for w in self._weekday]
        self._level += shift
        if self._seen % len(self._profile) == 0:
            shift = sum(self._profile) / len(self._profile)
            self._profile = [p - shift for p in self._profile]
            self._level += shift

    # -- time -------------------------------------------------------------------------------

    def _bucket_seconds(self) -> int:
        return self._bucket or DAY_SECONDS

    def _slots_per_day(self) -> int:
        return max(1, DAY_SECONDS // self._bucket_seconds())

    def _slot(self, ts: datetime) -> int:
        seconds = ts.hour * 3600 + ts.minute * 60 + ts.second
        return min(seconds // self._bucket_seconds(), self._slots_per_day() - 1)

    def _warm(self, ts: datetime) -> bool:
        assert self._first_ts is not None
        return (ts - self._first_ts).total_seconds() >= self.config.warmup_seconds


def _rate(half_life_steps: float) -> float:
    """EWMA weight giving a half-life of ``half_life_steps`` updates."""
    return 1.0 - 0.5 ** (1.0 / max(half_life_steps, 1e-9))
