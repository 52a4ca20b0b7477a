"""The reply queue: claiming (one winner), release and assign rules, tabs, filters, keyset paging, counts."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from listener.accounts import users
from listener.queue import items as queue
from listener.queue.items import ClaimConflict, NotAllowedAction, NotOpen, QueueFilters
from listener.store.db import write_transaction
from listener.store.models import AuditEvent, Author, Incident, Mention, QueueItem, Reply, Score, User
from tests.conftest import TEST_PASSWORD
from tests.queue_ui.conftest import cheap_password_hashing  # noqa: F401 (autouse: argon2 at test cost)

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def add_user(engine: Engine, role: str = "agent", name: str | None = None) -> User:
    with write_transaction(engine) as session:
        return users.add_user(
            session,
            email=f"{role}-{uuid.uuid4().hex[:6]}@example.nhs.uk",
            name=name or f"Test {role}",
            initials="TT",
            role=role,
            password=TEST_PASSWORD,
        )


def add_item(
    engine: Engine,
    *,
    platform: str = "x",
    source: str = "x:mentions:@NHSCovWarks",
    label: str = "negative",
    priority: int = 3,
    due: timedelta = timedelta(hours=1),
    status: str = "new",
    incident_id: int | None = None,
    assignee: User | None = None,
) -> int:
    with write_transaction(engine) as session:
        mention = Mention(
            platform=platform,
            external_id=uuid.uuid4().hex[:12],
            source_key=source,
            kind="mention",
            author=Author(platform=platform, external_id=uuid.uuid4().hex[:8], handle="someone"),
            text="a post",
            created_at=NOW - timedelta(minutes=5),
        )
        session.add(mention)
        session.flush()
        session.add(
            Score(mention_id=mention.id, compound=0, pos=0, neg=0, neu=1, label=label, priority=priority)
        )
        item = QueueItem(
            mention_id=mention.id,
            status=status,
            priority=priority,
            due_at=NOW + due,
            incident_id=incident_id,
            assignee_id=assignee.id if assignee else None,
            claimed_at=NOW if assignee else None,
        )
        session.add(item)
        session.flush()
        return item.id


def test_claim_takes_an_unassigned_item_and_audits_it(engine):
    agent = add_user(engine)
    item_id = add_item(engine)
    with write_transaction(engine) as session:
        item = queue.claim(session, item_id=item_id, user=agent, now=NOW)
        assert (item.assignee_id, item.status, item.claimed_at) == (agent.id, "claimed", NOW)
    with write_transaction(engine) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "item.claim")).one()
        assert (event.actor, event.object_id) == (agent.email, str(item_id))


def test_claiming_an_item_someone_holds_names_the_holder(engine):
    first, second = add_user(engine, name="Asha Khan"), add_user(engine)
    item_id = add_item(engine, assignee=first, status="claimed")
    with (
        write_transaction(engine) as session,
        pytest.raises(ClaimConflict, match="Already claimed by Asha Khan"),
    ):
        queue.claim(session, item_id=item_id, user=second, now=NOW)


def test_claiming_your_own_item_again_changes_nothing(engine):
    agent = add_user(engine)
    item_id = add_item(engine, assignee=agent, status="claimed")
    with write_transaction(engine) as session:
        assert (
            queue.claim(session, item_id=item_id, user=agent, now=NOW + timedelta(hours=1)).claimed_at == NOW
        )


def test_a_closed_item_cannot_be_claimed(engine):
    agent = add_user(engine)
    item_id = add_item(engine, status="no_reply_needed")
    with write_transaction(engine) as session, pytest.raises(NotOpen):
        queue.claim(session, item_id=item_id, user=agent, now=NOW)


def test_two_concurrent_claims_have_exactly_one_winner(any_engine):
    people = [add_user(any_engine, name=f"Person {n}") for n in range(2)]
    item_id = add_item(any_engine)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def attempt(user: User) -> None:
        barrier.wait()
        try:
            with write_transaction(any_engine) as session:
                queue.claim(session, item_id=item_id, user=user, now=NOW)
            outcomes[user.name] = "won"
        except ClaimConflict as exc:
            outcomes[user.name] = str(exc)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [name for name, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1
    loser = next(name for name in outcomes if name not in winners)
    assert outcomes[loser] == f"Already claimed by {winners[0]}."
    with write_transaction(any_engine) as session:
        holder = session.get_one(QueueItem, item_id).assignee_id
        assert session.get_one(User, holder).name == winners[0]
        assert session.scalar(select(func.count()).where(AuditEvent.action == "item.claim")) == 1


def test_release_returns_the_item_to_the_queue(engine):
    agent = add_user(engine)
    item_id = add_item(engine, assignee=agent, status="claimed")
    with write_transaction(engine) as session:
        item = queue.release(session, item_id=item_id, user=agent, now=NOW)
        assert (item.assignee_id, item.status) == (None, "new")
    with write_transaction(engine) as session:
        page = queue.list_items(session, tab="unassigned", user=agent, filters=QueueFilters(), now=NOW)
        new = queue.list_items(session, tab="new", user=agent, filters=QueueFilters(), now=NOW)
    assert [r.item.id for r in page.rows] == [item_id]
    assert new.rows == [], "a released item is unassigned but no longer new"


def test_only_the_holder_or_a_lead_can_release(engine):
    holder, other, lead = add_user(engine), add_user(engine), add_user(engine, "lead")
    item_id = add_item(engine, assignee=holder, status="claimed")
    with write_transaction(engine) as session, pytest.raises(NotAllowedAction):
        queue.release(session, item_id=item_id, user=other, now=NOW)
    with write_transaction(engine) as session:
        assert queue.release(session, item_id=item_id, user=lead, now=NOW).assignee_id is None


def test_a_lead_assigns_any_item_and_an_agent_only_hands_on_their_own(engine):
    holder, agent, lead = add_user(engine, name="Holder"), add_user(engine), add_user(engine, "lead")
    item_id = add_item(engine, assignee=holder, status="claimed")
    with write_transaction(engine) as session, pytest.raises(ClaimConflict, match="Holder"):
        queue.assign(session, item_id=item_id, assignee=agent, actor=agent, now=NOW)
    with write_transaction(engine) as session:
        assert (
            queue.assign(session, item_id=item_id, assignee=agent, actor=lead, now=NOW).assignee_id
            == agent.id
        )
    with write_transaction(engine) as session:
        handed = queue.assign(session, item_id=item_id, assignee=holder, actor=agent, now=NOW)
        assert handed.assignee_id == holder.id
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "item.assign")).all()[-1]
        assert event.before == {"assignee_id": agent.id}


def test_a_disabled_person_cannot_be_given_items(engine):
    lead, gone = add_user(engine, "lead"), add_user(engine)
    with write_transaction(engine) as session:
        users.set_active(session, email=gone.email, active=False)
    item_id = add_item(engine)
    with write_transaction(engine) as session:
        gone = session.get_one(User, gone.id)
        with pytest.raises(NotAllowedAction):
            queue.assign(session, item_id=item_id, assignee=gone, actor=lead, now=NOW)


def test_tabs_hold_the_right_items(engine):
    me, other = add_user(engine), add_user(engine)
    fresh = add_item(engine)
    mine = add_item(engine, assignee=me, status="claimed")
    theirs = add_item(engine, assignee=other, status="claimed")
    closed = add_item(engine, status="replied")
    with write_transaction(engine) as session:
        incident = Incident(
            episode_key="e1",
            subject="s",
            level="crisis",
            opened_at=NOW,
            level_changed_at=NOW,
            status="listening",
        )
        resolved = Incident(
            episode_key="e2",
            subject="s",
            level="crisis",
            opened_at=NOW,
            level_changed_at=NOW,
            status="resolved",
        )
        session.add_all([incident, resolved])
        session.flush()
        incident_id, resolved_id = incident.id, resolved.id
    crisis = add_item(engine, incident_id=incident_id)
    add_item(engine, incident_id=resolved_id)
    with write_transaction(engine) as session:
        session.add(
            Reply(
                queue_item_id=theirs,
                platform="x",
                source_key="x",
                text="t",
                status="pending_approval",
                author_id=other.id,
                idempotency_key="k1",
            )
        )

    def ids(tab: str) -> set[int]:
        with write_transaction(engine) as session:
            return {
                r.item.id
                for r in queue.list_items(session, tab=tab, user=me, filters=QueueFilters(), now=NOW).rows
            }

    assert fresh in ids("new") and mine not in ids("new")
    assert ids("mine") == {mine}
    assert ids("approval") == {theirs}
    assert ids("crisis") == {crisis}
    assert ids("closed") == {closed}
    with write_transaction(engine) as session:
        counts = queue.tab_counts(session, user=me, now=NOW)
    assert counts == {name: len(ids(name)) for name in queue.TABS}


def test_filters_narrow_the_list(engine):
    agent = add_user(engine)
    fb = add_item(engine, platform="facebook", source="facebook:page:1", label="positive")
    overdue = add_item(engine, due=timedelta(minutes=-5), priority=1)
    soon = add_item(engine, due=timedelta(minutes=20))
    later = add_item(engine, due=timedelta(hours=30))

    def ids(**filters) -> list[int]:
        with write_transaction(engine) as session:
            page = queue.list_items(
                session, tab="new", user=agent, filters=QueueFilters(**filters), now=NOW, warn_minutes=30
            )
            return [r.item.id for r in page.rows]

    assert ids(platform="facebook") == [fb]
    assert ids(source="facebook:page:1") == [fb]
    assert ids(sentiment="positive") == [fb]
    assert ids(priority=1) == [overdue]
    assert ids(due="overdue") == [overdue]
    assert ids(due="soon") == [soon]
    assert later not in ids(due="today") and soon in ids(due="today")


def test_default_order_is_priority_then_due_time(engine):
    agent = add_user(engine)
    low_soon = add_item(engine, priority=4, due=timedelta(minutes=5))
    urgent_late = add_item(engine, priority=1, due=timedelta(hours=5))
    urgent_soon = add_item(engine, priority=1, due=timedelta(hours=1))
    with write_transaction(engine) as session:
        rows = queue.list_items(session, tab="new", user=agent, filters=QueueFilters(), now=NOW).rows
    assert [r.item.id for r in rows] == [urgent_soon, urgent_late, low_soon]


@pytest.mark.parametrize("tab", ["new", "closed"])
def test_keyset_pages_cover_every_item_once(engine, tab):
    agent = add_user(engine)
    status = "new" if tab == "new" else "closed"
    made = [
        add_item(engine, priority=1 + n % 3, due=timedelta(minutes=n % 4), status=status) for n in range(23)
    ]
    seen: list[int] = []
    after = None
    with write_transaction(engine) as session:
        while True:
            page = queue.list_items(
                session, tab=tab, user=agent, filters=QueueFilters(), now=NOW, after=after, limit=5
            )
            seen.extend(r.item.id for r in page.rows)
            if page.next_cursor is None:
                break
            after = page.next_cursor
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))


def test_a_cursor_that_is_not_ours_shows_the_first_page(engine):
    agent = add_user(engine)
    item_id = add_item(engine)
    with write_transaction(engine) as session:
        page = queue.list_items(
            session, tab="new", user=agent, filters=QueueFilters(), now=NOW, after="%%garbage"
        )
    assert [r.item.id for r in page.rows] == [item_id]


def test_tab_counts_stop_at_the_cap(engine):
    agent = add_user(engine)
    for _ in range(4):
        add_item(engine)
    with write_transaction(engine) as session:
        assert queue.tab_counts(session, user=agent, now=NOW, cap=2)["new"] == 3  # shown as "2+"


def test_viewers_are_the_people_seen_recently(engine):
    me, other, gone = add_user(engine), add_user(engine, name="Viewer"), add_user(engine)
    item_id = add_item(engine)
    with write_transaction(engine) as session:
        queue.record_view(session, item_id=item_id, user=gone, now=NOW - timedelta(minutes=5))
        queue.record_view(session, item_id=item_id, user=other, now=NOW - timedelta(seconds=20))
        queue.record_view(session, item_id=item_id, user=me, now=NOW)
        queue.record_view(session, item_id=item_id, user=me, now=NOW)  # an upsert, not a second row
    with write_transaction(engine) as session:
        names = [u.name for u in queue.viewers(session, item_id=item_id, now=NOW, exclude=me)]
    assert names == ["Viewer"]
