"""The spike sentence: counts, the usual volume for the time and weekday, the multiple."""

from __future__ import annotations

from datetime import datetime

from triage.explain import spike_sentence

TUESDAY_NOON = datetime(2026, 3, 3, 12, 0)


def test_the_sentence_names_count_usual_time_and_multiple() -> None:
    assert spike_sentence(42, 6.2, 3600, TUESDAY_NOON) == (
        "42 posts in the last hour against about 6 usual at this time on a Tuesday (7 times as many)"
    )


def test_a_quiet_usual_reads_as_almost_none_and_has_no_multiple() -> None:
    assert spike_sentence(12, 0.2, 3600, TUESDAY_NOON) == (
        "12 posts in the last hour against almost none usual at this time on a Tuesday"
    )


def test_no_multiple_below_twice_the_usual() -> None:
    assert spike_sentence(1_500, 900, 3600, TUESDAY_NOON, noun="mentions") == (
        "1,500 mentions in the last hour against about 900 usual at this time on a Tuesday"
    )


def test_daily_buckets_speak_of_days() -> None:
    assert spike_sentence(300, 40, 86_400, TUESDAY_NOON) == (
        "300 posts in the last day against about 40 usual on a Tuesday (8 times as many)"
    )
    assert spike_sentence(5.5, 1, 7200, TUESDAY_NOON).startswith("5.5 posts in the last 2 hours")
