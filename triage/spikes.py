"""Online spike detection over counts per time bucket (mentions, negative mentions ...).

The detector is causal and cheap: one ``update`` per bucket, a few dozen float operations, and a
state of one value per time-of-day slot. It is three parts, each learnt from the series itself:

- the **baseline** (``SpikeBaseline``): the expected count from a level, a daily profile and a
  day-of-week offset on a log scale, and the spread around it on a variance-stabilising scale
  for over-dispersed counts (Poisson noise plus an over-dispersion learnt from the series).
  A series that is not made of whole counts (a rate, a percentage) is read in pseudo-counts: its
  own mean level over the warm-up is ``pseudo_counts`` units, so any scale behaves alike;
- the **evidence**: the bucket on its own (a burst) and a smoothed excess over the last hours (a
  sustained rise of individually modest buckets), each against its own bar
  ``max(threshold, typical daily peak + peak_margin * spread of daily peaks)``: a series with
  frequent small bursts raises its own bar;
- the **gate** (``AlertGate``): an alert marks the rising edge of an episode; then the detector
  stays quiet until the evidence has fallen back below ``rearm_fraction`` of the bar and
  ``cooldown_seconds`` have passed.

Every constant was chosen by leave-one-file-out over 53 public NAB series (5 X volume
series and 48 others), with each held-out file scored on constants picked on the other 52; the
defaults are the pick on all 53 (NAB standard profile). See ``bench/spikes_accuracy.py`` and the
README's triage figures. Each field of ``SpikeConfig`` (triage/spike_config.py) says why it is
there and which values were tried.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from triage.explain import spike_sentence
from triage.spike_config import DAY_SECONDS, SpikeConfig

WEEK_DAYS = 7
EXPLAIN_SECONDS = 3600  # "in the last hour": the span the alert sentence speaks of
ANSCOMBE = 0.375  # the variance-stabilising offset for Poisson-like counts (Anscombe 1948)
DISPERSION_START = 0.05  # phi before any data: a mildly over-dispersed count; learnt within a day
DISPERSION_BOUNDS = (1e-4, 4.0)  # phi stays finite (1e-4: Poisson) and below a log-normal sd of 2


@dataclass(frozen=True, slots=True)
class SpikePoint:
    ts: datetime
    value: float
    expected: float  # the typical count for this bucket, given the time of day and week
    score: float  # 0..1: evidence relative to the alert bar (1 = at or above it)
    alert: bool  # True on the first bucket of an episode only
    sigmas: float  # standard deviations of this bucket above expected
    recent: float = 0.0  # items in the last hour (or the last bucket, when buckets are longer)
    recent_expected: float = 0.0  # usual items in that span at this time of day and week
    why: str = ""  # on an alert: the evidence in one sentence for a comms lead


class SpikeBaseline:
    """Expected count per bucket and the spread around it; learns from each bucket it is shown."""

    def __init__(self, config: SpikeConfig, bucket_seconds: int | None) -> None:
        self.config = config
        self.bucket: int | None = bucket_seconds
        self._first_ts: datetime | None = None
        self._seen = 0
        self._level = 0.0  # log mean, in units of self.unit
        self._profile: list[float] = []
        self._weekday = [0.0] * WEEK_DAYS
        self._dispersion = DISPERSION_START  # phi in Var = m + phi * m^2
        self.counts = True  # every value so far a whole, non-negative number
        self.unit = 1.0  # one item; for non-count series, the warm-up mean / pseudo_counts
        self._total = 0.0
        self._rows = 0

    @property
    def seen(self) -> int:
        """Buckets learnt from so far."""
        return self._seen

    def expected(self, ts: datetime) -> float:
        """The typical value of the bucket starting at ``ts`` (in the series' own units)."""
        return self._mean(ts) * self.unit if self._seen else 0.0

    def sigmas(self, value: float, expected: float) -> float:
        """Standard deviations of ``value`` above ``expected`` under the learnt spread."""
        return self._stabilise(value / self.unit) - self._stabilise(expected / self.unit)

    def note_kind(self, value: float) -> None:
        """A value that is not a whole, non-negative number makes this a series of measures, not counts."""
        if self.counts and (value < 0 or not float(value).is_integer()):
            self.counts = False

    def learn(self, ts: datetime, value: float, expected: float, sigmas: float) -> None:
        self._learn_unit(ts, value)
        value = max(value, 0.0) / self.unit
        expected = expected / self.unit
        if self._seen == 0:
            self._level = math.log(value + 0.5)
            self._seen = 1
            return
        if not self._profile:
            self._profile = [0.0] * self.slots_per_day()
        self._seen += 1
        # Down-weight outliers (Huber), then take a Newton step on the log mean: x/m - 1 has
        # mean zero when m is the true mean, whatever the dispersion; capped against bursts, and
        # relative to at least one item so that a quiet series is not thrown by a single post.
        robust = self.config.robust_sigmas
        weight = min(1.0, robust / abs(sigmas)) if sigmas else 1.0
        step = weight * max(-1.0, min(robust, (value - expected) / max(expected, 1.0)))

        bucket = self.bucket_seconds()
        per_day = self.slots_per_day()
        slot = self.slot(ts)
        self._level += half_life_rate(self.config.level_half_life_seconds / bucket) * step
        # While few days are known, average them all (1/n); then forget at the configured pace.
        days_seen = self._seen // per_day + 1
        profile_rate = max(half_life_rate(self.config.profile_half_life_days), 1.0 / days_seen)
        reach = self.config.profile_smoothing_seconds // bucket
        for offset in range(-reach, reach + 1):
            share = (1.0 - abs(offset) / (reach + 1)) / (reach + 1)
            self._profile[(slot + offset) % per_day] += profile_rate * share * step
        self._weekday[ts.weekday()] += half_life_rate(self.config.weekday_half_life_weeks * per_day) * step
        self._recentre()
        self._learn_dispersion(value, expected)

    def _learn_unit(self, ts: datetime, value: float) -> None:
        """Counts stay in items; other series get a unit from their own mean during the warm-up."""
        if self._first_ts is None:
            self._first_ts = ts
        if (ts - self._first_ts).total_seconds() > self.config.warmup_seconds:
            return
        self._total += abs(value)
        self._rows += 1
        if self.counts or self._total <= 0:
            return
        unit = self._total / self._rows / self.config.pseudo_counts
        if not (math.isfinite(unit) and unit > 0):  # values near the float limits: keep the last unit
            return
        if self._seen:
            self._level += math.log(self.unit) - math.log(unit)  # not log(a / b): the ratio can underflow
        self.unit = unit

    def _stabilise(self, count: float) -> float:
        """Variance-stabilising transform of a negative binomial count (variance m + phi*m^2).

        The result has unit variance at any level: about ``2*sqrt(x)`` for Poisson-like counts,
        a scaled log for over-dispersed ones.
        """
        x = max(count, 0.0) + ANSCOMBE
        phi = self._dispersion
        return 2.0 / math.sqrt(phi) * math.asinh(math.sqrt(phi * x))

    def _mean(self, ts: datetime) -> float:
        profile = self._profile[self.slot(ts)] if self._profile else 0.0
        # Capped below exp's overflow: a series near the float limits must not crash the reader.
        return math.exp(min(self._level + profile + self._weekday[ts.weekday()], 700.0))

    def _learn_dispersion(self, value: float, expected: float) -> None:
        """phi follows the log-scale variance beyond Poisson noise (Var log(1+x) ~ 1/(m+1) + phi)."""
        poisson = 1.0 / (expected + 1.0)
        limit = self.config.robust_sigmas * math.sqrt(self._dispersion + poisson)
        residual = max(-limit, min(limit, math.log1p(value) - math.log1p(expected)))
        rate = half_life_rate(self.config.spread_half_life_days * self.slots_per_day())
        low, high = DISPERSION_BOUNDS
        self._dispersion = min(
            high, max(low, self._dispersion + rate * (residual**2 - poisson - self._dispersion))
        )

    def _recentre(self) -> None:
        """Keep profile and weekday offsets centred on zero, so the level holds the volume."""
        shift = sum(self._weekday) / WEEK_DAYS
        self._weekday = [w - shift for w in self._weekday]
        self._level += shift
        if self._seen % len(self._profile) == 0:
            shift = sum(self._profile) / len(self._profile)
            self._profile = [p - shift for p in self._profile]
            self._level += shift

    def bucket_seconds(self) -> int:
        return self.bucket or DAY_SECONDS

    def slots_per_day(self) -> int:
        return max(1, DAY_SECONDS // self.bucket_seconds())

    def slot(self, ts: datetime) -> int:
        seconds = ts.hour * 3600 + ts.minute * 60 + ts.second
        return min(seconds // self.bucket_seconds(), self.slots_per_day() - 1)


class PeakTracker:
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


class AlertGate:
    """One alert per episode: the rising edge, then quiet until settled and the cooldown is over."""

    def __init__(self, config: SpikeConfig) -> None:
        self.config = config
        self._first_ts: datetime | None = None
        self._quiet_until: datetime | None = None
        self._armed = True

    def decide(self, ts: datetime, strength: float, value: float, counts: bool) -> bool:
        c = self.config
        if self._first_ts is None:
            self._first_ts = ts
        alert = (
            strength >= 1.0
            and (value >= c.min_volume or not counts)
            and self._armed
            and (ts - self._first_ts).total_seconds() >= c.warmup_seconds
            and (self._quiet_until is None or ts >= self._quiet_until)
        )
        if alert:
            self._quiet_until = ts + timedelta(seconds=c.cooldown_seconds)
            self._armed = False
        elif not self._armed and strength < c.rearm_fraction:
            self._armed = True
        return alert


class SpikeDetector:
    """One series (e.g. negative mentions of one account). Feed buckets in time order."""

    def __init__(self, config: SpikeConfig | None = None) -> None:
        self.config = config or SpikeConfig()
        self.baseline = SpikeBaseline(self.config, self.config.bucket_seconds)
        self._gate = AlertGate(self.config)
        self._last_ts: datetime | None = None
        self._sustained = 0.0  # z-score of the EWMA of the (capped) sigmas
        self._day: tuple[int, int, int] | None = None
        self._burst_peaks = PeakTracker()
        self._sustained_peaks = PeakTracker()
        self._recent: deque[tuple[datetime, float, float]] = deque()  # (ts, value, expected) of the last hour

    # -- public -----------------------------------------------------------------------------

    def update(self, ts: datetime, value: float) -> SpikePoint:
        """Score the bucket starting at ``ts`` holding ``value`` items, then learn from it."""
        if self._last_ts is not None and ts <= self._last_ts:
            raise ValueError(f"buckets must come in time order: {ts} after {self._last_ts}")
        if self.baseline.bucket is None and self._last_ts is not None:
            self.baseline.bucket = max(1, int((ts - self._last_ts).total_seconds()))
        self._roll_day(ts)
        self.baseline.note_kind(value)
        expected, sigmas, sustained = self._evaluate(ts, value)
        self._sustained = sustained
        strength = self._strength(sigmas, sustained)
        alert = self._gate.decide(ts, strength, value, self.baseline.counts)
        self._burst_peaks.today = max(self._burst_peaks.today, sigmas)
        self._sustained_peaks.today = max(self._sustained_peaks.today, sustained)
        recent, recent_expected = self._remember(ts, value, expected)
        why = spike_sentence(recent, recent_expected, self._recent_seconds(), ts) if alert else ""
        self.baseline.learn(ts, value, expected, sigmas)
        self._last_ts = ts
        score = min(1.0, max(0.0, strength))
        return SpikePoint(ts, value, expected, score, alert, sigmas, recent, recent_expected, why)

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
        return self.baseline.sigmas(count, expected)

    def expected(self, ts: datetime) -> float:
        """The typical count of the bucket starting at ``ts``."""
        return self.baseline.expected(ts)

    # -- evidence ---------------------------------------------------------------------------

    def _evaluate(self, ts: datetime, value: float) -> tuple[float, float, float]:
        """Expected count, sigmas of this bucket, and the sustained evidence including it."""
        if not self.baseline.seen:
            return 0.0, 0.0, 0.0
        expected = self.baseline.expected(ts)
        sigmas = self.baseline.sigmas(value, expected)
        rate = half_life_rate(self.config.sustained_half_life_seconds / self.baseline.bucket_seconds())
        return expected, sigmas, sustained_step(self._sustained, sigmas, rate, self.config.robust_sigmas)

    def _strength(self, sigmas: float, sustained: float) -> float:
        """Evidence relative to the alert bars: 1 or more is an alert."""
        floor, margin = self.config.threshold, self.config.peak_margin
        return max(
            sigmas / self._burst_peaks.bar(floor, margin),
            sustained / self._sustained_peaks.bar(floor, margin),
        )

    def _roll_day(self, ts: datetime) -> None:
        day = (ts.year, ts.month, ts.day)
        if self._day is not None and day != self._day:
            rate = half_life_rate(self.config.peak_memory_days)
            self._burst_peaks.close_day(rate)
            self._sustained_peaks.close_day(rate)
        self._day = day

    # -- the words of an alert --------------------------------------------------------------

    def _remember(self, ts: datetime, value: float, expected: float) -> tuple[float, float]:
        """Items and usual items over the last hour, this bucket included."""
        self._recent.append((ts, value, expected))
        horizon = ts - timedelta(seconds=max(EXPLAIN_SECONDS - self.baseline.bucket_seconds(), 0))
        while self._recent[0][0] < horizon:
            self._recent.popleft()
        return sum(v for _, v, _ in self._recent), sum(e for _, _, e in self._recent)

    def _recent_seconds(self) -> int:
        return max(EXPLAIN_SECONDS, self.baseline.bucket_seconds())


def sustained_step(previous: float, sigmas: float, rate: float, cap: float) -> float:
    """The sustained evidence after one more bucket: a z-score of the EWMA of capped sigmas.

    Each bucket counts at most ``cap`` (so one burst does not read as a sustained rise). As a
    z-score of the smoothed mean of unit-variance sigmas it overstates significance on
    autocorrelated series; its own adaptive bar absorbs that.
    """
    scale = math.sqrt(rate / (2.0 - rate))
    ewma = previous * scale
    ewma += rate * (min(sigmas, cap) - ewma)
    return ewma / scale


def half_life_rate(half_life_steps: float) -> float:
    """EWMA weight giving a half-life of ``half_life_steps`` updates."""
    return 1.0 - 0.5 ** (1.0 / max(half_life_steps, 1e-9))
