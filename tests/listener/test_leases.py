"""Leases: exactly one holder, expiry hands a dead worker's source to another, leader-only jobs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from listener.store import leases
from listener.store.db import write_transaction
from listener.store.models import Source

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TTL = timedelta(seconds=300)
KEY = "x:mentions:@NHSCovWarks"


def add_source(engine, **kw) -> None:
    with write_transaction(engine) as s:
        s.add(Source(key=KEY, platform="x", **kw))


def take(engine, owner, now=NOW, **kw) -> bool:
    with write_transaction(engine) as s:
        return leases.take(s, KEY, owner=owner, now=now, ttl=TTL, **kw)


def owner(engine) -> str | None:
    with write_transaction(engine) as s:
        return s.scalar(select(Source.lease_owner).where(Source.key == KEY))


def test_of_many_workers_taking_one_source_at_once_exactly_one_wins(any_engine):
    add_source(any_engine)
    results: dict[str, bool] = {}
    barrier = threading.Barrier(8)

    def contend(name: str) -> None:
        barrier.wait()
        results[name] = take(any_engine, name)

    threads = [threading.Thread(target=contend, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [name for name, won in results.items() if won]
    assert len(winners) == 1 and owner(any_engine) == winners[0]


def test_the_holder_renews_and_others_wait_until_it_expires(engine):
    add_source(engine)
    assert take(engine, "w1")
    assert take(engine, "w1", now=NOW + timedelta(seconds=200))  # renewed until 10:08:20
    assert not take(engine, "w2", now=NOW + timedelta(seconds=400))
    assert take(engine, "w2", now=NOW + timedelta(seconds=500))
    assert owner(engine) == "w2"


def test_a_released_lease_is_free_at_once(engine):
    add_source(engine)
    assert take(engine, "w1")
    with write_transaction(engine) as s:
        assert not leases.release(s, KEY, owner="w2")
        assert leases.release(s, KEY, owner="w1")
    assert take(engine, "w2")


def test_due_only_leaves_paused_broken_and_not_yet_due_sources_alone(engine):
    add_source(engine, next_poll_at=NOW + timedelta(seconds=60))
    assert not take(engine, "w1", due_only=True)
    assert take(engine, "w1", now=NOW + timedelta(seconds=60), due_only=True)
    with write_transaction(engine) as s:
        s.scalars(select(Source)).one().needs_attention = True
    assert not take(engine, "w1", now=NOW + timedelta(seconds=60), due_only=True)


def test_release_all_frees_every_lease_of_a_stopping_worker(engine):
    add_source(engine)
    assert take(engine, "w1")
    assert leases.take_job_lease(engine, "crisis", owner="w1", now=NOW, ttl=TTL)
    assert leases.release_all(engine, owner="w1") == 2
    assert leases.take_job_lease(engine, "crisis", owner="w2", now=NOW, ttl=TTL)


def test_one_leader_per_job_until_its_lease_lapses(any_engine):
    assert leases.take_job_lease(any_engine, "crisis", owner="w1", now=NOW, ttl=TTL)
    assert not leases.take_job_lease(any_engine, "crisis", owner="w2", now=NOW, ttl=TTL)
    assert leases.take_job_lease(any_engine, "retention", owner="w2", now=NOW, ttl=TTL)
    assert leases.take_job_lease(any_engine, "crisis", owner="w1", now=NOW + TTL / 2, ttl=TTL)  # renews
    assert leases.take_job_lease(any_engine, "crisis", owner="w2", now=NOW + TTL * 2, ttl=TTL)
    with write_transaction(any_engine) as s:
        job = s.scalars(select(Source).where(Source.key == "job:crisis")).one()
        assert (job.platform, job.enabled) == ("job", False)
