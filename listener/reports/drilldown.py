"""The items and mentions behind a figure: same rows, same filters, so they add up to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listener.reports.filters import MEASURES, ReportFilters, filtered, uses_items
from listener.reports.responses import ItemRow, item_rows
from listener.settings import Settings
from listener.store.models import Mention, QueueItem, Score

# --- drill-down --------------------------------------------------------------------------


def drill_down(
    session: Session, settings: Settings, filters: ReportFilters, *, measure: str, now: datetime
) -> list[ItemRow]:
    """The items behind a figure: the same rows the report counted, limited to one measure."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; one of {', '.join(MEASURES)}")
    rows = [row for row in item_rows(session, settings, filters, now=now) if row.matches(measure)]
    rows.sort(key=lambda r: (r.created_at, r.item_id))
    return rows


@dataclass(frozen=True, slots=True)
class MentionRow:
    id: int
    platform: str
    source_key: str
    created_at: datetime
    label: str | None
    compound: float | None
    queue_item_id: int | None


def mention_rows(
    session: Session,
    settings: Settings,
    filters: ReportFilters,
    *,
    label: str | None = None,
    limit: int | None = None,
) -> list[MentionRow]:
    """The mentions behind a volume figure (optionally one sentiment label), oldest first."""
    stmt = (
        select(
            Mention.id,
            Mention.platform,
            Mention.source_key,
            Mention.created_at,
            Score.label,
            Score.compound,
            QueueItem.id,
        )
        .outerjoin(Score, Score.mention_id == Mention.id)
        .outerjoin(QueueItem, QueueItem.mention_id == Mention.id)
        .order_by(Mention.created_at, Mention.id)
    )
    if uses_items(filters):
        stmt = stmt.where(QueueItem.id.is_not(None))
    stmt = filtered(session, stmt, filters, settings.general.timezone, items=uses_items(filters))
    if label is not None:
        stmt = stmt.where(Score.label == label)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [MentionRow(*row) for row in session.execute(stmt)]


def count_mentions(
    session: Session, settings: Settings, filters: ReportFilters, *, label: str | None = None
) -> int:
    stmt = select(func.count()).select_from(Mention).outerjoin(Score, Score.mention_id == Mention.id)
    if uses_items(filters):
        stmt = stmt.join(QueueItem, QueueItem.mention_id == Mention.id)
    stmt = filtered(session, stmt, filters, settings.general.timezone, items=uses_items(filters))
    if label is not None:
        stmt = stmt.where(Score.label == label)
    return int(session.scalar(stmt) or 0)
