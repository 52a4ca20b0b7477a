"""Instagram @mentions end to end: Meta's signed webhook in, the worker looks each post up, stored once."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from connectors.instagram.fake import InstagramFake, rate_limited
from listener.intake.instagram_mentions import process_mention_events, record_webhook
from listener.intake.sources import build_connectors
from listener.scheduler import build_scheduler
from listener.settings import Secrets, Settings
from listener.store.db import write_transaction
from listener.store.models import InstagramMentionEvent, Mention, QueueItem
from listener.worker import Worker
from queue_ui.app import create_app
from tests.listener.worker_support import (
    MONDAY_10AM as NOW,
)
from tests.listener.worker_support import (
    Clock,
    clock_fixture,  # noqa: F401 - the clock fixture
    stub_stage,
    sync,
)

PAGE_TOKEN = "EAAGmentionsPageToken0000000001"
APP_SECRET = "mentionsappsecret00000000000001"
IG_USER_ID = "17841400000000001"
SOURCE = f"instagram:account:{IG_USER_ID}"
SESSION_SECRET = "s" * 40


@pytest.fixture
def instagram(clock: Clock) -> Iterator[InstagramFake]:
    with InstagramFake(
        ig_user_id=IG_USER_ID, page_token=PAGE_TOKEN, app_secret=APP_SECRET, clock=clock
    ) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def settings(instagram: InstagramFake) -> Settings:
    settings = Settings.model_validate(
        {
            "accounts": [{"platform": "instagram", "handle": "nhscovwarks", "user_id": IG_USER_ID}],
            "sources": [{"key": SOURCE, "api_base_url": instagram.base_url}],
        }
    )
    settings.secrets = Secrets(facebook_page_token=PAGE_TOKEN, facebook_app_secret=APP_SECRET)
    return settings


@pytest.fixture
def worker(any_engine: Engine, settings: Settings, clock: Clock) -> Worker:
    sync(any_engine, settings)
    return Worker(
        settings, any_engine, connectors=build_connectors(settings), stage=stub_stage(), clock=clock
    )


@pytest.fixture
def meta(any_engine: Engine, settings: Settings, clock: Clock) -> TestClient:
    """Meta, calling our callback."""
    return TestClient(create_app(settings, any_engine, clock=clock, session_secret=SESSION_SECRET))


def deliver(meta: TestClient, *values: dict[str, str]) -> None:
    changes = [{"field": "mentions", "value": v} for v in values]
    body = json.dumps({"object": "instagram", "entry": [{"id": IG_USER_ID, "time": 1, "changes": changes}]})
    digest = hmac.new(APP_SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    response = meta.post(
        "/webhooks/instagram", content=body, headers={"X-Hub-Signature-256": f"sha256={digest}"}
    )
    assert response.status_code == 200


def stored(engine: Engine) -> list[tuple[str, str, str | None]]:
    with write_transaction(engine) as session:
        return [
            (m.external_id, m.kind, m.url)
            for m in session.scalars(select(Mention).order_by(Mention.external_id))
        ]


def events(engine: Engine) -> list[tuple[str, bool, str | None]]:
    with write_transaction(engine) as session:
        rows = session.scalars(select(InstagramMentionEvent).order_by(InstagramMentionEvent.id))
        return [(r.comment_id or r.media_id, r.done_at is not None, r.error) for r in rows]


def test_webhooks_in_mentions_stored_once(
    any_engine: Engine, instagram: InstagramFake, meta: TestClient, worker: Worker
) -> None:
    theirs = instagram.add_media(caption="Lovely staff, thanks @nhscovwarks", username="chris.k")
    other = instagram.add_media(caption="Our walk", username="jo_b")
    comment = instagram.add_comment(
        on=other["id"], text="@nhscovwarks is the walk-in open?", username="sam.p"
    )

    deliver(meta, {"media_id": theirs["id"]}, {"media_id": other["id"], "comment_id": comment["id"]})
    assert worker.read_instagram_mentions() == 2

    assert stored(any_engine) == sorted(
        [(theirs["id"], "mention", theirs["permalink"]), (comment["id"], "mention", other["permalink"])]
    )
    with write_transaction(any_engine) as session:
        assert session.scalar(select(func.count()).select_from(QueueItem)) == 2
    assert events(any_engine) == [(theirs["id"], True, None), (comment["id"], True, None)]

    calls = len(instagram.requests)
    deliver(meta, {"media_id": theirs["id"]})  # Meta delivers again
    assert worker.read_instagram_mentions() == 0
    assert len(instagram.requests) == calls  # nothing undone: no call to Instagram
    assert len(stored(any_engine)) == 2 and len(events(any_engine)) == 2


def test_a_temporary_failure_leaves_the_event_for_the_next_run(
    any_engine: Engine, instagram: InstagramFake, meta: TestClient, worker: Worker
) -> None:
    theirs = instagram.add_media(caption="Thanks @nhscovwarks", username="chris.k")
    deliver(meta, {"media_id": theirs["id"]})
    instagram.inject(rate_limited(regain_minutes=1, ig_user_id=IG_USER_ID))

    assert worker.read_instagram_mentions() == 0
    assert stored(any_engine) == [] and events(any_engine) == [(theirs["id"], False, None)]

    assert worker.read_instagram_mentions() == 1
    assert [m[0] for m in stored(any_engine)] == [theirs["id"]]


def test_a_deleted_post_marks_the_event_done_with_the_reason(
    any_engine: Engine, instagram: InstagramFake, meta: TestClient, worker: Worker
) -> None:
    deliver(meta, {"media_id": "17900000000000777", "comment_id": "17900000000000778"})

    assert worker.read_instagram_mentions() == 1

    [(_, done, error)] = events(any_engine)
    assert done and error and "no longer shows" in error
    assert stored(any_engine) == []
    assert worker.read_instagram_mentions() == 0


def mentions(media_id: str) -> dict:
    return {"field": "mentions", "value": {"media_id": media_id}}


def test_an_event_for_an_account_without_a_source_waits(
    any_engine: Engine, instagram: InstagramFake, worker: Worker
) -> None:
    body = {
        "object": "instagram",
        "entry": [
            {"id": "17841499999999999", "changes": [{"field": "mentions", "value": {"media_id": "1"}}]}
        ],
    }
    with write_transaction(any_engine) as session:
        assert record_webhook(session, body, now=worker.clock()) == 1

    assert worker.read_instagram_mentions() == 0
    assert events(any_engine) == [("1", False, None)] and instagram.requests == []

    # ... and does not hold up the account's own, even one event at a time
    theirs = instagram.add_media(caption="Thanks @nhscovwarks", username="chris.k")
    with write_transaction(any_engine) as session:
        record_webhook(
            session, {**body, "entry": [{"id": IG_USER_ID, "changes": [mentions(theirs["id"])]}]}, now=NOW
        )
    lookups = {SOURCE: worker.connectors.by_source[SOURCE]}
    assert process_mention_events(any_engine, lookups, stub_stage(), now=NOW, limit=1) == 1  # type: ignore[arg-type]
    assert [m[0] for m in stored(any_engine)] == [theirs["id"]]


def test_the_job_runs_every_30_seconds_one_at_a_time(worker: Worker) -> None:
    scheduler = build_scheduler(worker)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("instagram_mentions")
        assert job.trigger.interval.total_seconds() == 30
        assert (job.max_instances, job.coalesce) == (1, True)
    finally:
        scheduler.shutdown(wait=False)
