"""Response times per group: first response and close in business seconds, and the share within SLA.

Every figure can be traced to items: the group tables and the drill-down lists are built
from the same rows with the same filters, so the items behind a number add up to it.

Counting that needs no business time is done in SQL (volume per hour bucket). Response and
close times are counted in business seconds (settings.sla.business_hours, with England's
bank holidays) in Python, only over the items in the date range, through a cumulative
business-time index that costs one binary search per timestamp.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from listener.queue.business_hours import BusinessClock
from listener.reports.business_time import BusinessTimeline, percentile
from listener.reports.filters import (
    GROUPINGS,
    OUTCOMES,
    SETTLED_WITHOUT_REPLY,
    UNASSIGNED,
    UNTAGGED,
    ReportFilters,
    account_label,
    account_of,
    filtered,
)
from listener.settings import Settings
from listener.store.models import ItemTag, Mention, QueueItem, User

# --- response times ----------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: a frozen dataclass takes three times longer to build
class ItemRow:
    """One queue item as the response-time report sees it (times in business seconds)."""

    item_id: int
    mention_id: int
    platform: str
    source_key: str
    assignee_id: int | None
    assignee_name: str | None
    status: str
    priority: int
    created_at: datetime  # when the post was made: the SLA clock starts here
    due_at: datetime
    first_response_at: datetime | None
    closed_at: datetime | None
    response_seconds: float | None
    close_seconds: float | None
    outcome: str  # one of OUTCOMES
    tags: tuple[str, ...] = ()  # read only for the tag grouping

    @property
    def answered(self) -> bool:
        return self.first_response_at is not None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def matches(self, measure: str) -> bool:
        if measure == "items":
            return True
        if measure == "answered":
            return self.answered
        if measure == "closed":
            return self.closed
        if measure in OUTCOMES:
            return self.outcome == measure
        raise ValueError(f"unknown measure {measure!r}")


def outcome_of(*, status: str, due_at: datetime, first_response_at: datetime | None, now: datetime) -> str:
    """within_sla when answered by the due time; breached when answered late or still open past it."""
    if first_response_at is not None:
        return "within_sla" if first_response_at <= due_at else "breached"
    if status in SETTLED_WITHOUT_REPLY:
        return "no_reply_needed"
    return "breached" if due_at < now else "pending"


def _times_reader(session: Session, *columns: Any) -> tuple[list[Any], Callable[[Any], datetime | None]]:
    """Timestamp columns for a large read, and how to turn their values into aware UTC datetimes.

    SQLite keeps timestamps as ISO text: read as text and parsed by ``fromisoformat`` they cost
    a fraction of the generic DateTime result processing. PostgreSQL hands back datetimes.
    """
    if session.get_bind().dialect.name == "sqlite":

        def parse(value: Any) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value + "+00:00")

        return [type_coerce(c, String) for c in columns], parse
    return list(columns), lambda value: value


def item_rows(
    session: Session, settings: Settings, filters: ReportFilters, *, now: datetime, with_tags: bool = False
) -> list[ItemRow]:
    """The queue items whose post falls in the filters' range, with business-time figures (in no order).

    ``with_tags`` reads each item's tags too (the tag grouping needs them; nothing else does).
    """
    names = dict(session.execute(select(User.id, User.name)).tuples().all())
    times, parse = _times_reader(
        session, Mention.created_at, QueueItem.due_at, QueueItem.first_response_at, QueueItem.closed_at
    )
    stmt = select(
        QueueItem.id,
        QueueItem.mention_id,
        Mention.platform,
        Mention.source_key,
        QueueItem.assignee_id,
        QueueItem.status,
        QueueItem.priority,
        *times,
    ).join(Mention, Mention.id == QueueItem.mention_id)
    stmt = filtered(session, stmt, filters, settings.general.timezone, items=True)
    # Core, not ORM, execution: these are plain columns, and the ORM's row handling costs more than the rest.
    fetched = session.connection().execute(stmt).all()

    tags = _tags(session, settings, filters) if with_tags else {}
    timeline = BusinessTimeline(BusinessClock(settings.sla.business_hours, settings.general.timezone))
    timeline.cover(filters.date_from, filters.date_to + timedelta(days=14))
    rows = []
    for item_id, mention_id, platform, source_key, assignee_id, status, priority, *times in fetched:
        created_at, due_at = parse(times[0]), parse(times[1])
        first_response_at, closed_at = parse(times[2]), parse(times[3])
        assert created_at is not None and due_at is not None  # NOT NULL columns
        created = created_at.timestamp()
        rows.append(
            ItemRow(
                item_id=item_id,
                mention_id=mention_id,
                platform=platform,
                source_key=source_key,
                assignee_id=assignee_id,
                assignee_name=names.get(assignee_id) if assignee_id is not None else None,
                status=status,
                priority=priority,
                created_at=created_at,
                due_at=due_at,
                first_response_at=first_response_at,
                closed_at=closed_at,
                response_seconds=None
                if first_response_at is None
                else timeline.seconds(created, first_response_at.timestamp()),
                close_seconds=None if closed_at is None else timeline.seconds(created, closed_at.timestamp()),
                outcome=outcome_of(
                    status=status, due_at=due_at, first_response_at=first_response_at, now=now
                ),
                tags=tags.get(item_id, ()),
            )
        )
    return rows


def _tags(session: Session, settings: Settings, filters: ReportFilters) -> dict[int, tuple[str, ...]]:
    stmt = (
        select(ItemTag.queue_item_id, ItemTag.tag)
        .join(QueueItem, QueueItem.id == ItemTag.queue_item_id)
        .join(Mention, Mention.id == QueueItem.mention_id)
        .order_by(ItemTag.tag)
    )
    found: dict[int, list[str]] = defaultdict(list)
    for item_id, tag in session.execute(
        filtered(session, stmt, filters, settings.general.timezone, items=True)
    ):
        found[item_id].append(tag)
    return {item_id: tuple(tags) for item_id, tags in found.items()}


@dataclass
class GroupFigures:
    """The figures of one group (or of all items, ``key`` "total")."""

    key: str
    label: str
    items: int = 0
    answered: int = 0
    closed: int = 0
    within_sla: int = 0
    breached: int = 0
    pending: int = 0
    no_reply_needed: int = 0
    first_response_median_seconds: float | None = None
    first_response_p90_seconds: float | None = None
    close_median_seconds: float | None = None
    close_p90_seconds: float | None = None

    @property
    def sla_share(self) -> float | None:
        """Share of items decided against the SLA that were answered in time (None when none were)."""
        decided = self.within_sla + self.breached
        return self.within_sla / decided if decided else None

    @classmethod
    def of(cls, key: str, label: str, rows: Iterable[ItemRow]) -> GroupFigures:
        figures = cls(key=key, label=label)
        responses, closes = [], []
        for row in rows:
            figures.items += 1
            figures.answered += row.answered
            figures.closed += row.closed
            setattr(figures, row.outcome, getattr(figures, row.outcome) + 1)
            if row.response_seconds is not None:
                responses.append(row.response_seconds)
            if row.close_seconds is not None:
                closes.append(row.close_seconds)
        figures.first_response_median_seconds = percentile(responses, 0.5)
        figures.first_response_p90_seconds = percentile(responses, 0.9)
        figures.close_median_seconds = percentile(closes, 0.5)
        figures.close_p90_seconds = percentile(closes, 0.9)
        return figures

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.key,
            "label": self.label,
            "items": self.items,
            "answered": self.answered,
            "closed": self.closed,
            "within_sla": self.within_sla,
            "breached": self.breached,
            "pending": self.pending,
            "no_reply_needed": self.no_reply_needed,
            "first_response_median_seconds": _rounded(self.first_response_median_seconds),
            "first_response_p90_seconds": _rounded(self.first_response_p90_seconds),
            "close_median_seconds": _rounded(self.close_median_seconds),
            "close_p90_seconds": _rounded(self.close_p90_seconds),
            "sla_share": None if self.sla_share is None else round(self.sla_share, 4),
        }


RESPONSE_COLUMNS = (
    "group",
    "label",
    "items",
    "answered",
    "closed",
    "within_sla",
    "breached",
    "pending",
    "no_reply_needed",
    "first_response_median_seconds",
    "first_response_p90_seconds",
    "close_median_seconds",
    "close_p90_seconds",
    "sla_share",
)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class ResponseReport:
    filters: ReportFilters
    by: str
    groups: list[GroupFigures]
    total: GroupFigures


def group_keys(row: ItemRow, by: str, zone: ZoneInfo) -> Sequence[str]:
    """The groups a row counts in: one, except by tag, where an item counts under each of its tags."""
    if by == "tag":
        return row.tags or (UNTAGGED,)
    return (group_key(row, by, zone),)


def group_key(row: ItemRow, by: str, zone: ZoneInfo) -> str:
    if by == "agent":
        return UNASSIGNED if row.assignee_id is None else str(row.assignee_id)
    if by == "account":
        return account_of(row.source_key)
    if by == "platform":
        return row.platform
    if by == "source":
        return row.source_key
    if by == "day":
        return row.created_at.astimezone(zone).date().isoformat()
    raise ValueError(f"unknown grouping {by!r}")


def summarise(rows: Sequence[ItemRow], settings: Settings, *, by: str) -> list[GroupFigures]:
    """Group figures of ``rows`` by ``by``: days in date order, other groups by label."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; one of {', '.join(GROUPINGS)}")
    zone = ZoneInfo(settings.general.timezone)
    grouped: dict[str, list[ItemRow]] = defaultdict(list)
    names: dict[str, str] = {}
    for row in rows:
        for key in group_keys(row, by, zone):
            grouped[key].append(row)
            if by == "agent":
                names[key] = row.assignee_name or "Unassigned"
    label: Callable[[str], str] = {
        "agent": lambda key: names[key],
        "account": lambda key: account_label(key, settings),
        "tag": lambda key: "No tag" if key == UNTAGGED else key,
    }.get(by, lambda key: key)
    groups = [GroupFigures.of(key, label(key), members) for key, members in grouped.items()]
    groups.sort(key=(lambda g: g.key) if by == "day" else (lambda g: (g.label.lower(), g.key)))
    return groups


def response_report(
    session: Session, settings: Settings, filters: ReportFilters, *, by: str, now: datetime
) -> ResponseReport:
    """First-response and close times, and SLA outcomes, per group of ``by`` and in total."""
    rows = item_rows(session, settings, filters, now=now, with_tags=by == "tag")
    return ResponseReport(
        filters=filters,
        by=by,
        groups=summarise(rows, settings, by=by),
        total=GroupFigures.of("total", "All items", rows),
    )


ITEM_COLUMNS = (
    "item",
    "mention",
    "platform",
    "source",
    "agent",
    "priority",
    "status",
    "created_at",
    "due_at",
    "first_response_at",
    "closed_at",
    "response_seconds",
    "close_seconds",
    "outcome",
)


def item_dict(row: ItemRow) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "item": row.item_id,
        "mention": row.mention_id,
        "platform": row.platform,
        "source": row.source_key,
        "agent": row.assignee_name,
        "priority": row.priority,
        "status": row.status,
        "created_at": iso(row.created_at),
        "due_at": iso(row.due_at),
        "first_response_at": iso(row.first_response_at),
        "closed_at": iso(row.closed_at),
        "response_seconds": _rounded(row.response_seconds),
        "close_seconds": _rounded(row.close_seconds),
        "outcome": row.outcome,
    }
