"""Ingest: store what a connector found, score it, and open queue items — in one transaction.

Mentions and the source's new checkpoint are written together, so a crash can neither
lose a post (checkpoint moved, mentions not stored) nor store one twice (the unique key
on platform + external id turns a repeat into a counted duplicate). Inserts go through
SQLAlchemy Core in batches: on a busy day this is the hot path. The statements name the
tables, not the mapped classes: given a class, the session takes its ORM bulk path, which
``bench/pipeline.py`` measured at more per row than the SQL itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, select, tuple_, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from connectors.base import Mention
from listener.intake.scoring_pool import ScoringPool
from listener.queue.business_hours import BusinessClock
from listener.settings import SlaSettings
from listener.store.db import upsert_insert
from listener.store.models import Author, Checkpoint, Conversation, QueueItem, Score, Source
from listener.store.models import Mention as MentionRow
from listener.store.types import utcnow
from triage.model import MentionInput
from triage.model import Score as TriageScore

log = logging.getLogger(__name__)

# Kinds that are for listening only: nobody answers a news article.
LISTEN_ONLY_KINDS = frozenset({"news"})
BATCH = 500
MENTIONS: Table = MentionRow.__table__  # type: ignore[assignment]
SCORES: Table = Score.__table__  # type: ignore[assignment]
ITEMS: Table = QueueItem.__table__  # type: ignore[assignment]
AUTHORS: Table = Author.__table__  # type: ignore[assignment]
CONVERSATIONS: Table = Conversation.__table__  # type: ignore[assignment]


class Scorer(Protocol):
    def score(self, m: MentionInput) -> TriageScore: ...


@dataclass
class TriageStage:
    """What ingest needs from triage: a scorer, a topic function, and the SLA rules for due times.

    With a ``pool``, a large enough batch is scored on several cores.
    """

    scorer: Scorer
    topic_of: Callable[[str, str | None], str | None]
    sla: SlaSettings
    clock: BusinessClock
    media_handles: frozenset[str] = frozenset()
    pool: ScoringPool | None = None

    def score_all(self, mentions: Sequence[MentionInput]) -> list[TriageScore]:
        if self.pool is not None and len(mentions) >= self.pool.min_batch:
            try:
                return self.pool.score_all(mentions)
            except BrokenProcessPool:
                log.warning("a scoring process died; this batch is scored in the worker's own process")
        return [self.scorer.score(m) for m in mentions]


@dataclass
class Ingested:
    """One newly stored mention, as the crisis monitor and the caller need it."""

    id: int
    mention: Mention
    score: TriageScore
    queue_item_id: int | None


@dataclass
class IngestResult:
    new: list[Ingested] = field(default_factory=list)
    duplicates: int = 0

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "duplicates": self.duplicates}


def needs_reply(m: Mention) -> bool:
    return not (m.is_own or m.is_repost or m.kind in LISTEN_ONLY_KINDS)


def to_input(m: Mention) -> MentionInput:
    return MentionInput(
        text=m.text,
        platform=m.platform,
        kind=m.kind,
        author_handle=m.author.handle,
        author_followers=m.author.followers,
        reposts=int(m.metrics.get("reposts", 0) or 0),
        url=m.url,
        created_at=m.created_at,
    )


def ingest(
    session: Session,
    mentions: Sequence[Mention],
    stage: TriageStage,
    *,
    source_key: str | None = None,
    checkpoint: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Store, score and queue ``mentions``; record ``checkpoint`` for ``source_key`` in the same transaction.

    The caller owns the transaction (commit or roll back as one unit). Repeats within the
    batch and against the store count as duplicates and change nothing.
    """
    now = now or utcnow()
    result = IngestResult()
    unique: dict[tuple[str, str], Mention] = {}
    for m in mentions:
        key = (m.platform, m.external_id)
        if key in unique:
            result.duplicates += 1
        else:
            unique[key] = m
    batch = list(unique.values())
    for start in range(0, len(batch), BATCH):
        _ingest_batch(session, batch[start : start + BATCH], stage, now, result)
    if source_key is not None and checkpoint is not None:
        _save_checkpoint(session, source_key, checkpoint, now, len(result.new))
    return result


# What a database raises for one value it cannot hold (too long, a character it refuses).
REFUSALS = (DataError, IntegrityError, UnicodeEncodeError)


def ingest_or_skip_refused(
    session: Session,
    mentions: Sequence[Mention],
    stage: TriageStage,
    *,
    source_key: str | None = None,
    checkpoint: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[IngestResult, list[str]]:
    """``ingest``; if the database refuses the batch, store its mentions one by one and skip the refused.

    Returns the result and one reason per refused mention. Without this, one post the database
    cannot hold would fail its whole batch for ever: a poll could never move its checkpoint
    past it, and an import would store nothing.
    """
    log_key = source_key or "import"
    try:
        with session.begin_nested():
            return ingest(session, mentions, stage, source_key=source_key, checkpoint=checkpoint, now=now), []
    except REFUSALS:
        log.exception("%s: the database refused the batch; storing its posts one by one", log_key)
    result, refused = IngestResult(), []
    for mention in mentions:
        try:
            with session.begin_nested():
                one = ingest(session, [mention], stage, now=now)
        except REFUSALS as exc:
            why = type(getattr(exc, "orig", None) or exc).__name__
            refused.append(f"{mention.platform} {mention.external_id[:64]}: {why}")
            continue
        result.new.extend(one.new)
        result.duplicates += one.duplicates
    ingest(session, [], stage, source_key=source_key, checkpoint=checkpoint, now=now)
    return result, refused


def _ingest_batch(
    session: Session, batch: list[Mention], stage: TriageStage, now: datetime, result: IngestResult
) -> None:
    fresh = _not_stored(session, batch)
    result.duplicates += len(batch) - len(fresh)
    if not fresh:
        return
    ids = _insert_mentions(session, fresh, stage, now)
    result.duplicates += len(fresh) - len(ids)
    stored = [(ids[(m.platform, m.external_id)], m) for m in fresh if (m.platform, m.external_id) in ids]
    result.new.extend(_score_and_queue(session, stored, stage, now))


def _not_stored(session: Session, batch: list[Mention]) -> list[Mention]:
    keys = [(m.platform, m.external_id) for m in batch]
    existing = set(
        session.execute(
            select(MENTIONS.c.platform, MENTIONS.c.external_id).where(
                tuple_(MENTIONS.c.platform, MENTIONS.c.external_id).in_(keys)
            )
        ).tuples()
    )
    return [m for m in batch if (m.platform, m.external_id) not in existing]


def _insert_mentions(
    session: Session, fresh: list[Mention], stage: TriageStage, now: datetime
) -> dict[tuple[str, str], int]:
    """Insert the mentions (with their authors and threads); the ids of those this call stored."""
    author_ids = _upsert_authors(session, fresh, stage.media_handles)
    conversation_ids = _upsert_conversations(session, fresh, now)
    rows = [
        {
            "platform": m.platform,
            "external_id": m.external_id,
            "source_key": m.source,
            "kind": m.kind,
            "author_id": author_ids[(m.platform, m.author.id)],
            "conversation_id": conversation_ids[(m.platform, thread_key(m))],
            "text": m.text,
            "text_note": m.text_note,
            "url": m.url,
            "in_reply_to": m.in_reply_to,
            "lang": m.lang,
            "metrics": m.metrics,
            "is_own": m.is_own,
            "is_repost": m.is_repost,
            "raw": m.raw,
            "created_at": m.created_at,
            "received_at": now,
        }
        for m in fresh
    ]
    # Another worker may have stored some of these since the SELECT: DO NOTHING keeps them single.
    stmt = upsert_insert(session, MENTIONS).on_conflict_do_nothing(index_elements=["platform", "external_id"])
    inserted = session.execute(
        stmt.returning(MENTIONS.c.id, MENTIONS.c.platform, MENTIONS.c.external_id), rows
    ).all()
    return {(platform, external_id): mid for mid, platform, external_id in inserted}


def _score_and_queue(
    session: Session, stored: list[tuple[int, Mention]], stage: TriageStage, now: datetime
) -> list[Ingested]:
    """Score each newly stored mention and open a queue item for those that need a reply."""
    score_rows, item_rows, new = [], [], []
    scores = stage.score_all([to_input(m) for _, m in stored])
    for (mention_id, m), score in zip(stored, scores, strict=True):
        score.topic = stage.topic_of(m.text, m.url)
        score_rows.append(score_row(mention_id, score))
        if needs_reply(m):
            due = stage.clock.add(m.created_at, stage.sla.target_minutes(score.priority))
            item_rows.append(
                {
                    "mention_id": mention_id,
                    "status": "new",
                    "priority": score.priority,
                    "due_at": due,
                    "created_at": now,
                }
            )
        new.append(Ingested(id=mention_id, mention=m, score=score, queue_item_id=None))
    if score_rows:
        session.execute(upsert_insert(session, SCORES), score_rows)
    if item_rows:
        created = session.execute(
            upsert_insert(session, ITEMS).returning(ITEMS.c.id, ITEMS.c.mention_id), item_rows
        ).all()
        by_mention = {mention_id: item_id for item_id, mention_id in created}
        for entry in new:
            entry.queue_item_id = by_mention.get(entry.id)
    return new


def thread_key(m: Mention) -> str:
    return m.conversation_id or m.in_reply_to or m.external_id


def _upsert_authors(session: Session, batch: Iterable[Mention], media_handles: frozenset[str]) -> dict:
    latest: dict[tuple[str, str], Mention] = {}
    for m in batch:
        latest[(m.platform, m.author.id)] = m  # the newest profile wins (followers grow)
    rows = [
        {
            "platform": platform,
            "external_id": author_id,
            "handle": m.author.handle,
            "name": m.author.name,
            "followers": m.author.followers,
            "verified": m.author.verified,
            "is_media": m.author.handle.lower() in media_handles or m.kind == "news",
        }
        for (platform, author_id), m in latest.items()
    ]
    stmt = upsert_insert(session, AUTHORS)
    stmt = stmt.on_conflict_do_update(
        index_elements=["platform", "external_id"],
        set_={
            "handle": stmt.excluded.handle,
            "name": stmt.excluded.name,
            "followers": stmt.excluded.followers,
        },
        # An anonymised author stays anonymous (retention): do not write their profile back.
        where=AUTHORS.c.anonymised_at.is_(None),
    )
    found = session.execute(
        stmt.returning(AUTHORS.c.id, AUTHORS.c.platform, AUTHORS.c.external_id), rows
    ).all()
    ids = {(platform, external_id): aid for aid, platform, external_id in found}
    # An anonymised author's row was left alone, so RETURNING skipped it: look those up.
    missing = [key for key in latest if key not in ids]
    if missing:
        ids.update(
            ((platform, external_id), aid)
            for aid, platform, external_id in session.execute(
                select(AUTHORS.c.id, AUTHORS.c.platform, AUTHORS.c.external_id).where(
                    tuple_(AUTHORS.c.platform, AUTHORS.c.external_id).in_(missing)
                )
            )
        )
    return ids


def _upsert_conversations(session: Session, batch: Iterable[Mention], now: datetime) -> dict:
    keys = {(m.platform, thread_key(m)) for m in batch}
    rows = [{"platform": p, "thread_key": k, "created_at": now, "last_activity_at": now} for p, k in keys]
    stmt = upsert_insert(session, CONVERSATIONS)
    found = session.execute(
        stmt.on_conflict_do_update(
            index_elements=["platform", "thread_key"],
            set_={"last_activity_at": stmt.excluded.last_activity_at},
        ).returning(CONVERSATIONS.c.id, CONVERSATIONS.c.platform, CONVERSATIONS.c.thread_key),
        rows,
    ).all()
    return {(platform, key): cid for cid, platform, key in found}


def score_row(mention_id: int, score: TriageScore) -> dict[str, Any]:
    """The scores-table row for ``score`` (the benchmarks seed stores with it too)."""
    return {
        "mention_id": mention_id,
        "compound": score.compound,
        "pos": score.pos,
        "neg": score.neg,
        "neu": score.neu,
        "label": score.label,
        "emotive": score.emotive,
        "legal_terms": score.legal_terms,
        "media": score.media,
        # Where personal data sits and what kind it is — never the value itself.
        "personal_data": [{"kind": f.kind, "start": f.start, "end": f.end} for f in score.personal_data],
        "is_question": score.is_question,
        "is_complaint": score.is_complaint,
        "is_compliment": score.is_compliment,
        "abusive": score.abusive,
        "topic": score.topic,
        "reach": score.reach,
        "priority": score.priority,
        "reasons": score.reasons,
    }


def _save_checkpoint(
    session: Session, source_key: str, cursor: dict[str, Any], now: datetime, count: int
) -> None:
    source_id = session.scalar(select(Source.id).where(Source.key == source_key))
    if source_id is None:
        raise LookupError(f"unknown source {source_key!r}")
    stmt = upsert_insert(session, Checkpoint)
    values = {
        "cursor": cursor,
        "last_poll_at": now,
        "last_success_at": now,
        "last_error": None,
        "retry_at": None,
        "last_count": count,
    }
    session.execute(
        stmt.values(source_id=source_id, **values).on_conflict_do_update(
            index_elements=["source_id"], set_=values
        )
    )
    session.execute(update(Source).where(Source.id == source_id).values(polls=Source.polls + 1))
