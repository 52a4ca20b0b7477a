"""Returned replies and the approval count on both databases; the queue's search filter too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from listener.accounts import users
from listener.queue import inbox
from listener.queue.items import QueueFilters, list_items, tab_counts
from listener.replies.drafts import return_to_draft
from listener.store.db import write_transaction
from listener.store.models import Author, Mention, QueueItem, Reply
from tests.conftest import TEST_PASSWORD

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def _user(session, role: str, name: str):
    return users.add_user(
        session, email=f"{name}@example.nhs.uk", name=name, initials="AB", role=role, password=TEST_PASSWORD
    )


def test_a_returned_reply_is_in_its_writers_returned_tab_with_the_note(any_engine):
    engine = any_engine  # SQLite, and PostgreSQL when LISTENING_POST_TEST_PG is set
    with write_transaction(engine) as session:
        writer, other, lead = (
            _user(session, "agent", "wri"),
            _user(session, "agent", "oth"),
            _user(session, "lead", "led"),
        )
        items = []
        for n, text in enumerate(["My scan was cancelled", "Parking at the hospital is impossible"]):
            mention = Mention(
                platform="x",
                external_id=f"m{n}",
                source_key="x:mentions:@NHSCovWarks",
                kind="mention",
                author=Author(platform="x", external_id=f"a{n}", handle=f"p{n}"),
                text=text,
                created_at=NOW,
            )
            session.add(mention)
            session.flush()
            item = QueueItem(
                mention_id=mention.id,
                due_at=NOW + timedelta(hours=1),
                assignee_id=writer.id,
                status="claimed",
            )
            session.add(item)
            session.flush()
            items.append(item)
        replies = [
            Reply(
                queue_item_id=item.id,
                platform="x",
                source_key="x:mentions:@NHSCovWarks",
                in_reply_to="1",
                text="Sorry ^AB",
                status="pending_approval",
                author_id=writer.id,
                idempotency_key=f"k{item.id}",
            )
            for item in items
        ]
        session.add_all(replies)
        session.flush()
        assert inbox.waiting_approval(session) == 2
        return_to_draft(session, reply=replies[0], user=lead, note="Add the booking line number")
        assert inbox.waiting_approval(session) == 1
        note = inbox.return_note(session, replies[0])
        assert note is not None and (note.note, note.by) == ("Add the booking line number", "led")
        assert inbox.return_note(session, replies[1]) is None

        page = list_items(session, tab="returned", user=writer, filters=QueueFilters(), now=NOW)
        assert [r.item.id for r in page.rows] == [items[0].id]
        assert tab_counts(session, user=writer, now=NOW)["returned"] == 1
        assert tab_counts(session, user=other, now=NOW)["returned"] == 0

        searched = list_items(
            session, tab="mine", user=writer, filters=QueueFilters(search="parking"), now=NOW
        )
        assert [r.item.id for r in searched.rows] == [items[1].id]
