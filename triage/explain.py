"""The evidence of a volume spike as one sentence a comms lead reads in ten seconds."""

from __future__ import annotations

from datetime import datetime

HOUR_SECONDS = 3600
DAY_SECONDS = 86_400


def spike_sentence(count: float, usual: float, seconds: int, at: datetime, noun: str = "posts") -> str:
    """E.g. "42 posts in the last hour against about 6 usual at this time on a Tuesday (7 times as many)".

    ``count`` items were seen in the ``seconds`` up to ``at``; ``usual`` is what the baseline
    expects in that span at that time of day and week.
    """
    when = "on a" if seconds >= DAY_SECONDS else "at this time on a"
    sentence = f"{_amount(count)} {noun} in {_span(seconds)} against {_usual(usual)} usual {when} {at:%A}"
    if usual >= 0.5 and count >= 2 * usual:
        sentence += f" ({count / usual:.0f} times as many)"
    return sentence


def _span(seconds: int) -> str:
    if seconds % DAY_SECONDS == 0:
        days = seconds // DAY_SECONDS
        return "the last day" if days == 1 else f"the last {days} days"
    hours = seconds / HOUR_SECONDS
    if hours >= 1:
        return "the last hour" if hours == 1 else f"the last {hours:g} hours"
    return f"the last {seconds // 60} minutes"


def _amount(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or value >= 10 else f"{value:.1f}"


def _usual(value: float) -> str:
    if value < 0.5:
        return "almost none"
    if value < 10:
        return f"about {value:.0f}" if value >= 1.5 else "about 1"
    return f"about {value:,.0f}"
