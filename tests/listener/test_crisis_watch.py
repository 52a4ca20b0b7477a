"""The crisis watch job: reads what ingest stored since its cursor, opens incidents, survives a restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connectors.replay import InvalidLine, parse_line
from listener.incidents import lifecycle as incidents
from listener.incidents.crisis_watch import CrisisWatch
from listener.intake.ingest import ingest
from listener.intake.pipeline import build_stage
from listener.settings import Settings
from listener.store import leases
from listener.store.db import write_transaction
from listener.store.models import Alert, Checkpoint, Incident, Source, User

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
