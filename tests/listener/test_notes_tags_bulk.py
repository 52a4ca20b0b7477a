"""Notes, tags and bulk actions: the claim rules hold per item, each done item is audited, notes reach FOI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from listener.incidents import lifecycle
from listener.queue import bulk, notes_tags
from listener.queue.items import ClaimConflict
from listener.reports.filters import ReportFilters
from listener.reports.foi import FoiQuery, iter_records
from listener.reports.responses import item_rows, summarise
from listener.settings import Settings
from listener.store.db import session_factory, write_transaction
from listener.store.models import AuditEvent, Author, Incident, Mention, QueueItem

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def _items(engine, n: int, **item) -> list[int]:
    ids = []
    with write_transaction(engine) as session:
        for k in range(n):
            mention = Mention(
                platform="x",
                external_id=f"post-{k}-{item.get('assignee_id')}",
                source_key="x:mentions:@NHSCovWarks",
                kind="mention",
                author=Author(platform="x", external_id=f"a-{k}-{item.get('assignee_id')}", handle=f"p{k}"),
                text=f"My scan at Riverside was cancelled again ({k})",
                created_at=NOW - timedelta(hours=1),
            )
            session.add(mention)
            session.flush()
            queued = QueueItem(mention_id=mention.id, due_at=NOW + timedelta(hours=1), **item)
            session.add(queued)
            session.flush()
            ids.append(queued.id)
    return ids


def _actions(engine, action: str) -> list[str]:
    with write_transaction(engine) as session:
        return list(session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == action)))


def test_bulk_close_closes_what_the_rules_allow_and_says_why_not_the_rest(engine, make_user):
    agent, colleague = make_user("agent"), make_user("agent")
    free = _items(engine, 3)
    (held,) = _items(engine, 1, assignee_id=colleague.id, status="claimed")
    with write_transaction(engine) as session:
        with pytest.raises(bulk.BulkError):
            bulk.close_no_reply(session, item_ids=free, user=agent, reason=" ", now=NOW)
        outcome = bulk.close_no_reply(
            session,
            item_ids=[*free, held, 999999],
            user=agent,
            reason="Duplicate of the pinned answer",
            now=NOW,
        )
    assert outcome.done == free
    assert set(outcome.refused) == {held, 999999} and "Already claimed by" in outcome.refused[held]
    with write_transaction(engine) as session:
        statuses = dict(session.execute(select(QueueItem.id, QueueItem.status)).tuples().all())
    assert [statuses[i] for i in free] == ["no_reply_needed"] * 3 and statuses[held] == "claimed"
    assert sorted(_actions(engine, "item.no_reply_needed")) == sorted(str(i) for i in free)


def test_bulk_tag_assign_and_link_follow_the_claim_rules(engine, make_user):
    agent, colleague, lead = make_user("agent"), make_user("agent"), make_user("lead")
    free = _items(engine, 2)
    (held,) = _items(engine, 1, assignee_id=colleague.id, status="claimed")
    with write_transaction(engine) as session:
        tagged = bulk.tag(session, item_ids=[*free, held], user=agent, tag="  Riverside  Scans ", now=NOW)
        assert tagged.done == free and held in tagged.refused
        assert bulk.tag(session, item_ids=[held], user=lead, tag="riverside scans", now=NOW).done == [held]
        assigned = bulk.assign_to(session, item_ids=[*free, held], user=agent, assignee=colleague, now=NOW)
        assert assigned.done == free and held in assigned.refused
        incident = Incident(
            episode_key="e",
            subject="Scans",
            level="alert",
            status="listening",
            opened_at=NOW,
            level_changed_at=NOW,
        )
        session.add(incident)
        session.flush()
        linked = bulk.link_to_incident(session, item_ids=[*free, held], user=lead, incident=incident)
        assert linked.done == [*free, held]
        assert incident.mentions_count == 3
        lifecycle.resolve(session, incident=incident, user=lead, note="Over")
        with pytest.raises(bulk.BulkError):
            bulk.link_to_incident(session, item_ids=free, user=lead, incident=incident)
    assert sorted(_actions(engine, "item.tagged")) == sorted(str(i) for i in [*free, held])
    assert len(_actions(engine, "item.assign")) == 2
    assert sorted(_actions(engine, "item.linked_to_incident")) == sorted(str(i) for i in [*free, held])


def test_a_tag_someone_else_holds_is_theirs_and_tags_are_normalised(engine, make_user):
    agent, colleague = make_user("agent"), make_user("agent")
    (held,) = _items(engine, 1, assignee_id=colleague.id, status="claimed")
    with write_transaction(engine) as session:
        item = session.get(QueueItem, held)
        with pytest.raises(ClaimConflict):
            notes_tags.add_tag(session, item=item, user=agent, tag="parking", now=NOW)
        assert notes_tags.add_tag(session, item=item, user=colleague, tag="Parking!", now=NOW) == "parking"
        notes_tags.add_tag(
            session, item=item, user=colleague, tag="parking", now=NOW
        )  # already: no second row
        assert notes_tags.tags_for(session, [held]) == {held: ["parking"]}
        with pytest.raises(notes_tags.InvalidInput):
            notes_tags.normalise_tag("!!!")
        notes_tags.remove_tag(session, item=item, user=colleague, tag="PARKING")
        assert notes_tags.tags_for(session, [held]) == {}
    assert _actions(engine, "item.tagged") == [str(held)] and _actions(engine, "item.untagged") == [str(held)]


def test_a_note_is_kept_in_the_foi_export_and_audited(engine, make_user):
    agent = make_user("agent", name="Ann Agent")
    (item_id,) = _items(engine, 1)
    with write_transaction(engine) as session:
        item = session.get(QueueItem, item_id)
        with pytest.raises(notes_tags.InvalidInput):
            notes_tags.add_note(session, item=item, user=agent, text="   ", now=NOW)
        note = notes_tags.add_note(
            session, item=item, user=agent, text="Spoke to the radiology team", now=NOW
        )
        assert notes_tags.notes_for(session, item_id) == [(note, "Ann Agent")]
    with session_factory(engine)() as session:
        (record,) = list(iter_records(session, FoiQuery(search="Riverside"), timezone="Europe/London"))
    assert [n["text"] for n in record["notes"]] == ["Spoke to the radiology team"]
    assert any(d["action"] == "note.added" for d in record["decisions"])


def test_reports_group_by_tag_an_item_counting_under_each_of_its_tags(engine, make_user):
    agent = make_user("agent")
    first, second, third = _items(engine, 3)
    with write_transaction(engine) as session:
        for item_id, tags in ((first, ["parking"]), (second, ["parking", "letters"])):
            for tag in tags:
                notes_tags.add_tag(
                    session, item=session.get(QueueItem, item_id), user=agent, tag=tag, now=NOW
                )
    settings = Settings()
    filters = ReportFilters(date_from=NOW.date() - timedelta(days=1), date_to=NOW.date())
    with session_factory(engine)() as session:
        rows = item_rows(session, settings, filters, now=NOW, with_tags=True)
        groups = {g.key: g.items for g in summarise(rows, settings, by="tag")}
        assert groups == {"parking": 2, "letters": 1, "untagged": 1}
        narrowed = item_rows(session, settings, filters.narrowed("tag", "parking"), now=NOW)
        assert sorted(r.item_id for r in narrowed) == [first, second]
        untagged = item_rows(session, settings, filters.narrowed("tag", "untagged"), now=NOW)
        assert [r.item_id for r in untagged] == [third]
