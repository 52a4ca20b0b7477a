"""The crisis watch job: reads what ingest stored since its cursor, opens incidents, survives a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.base import Author, Mention
from connectors.replay import InvalidLine, parse_line
from listener.incidents import crisis_watch
from listener.incidents import lifecycle as incidents
from listener.incidents.crisis_watch import CrisisWatch
from listener.intake.ingest import ingest
from listener.intake.pipeline import build_stage
from listener.settings import Settings
from listener.store import leases
from listener.store.db import write_transaction
from listener.store.models import Alert, Checkpoint, Incident, Source, User
from listener.store.models import Mention as MentionRow

CRISIS = Path(__file__).resolve().parents[1] / "fixtures" / "streams" / "crisis.jsonl"


@pytest.fixture(scope="module")
def stage():
    return build_stage(Settings())


@pytest.fixture(scope="module")
def mentions():
    found = []
    for line in CRISIS.read_bytes().splitlines():
        try:
            found.append(parse_line(line))
        except InvalidLine:
            continue
    return found


def _store(engine, stage, batch):
    with write_transaction(engine) as session:
        ingest(session, batch, stage, now=max(m.created_at for m in batch))


def _incidents(engine) -> list[Incident]:
    with write_transaction(engine) as session:
        return list(session.scalars(select(Incident)).all())


def _cursor(engine) -> int:
    with write_transaction(engine) as session:
        source_id = session.scalar(select(Source.id).where(Source.key == leases.job_key("crisis")))
        return session.get(Checkpoint, source_id).cursor["mention_id"]


def test_a_step_feeds_what_was_stored_since_its_cursor(engine, stage, mentions):
    settings = Settings()
    watch = CrisisWatch(engine, settings)
    quiet = [m for m in mentions if m.created_at.hour < 18 or m.created_at.day < 3]
    _store(engine, stage, quiet)
    assert watch.step(now=quiet[-1].created_at) == []
    assert _incidents(engine) == []
    assert _cursor(engine) == len(quiet)

    rest = mentions[len(quiet) :]
    _store(engine, stage, rest)
    end = max(m.created_at for m in rest)
    events = watch.step(now=end)
    assert [e.kind for e in events][0] == "open"
    [incident] = _incidents(engine)
    assert incident.level == "crisis" and "brambleford" in incident.subject
    assert _cursor(engine) == len(mentions) - 2  # the two re-deliveries were not stored again

    # Nothing new: the next step changes nothing and opens nothing.
    watch.step(now=end + timedelta(minutes=1))
    assert len(_incidents(engine)) == 1
    with write_transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "incident")) == 1


def test_a_restarted_watch_keeps_the_episode_on_its_incident(engine, stage, mentions):
    settings = Settings()
    split = next(i for i, m in enumerate(mentions) if m.created_at.day == 3 and m.created_at.hour >= 18) + 25
    first, second = mentions[:split], mentions[split:]
    _store(engine, stage, first)
    CrisisWatch(engine, settings).step(now=first[-1].created_at)
    [opened] = _incidents(engine)

    # A new leader: a fresh monitor, warmed on history, sees the rest of the episode.
    _store(engine, stage, second)
    CrisisWatch(engine, settings).step(now=max(m.created_at for m in second))
    [incident] = _incidents(engine)
    assert incident.id == opened.id
    assert incident.mentions_count > opened.mentions_count


def test_a_resolved_incident_stays_resolved_when_its_episode_goes_on(engine, stage, mentions):
    settings = Settings()
    split = next(i for i, m in enumerate(mentions) if m.created_at.day == 3 and m.created_at.hour >= 18) + 25
    _store(engine, stage, mentions[:split])
    CrisisWatch(engine, settings).step(now=mentions[split - 1].created_at)
    with write_transaction(engine) as session:
        lead = User(
            email="lead@example.nhs.uk", name="Lee Lead", initials="LL", role="lead", password_hash="x"
        )
        session.add(lead)
        session.flush()
        incidents.resolve(session, incident=session.scalars(select(Incident)).one(), user=lead, note="Done")

    _store(engine, stage, mentions[split:])
    CrisisWatch(engine, settings).step(now=max(m.created_at for m in mentions))
    [incident] = _incidents(engine)
    assert incident.status == "resolved"


# --- every mention, once: ids that commit out of order, and a backlog --------------------------

T = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def _post(n: int, at: datetime = T) -> Mention:
    return Mention(
        platform="x",
        external_id=f"cw-{n}",
        source="x:mentions:@NHSCovWarks",
        kind="mention",
        author=Author(id=f"author-{n}", handle=f"person{n}"),  # own authors: no shared row to lock
        text=f"a quiet question number {n}",
        created_at=at,
    )


def _spy(watch: CrisisWatch) -> list[int]:
    """The ids the watch feeds its monitor, in order (the warm-up included)."""
    fed: list[int] = []
    real = watch.observe

    def observe(mentions):
        mentions = list(mentions)
        fed.extend(int(m.id) for m in mentions)
        return real(mentions)

    watch.observe = observe  # type: ignore[method-assign]
    return fed


def _id_of(engine, n: int) -> int:
    with write_transaction(engine) as session:
        return session.scalar(select(MentionRow.id).where(MentionRow.external_id == f"cw-{n}"))


def test_a_mention_whose_id_is_below_the_cursor_when_it_appears_is_still_fed(any_engine, stage):
    """As when a lower id commits after a higher one; here made with an explicit id, on both databases."""
    engine = any_engine
    watch = CrisisWatch(engine, Settings())
    fed = _spy(watch)
    _store(engine, stage, [_post(1)])
    with write_transaction(engine) as session:
        author_id = session.scalar(select(MentionRow.author_id))

    def add(mention_id: int, n: int) -> None:
        with write_transaction(engine) as session:
            session.add(
                MentionRow(
                    id=mention_id,
                    platform="x",
                    external_id=f"cw-{n}",
                    source_key="x:mentions:@NHSCovWarks",
                    kind="mention",
                    author_id=author_id,
                    text="a late question",
                    created_at=T,
                    received_at=T,
                )
            )

    add(10, 3)
    watch.step(now=T)  # the higher id is read first ...
    add(5, 2)
    # ... and 5 appears afterwards, below the cursor.
    watch.step(now=T + timedelta(seconds=30))
    watch.step(now=T + timedelta(seconds=60))

    assert fed == [_id_of(engine, 1), 10, 5]  # each once
    assert _cursor(engine) == 10


@pytest.mark.postgres
def test_a_lower_id_committed_after_a_higher_one_is_fed_on_postgres(pg_url, stage):
    from listener.store.db import make_engine
    from listener.store.migrate import upgrade

    engine = make_engine(pg_url)
    upgrade(engine)
    watch = CrisisWatch(engine, Settings())
    fed = _spy(watch)
    slow = Session(engine)
    try:
        with slow.begin():
            ingest(slow, [_post(1)], stage, now=T)  # takes the lower id, commits last
            with write_transaction(engine) as fast:
                ingest(fast, [_post(2)], stage, now=T)
            watch.step(now=T)
            assert fed == [_id_of(engine, 2)]
        watch.step(now=T + timedelta(seconds=30))
        watch.step(now=T + timedelta(seconds=60))
    finally:
        slow.close()
    low, high = _id_of(engine, 1), _id_of(engine, 2)
    assert low < high and fed == [high, low]
    assert _cursor(engine) == high
    engine.dispose()


def test_a_backlog_is_read_in_batches_and_time_passes_only_after_the_last(engine, stage, monkeypatch):
    monkeypatch.setattr(crisis_watch, "READ_BATCH", 3)
    _store(engine, stage, [_post(n, T + timedelta(minutes=n)) for n in range(7)])
    watch = CrisisWatch(engine, Settings())
    fed = _spy(watch)
    ticks: list[datetime] = []
    real_tick = watch.monitor.tick
    watch.monitor.tick = lambda now: ticks.append(now) or real_tick(now)  # type: ignore[method-assign]
    later = T + timedelta(hours=6)  # the watch was down: everything is waiting

    for n in range(3):
        watch.step(now=later + timedelta(seconds=30 * n))

    assert fed == [_id_of(engine, n) for n in range(7)]
    assert ticks == [later + timedelta(seconds=60)]  # only after the batch that was not full
