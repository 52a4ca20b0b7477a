"""The reply queue: views (tabs) with filters and keyset paging, counts, claiming and who is viewing.

Claims are one conditional UPDATE whose row count decides: when two people claim the same
item at once exactly one row changes, and the other is told who holds it. Lists page by
keyset (priority, due time, id) on the queue's index, never by OFFSET, and tab counts stop
at a cap, so a refresh costs the same with a thousand items or a million.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, CursorResult, Select, and_, case, func, select, tuple_, update
from sqlalchemy.orm import Session, aliased

from listener.accounts.users import has_role
from listener.queue import inbox
from listener.queue.search import mention_matches
from listener.store import audit
from listener.store.db import upsert_insert
from listener.store.leases import JOB_PLATFORM
from listener.store.models import (
    Author,
    Incident,
    ItemView,
    Mention,
    QueueItem,
    Reply,
    Score,
    Source,
    User,
)

OPEN_STATUSES = ("new", "claimed")
CLOSED_STATUSES = ("replied", "closed", "no_reply_needed")
TABS = {
    "new": "New",
    "mine": "Mine",
    "unassigned": "Unassigned",
    "approval": "Waiting approval",
    "returned": "Returned to me",
    "crisis": "Crisis",
    "closed": "Closed",
}
DUE_CHOICES = {"overdue": "Overdue", "soon": "Due soon", "today": "Due today"}
SENTIMENTS = ("negative", "neutral", "positive")
PRIORITIES = {1: "Urgent", 2: "High", 3: "Normal", 4: "Low"}
COUNT_CAP = 999
PAGE_SIZE = 50
VIEWING_SECONDS = 45  # a viewer's page refreshes its presence every 15 s: three misses and they are gone


class QueueError(Exception):
    """A queue action that cannot be done; ``str(exc)`` is the message for the person."""


class ItemNotFound(QueueError):
    def __init__(self, item_id: int) -> None:
        super().__init__(f"There is no queue item {item_id}.")
        self.item_id = item_id


class ClaimConflict(QueueError):
    """Someone else holds the item."""

    def __init__(self, holder: User | None) -> None:
        name = holder.name if holder is not None else "someone else"
        super().__init__(f"Already claimed by {name}.")
        self.holder = holder


class NotOpen(QueueError):
    def __init__(self, status: str) -> None:
        super().__init__(f"This item is {status.replace('_', ' ')}: it can no longer be claimed.")
        self.status = status


class NotAllowedAction(QueueError):
    pass


@dataclass(frozen=True)
class QueueFilters:
    platform: str | None = None
    source: str | None = None
    sentiment: str | None = None
    priority: int | None = None
    due: str | None = None  # overdue | soon | today
    incident: int | None = None
    search: str | None = None  # words the post must contain (full-text, listener.queue.search)

    def as_query(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass
class QueueRow:
    item: QueueItem
    mention: Mention
    author: Author
    score: Score | None
    assignee: User | None
    reply_status: str | None = None


@dataclass
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None
    tab: str
    filters: QueueFilters = field(default_factory=QueueFilters)


def _update(session: Session, statement: Any) -> CursorResult[Any]:
    """Run an UPDATE; its row count says whether the condition held (who won a claim)."""
    return cast(CursorResult[Any], session.execute(statement))


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


# Largest id either database holds in an integer column (PostgreSQL's int4); larger ones overflow drivers.
_MAX_ID = 2**31 - 1


def _cursor_int(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError("out of range")
    return value


def decode_cursor(cursor: str, tab: str) -> tuple[Any, ...] | None:
    """The keyset position, or None for a cursor that is not ours (treated as the first page).

    A cursor comes back from the browser, so anyone can craft one: every value is checked
    to be one a page could have written (ids in range, an aware time that exists in UTC).
    """
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if tab == "closed":
            (item_id,) = raw
            return (_cursor_int(item_id, 1, _MAX_ID),)
        priority, due_at, item_id = raw
        due = datetime.fromisoformat(due_at)
        if due.tzinfo is None:
            return None
        due = due.astimezone(UTC)
        return _cursor_int(priority, -100, 100), due, _cursor_int(item_id, 1, _MAX_ID)
    except (ValueError, TypeError, OverflowError):
        return None


def _open_incident_ids() -> Select[Any]:
    return select(Incident.id).where(Incident.status != "resolved")


def _tab_condition(tab: str, user: User) -> ColumnElement[bool]:
    if tab == "new":
        return and_(QueueItem.status == "new", QueueItem.claimed_at.is_(None))
    if tab == "unassigned":
        return QueueItem.status == "new"
    if tab == "mine":
        return and_(QueueItem.assignee_id == user.id, QueueItem.status.in_(OPEN_STATUSES))
    if tab == "approval":
        return QueueItem.id.in_(select(Reply.queue_item_id).where(Reply.status == "pending_approval"))
    if tab == "returned":
        returned = select(Reply.queue_item_id).where(inbox.returned_replies(user))
        return and_(QueueItem.status.in_(OPEN_STATUSES), QueueItem.id.in_(returned))
    if tab == "crisis":
        return and_(QueueItem.status.in_(OPEN_STATUSES), QueueItem.incident_id.in_(_open_incident_ids()))
    if tab == "closed":
        # "Not open" rather than "IN (closed statuses)": no index serves the closed statuses in id order,
        # so the planner walks the primary key newest first and stops at the page's end.
        return QueueItem.status.not_in(OPEN_STATUSES)
    raise ValueError(f"unknown tab {tab!r}")


def _filter_conditions(
    filters: QueueFilters, now: datetime, warn_minutes: int, timezone: str
) -> list[ColumnElement[bool]]:
    # Conditions on the mention and its score are correlated EXISTS on the queue item: the planner then
    # keeps walking queue_items in page order (an index or the primary key) and stops at the page's end,
    # instead of scanning a million scores and sorting what matches.
    conditions: list[ColumnElement[bool]] = []
    mention, score = aliased(Mention), aliased(Score)
    mention_terms = []
    if filters.platform:
        mention_terms.append(mention.platform == filters.platform)
    if filters.source:
        mention_terms.append(mention.source_key == filters.source)
    if mention_terms:
        conditions.append(
            select(mention.id).where(mention.id == QueueItem.mention_id, *mention_terms).exists()
        )
    if filters.sentiment:
        conditions.append(
            select(score.mention_id)
            .where(score.mention_id == QueueItem.mention_id, score.label == filters.sentiment)
            .exists()
        )
    if filters.search:
        conditions.append(mention_matches(QueueItem.mention_id, filters.search))
    if filters.priority:
        conditions.append(QueueItem.priority == filters.priority)
    if filters.incident:
        conditions.append(QueueItem.incident_id == filters.incident)
    if filters.due == "overdue":
        conditions.append(QueueItem.due_at <= now)
    elif filters.due == "soon":
        conditions.append(
            and_(QueueItem.due_at > now, QueueItem.due_at <= now + timedelta(minutes=warn_minutes))
        )
    elif filters.due == "today":
        conditions.append(QueueItem.due_at <= end_of_day(now, timezone))
    return conditions


def end_of_day(now: datetime, zone: str) -> datetime:
    local = now.astimezone(ZoneInfo(zone))
    return (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).astimezone(
        now.tzinfo
    )


def list_items(
    session: Session,
    *,
    tab: str,
    user: User,
    filters: QueueFilters,
    now: datetime,
    warn_minutes: int = 30,
    after: str | None = None,
    limit: int = PAGE_SIZE,
    timezone: str = "Europe/London",
) -> QueuePage:
    """One page of a tab: open tabs by priority then due time; closed newest first."""
    stmt = (
        select(QueueItem, Mention, Author, Score, User)
        .join(Mention, Mention.id == QueueItem.mention_id)
        .join(Author, Author.id == Mention.author_id)
        .outerjoin(Score, Score.mention_id == Mention.id)
        .outerjoin(User, User.id == QueueItem.assignee_id)
        .where(_tab_condition(tab, user), *_filter_conditions(filters, now, warn_minutes, timezone))
    )
    position = decode_cursor(after, tab) if after else None
    if tab == "closed":
        if position is not None:
            stmt = stmt.where(QueueItem.id < position[0])
        stmt = stmt.order_by(QueueItem.id.desc())
    else:
        if position is not None:
            stmt = stmt.where(tuple_(QueueItem.priority, QueueItem.due_at, QueueItem.id) > tuple_(*position))
        stmt = stmt.order_by(QueueItem.priority, QueueItem.due_at, QueueItem.id)
    found = session.execute(stmt.limit(limit + 1)).all()
    rows = [QueueRow(item=i, mention=m, author=a, score=s, assignee=u) for i, m, a, s, u in found[:limit]]
    _attach_reply_status(session, rows)
    next_cursor = None
    if len(found) > limit:
        last = rows[-1].item
        next_cursor = encode_cursor([last.id] if tab == "closed" else [last.priority, last.due_at, last.id])
    return QueuePage(rows=rows, next_cursor=next_cursor, tab=tab, filters=filters)


def _attach_reply_status(session: Session, rows: list[QueueRow]) -> None:
    """The latest reply's status per item (one query for the page)."""
    if not rows:
        return
    ids = [r.item.id for r in rows]
    latest = (
        select(Reply.queue_item_id, func.max(Reply.id).label("rid"))
        .where(Reply.queue_item_id.in_(ids))
        .group_by(Reply.queue_item_id)
        .subquery()
    )
    statuses: dict[int, str] = dict(
        session.execute(
            select(latest.c.queue_item_id, Reply.status).join(Reply, Reply.id == latest.c.rid)
        ).all()
    )
    for row in rows:
        row.reply_status = statuses.get(row.item.id)


def tab_counts(
    session: Session, *, user: User, now: datetime, warn_minutes: int = 30, cap: int = COUNT_CAP
) -> dict[str, int]:
    """Items per tab (whatever filters the list shows), each up to ``cap + 1`` (shown as "999+").

    One statement: the four open tabs are counted in one pass over the open items
    (``count(*) FILTER``), which the partial index ``ix_queue_open_tabs`` holds, so the work
    grows with the open backlog, never with the store. Waiting-approval counts its items
    from the replies waiting (a handful), and closed stops at the cap.
    """
    row = session.execute(counts_statement(user=user, cap=cap)).one()
    return {tab: min(int(row._mapping[tab] or 0), cap + 1) for tab in TABS}


def counts_statement(*, user: User, cap: int = COUNT_CAP) -> Select[Any]:
    """The statement ``tab_counts`` runs, one column per tab."""
    open_tabs = ("new", "mine", "unassigned", "crisis")
    open_pass = (
        select(*(func.count().filter(_within_open(tab, user)).label(tab) for tab in open_tabs))
        .where(QueueItem.status.in_(OPEN_STATUSES))
        .subquery()
    )
    waiting = select(func.count(func.distinct(Reply.queue_item_id))).where(Reply.status == "pending_approval")
    capped = {
        tab: select(func.count()).select_from(
            select(QueueItem.id).where(_tab_condition(tab, user)).limit(cap + 1).subquery()
        )
        for tab in ("returned", "closed")  # returned: a handful of the user's items; closed: the cap
    }
    columns = {
        **{tab: open_pass.c[tab] for tab in open_tabs},
        "approval": waiting.scalar_subquery().label("approval"),
        **{tab: statement.scalar_subquery().label(tab) for tab, statement in capped.items()},
    }
    return select(*(columns[tab] for tab in TABS))


def _within_open(tab: str, user: User) -> ColumnElement[bool]:
    """A tab's condition on a row already known to be open (``status IN OPEN_STATUSES``)."""
    if tab == "new":
        return and_(QueueItem.status == "new", QueueItem.claimed_at.is_(None))
    if tab == "unassigned":
        return QueueItem.status == "new"
    if tab == "mine":
        return QueueItem.assignee_id == user.id
    if tab == "crisis":
        return QueueItem.incident_id.in_(_open_incident_ids())
    raise ValueError(f"{tab!r} is not an open tab")


def newest_in_tab(
    session: Session,
    *,
    tab: str,
    user: User,
    filters: QueueFilters,
    now: datetime,
    seen: int | None,
    warn_minutes: int = 30,
    timezone: str = "Europe/London",
) -> tuple[int | None, int]:
    """The newest item id in the tab (with its filters), and how many items are newer than ``seen``.

    A watched tab announces what arrived since the page last looked (the live region).
    """
    where = [_tab_condition(tab, user), *_filter_conditions(filters, now, warn_minutes, timezone)]
    newest = session.scalar(select(func.max(QueueItem.id)).where(*where))
    if seen is None or newest is None or newest <= seen:
        return newest, 0
    newer = select(QueueItem.id).where(*where, QueueItem.id > seen).limit(COUNT_CAP + 1).subquery()
    return newest, int(session.scalar(select(func.count()).select_from(newer)) or 0)


def filter_choices(session: Session) -> dict[str, list[Any]]:
    """Values the filter menus offer: configured sources and open incidents."""
    sources = session.scalars(
        select(Source.key).where(Source.platform != JOB_PLATFORM).order_by(Source.key)
    ).all()
    incidents = session.execute(
        select(Incident.id, Incident.subject).where(Incident.status != "resolved").order_by(Incident.id)
    ).all()
    return {"sources": list(sources), "incidents": [(i, s) for i, s in incidents]}


def get_item(session: Session, item_id: int) -> QueueItem:
    item = session.get(QueueItem, item_id)
    if item is None:
        raise ItemNotFound(item_id)
    return item


def claim(session: Session, *, item_id: int, user: User, now: datetime) -> QueueItem:
    """Take an unassigned open item. Exactly one of several concurrent claims wins.

    Claiming an item you already hold is a no-op. Raises ``ClaimConflict`` (naming the
    holder), ``NotOpen`` or ``ItemNotFound``.
    """
    result = _update(
        session,
        update(QueueItem)
        .where(
            QueueItem.id == item_id,
            QueueItem.assignee_id.is_(None),
            QueueItem.status.in_(OPEN_STATUSES),
        )
        .values(assignee_id=user.id, status="claimed", claimed_at=now, version=QueueItem.version + 1)
        .execution_options(synchronize_session=False),
    )
    item = session.get(QueueItem, item_id, populate_existing=True)
    if item is None:
        raise ItemNotFound(item_id)
    if result.rowcount == 1:
        audit.record(
            session,
            actor=user,
            action="item.claim",
            object_type="queue_item",
            object_id=item_id,
            after={"assignee": user.email},
        )
        return item
    if item.assignee_id == user.id and item.status in OPEN_STATUSES:
        return item
    if item.status not in OPEN_STATUSES:
        raise NotOpen(item.status)
    raise ClaimConflict(session.get(User, item.assignee_id) if item.assignee_id else None)


def release(session: Session, *, item_id: int, user: User, now: datetime) -> QueueItem:
    """Give an item back to the queue. The holder can; so can a lead or above."""
    item = get_item(session, item_id)
    if item.assignee_id is None:
        return item
    if item.assignee_id != user.id and not has_role(user, "lead"):
        raise NotAllowedAction("Only the person who claimed this item, or a lead, can release it.")
    before = {"assignee_id": item.assignee_id}
    result = _update(
        session,
        update(QueueItem)
        .where(QueueItem.id == item_id, QueueItem.assignee_id == item.assignee_id)
        .values(
            assignee_id=None,
            status=_status_after_release(),
            version=QueueItem.version + 1,
        )
        .execution_options(synchronize_session=False),
    )
    item = session.get_one(QueueItem, item_id, populate_existing=True)
    if result.rowcount == 1:
        audit.record(
            session,
            actor=user,
            action="item.release",
            object_type="queue_item",
            object_id=item_id,
            before=before,
            after={"assignee_id": None},
        )
    return item


def _status_after_release() -> Any:
    """A released open item goes back to ``new``; a closed one keeps its status."""
    return case((QueueItem.status == "claimed", "new"), else_=QueueItem.status)


def assign(session: Session, *, item_id: int, assignee: User, actor: User, now: datetime) -> QueueItem:
    """Give an open item to someone. Leads assign any item; others only hand on what they hold."""
    item = get_item(session, item_id)
    if item.status not in OPEN_STATUSES:
        raise NotOpen(item.status)
    if not assignee.active:
        raise NotAllowedAction(f"{assignee.name} has been disabled and cannot take items.")
    is_lead = has_role(actor, "lead")
    if not is_lead and item.assignee_id not in (None, actor.id):
        raise ClaimConflict(session.get(User, item.assignee_id) if item.assignee_id else None)
    before = {"assignee_id": item.assignee_id}
    holder_condition = (
        QueueItem.assignee_id.is_(None)
        if item.assignee_id is None
        else (QueueItem.assignee_id == item.assignee_id)
    )
    result = _update(
        session,
        update(QueueItem)
        .where(QueueItem.id == item_id, holder_condition, QueueItem.status.in_(OPEN_STATUSES))
        .values(assignee_id=assignee.id, status="claimed", claimed_at=now, version=QueueItem.version + 1)
        .execution_options(synchronize_session=False),
    )
    item = session.get_one(QueueItem, item_id, populate_existing=True)
    if result.rowcount != 1:
        # Someone claimed or released it between our read and our write: say who holds it now.
        raise ClaimConflict(session.get(User, item.assignee_id) if item.assignee_id else None)
    audit.record(
        session,
        actor=actor,
        action="item.assign",
        object_type="queue_item",
        object_id=item_id,
        before=before,
        after={"assignee_id": assignee.id, "assignee": assignee.email},
    )
    return item


def record_view(session: Session, *, item_id: int, user: User, now: datetime) -> None:
    """Note that ``user`` has the item open (an upsert: one row per item and person)."""
    insert = upsert_insert(session, ItemView)
    session.execute(
        insert.values(queue_item_id=item_id, user_id=user.id, seen_at=now).on_conflict_do_update(
            index_elements=["queue_item_id", "user_id"], set_={"seen_at": now}
        )
    )


def viewers(session: Session, *, item_id: int, now: datetime, exclude: User | None = None) -> list[User]:
    """People who have had the item open in the last ``VIEWING_SECONDS``."""
    stmt = (
        select(User)
        .join(ItemView, ItemView.user_id == User.id)
        .where(
            ItemView.queue_item_id == item_id,
            ItemView.seen_at >= now - timedelta(seconds=VIEWING_SECONDS),
        )
        .order_by(User.name)
    )
    if exclude is not None:
        stmt = stmt.where(User.id != exclude.id)
    return list(session.scalars(stmt))


def lock_item(session: Session, item: QueueItem) -> QueueItem:
    """Lock the item's row for the rest of the transaction and read it afresh.

    Every write that checks the item's replies first (send, approve, close, the listening
    message to items) takes this lock: on PostgreSQL two requests then run one after the
    other, and the second sees what the first committed. SQLite's write lock does the same.
    """
    return session.get_one(QueueItem, item.id, with_for_update=True, populate_existing=True)


def ensure_holder(session: Session, *, item: QueueItem, user: User, now: datetime) -> QueueItem:
    """The claim rule for acting on an item: reply, close, escalate, hide.

    The item must be open, and held by the person acting; an unassigned one is claimed for
    them on the way. A lead (or above) may act on an item someone else holds. Locks the item.
    """
    item = lock_item(session, item)
    if item.status not in OPEN_STATUSES:
        raise NotOpen(item.status)
    if item.assignee_id == user.id:
        return item
    if item.assignee_id is None:
        claim(session, item_id=item.id, user=user, now=now)
        return session.get_one(QueueItem, item.id, populate_existing=True)
    if not has_role(user, "lead"):
        raise ClaimConflict(session.get(User, item.assignee_id))
    return item


def in_open_incident(session: Session, item: QueueItem) -> Incident | None:
    if item.incident_id is None:
        return None
    incident = session.get(Incident, item.incident_id)
    return incident if incident is not None and incident.status != "resolved" else None


def assignable_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))
