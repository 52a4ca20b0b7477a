from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from connectors.base import Author, Mention
from listener.intake.ingest import TriageStage, ingest
from listener.queue.business_hours import BusinessClock
from listener.settings import SlaSettings
from listener.store.db import write_transaction
from listener.store.models import Author as AuthorRow
from listener.store.models import Checkpoint, Conversation, QueueItem, Source
from listener.store.models import Mention as MentionRow
from listener.store.models import Score as ScoreRow
from triage.model import MentionInput, Score

MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class KeywordScorer:
    """A predictable stand-in: ingest's behaviour must not depend on how scoring decides."""

    def score(self, m: MentionInput) -> Score:
        negative = "cancelled" in m.text
        return Score(compound=-0.6 if negative else 0.4, pos=0.0, neg=0.5, neu=0.5,
                     label="negative" if negative else "positive", priority=1 if negative else 3)


def stage() -> TriageStage:
    sla = SlaSettings()
    return TriageStage(scorer=KeywordScorer(), topic_of=lambda text, url: "appointments", sla=sla,
                       clock=BusinessClock(sla.business_hours), media_handles=frozenset({"covlivenews"}))


def mention(external_id: str, text: str = "thanks", **kw) -> Mention:
    defaults = dict(platform="x", external_id=external_id, source="x:mentions:@NHSCovWarks", kind="mention",
                    author=Author(id="a1", handle="pat", name="Pat", followers=10), text=text,
                    created_at=MONDAY_10AM)
    defaults.update(kw)
    return Mention(**defaults)


def counts(engine):
    with write_transaction(engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (MentionRow, ScoreRow, QueueItem))


def test_the_same_batch_twice_changes_nothing(any_engine):
    batch = [mention("1"), mention("2", "my appointment was cancelled"), mention("2")]
    with write_transaction(any_engine) as s:
        first = ingest(s, batch, stage())
    assert first.counts() == {"new": 2, "duplicates": 1}
    with write_transaction(any_engine) as s:
        second = ingest(s, batch, stage())
    assert second.counts() == {"new": 0, "duplicates": 3}
    assert counts(any_engine) == (2, 2, 2)


def test_priority_sets_the_sla_due_time_in_business_hours(engine):
    with write_transaction(engine) as s:
        result = ingest(s, [mention("1", "cancelled again"), mention("2", "lovely staff")], stage())
    with write_transaction(engine) as s:
        items = {i.mention_id: i for i in s.scalars(select(QueueItem))}
    urgent, normal = (items[n.id] for n in result.new)
    assert urgent.priority == 1 and urgent.due_at == MONDAY_10AM + timedelta(minutes=60)
    # 480 business minutes from 10:00 on Monday: 7 hours on Monday, 1 hour on Tuesday.
    assert normal.due_at == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def test_own_posts_reposts_and_news_are_kept_but_not_queued(engine):
    batch = [
        mention("1", is_own=True),
        mention("2", is_repost=True),
        mention("3", kind="news", platform="rss", author=Author(id="cov", handle="CovLiveNews")),
        mention("4"),
    ]
    with write_transaction(engine) as s:
        result = ingest(s, batch, stage())
    assert [n.queue_item_id is not None for n in result.new] == [False, False, False, True]
    assert counts(engine) == (4, 4, 1)


def test_replies_thread_into_one_conversation(engine):
    batch = [mention("10"), mention("11", in_reply_to="10", conversation_id="10"), mention("12", conversation_id="10")]
    with write_transaction(engine) as s:
        ingest(s, batch, stage())
    with write_transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Conversation)) == 1
        assert len(set(s.scalars(select(MentionRow.conversation_id)))) == 1


def test_checkpoint_is_written_with_the_mentions_or_not_at_all(engine):
    with write_transaction(engine) as s:
        s.add(Source(key="x:mentions:@NHSCovWarks", platform="x"))
    try:
        with write_transaction(engine) as s:
            ingest(s, [mention("1")], stage(), source_key="x:mentions:@NHSCovWarks", checkpoint={"since_id": "1"})
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    assert counts(engine) == (0, 0, 0)
    with write_transaction(engine) as s:
        assert s.scalar(select(Checkpoint)) is None
        ingest(s, [mention("1")], stage(), source_key="x:mentions:@NHSCovWarks", checkpoint={"since_id": "1"})
    with write_transaction(engine) as s:
        assert s.scalar(select(Checkpoint.cursor)) == {"since_id": "1"}


def test_hostile_text_is_stored_exactly(engine):
    text = '<script>alert(1)</script> \u202eevil\u200b ' + "x" * 10_000 + " 😡"
    with write_transaction(engine) as s:
        ingest(s, [mention("1", text)], stage())
    with write_transaction(engine) as s:
        assert s.scalar(select(MentionRow.text)) == text


def test_an_anonymised_author_keeps_their_row_and_stays_anonymous(any_engine):
    # Ingest learns author ids from its upsert's RETURNING, which skips a row the upsert left alone.
    with write_transaction(any_engine) as s:
        ingest(s, [mention("1")], stage())
        s.execute(update(AuthorRow).values(handle="", name="", anonymised_at=MONDAY_10AM))
    with write_transaction(any_engine) as s:
        result = ingest(s, [mention("2"), mention("3", author=Author(id="a2", handle="sam"))], stage())
    with write_transaction(any_engine) as s:
        authors = {a.external_id: a for a in s.scalars(select(AuthorRow))}
        stored = {m.external_id: m.author_id for m in s.scalars(select(MentionRow))}
    assert [n.id for n in result.new] and stored["2"] == stored["1"] == authors["a1"].id
    assert (authors["a1"].handle, authors["a1"].name) == ("", "")
    assert stored["3"] == authors["a2"].id and authors["a2"].handle == "sam"
