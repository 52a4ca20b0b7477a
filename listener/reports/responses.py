"""Response-time, volume and incident reports for managers.

Every figure can be traced to items: the group tables and the drill-down lists are built
from the same rows with the same filters, so the items behind a number add up to it.

Counting that needs no business time is done in SQL (volume per hour bucket). Response and
close times are counted in business seconds (settings.sla.business_hours, with England's
bank holidays) in Python, only over the items in the date range, through a cumulative
business-time index that costs one binary search per timestamp.
"""

from __future__ import annotations

import csv
import math
import unicodedata
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, false, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from listener.queue.business_hours import BusinessClock
from listener.settings import Settings
from listener.store.models import Incident, Mention, QueueItem, Score, User

GROUPINGS = ("agent", "account", "platform", "source", "day")
# How an item stands against its SLA: the measures a drill-down can ask for.
OUTCOMES = ("within_sla", "breached", "pending", "no_reply_needed")
MEASURES = ("items", "answered", "closed", *OUTCOMES)
LABELS = ("positive", "neutral", "negative")
UNASSIGNED = "unassigned"
OTHER_ACCOUNT = "other"
SETTLED_WITHOUT_REPLY = frozenset({"closed", "no_reply_needed"})


# --- business time -----------------------------------------------------------------------


class BusinessTimeline:
    """Business seconds between many pairs of moments, one binary search per moment.

    For each local day in range it keeps the UTC times (epoch seconds) of midnight, opening and
    closing, and the running total of open seconds before the day. ``elapsed(t)`` is that total
    plus the open seconds of ``t``'s own day up to ``t``; business seconds from ``a`` to ``b``
    are ``elapsed(b) - elapsed(a)`` — what ``BusinessClock.seconds_between`` gives, without
    walking the days for every item.
    """

    def __init__(self, clock: BusinessClock) -> None:
        self.clock = clock
        self._first: date | None = None
        self._last: date | None = None
        self._starts: list[float] = []  # local midnight of each day, as UTC epoch seconds
        self._opens: list[float] = []  # opening time (midnight on a closed day)
        self._closes: list[float] = []  # closing time (the same as opening on a closed day)
        self._before: list[float] = []  # open seconds from the first day's midnight to this day's
        self._end = 0.0  # the midnight after the last day

    def cover(self, first: date, last: date) -> None:
        """Make sure the index spans local days ``first`` to ``last`` (it only ever grows)."""
        if self._first is not None and self._last is not None:
            if self._first <= first and last <= self._last:
                return
            first, last = min(first, self._first), max(last, self._last)
        zone, hours = self.clock.zone, self.clock.hours
        self._first, self._last = first, last
        self._starts, self._opens, self._closes, self._before = [], [], [], []
        total = 0.0
        day = first
        while day <= last:
            midnight = datetime.combine(day, time(0), zone).timestamp()
            opens = closes = midnight
            if self.clock.is_business_day(day):
                opens = datetime.combine(day, hours.start, zone).timestamp()
                closes = max(opens, datetime.combine(day, hours.end, zone).timestamp())
            self._starts.append(midnight)
            self._opens.append(opens)
            self._closes.append(closes)
            self._before.append(total)
            total += closes - opens
            day += timedelta(days=1)
        self._end = datetime.combine(day, time(0), zone).timestamp()

    def _cover_moment(self, moment: float) -> None:
        if not self._starts or moment < self._starts[0] or moment >= self._end:
            day = datetime.fromtimestamp(moment, self.clock.zone).date()
            self.cover(day, day)

    def elapsed(self, moment: float) -> float:
        """Open seconds from the index's first midnight to ``moment`` (epoch seconds, inside the index)."""
        i = bisect_right(self._starts, moment) - 1
        opens = self._opens[i]
        return self._before[i] + min(max(moment, opens), self._closes[i]) - opens

    def seconds(self, start: float, end: float) -> float:
        """Business seconds between two epoch times (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        if not self._starts or start < self._starts[0] or end >= self._end:
            self._cover_moment(start)
            self._cover_moment(end)
        return self.elapsed(end) - self.elapsed(start)

    def seconds_between(self, start: datetime, end: datetime) -> float:
        return self.seconds(start.timestamp(), end.timestamp())


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0..1) by linear interpolation between closest ranks (numpy's default method)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- filters and groups ------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilters:
    """The date range (local dates, both inclusive) and optional filters, each a group key."""

    date_from: date
    date_to: date
    platform: str | None = None
    source: str | None = None
    account: str | None = None  # "x:@handle", "facebook:<page id>" or "other"
    agent: str | None = None  # a user id, or "unassigned"
    priority: int | None = None

    def narrowed(self, by: str, key: str) -> ReportFilters:
        """These filters limited to one group of a report: how a figure drills down."""
        if by == "day":
            day = date.fromisoformat(key)
            return replace(self, date_from=day, date_to=day)
        if by == "agent":
            return replace(self, agent=key)
        if by == "account":
            return replace(self, account=key)
        if by == "platform":
            return replace(self, platform=key)
        if by == "source":
            return replace(self, source=key)
        raise ValueError(f"unknown grouping {by!r}")

    def as_params(self) -> dict[str, str]:
        """Query-string form, for links that keep the filters (drill-downs, CSV downloads)."""
        params = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        for name in ("platform", "source", "account", "agent", "priority"):
            value = getattr(self, name)
            if value is not None:
                params[name] = str(value)
        return params


def utc_range(filters: ReportFilters, timezone: str) -> tuple[datetime, datetime]:
    """The UTC half-open interval covering the local dates of ``filters``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(filters.date_from, time(0), zone).astimezone(UTC)
    end = datetime.combine(filters.date_to + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


# The source-key prefix of each platform's own-account sources: an account is what follows it.
ACCOUNT_SOURCES = {"x": "x:mentions:", "facebook": "facebook:page:"}


def account_of(source_key: str) -> str:
    """The board's account a source watches (``x:@handle``, ``facebook:<page id>``), else ``other``."""
    for platform, prefix in ACCOUNT_SOURCES.items():
        if source_key.startswith(prefix):
            return f"{platform}:{source_key.removeprefix(prefix)}"
    return OTHER_ACCOUNT


def _account_condition(account: str) -> Any:
    if account == OTHER_ACCOUNT:
        return ~or_(*(Mention.source_key.startswith(p, autoescape=True) for p in ACCOUNT_SOURCES.values()))
    platform, _, rest = account.partition(":")
    prefix = ACCOUNT_SOURCES.get(platform)
    return Mention.source_key == prefix + rest if prefix and rest else false()


def account_label(account: str, settings: Settings) -> str:
    if account == OTHER_ACCOUNT:
        return "Searches and news (not on our accounts)"
    platform, _, handle = account.partition(":")
    for configured in settings.accounts:
        if configured.platform == platform and configured.handle.lstrip("@") == handle.lstrip("@"):
            name = configured.name or configured.handle
            return f"{name} ({'X' if platform == 'x' else 'Facebook'} {handle})"
    return account


def _filtered(
    session: Session, stmt: Select, filters: ReportFilters, timezone: str, *, items: bool
) -> Select:
    """Apply the filters to a statement over Mention (joined to QueueItem when ``items``)."""
    start, end = utc_range(filters, timezone)
    stmt = stmt.where(Mention.created_at >= start, Mention.created_at < end)
    if filters.platform is not None:
        stmt = stmt.where(Mention.platform == filters.platform)
    if filters.source is not None:
        stmt = stmt.where(Mention.source_key == filters.source)
    if filters.account is not None:
        stmt = stmt.where(_account_condition(filters.account))
    if items:
        if filters.agent == UNASSIGNED:
            stmt = stmt.where(QueueItem.assignee_id.is_(None))
        elif filters.agent is not None:
            stmt = stmt.where(QueueItem.assignee_id == _agent_id(filters.agent))
        if filters.priority is not None:
            stmt = stmt.where(QueueItem.priority == filters.priority)
    return stmt


def _agent_id(key: str) -> int:
    try:
        return int(key)
    except ValueError as exc:
        raise ValueError(f"agent must be a user id or {UNASSIGNED!r}, not {key!r}") from exc


def _uses_items(filters: ReportFilters) -> bool:
    return filters.agent is not None or filters.priority is not None


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
    session: Session, settings: Settings, filters: ReportFilters, *, now: datetime
) -> list[ItemRow]:
    """The queue items whose post falls in the filters' range, with business-time figures (in no order)."""
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
    stmt = _filtered(session, stmt, filters, settings.general.timezone, items=True)
    # Core, not ORM, execution: these are plain columns, and the ORM's row handling costs more than the rest.
    fetched = session.connection().execute(stmt).all()

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
            )
        )
    return rows


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
        key = group_key(row, by, zone)
        grouped[key].append(row)
        if by == "agent":
            names[key] = row.assignee_name or "Unassigned"
    label: Callable[[str], str] = {
        "agent": lambda key: names[key],
        "account": lambda key: account_label(key, settings),
    }.get(by, lambda key: key)
    groups = [GroupFigures.of(key, label(key), members) for key, members in grouped.items()]
    groups.sort(key=(lambda g: g.key) if by == "day" else (lambda g: (g.label.lower(), g.key)))
    return groups


def response_report(
    session: Session, settings: Settings, filters: ReportFilters, *, by: str, now: datetime
) -> ResponseReport:
    """First-response and close times, and SLA outcomes, per group of ``by`` and in total."""
    rows = item_rows(session, settings, filters, now=now)
    return ResponseReport(
        filters=filters,
        by=by,
        groups=summarise(rows, settings, by=by),
        total=GroupFigures.of("total", "All items", rows),
    )


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
    if _uses_items(filters):
        stmt = stmt.join(QueueItem, QueueItem.mention_id == Mention.id)
    stmt = _filtered(session, stmt, filters, settings.general.timezone, items=_uses_items(filters))
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


# --- incidents ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentRow:
    id: int
    subject: str
    level: str
    status: str
    opened_at: datetime
    first_alert_at: datetime | None
    listening_message_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    mentions: int

    @staticmethod
    def _since_open(opened_at: datetime, moment: datetime | None) -> float | None:
        return None if moment is None else max(0.0, (moment - opened_at).total_seconds())

    @property
    def time_to_alert_seconds(self) -> float | None:
        """Wall-clock seconds: crisis alerting runs day and night, not in business hours."""
        return self._since_open(self.opened_at, self.first_alert_at)

    @property
    def time_to_listening_seconds(self) -> float | None:
        return self._since_open(self.opened_at, self.listening_message_at)

    @property
    def time_to_acknowledge_seconds(self) -> float | None:
        return self._since_open(self.opened_at, self.acknowledged_at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident": self.id,
            "subject": self.subject,
            "level": self.level,
            "status": self.status,
            "opened_at": self.opened_at.isoformat(),
            "mentions": self.mentions,
            "time_to_alert_seconds": self.time_to_alert_seconds,
            "time_to_acknowledge_seconds": self.time_to_acknowledge_seconds,
            "time_to_listening_seconds": self.time_to_listening_seconds,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }


INCIDENT_COLUMNS = (
    "incident",
    "subject",
    "level",
    "status",
    "opened_at",
    "mentions",
    "time_to_alert_seconds",
    "time_to_acknowledge_seconds",
    "time_to_listening_seconds",
    "resolved_at",
)


def incident_report(session: Session, settings: Settings, filters: ReportFilters) -> list[IncidentRow]:
    """Incidents opened in the date range, oldest first, with their times to alert and to listen."""
    start, end = utc_range(filters, settings.general.timezone)
    incidents = session.scalars(
        select(Incident)
        .where(Incident.opened_at >= start, Incident.opened_at < end)
        .order_by(Incident.opened_at, Incident.id)
    )
    return [
        IncidentRow(
            id=i.id,
            subject=i.subject,
            level=i.level,
            status=i.status,
            opened_at=i.opened_at,
            first_alert_at=i.first_alert_at,
            listening_message_at=i.listening_message_at,
            acknowledged_at=i.acknowledged_at,
            resolved_at=i.resolved_at,
            mentions=i.mentions_count,
        )
        for i in incidents
    ]


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
    if _uses_items(filters):
        stmt = stmt.where(QueueItem.id.is_not(None))
    stmt = _filtered(session, stmt, filters, settings.general.timezone, items=_uses_items(filters))
    if label is not None:
        stmt = stmt.where(Score.label == label)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [MentionRow(*row) for row in session.execute(stmt)]


def count_mentions(
    session: Session, settings: Settings, filters: ReportFilters, *, label: str | None = None
) -> int:
    stmt = select(func.count()).select_from(Mention).outerjoin(Score, Score.mention_id == Mention.id)
    if _uses_items(filters):
        stmt = stmt.join(QueueItem, QueueItem.mention_id == Mention.id)
    stmt = _filtered(session, stmt, filters, settings.general.timezone, items=_uses_items(filters))
    if label is not None:
        stmt = stmt.where(Score.label == label)
    return int(session.scalar(stmt) or 0)


# --- choices for the filter form ---------------------------------------------------------


@dataclass
class FilterChoices:
    platforms: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    accounts: list[tuple[str, str]] = field(default_factory=list)  # (key, label)
    agents: list[tuple[str, str]] = field(default_factory=list)


def filter_choices(session: Session, settings: Settings, filters: ReportFilters) -> FilterChoices:
    """What the filter menus offer: the sources seen in the date range, and every user."""
    start, end = utc_range(filters, settings.general.timezone)
    sources = sorted(
        session.scalars(
            select(Mention.source_key).where(Mention.created_at >= start, Mention.created_at < end).distinct()
        ).all()
    )
    accounts = sorted({account_of(s) for s in sources})
    people = session.execute(select(User.id, User.name).order_by(User.name, User.id)).all()
    return FilterChoices(
        platforms=sorted({s.partition(":")[0] for s in sources}),
        sources=sources,
        accounts=[(a, account_label(a, settings)) for a in accounts],
        agents=[(UNASSIGNED, "Unassigned")] + [(str(uid), name) for uid, name in people],
    )


# --- CSV ---------------------------------------------------------------------------------

# A spreadsheet runs a cell as a formula (CSV injection) when its first character, after the
# spaces, line breaks and invisible characters it trims, is one of these; full-width forms
# count too, as Excel and LibreOffice fold them to the ASCII ones. Such text cells get a
# leading apostrophe; text that already starts with one (or with a tab, CR or LF) gets one
# too, so reading back is always "drop one leading apostrophe".
_FORMULA_CHARS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
_GUARD_AS_IS = ("'", "\t", "\r", "\n")


def _first_visible(value: str) -> str:
    for ch in value:
        if not (ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf")):
            return ch
    return ""


def csv_text(value: Any) -> Any:
    if isinstance(value, str) and (value.startswith(_GUARD_AS_IS) or _first_visible(value) in _FORMULA_CHARS):
        return "'" + value
    return value


def csv_cells(row: dict[str, Any], columns: Sequence[str]) -> list[Any]:
    """One CSV row: None is an empty cell, text is guarded against formulas."""
    return ["" if row.get(c) is None else csv_text(row.get(c)) for c in columns]


def write_csv(out: IO[str], columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    """Rows (dicts) as CSV with a header."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(csv_cells(row, columns))


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
