"""Bluesky through the worker: sources built from the settings poll the fake, the outbox replies once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from connectors.bluesky.fake import FakeBluesky
from connectors.fake_server import Failure
from listener.intake.polling import poll_source
from listener.intake.sources import build_connectors, sync_sources
from listener.replies.outbox import send_due_replies
from listener.settings import Secrets, Settings
from listener.store.db import write_transaction
from listener.store.models import AuditEvent, Mention
from tests.listener.worker_support import Clock, add_user, approve_reply, stub_stage

HANDLE = "nhscovwarks.bsky.social"
APP_PASSWORD = "work-erte-stpa-ss01"
MENTIONS = f"bluesky:mentions:@{HANDLE}"
SEARCH = 'bluesky:search:"NHS Coventry"'


@pytest.fixture
def clock() -> Clock:
    """Starts at the real time: the connectors built from the settings read the real clock (their
    first poll reaches back a day, and they judge the session's expiry by it); the fake and the
    worker read this one, which the tests move by hand."""
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def fake(clock):
    with FakeBluesky(handle=HANDLE, app_password=APP_PASSWORD, clock=clock) as running:
        yield running


@pytest.fixture
def settings(fake, tmp_path):
    configured = Settings.model_validate(
        {
            "general": {"data_dir": str(tmp_path)},
            "accounts": [{"platform": "bluesky", "handle": HANDLE}],
            "sources": [{"key": k, "api_base_url": fake.base_url} for k in (MENTIONS, SEARCH)],
            "polling": {"jitter_seconds": 0},
        }
    )
    configured.secrets = Secrets(bluesky_app_password=APP_PASSWORD)
    return configured


def poll_all(engine, settings, clock, worker="w1") -> None:
    built = build_connectors(settings)
    for key in (MENTIONS, SEARCH):
        connector = built.by_source[key]
        poll_source(
            engine, settings, key, connector=connector, stage=stub_stage(), now=clock(), worker_id=worker
        )


def stored(engine) -> list[tuple[str, str]]:
    with write_transaction(engine) as s:
        return sorted((m.source_key, m.text) for m in s.scalars(select(Mention)))


def test_both_source_kinds_are_polled_once_each_and_a_restarted_worker_does_not_log_in(
    engine, fake, settings, clock
):
    with write_transaction(engine) as s:
        sync_sources(s, settings)
    fake.add_post(author="pat.bsky.social", text=f"@{HANDLE} my appointment was cancelled")
    fake.add_post(author="sam.bsky.social", text="Long wait at NHS Coventry walk-in today")
    poll_all(engine, settings, clock)
    assert stored(engine) == [
        (MENTIONS, f"@{HANDLE} my appointment was cancelled"),
        (SEARCH, "Long wait at NHS Coventry walk-in today"),
    ]
    clock.advance(minutes=3)
    poll_all(engine, settings, clock, worker="w2")  # a new worker process: connectors built afresh
    assert len(stored(engine)) == 2
    assert len(fake.requests_to(r"createSession$")) == 1  # the second worker resumed the kept session


def test_an_approved_bluesky_reply_is_posted_once_even_when_its_answer_is_lost(engine, fake, settings, clock):
    with write_transaction(engine) as s:
        sync_sources(s, settings)
    post = fake.add_post(author="pat.bsky.social", text=f"@{HANDLE} my appointment was cancelled")
    poll_all(engine, settings, clock)
    agent = add_user(engine)
    approve_reply(
        engine,
        mention_external_id=post["uri"],
        text="Sorry to hear that. Please see https://www.nhs.uk/nhs-services/ TA",
        author=agent,
        approved_at=clock(),
        source_key=MENTIONS,
    )
    connectors = build_connectors(settings).by_platform
    fake.inject(Failure(drop=True, after_apply=True), path=r"createRecord$")
    assert send_due_replies(engine, settings, connectors=connectors, now=clock(), worker_id="w1") == 0
    clock.advance(seconds=30)
    assert send_due_replies(engine, settings, connectors=connectors, now=clock(), worker_id="w1") == 1
    (created,) = fake.created
    assert created["record"]["reply"]["parent"]["uri"] == post["uri"]
    with write_transaction(engine) as s:
        sent = s.scalars(select(AuditEvent).where(AuditEvent.action == "reply.sent")).one()
        assert sent.after == {"platform_reply_id": created["uri"], "how": "found_existing"}
    clock.advance(minutes=1)
    assert send_due_replies(engine, settings, connectors=connectors, now=clock(), worker_id="w1") == 0
    assert len(fake.created) == 1
