"""SLA pre-breach warnings: tell the leads about unanswered items shortly before they are due.

Each item is warned about once (``QueueItem.sla_warned_at``); one run makes one alert
listing every item that came due for a warning, so a backlog is one message, not fifty.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import joinedload

from listener.incidents.alerts import queue_alert, quote
from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.models import Mention, QueueItem
from listener.store.types import utcnow

OPEN_STATUSES = ("new", "claimed")
LISTED = 20  # items named in one message; the rest are counted


def warn_due_items(engine: Engine, settings: Settings, *, now: datetime | None = None) -> int:
    """Queue one warning for the open items due within ``sla.warn_before_minutes``; returns how many.

    ``warn_before_minutes = 0`` switches the warnings off.
    """
    now = now or utcnow()
    minutes = settings.sla.warn_before_minutes
    if minutes <= 0:
        return 0
    with write_transaction(engine) as session:
        items = session.scalars(
            select(QueueItem)
            .options(
                joinedload(QueueItem.mention).joinedload(Mention.author),
                joinedload(QueueItem.mention).joinedload(Mention.score),
            )
            .where(
                QueueItem.status.in_(OPEN_STATUSES),
                QueueItem.first_response_at.is_(None),
                QueueItem.sla_warned_at.is_(None),
                QueueItem.due_at <= now + timedelta(minutes=minutes),
            )
            .order_by(QueueItem.due_at, QueueItem.id)
        ).all()
        if not items:
            return 0
        base = settings.general.base_url.rstrip("/")
        lines = [_line(item, now, base) for item in items[:LISTED]]
        if len(items) > LISTED:
            lines.append(f"... and {len(items) - LISTED} more: {base}/queue")
        breached = sum(1 for item in items if item.due_at <= now)
        title = f"SLA: {len(items)} item{'s' if len(items) != 1 else ''} due within {minutes} minutes"
        if breached:
            title += f" ({breached} already late)"
        queue_alert(
            session,
            kind="sla_warning",
            audience="leads",
            title=title,
            body="These items have no first response yet:\n\n" + "\n".join(lines),
            dedupe_key=f"sla:{now.isoformat()}:{items[0].id}:{len(items)}",
            now=now,
        )
        for item in items:
            item.sla_warned_at = now
        return len(items)


def _line(item: QueueItem, now: datetime, base: str) -> str:
    left = int((item.due_at - now).total_seconds() // 60)
    when = f"due in {left} min" if left >= 0 else f"{-left} min late"
    mention = item.mention
    excerpt = quote(mention.text, mention.score.personal_data if mention.score else (), limit=80)
    who = f"@{mention.author.handle}" if mention.author.handle else mention.platform
    return (
        f"- #{item.id} P{item.priority} {when} — {mention.platform} {who}: {excerpt} ({base}/items/{item.id})"
    )
