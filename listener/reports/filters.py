"""What a report covers: the date range, the filters and groupings, and the choices the filter form offers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session

from connectors.registry import PLATFORM_NAMES
from listener.settings import Settings
from listener.store.models import ItemTag, Mention, QueueItem, User

GROUPINGS = ("agent", "account", "platform", "source", "day", "tag")
# How an item stands against its SLA: the measures a drill-down can ask for.
OUTCOMES = ("within_sla", "breached", "pending", "no_reply_needed")
MEASURES = ("items", "answered", "closed", *OUTCOMES)
LABELS = ("positive", "neutral", "negative")
UNASSIGNED = "unassigned"
UNTAGGED = "untagged"  # the tag group (and filter) of items nobody tagged
OTHER_ACCOUNT = "other"
SETTLED_WITHOUT_REPLY = frozenset({"closed", "no_reply_needed"})


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
    tag: str | None = None  # a tag, or "untagged"

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
        if by == "tag":
            return replace(self, tag=key)
        raise ValueError(f"unknown grouping {by!r}")

    def as_params(self) -> dict[str, str]:
        """Query-string form, for links that keep the filters (drill-downs, CSV downloads)."""
        params = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        for name in ("platform", "source", "account", "agent", "priority", "tag"):
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
ACCOUNT_SOURCES = {
    "x": "x:mentions:",
    "facebook": "facebook:page:",
    "instagram": "instagram:account:",
    "linkedin": "linkedin:organization:",
    "bluesky": "bluesky:mentions:",
}


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
            return f"{name} ({PLATFORM_NAMES.get(platform, platform)} {handle})"
    return account


def filtered(session: Session, stmt: Select, filters: ReportFilters, timezone: str, *, items: bool) -> Select:
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
        if filters.tag is not None:
            tagged = select(ItemTag.id).where(ItemTag.queue_item_id == QueueItem.id)
            if filters.tag == UNTAGGED:
                stmt = stmt.where(~tagged.exists())
            else:
                stmt = stmt.where(tagged.where(ItemTag.tag == filters.tag).exists())
    return stmt


def _agent_id(key: str) -> int:
    try:
        return int(key)
    except ValueError as exc:
        raise ValueError(f"agent must be a user id or {UNASSIGNED!r}, not {key!r}") from exc


def uses_items(filters: ReportFilters) -> bool:
    return filters.agent is not None or filters.priority is not None or filters.tag is not None


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
