"""Settings of the spike detector (triage/spikes.py), each with its reason and the values tried.

The defaults are the configuration with the best NAB standard score on all 53 development
series; the figure to expect on unseen series is the leave-one-file-out one
(``bench/spikes_accuracy.py``, README "Spike detector, held out").
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DAY_SECONDS = 86_400


class SpikeConfig(BaseModel):
    """Detector settings; the defaults are the held-out choice on the 53 NAB dev series."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket_seconds: int | None = Field(
        default=None, gt=0, description="Bucket length; inferred from the first two timestamps when unset."
    )
    min_volume: float = Field(
        default=5,
        ge=0,
        description="A bucket with fewer items never alerts (count series only: a comms lead does "
        "not act on a handful of posts). Held-out choice among 2 and 5.",
    )
    threshold: float = Field(
        default=5.0,
        gt=0,
        description="Least evidence, in standard deviations, for an alert (the bar's floor before "
        "the series has shown its own daily peaks). Held-out choice among 4 to 10.",
    )
    peak_margin: float = Field(
        default=1.0,
        ge=0,
        description="Also require this many spreads above the series' typical daily peak of evidence: "
        "the bar adapts to how bursty the series is. Held-out choice among 0.5, 1, 2 and 3.",
    )
    peak_memory_days: float = Field(
        default=7.0,
        gt=0,
        description="Half-life of the typical daily peak and its spread (held out: 3, 7, 14).",
    )
    sustained_half_life_seconds: int = Field(
        default=3 * 3600,
        gt=0,
        description="Horizon of the sustained-rise evidence (held out: 1, 3, 6 hours).",
    )
    cooldown_seconds: int = Field(
        default=12 * 3600,
        ge=0,
        description="Least quiet time after an alert, on top of waiting for the evidence to settle: one "
        "story, one alert. Held-out choice among 1, 6, 12 and 24 hours.",
    )
    rearm_fraction: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="After an alert, the evidence must fall below this share of the bar before another "
        "(the episode has ended). Held-out choice among 0.3, 0.5 and 0.7.",
    )
    warmup_seconds: int = Field(
        default=DAY_SECONDS,
        ge=0,
        description="No alert before the detector has seen this much time: one day, so the time-of-day "
        "profile has seen every hour once. Held out: 12, 24 and 48 hours.",
    )
    level_half_life_seconds: int = Field(
        default=6 * 3600,
        gt=0,
        description="How fast the expected level follows the recent volume (held out: 2, 6, 24 hours).",
    )
    profile_half_life_days: float = Field(
        default=3.0,
        gt=0,
        description="How fast the time-of-day profile follows a change of daily shape (held out: 1, 3, 10).",
    )
    weekday_half_life_weeks: float = Field(
        default=2.0,
        gt=0,
        description="How fast the day-of-week offsets follow a change of weekly shape (held out: 1, 2, 6).",
    )
    profile_smoothing_seconds: int = Field(
        default=1800,
        ge=0,
        description="A bucket also teaches the profile slots this close to it (held out: 0, 30, 90 min).",
    )
    spread_half_life_days: float = Field(
        default=4.0,
        gt=0,
        description="How fast the learnt over-dispersion follows the series (held out: 0.25, 1, 4, 16 "
        "days; picked long: a burst must not teach the series that it is jumpy).",
    )
    robust_sigmas: float = Field(
        default=3.0,
        gt=0,
        description="Buckets further than this from expected teach the baseline less, and count at most "
        "this much towards the sustained evidence (held out: 2, 3, 5).",
    )
    pseudo_counts: float = Field(
        default=100.0,
        gt=0,
        description="A series of non-whole values is read as if its mean over the warm-up were this many "
        "items: the Poisson floor then ignores changes of a few percent at its level "
        "(held out: 20, 100, 500).",
    )
