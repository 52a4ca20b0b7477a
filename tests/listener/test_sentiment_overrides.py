"""The sentiment override store: one row per mention even when two agents answer at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from listener.queue.sentiment_overrides import OverrideError, set_override
from listener.store.db import write_transaction
from listener.store.models import AuditEvent, QueueItem, Score, SentimentOverride, User
from tests.listener.test_queue import add_item, add_user
from tests.queue_ui.conftest import cheap_password_hashing  # noqa: F401 (autouse: argon2 at test cost)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _mention_of(engine, item_id: int) -> int:
    with write_transaction(engine) as session:
        return session.get_one(QueueItem, item_id).mention_id


def test_two_agents_at_once_leave_one_override_and_two_audit_entries(any_engine):
    people = [add_user(any_engine, name=f"Person {n}") for n in range(2)]
    mention_id = _mention_of(any_engine, add_item(any_engine))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def answer(user: User, label: str) -> None:
        barrier.wait()
        try:
            with write_transaction(any_engine) as session:
                set_override(session, mention_id=mention_id, label=label, user=user, now=NOW)
        except BaseException as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [
        threading.Thread(target=answer, args=(p, label))
        for p, label in zip(people, ("neutral", "positive"), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with write_transaction(any_engine) as session:
        rows = list(session.scalars(select(SentimentOverride)))
        assert len(rows) == 1 and rows[0].label in ("neutral", "positive")
        count = select(func.count()).where(AuditEvent.action == "sentiment.override")
        assert session.scalar(count) == 2


def test_a_mention_without_a_score_takes_no_override(engine):
    agent = add_user(engine)
    mention_id = _mention_of(engine, add_item(engine))
    with write_transaction(engine) as session:
        session.delete(session.get_one(Score, mention_id))
    with write_transaction(engine) as session, pytest.raises(OverrideError, match="no score"):
        set_override(session, mention_id=mention_id, label="neutral", user=agent, now=NOW)
