"""The health report behind /healthz and the admin page: workers, sources, outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from listener import health
from listener.store import leases
from listener.store.db import write_transaction
from listener.store.models import Checkpoint, Reply, Source
from tests.listener.worker_support import add_user

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def report(engine, now=NOW) -> health.HealthReport:
    with write_transaction(engine) as s:
        return health.health_report(s, now=now)


def beat(engine, worker="w1", at=NOW) -> None:
    health.beat(engine, worker, now=at, started_at=NOW - timedelta(hours=1), detail={"pid": 1})


def add_source(engine, key, **kw) -> None:
    checkpoint = kw.pop("checkpoint", None)
    with write_transaction(engine) as s:
        source = Source(key=key, platform=key.split(":")[0], **kw)
        s.add(source)
        s.flush()
        if checkpoint:
            s.add(Checkpoint(source_id=source.id, **checkpoint))


def test_no_worker_seen_lately_is_down(engine):
    assert report(engine).status == "down"
    beat(engine)
    assert report(engine).status == "ok"
    later = report(engine, now=NOW + health.STALE_AFTER + timedelta(seconds=1))
    assert later.status == "down" and later.problems == ["no worker is running"]
    assert [w.alive for w in later.workers] == [False]


def test_a_second_beat_refreshes_the_row(engine):
    beat(engine)
    beat(engine, at=NOW + timedelta(minutes=5))
    [worker] = report(engine, now=NOW + timedelta(minutes=5)).workers
    assert worker.alive and worker.last_seen_at == NOW + timedelta(minutes=5)
    health.forget(engine, "w1")
    assert report(engine).workers == []


def test_source_problems_make_it_degraded_and_say_why(engine):
    beat(engine)
    add_source(engine, "x:mentions:@A", polls=10)
    add_source(engine, "x:search:b", needs_attention=True, attention_reason="X rejected the credentials")
    add_source(
        engine,
        "rss:https://c.example/feed",
        polls=3,
        errors=3,
        next_poll_at=NOW,
        checkpoint={"cursor": {}, "last_error": "X server error 503"},
    )
    add_source(engine, "facebook:page:1", checkpoint={"cursor": {}, "last_error": "needs a page token"})
    add_source(
        engine, "x:mentions:@Late", polls=5, interval_seconds=120, next_poll_at=NOW - timedelta(seconds=300)
    )
    add_source(engine, "x:mentions:@Old", enabled=False, polls=1, next_poll_at=NOW - timedelta(days=9))
    leases.take_job_lease(engine, "crisis", owner="w1", now=NOW, ttl=timedelta(seconds=90))

    result = report(engine)

    assert result.status == "degraded"
    assert result.problems == [
        "facebook:page:1 is not polled: needs a page token",
        "rss:https://c.example/feed failed 3 times in a row: X server error 503",
        "x:mentions:@Late is 300 s overdue",
        "x:search:b needs attention: X rejected the credentials",
    ]
    assert "job:crisis" not in {s.key for s in result.sources}


def test_the_outbox_counts_and_the_report_is_plain_json(engine):
    beat(engine)
    agent = add_user(engine)
    with write_transaction(engine) as s:
        for n, status in enumerate(["approved", "approved", "sending", "failed", "sent"]):
            s.add(
                Reply(
                    platform="x",
                    source_key="x:mentions:@A",
                    text="t",
                    status=status,
                    author_id=agent.id,
                    approved_at=NOW - timedelta(minutes=10 - n),
                    idempotency_key=f"k{n}",
                )
            )
    result = report(engine)
    assert (result.outbox.waiting, result.outbox.sending, result.outbox.failed) == (2, 1, 1)
    assert result.outbox.oldest_waiting_seconds == 600
    assert json.loads(json.dumps(result.as_dict()))["outbox"]["waiting"] == 2
