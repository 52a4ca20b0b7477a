"""Tab counts from the one counting statement equal a count made in Python over a varied fixture
(every status, claimed and released, mine and others', open and resolved incidents, replies waiting
or not, an incident's own post), for each tab, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from listener.accounts import users
from listener.queue import items as queue
from listener.queue.items import QueueFilters
from listener.store.db import write_transaction
from listener.store.models import Author, Incident, Mention, QueueItem, Reply, Score
from tests.conftest import TEST_PASSWORD
from tests.queue_ui.conftest import cheap_password_hashing  # noqa: F401 (autouse: argon2 at test cost)

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
STATUSES = ("new", "new-released", "claimed-me", "claimed-other", "replied", "closed", "no_reply_needed")
PLATFORMS = (("x", "x:mentions:@NHSCovWarks"), ("facebook", "facebook:page:1"))
LABELS = ("negative", "neutral", "positive")
DUES = (timedelta(minutes=-10), timedelta(minutes=20), timedelta(hours=5), timedelta(hours=30))


@dataclass(frozen=True)
class Spec:
    """One fixture item as the test knows it (the independent count reads these, not the database)."""

    status: str
    platform: str
    source: str
    label: str
    priority: int
    due_at: datetime
    incident: str | None  # "open" | "resolved" | None
    assignee: str | None  # "me" | "other" | None
    claimed: bool
    waiting_replies: int  # replies pending approval


def specs() -> list[Spec]:
    """Every status under every platform, label, priority, due time and incident, spread over 84 items."""
    made = []
    for n in range(84):
        kind = STATUSES[n % len(STATUSES)]
        platform, source = PLATFORMS[n // 7 % 2]
        made.append(
            Spec(
                status={"new-released": "new", "claimed-me": "claimed", "claimed-other": "claimed"}.get(
                    kind, kind
                ),
                platform=platform,
                source=source,
                label=LABELS[n % 3],
                priority=1 + n % 4,
                due_at=NOW + DUES[n // 3 % 4],
                incident=(None, "open", "resolved")[n // 5 % 3],
                assignee={"claimed-me": "me", "claimed-other": "other"}.get(kind)
                or ("me" if kind in ("replied", "closed") and n % 2 else None),
                claimed=kind in ("new-released", "claimed-me", "claimed-other"),
                waiting_replies=(0, 0, 1, 2)[n // 2 % 4],
            )
        )
    return made


def store(engine, items: list[Spec]) -> tuple[object, dict[str, int]]:
    with write_transaction(engine) as session:
        people = {
            who: users.add_user(
                session,
                email=f"{who}-{uuid.uuid4().hex[:6]}@example.nhs.uk",
                name=who,
                initials="TT",
                role="agent",
                password=TEST_PASSWORD,
            )
            for who in ("me", "other")
        }
        incidents = {}
        for key, status in (("open", "listening"), ("resolved", "resolved")):
            incident = Incident(
                episode_key=key,
                subject="s",
                level="crisis",
                opened_at=NOW,
                level_changed_at=NOW,
                status=status,
            )
            session.add(incident)
            session.flush()
            incidents[key] = incident.id
        for n, spec in enumerate(items):
            mention = Mention(
                platform=spec.platform,
                external_id=f"m{n}",
                source_key=spec.source,
                kind="mention",
                author=Author(platform=spec.platform, external_id=f"a{n}", handle="someone"),
                text="a post",
                created_at=NOW - timedelta(minutes=n),
            )
            session.add(mention)
            session.flush()
            session.add(
                Score(
                    mention_id=mention.id,
                    compound=0,
                    pos=0,
                    neg=0,
                    neu=1,
                    label=spec.label,
                    priority=spec.priority,
                )
            )
            item = QueueItem(
                mention_id=mention.id,
                status=spec.status,
                priority=spec.priority,
                due_at=spec.due_at,
                incident_id=incidents[spec.incident] if spec.incident else None,
                assignee_id=people[spec.assignee].id if spec.assignee else None,
                claimed_at=NOW if spec.claimed else None,
            )
            session.add(item)
            session.flush()
            # At most one live reply per item (the database holds that rule): a second "waiting"
            # one is an earlier attempt that failed; some items also have a sent reply.
            live = ["pending_approval"] if spec.waiting_replies else ["draft"][: n % 2]
            replies = ["failed"] * max(0, spec.waiting_replies - 1) + live + ["sent"][: n % 3 // 2]
            for r, status in enumerate(replies):
                session.add(reply(item.id, people["other"].id, status, f"{n}-{r}"))
        # An incident's own post waiting for approval belongs to no queue item: it is in no tab.
        session.add(reply(None, people["other"].id, "pending_approval", "incident-post"))
        return people["me"], incidents


def reply(item_id: int | None, author_id: int, status: str, key: str) -> Reply:
    return Reply(
        queue_item_id=item_id,
        platform="x",
        source_key="x:mentions:@NHSCovWarks",
        text="t",
        status=status,
        author_id=author_id,
        idempotency_key=key,
    )


def in_tab(tab: str, s: Spec) -> bool:
    open_ = s.status in ("new", "claimed")
    return {
        "new": s.status == "new" and not s.claimed,
        "unassigned": s.status == "new",
        "mine": open_ and s.assignee == "me",
        "approval": s.waiting_replies > 0,
        "crisis": open_ and s.incident == "open",
        "closed": not open_,
        "returned": False,  # no lead returns a reply in this fixture: tests/listener/test_inbox.py
    }[tab]


@pytest.fixture
def stored(any_engine):
    items = specs()
    me, incidents = store(any_engine, items)
    return any_engine, items, me, incidents


def test_each_tab_count_equals_an_independent_count(stored):
    engine, items, me, _ = stored
    expected = {tab: sum(in_tab(tab, s) for s in items) for tab in queue.TABS}
    # the fixture puts items in every tab but "returned" (a lead's act: tests/listener/test_inbox.py)
    assert all(count for tab, count in expected.items() if tab != "returned")
    with write_transaction(engine) as session:
        assert queue.tab_counts(session, user=me, now=NOW) == expected


def test_each_open_tab_counts_past_the_cap_as_cap_plus_one(stored):
    engine, items, me, _ = stored
    with write_transaction(engine) as session:
        counts = queue.tab_counts(session, user=me, now=NOW, cap=2)
    assert counts == {tab: min(3, sum(in_tab(tab, s) for s in items)) for tab in queue.TABS}


def test_counts_agree_with_the_lists_they_label(stored):
    engine, _, me, _ = stored
    with write_transaction(engine) as session:
        counts = queue.tab_counts(session, user=me, now=NOW)
        for tab in queue.TABS:
            page = queue.list_items(session, tab=tab, user=me, filters=QueueFilters(), now=NOW, limit=200)
            assert counts[tab] == len(page.rows), tab
