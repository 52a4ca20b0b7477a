"""Retention (Data Protection Act 2018): personal data is kept no longer than settings.retention.days.

Past the period, a mention loses what identifies a person — its text, link and raw platform
payload — and an author whose every mention is past the period loses their handle, name and
platform id. What the reports count stays: scores, priorities, topics, timestamps, queue items,
replies and incidents. The board's own posts are its publications, not personal data: they
keep their text, and the board's own accounts keep their names.

Idempotent: anonymised rows carry ``anonymised_at`` and are never touched again. Work goes in
small transactions so the worker's ingest is not held up behind one long write.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, String, cast, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session

from listener.settings import Settings
from listener.store import audit
from listener.store.db import session_factory, write_transaction
from listener.store.models import Author, Mention
from listener.store.types import utcnow

log = logging.getLogger(__name__)
BATCH = 2000
ANONYMOUS_ID_PREFIX = "anonymised:"


def _mentions_due(cutoff: datetime) -> Any:
    return (Mention.created_at < cutoff) & Mention.anonymised_at.is_(None) & Mention.is_own.is_(False)


def _authors_due(cutoff: datetime) -> Any:
    """Authors not yet anonymised with no mention inside the period and no post of the board's own."""
    keeps = exists().where(
        Mention.author_id == Author.id, or_(Mention.created_at >= cutoff, Mention.is_own.is_(True))
    )
    return Author.anonymised_at.is_(None) & ~keeps


def _count(session: Session, model: Any, condition: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(condition)) or 0)


def _anonymise_in_batches(engine: Engine, model: Any, condition: Any, values: dict[str, Any]) -> int:
    changed = 0
    while True:
        with write_transaction(engine) as session:
            ids = session.scalars(select(model.id).where(condition).limit(BATCH)).all()
            if not ids:
                return changed
            session.execute(update(model).where(model.id.in_(ids)).values(**values))
            changed += len(ids)


def run_retention(
    engine: Engine,
    settings: Settings,
    *,
    dry_run: bool = False,
    older_than_days: int | None = None,
    now: datetime | None = None,
    actor: str = "worker",
) -> dict[str, Any]:
    """Anonymise personal data older than the period; returns what changed (or would, with ``dry_run``)."""
    now = now or utcnow()
    days = settings.retention.days if older_than_days is None else older_than_days
    if days <= 0:
        raise ValueError("the retention period must be at least one day")
    cutoff = now - timedelta(days=days)
    about = {"cutoff": cutoff.isoformat(), "older_than_days": days, "dry_run": dry_run}
    if dry_run:
        with session_factory(engine)() as session:
            summary = {
                "mentions": _count(session, Mention, _mentions_due(cutoff)),
                # Anonymising mentions never changes whether an author is due: count both now.
                "authors": _count(session, Author, _authors_due(cutoff)),
                **about,
            }
        log.info("retention dry run: would anonymise %(mentions)s mentions, %(authors)s authors", summary)
        return summary

    mentions = _anonymise_in_batches(
        engine, Mention, _mentions_due(cutoff), {"text": "", "url": None, "raw": {}, "anonymised_at": now}
    )
    authors = _anonymise_in_batches(
        engine,
        Author,
        _authors_due(cutoff),
        {
            "handle": "",
            "name": "",
            # The platform id names the person too; a later post of theirs starts a new author.
            "external_id": literal(ANONYMOUS_ID_PREFIX) + cast(Author.id, String),
            "anonymised_at": now,
        },
    )
    summary = {"mentions": mentions, "authors": authors, **about}
    with write_transaction(engine) as session:
        audit.record(session, actor=actor, action="retention.run", object_type="retention", after=summary)
    log.info("retention: anonymised %(mentions)s mentions and %(authors)s authors before %(cutoff)s", summary)
    return summary
