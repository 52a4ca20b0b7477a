"""The crisis watch: feeds stored mentions to the crisis monitor and turns its events into incidents.

The monitor (``triage.crisis``) is pure and in memory. This job gives it the mentions stored
since its cursor — kept in the checkpoint of the pseudo-source ``job:crisis``, the row whose
lease makes one worker the crisis leader — in ``created_at`` order, and applies what it says
through ``listener.incidents.lifecycle``. A new leader (a restart, another worker taking over) first
warms a fresh monitor on recent history, so baselines and an episode under way are not
lost; what the monitor says while warming is not news, except that an episode it recognises
maps onto the incident already open for it.

The replay feeds the same object in-process (``observe``/``apply``), without re-reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from listener.errors import UserError
from listener.incidents import lifecycle as incidents
from listener.intake.ingest import Ingested
from listener.settings import Settings
from listener.store import leases
from listener.store.db import session_factory, upsert_insert, write_transaction
from listener.store.models import Author, Checkpoint, Incident, IncidentMention, Mention, Score, Source
from listener.store.types import utcnow
from triage.crisis import CrisisConfig, CrisisEvent, CrisisMonitor, ObservedMention
from triage.model import Score as TriageScore

JOB = "crisis"
READ_BATCH = 5_000
# Ids are taken when a transaction inserts and seen when it commits: on PostgreSQL with several
# workers a lower id can commit after a higher one the cursor has passed. So each step also
# re-reads the ids at or below the cursor received within this window that it has not fed.
REREAD_AT_LEAST = timedelta(minutes=10)
WARM_HOURS = 72  # the volume baseline learns the time of day: a few days of history
WARM_MAX_MENTIONS = 50_000


@dataclass(frozen=True)
class Applied:
    """An event and what it did to the store (``change`` is None when its incident is resolved)."""

    event: CrisisEvent
    change: incidents.IncidentChange | None


def crisis_config(settings: Settings) -> CrisisConfig:
    try:
        return CrisisConfig.model_validate(settings.crisis)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UserError(f"[crisis] {where}: {err['msg']}") from exc


def observed_from_ingest(entry: Ingested) -> ObservedMention:
    m = entry.mention
    return ObservedMention(
        id=str(entry.id),
        created_at=m.created_at,
        text=m.text,
        score=entry.score,
        url=m.url,
        source=m.source,
        author_handle=m.author.handle,
        followers=m.author.followers,
        reposts=int(m.metrics.get("reposts", 0) or 0),
    )


def _observed_row(mention: Mention, author: Author, score: Score | None) -> ObservedMention:
    triage_score = TriageScore(
        compound=score.compound if score else 0.0,
        pos=score.pos if score else 0.0,
        neg=score.neg if score else 0.0,
        neu=score.neu if score else 1.0,
        label=score.label if score else "neutral",
        emotive=score.emotive if score else 0.0,
        legal_terms=list(score.legal_terms) if score else [],
        media=score.media if score else False,
        is_question=score.is_question if score else False,
        is_complaint=score.is_complaint if score else False,
        is_compliment=score.is_compliment if score else False,
        topic=score.topic if score else None,
        reach=score.reach if score else 0,
        priority=score.priority if score else 3,
    )
    return ObservedMention(
        id=str(mention.id),
        created_at=mention.created_at,
        text=mention.text,
        score=triage_score,
        url=mention.url,
        source=mention.source_key,
        author_handle=author.handle,
        followers=author.followers,
        reposts=int((mention.metrics or {}).get("reposts", 0) or 0),
    )


def load_observed(session: Session, where: Any, *, limit: int | None = None, newest: bool = False) -> list:
    """Stored mentions as the monitor sees them, in ``created_at`` order.

    With ``limit``: the first ``limit`` by id (the cursor moves by id, so none is skipped), or
    with ``newest`` the latest ``limit`` by time (warming on recent history).
    """
    order = (Mention.created_at.desc(), Mention.id.desc()) if newest else (Mention.id,)
    stmt = (
        select(Mention, Author, Score)
        .join(Author, Author.id == Mention.author_id)
        .outerjoin(Score, Score.mention_id == Mention.id)
        .where(where)
        .order_by(*order)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [_observed_row(m, a, s) for m, a, s in session.execute(stmt).tuples()]
    return sorted(rows, key=lambda o: (o.created_at, int(o.id)))


def reread_window(settings: Settings) -> timedelta:
    """Longer than a poll can take from its start (its mentions' ``received_at``) to its commit.

    A poll holds its source's lease for ``polling.lease_seconds``; twice that, and never under
    ten minutes, covers a slow fetch and a slow commit.
    """
    return max(REREAD_AT_LEAST, 2 * timedelta(seconds=settings.polling.lease_seconds))


def to_update(event: CrisisEvent, episode_key: str) -> incidents.EpisodeUpdate:
    return incidents.EpisodeUpdate(
        episode_key=episode_key,
        at=event.at,
        level=event.level,
        criteria=list(event.criteria),
        evidence={c: [int(i) for i in ids] for c, ids in event.evidence.items()},
        subject=event.subject,
        topic=event.topic,
        mention_ids=[int(i) for i in event.mention_ids],
        details=dict(event.details),
        why=event.why,
        samples=[int(i) for i in event.samples],
    )


class CrisisWatch:
    """One crisis monitor over the store. ``step`` is the scheduler's unit of work."""

    def __init__(self, engine: Engine, settings: Settings, *, config: CrisisConfig | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.monitor = CrisisMonitor(config or crisis_config(settings))
        self._warmed = False
        # The ids at or below the cursor, received within the re-read window, already fed.
        self._fed: set[int] = set()
        # Monitor keys restart with each monitor: a key maps to the incident it belongs to.
        self._episodes: dict[str, str] = {}

    # -- in-process use (replay, step) -------------------------------------------------------

    def observe(self, mentions: Iterable[ObservedMention]) -> list[CrisisEvent]:
        """Feed mentions (in created_at order), judged once per batch; returns the monitor's events."""
        return self.monitor.observe_batch(mentions)

    def apply(
        self, session: Session, events: Sequence[CrisisEvent], *, now: datetime | None = None
    ) -> list[Applied]:
        """Open, update and alert incidents for the events, in the caller's transaction."""
        done = []
        for event in events:
            key = self._episode_key(session, event)
            change = incidents.apply_update(
                session, self.settings, to_update(event, key), now=now or event.at
            )
            if event.kind == "quiet" and change is not None:
                incident = session.get_one(Incident, change.incident_id)
                incident.summary = {**incident.summary, "monitor_quiet_at": event.at.isoformat()}
                incidents.close_quiet_watch(session, incident.id, event.at)
            done.append(Applied(event, change))
        return done

    def _episode_key(self, session: Session, event: CrisisEvent) -> str:
        key = self._episodes.get(event.incident_key)
        if key is None:
            key = self._existing_episode(session, event) or event.incident_key
            self._episodes[event.incident_key] = key
        return key

    def _existing_episode(self, session: Session, event: CrisisEvent) -> str | None:
        """The incident this episode already has: the same key, or most of the same mentions.

        Keys restart with each monitor, so after a restart an episode under way is known by
        its mentions: any shared with an open incident, or most of them with a resolved one
        (a new episode may share a few with an old one and must not be swallowed by it).
        """
        if session.scalar(select(Incident.id).where(Incident.episode_key == event.incident_key)) is not None:
            return event.incident_key
        ids = [int(i) for i in event.mention_ids]
        if not ids:
            return None
        shared = session.execute(
            select(Incident.episode_key, Incident.status, func.count())
            .join(IncidentMention, IncidentMention.incident_id == Incident.id)
            .where(IncidentMention.mention_id.in_(ids))
            .group_by(Incident.id, Incident.episode_key, Incident.status)
            .order_by(func.count().desc())
        ).all()
        for key, status, count in shared:
            if status != "resolved" or count * 2 >= len(ids):
                return key
        return None

    # -- the scheduled job -------------------------------------------------------------------

    def step(self, now: datetime | None = None) -> list[CrisisEvent]:
        """Feed what was stored since the cursor (and any id that committed behind it), apply the events.

        Time passes to ``now`` only after a batch that was not full: with more to read (a
        backlog after an outage), the monitor's clock stays with the mentions, so the rest
        are not counted as late. Reading and feeding happen outside any write transaction
        (warming can take seconds and must not hold up ingest); the events and the new cursor
        are written together.
        """
        now = now or utcnow()
        with write_transaction(self.engine) as session:
            cursor = int(self._checkpoint(session).cursor.get("mention_id", 0))
        with session_factory(self.engine)() as session:
            recent = self._recent_ids(session, cursor, now)
            if not self._warmed:
                self._warm(session, cursor, now)
                self._fed = recent  # fed by the warm-up, or by the leader before this one
            fresh = load_observed(session, Mention.id > cursor, limit=READ_BATCH)
            missed = sorted(recent - self._fed)[:READ_BATCH]
            late = load_observed(session, Mention.id.in_(missed)) if missed else []
        batch = sorted([*fresh, *late], key=lambda o: (o.created_at, int(o.id)))
        self._fed = (self._fed & recent) | {int(o.id) for o in batch}
        events = self.observe(batch)
        if len(fresh) < READ_BATCH:
            events.extend(self.monitor.tick(now))
        with write_transaction(self.engine) as session:
            self.apply(session, events, now=now)
            checkpoint = self._checkpoint(session)
            if fresh:
                # The batch is the next ids after the cursor: the highest is the new cursor.
                cursor = max([cursor, *(int(m.id) for m in fresh)])
            checkpoint.cursor = {"mention_id": cursor}
            checkpoint.last_success_at = now
            checkpoint.last_count = len(batch)
        return events

    def _recent_ids(self, session: Session, cursor: int, now: datetime) -> set[int]:
        """Ids at or below the cursor received within the re-read window (an index-only read)."""
        since = now - reread_window(self.settings)
        return set(
            session.scalars(select(Mention.id).where(Mention.received_at >= since, Mention.id <= cursor))
        )

    def mark_fed(self, session: Session, up_to_mention_id: int, now: datetime) -> None:
        """Record that mentions up to this id have been fed (the replay feeds them in-process)."""
        checkpoint = self._checkpoint(session)
        cursor = max(int(checkpoint.cursor.get("mention_id", 0)), up_to_mention_id)
        checkpoint.cursor = {"mention_id": cursor}
        checkpoint.last_success_at = now
        self._warmed = True

    def _checkpoint(self, session: Session) -> Checkpoint:
        key = leases.job_key(JOB)
        session.execute(
            upsert_insert(session, Source)
            .values(key=key, platform=leases.JOB_PLATFORM, enabled=False, interval_seconds=60)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        source_id = session.scalar(select(Source.id).where(Source.key == key))
        checkpoint = session.get(Checkpoint, source_id)
        if checkpoint is None:
            checkpoint = Checkpoint(source_id=source_id, cursor={"mention_id": 0}, last_count=0)
            session.add(checkpoint)
            session.flush()
        return checkpoint

    def _warm(self, session: Session, cursor: int, now: datetime) -> None:
        """Replay recent history into the fresh monitor. Its events are old news: an episode still
        under way is matched to its incident (by shared mentions) when it next changes."""
        since = now - timedelta(hours=WARM_HOURS)
        history = load_observed(
            session,
            (Mention.id <= cursor) & (Mention.created_at >= since),
            limit=WARM_MAX_MENTIONS,
            newest=True,
        )
        self.observe(history)
        self._warmed = True
