"""The outbox publishes an incident's new post (answering no post) through the real connectors, once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, select

from connectors.base import Connector
from connectors.facebook import FacebookConnector
from connectors.facebook.fake import FakeGraphApi
from connectors.fake_server import Failure, FakeServer
from listener.replies.outbox import send_due_replies
from listener.store.db import write_transaction
from listener.store.models import AuditEvent, Reply, ReplyAttempt, User
from tests.listener.worker_support import (
    SOURCE,
    Clock,
    add_user,
    clock_fixture,  # noqa: F401 - the clock fixture
    fake_x_fixture,  # noqa: F401 - the fake_x fixture
    settings_for,
    x_connector,
)

PAGE_ID = "104729318865221"
LISTENING = "Thank you for bringing this to our attention, we are investigating. TA"


@dataclass
class Account:
    """One platform account: its fake, the connector to it, and where the fake records published posts."""

    platform: str
    source_key: str
    fake: FakeServer
    connector: Connector
    published: Callable[[], list[dict[str, Any]]]
    create_path: str  # the request that publishes a post


@pytest.fixture(params=["x", "facebook"])
def account(request: pytest.FixtureRequest, clock: Clock) -> Iterator[Account]:
    if request.param == "x":
        fake_x = request.getfixturevalue("fake_x")
        yield Account(
            "x", SOURCE, fake_x, x_connector(fake_x, clock), lambda: fake_x.posts_published, r"/2/tweets$"
        )
        return
    with FakeGraphApi(page_id=PAGE_ID, clock=clock) as graph:
        connector = FacebookConnector(page_token="EAAGtoken", base_url=graph.base_url, timeout=5, clock=clock)
        yield Account(
            "facebook",
            f"facebook:page:{PAGE_ID}",
            graph,
            connector,
            lambda: graph.posts_published,
            rf"/{PAGE_ID}/feed$",
        )


def approve_listening_message(engine: Engine, account: Account, author: User, clock: Clock) -> int:
    """An incident's listening message, approved: a new post on the account, answering no post."""
    with write_transaction(engine) as session:
        reply = Reply(
            purpose="listening",
            platform=account.platform,
            source_key=account.source_key,
            in_reply_to=None,
            text=LISTENING,
            status="approved",
            author_id=author.id,
            approved_by_id=author.id,
            approved_at=clock(),
            next_attempt_at=clock(),
            idempotency_key=uuid.uuid4().hex,
        )
        session.add(reply)
        session.flush()
        return reply.id


def test_a_listening_message_is_published_once_even_when_the_platform_answer_is_lost(
    engine: Engine, clock: Clock, account: Account
) -> None:
    settings = settings_for(SOURCE)
    reply_id = approve_listening_message(engine, account, add_user(engine), clock)
    # The platform publishes it, but the connection drops before the worker hears so.
    account.fake.inject(Failure(drop=True, after_apply=True), path=account.create_path, method="POST")

    def send() -> int:
        return send_due_replies(
            engine, settings, connectors={account.platform: account.connector}, now=clock(), worker_id="w1"
        )

    assert send() == 0
    clock.advance(seconds=30)  # the first retry is due
    assert send() == 1
    clock.advance(hours=2)
    assert send() == 0

    [published] = account.published()
    assert published.get("text", published.get("message")) == LISTENING
    assert len(account.fake.requests_to(account.create_path, method="POST")) == 1
    with write_transaction(engine) as s:
        reply = s.get_one(Reply, reply_id)
        assert (reply.status, reply.platform_reply_id) == ("sent", published["id"])
        outcomes = s.scalars(select(ReplyAttempt.outcome).where(ReplyAttempt.reply_id == reply_id)).all()
        assert outcomes == ["temporary"]  # the one call that posted; the retry found it instead
        sent = s.scalars(select(AuditEvent).where(AuditEvent.action == "reply.sent")).one()
        assert sent.after == {"platform_reply_id": published["id"], "how": "found_existing"}


def test_a_listening_message_is_published_at_once_when_all_goes_well(
    engine: Engine, clock: Clock, account: Account
) -> None:
    settings = settings_for(SOURCE)
    reply_id = approve_listening_message(engine, account, add_user(engine), clock)
    connectors = {account.platform: account.connector}

    assert send_due_replies(engine, settings, connectors=connectors, now=clock(), worker_id="w1") == 1
    assert send_due_replies(engine, settings, connectors=connectors, now=clock(), worker_id="w1") == 0

    [published] = account.published()
    with write_transaction(engine) as s:
        reply = s.get_one(Reply, reply_id)
        assert (reply.status, reply.platform_reply_id, reply.sent_at) == ("sent", published["id"], clock())
