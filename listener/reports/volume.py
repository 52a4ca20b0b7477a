"""Volume and sentiment per day, counted in SQL by hour bucket; how often agents agree with the scores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listener.queue.sentiment_overrides import Agreement
from listener.reports.filters import LABELS, ReportFilters, filtered, uses_items
from listener.settings import Settings
from listener.store.models import Mention, QueueItem, Score, SentimentOverride

# --- volume and sentiment ----------------------------------------------------------------


@dataclass
class DayVolume:
    day: date
    mentions: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    compound_sum: float = 0.0
    scored: int = 0

    @property
    def mean_compound(self) -> float | None:
        return self.compound_sum / self.scored if self.scored else None

    def as_dict(self) -> dict[str, Any]:
        mean = self.mean_compound
        return {
            "day": self.day.isoformat(),
            "mentions": self.mentions,
            "positive": self.positive,
            "neutral": self.neutral,
            "negative": self.negative,
            "mean_compound": None if mean is None else round(mean, 4),
        }


VOLUME_COLUMNS = ("day", "mentions", "positive", "neutral", "negative", "mean_compound")


def _hour_bucket(session: Session) -> Any:
    """The UTC hour of a mention as text (``2026-03-02T10``), in the database's own dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(Mention.created_at, 'YYYY-MM-DD"T"HH24')
    return func.strftime("%Y-%m-%dT%H", Mention.created_at)


def volume_report(session: Session, settings: Settings, filters: ReportFilters) -> list[DayVolume]:
    """Mentions per local day, by sentiment label, with the mean compound score (every day in range).

    The database counts per UTC hour; hours fold into local days here (the configured zone's
    offsets are whole hours, as Europe/London's are).
    """
    zone = ZoneInfo(settings.general.timezone)
    bucket = _hour_bucket(session).label("bucket")
    stmt = (
        select(bucket, Score.label, func.count(), func.sum(Score.compound), func.count(Score.compound))
        .select_from(Mention)
        .outerjoin(Score, Score.mention_id == Mention.id)
        .group_by(bucket, Score.label)
    )
    if uses_items(filters):
        stmt = stmt.join(QueueItem, QueueItem.mention_id == Mention.id)
    stmt = filtered(session, stmt, filters, settings.general.timezone, items=uses_items(filters))
    days: dict[date, DayVolume] = {}
    day = filters.date_from
    while day <= filters.date_to:
        days[day] = DayVolume(day)
        day += timedelta(days=1)
    for hour, label, count, compound_sum, scored in session.execute(stmt):
        local_day = datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC).astimezone(zone).date()
        volume = days[local_day]
        volume.mentions += count
        if label in LABELS:
            setattr(volume, label, getattr(volume, label) + count)
        volume.compound_sum += float(compound_sum or 0.0)
        volume.scored += scored
    return list(days.values())


def sentiment_agreement(session: Session, settings: Settings, filters: ReportFilters) -> Agreement:
    """How often agents agreed with the scorer's label, over the mentions in range they judged."""
    stmt = (
        select(SentimentOverride.scored_label, SentimentOverride.label, func.count())
        .select_from(Mention)
        .join(SentimentOverride, SentimentOverride.mention_id == Mention.id)
        .group_by(SentimentOverride.scored_label, SentimentOverride.label)
    )
    if uses_items(filters):
        stmt = stmt.join(QueueItem, QueueItem.mention_id == Mention.id)
    stmt = filtered(session, stmt, filters, settings.general.timezone, items=uses_items(filters))
    out = Agreement()
    for scored, label, count in session.execute(stmt):
        out.add(scored, label, count)
    return out
