"""poll_source without a scheduler: leases, checkpoints, and every way a platform can fail."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from connectors.base import Author, Checkpoint, Mention, PermanentError, TemporaryError
from connectors.fake_server import Failure
from connectors.x.fake import http_error, rate_limited
from listener.intake import polling
from listener.intake.polling import backoff, poll_source
from listener.intake.sources import clear_attention
from listener.store import leases
from listener.store.db import write_transaction
from listener.store.models import Alert, AuditEvent, Source
from listener.store.models import Checkpoint as CheckpointRow
from listener.store.models import Mention as MentionRow
from tests.listener.worker_support import (
    SOURCE,
    clock_fixture,  # noqa: F401 - the clock fixture
    fake_x_fixture,  # noqa: F401 - the fake_x fixture
    settings_for,
    stub_stage,
    sync,
    x_connector,
)

STAGE = stub_stage()


def poll(engine, settings, connector, clock, worker="w1"):
    return poll_source(
        engine, settings, SOURCE, connector=connector, stage=STAGE, now=clock(), worker_id=worker
    )


def source_row(engine) -> Source:
    with write_transaction(engine) as s:
        return s.scalars(select(Source).where(Source.key == SOURCE)).one()


def checkpoint_row(engine) -> CheckpointRow:
    with write_transaction(engine) as s:
        return s.scalars(select(CheckpointRow)).one()


def stored_ids(engine) -> list[str]:
    with write_transaction(engine) as s:
        return sorted(s.scalars(select(MentionRow.external_id)))


@pytest.fixture
def setup(engine, fake_x, clock):
    settings = settings_for(SOURCE, base_url=fake_x.base_url)
    sync(engine, settings)
    return settings, x_connector(fake_x, clock)


def test_a_poll_stores_new_mentions_and_moves_the_checkpoint(engine, fake_x, clock, setup):
    settings, connector = setup
    tweets = [fake_x.add_tweet(author=f"user{i}", text=f"@NHSCovWarks question {i}") for i in range(3)]

    outcome = poll(engine, settings, connector, clock)

    assert (outcome.status, outcome.new, outcome.duplicates) == ("polled", 3, 0)
    assert stored_ids(engine) == sorted(t["id"] for t in tweets)
    assert checkpoint_row(engine).cursor == {"since_id": tweets[-1]["id"]}
    source = source_row(engine)
    assert source.polls == 1 and source.lease_owner is None
    assert source.next_poll_at == outcome.next_poll_at
    assert clock() + timedelta(seconds=100) <= source.next_poll_at <= clock() + timedelta(seconds=120)


def test_a_source_is_not_polled_again_before_it_is_due(engine, fake_x, clock, setup):
    settings, connector = setup
    assert poll(engine, settings, connector, clock).status == "polled"
    requests_after_first = len(fake_x.requests)

    again = poll(engine, settings, connector, clock, worker="w2")

    assert again.status == "skipped" and again.error.startswith("not due until")
    assert len(fake_x.requests) == requests_after_first


def test_the_next_poll_asks_only_for_posts_after_the_checkpoint(engine, fake_x, clock, setup):
    settings, connector = setup
    first = fake_x.add_tweet(author="pat", text="@NHSCovWarks hello")
    poll(engine, settings, connector, clock)
    later = fake_x.add_tweet(author="sam", text="@NHSCovWarks are you open today?")
    clock.advance(seconds=120)

    outcome = poll(engine, settings, connector, clock)

    assert (outcome.new, outcome.duplicates) == (1, 0)
    assert fake_x.requests_to("/mentions$")[-1].query["since_id"] == [first["id"]]
    assert stored_ids(engine) == sorted([first["id"], later["id"]])


def test_a_source_held_by_another_worker_is_skipped_until_the_lease_expires(engine, fake_x, clock, setup):
    settings, connector = setup
    fake_x.add_tweet(author="pat", text="@NHSCovWarks hello")
    with write_transaction(engine) as s:
        assert leases.take(s, SOURCE, owner="w-dead", now=clock(), ttl=timedelta(seconds=300))

    held = poll(engine, settings, connector, clock)
    assert held.status == "skipped" and held.error == "held by w-dead"
    assert fake_x.requests == []

    clock.advance(seconds=300)
    assert poll(engine, settings, connector, clock).status == "polled"
    assert len(stored_ids(engine)) == 1


class DiesAfterIngest(BaseException):
    """The process killed inside the ingest transaction (a BaseException: nothing catches it)."""


def test_a_worker_killed_before_commit_loses_nothing_and_stores_nothing_twice(
    engine, fake_x, clock, setup, monkeypatch
):
    settings, connector = setup
    tweets = [fake_x.add_tweet(author=f"u{i}", text=f"@NHSCovWarks hi {i}") for i in range(5)]
    real_ingest = polling.ingest_or_skip_refused

    def ingest_then_die(*args, **kwargs):
        real_ingest(*args, **kwargs)
        raise DiesAfterIngest

    monkeypatch.setattr(polling, "ingest_or_skip_refused", ingest_then_die)
    with pytest.raises(DiesAfterIngest):
        poll(engine, settings, connector, clock, worker="w1")
    assert stored_ids(engine) == []  # rolled back: mentions and checkpoint together
    assert source_row(engine).lease_owner == "w1"  # a dead worker keeps its lease until it expires

    monkeypatch.setattr(polling, "ingest_or_skip_refused", real_ingest)
    tweets.append(fake_x.add_tweet(author="late", text="@NHSCovWarks one more"))
    clock.advance(seconds=settings.polling.lease_seconds)
    outcome = poll(engine, settings, connector, clock, worker="w2")

    assert (outcome.status, outcome.new) == ("polled", 6)
    assert stored_ids(engine) == sorted(t["id"] for t in tweets)


def test_a_poll_whose_lease_was_taken_over_during_the_fetch_stores_nothing(engine, fake_x, clock, setup):
    settings, real = setup
    fake_x.add_tweet(author="pat", text="@NHSCovWarks hello")

    class SlowConnector:
        """While w1 fetches, its lease runs out and w2 takes the source."""

        def fetch(self, source, checkpoint):
            result = real.fetch(source, checkpoint)
            with write_transaction(engine) as s:
                s.execute(update(Source).values(lease_expires_at=clock() - timedelta(seconds=1)))
                assert leases.take(s, SOURCE, owner="w2", now=clock(), ttl=timedelta(seconds=300))
            return result

    outcome = poll(engine, settings, SlowConnector(), clock, worker="w1")

    assert outcome.status == "lost_lease"
    assert stored_ids(engine) == []
    assert source_row(engine).lease_owner == "w2"


# Temporary errors --------------------------------------------------------------------------

RESET = datetime(2026, 3, 2, 10, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "failure, retry_at",
    [
        pytest.param(rate_limited(reset_at=int(RESET.timestamp())), RESET, id="429-waits-for-the-reset"),
        pytest.param(http_error(503), None, id="503-backs-off"),
        pytest.param(http_error(500), None, id="500-backs-off"),
        pytest.param(Failure(status=200, body="{not json"), None, id="malformed-json"),
        pytest.param(Failure(drop=True), None, id="connection-dropped"),
    ],
)
def test_a_temporary_error_postpones_the_source_and_keeps_the_checkpoint(
    engine, fake_x, clock, setup, failure, retry_at
):
    settings, connector = setup
    first = fake_x.add_tweet(author="pat", text="@NHSCovWarks hello")
    poll(engine, settings, connector, clock)
    fake_x.add_tweet(author="sam", text="@NHSCovWarks still there?")
    clock.advance(seconds=120)
    fake_x.inject(failure, path="/mentions$")

    outcome = poll(engine, settings, connector, clock)

    expected = retry_at or clock() + timedelta(seconds=120)
    assert outcome.status == "temporary_error" and outcome.next_poll_at == expected
    source, checkpoint = source_row(engine), checkpoint_row(engine)
    assert (source.next_poll_at, source.errors, source.needs_attention) == (expected, 1, False)
    assert source.lease_owner is None
    assert checkpoint.cursor == {"since_id": first["id"]}
    assert checkpoint.retry_at == expected and checkpoint.last_error == outcome.error
    assert poll(engine, settings, connector, clock).status == "skipped"  # not before the retry time

    clock.now = expected
    recovered = poll(engine, settings, connector, clock)
    assert (recovered.status, recovered.new) == ("polled", 1)
    assert source_row(engine).errors == 0 and checkpoint_row(engine).last_error is None


def test_an_unreachable_platform_is_a_temporary_error(engine, clock):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = settings_for(SOURCE, base_url=f"http://127.0.0.1:{port}")
    sync(engine, settings)
    from connectors.x import XConnector
    from tests.listener.worker_support import BEARER

    connector = XConnector(bearer_token=BEARER, base_url=f"http://127.0.0.1:{port}", timeout=5, clock=clock)
    outcome = poll(engine, settings, connector, clock)
    assert outcome.status == "temporary_error" and "could not connect" in outcome.error


def test_failures_in_a_row_back_off_exponentially_up_to_an_hour(engine, fake_x, clock, setup):
    settings, connector = setup
    waits = []
    for _ in range(8):
        fake_x.inject(http_error(503), path="/users/by/username/")
        outcome = poll(engine, settings, connector, clock)
        waits.append(outcome.next_poll_at - clock())
        clock.now = outcome.next_poll_at
    assert [w.total_seconds() for w in waits] == [120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert source_row(engine).errors == 8
    assert backoff(120, 0) == timedelta(seconds=120)


class Scripted:
    """A connector that raises what it is told to (for errors no HTTP fake can produce)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def fetch(self, source, checkpoint):
        raise self.error


def test_a_connector_bug_is_recorded_and_retried_not_raised(engine, clock, setup):
    settings, _ = setup
    outcome = poll(engine, settings, Scripted(KeyError("id")), clock)
    assert outcome.status == "temporary_error"
    assert outcome.error == "unexpected error in the connector (KeyError); see the worker log"
    assert checkpoint_row(engine).last_error == outcome.error


def test_a_triage_bug_on_some_post_is_recorded_and_frees_the_source(engine, fake_x, clock, setup):
    settings, connector = setup
    fake_x.add_tweet(author="pat", text="@NHSCovWarks hello")

    class BrokenScorer:
        def score(self, m):
            raise ValueError("cannot score this")

    stage = stub_stage()
    stage.scorer = BrokenScorer()
    outcome = poll_source(
        engine, settings, SOURCE, connector=connector, stage=stage, now=clock(), worker_id="w1"
    )

    assert outcome.status == "temporary_error"
    assert outcome.error == "could not store the fetched posts (ValueError); see the worker log"
    assert stored_ids(engine) == [] and source_row(engine).lease_owner is None
    assert checkpoint_row(engine).cursor == {}


def test_a_temporary_error_with_a_past_retry_time_still_backs_off(engine, clock, setup):
    settings, _ = setup
    outcome = poll(engine, settings, Scripted(TemporaryError("503", retry_at=clock() - timedelta(1))), clock)
    assert outcome.next_poll_at == clock() + timedelta(seconds=120)


# Permanent errors --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_permanent_error_stops_polling_and_tells_the_admins(engine, fake_x, clock, setup, status):
    settings, connector = setup
    fake_x.inject(http_error(status), path="/users/by/username/")

    outcome = poll(engine, settings, connector, clock)

    assert outcome.status == "permanent_error"
    source = source_row(engine)
    assert source.needs_attention and source.attention_reason == outcome.error
    assert source.next_poll_at is None and source.lease_owner is None
    with write_transaction(engine) as s:
        alert = s.scalars(select(Alert)).one()
        assert (alert.kind, alert.audience) == ("source_attention", "admins")
        assert SOURCE in alert.title and outcome.error in alert.body
        assert s.scalar(select(AuditEvent.action)) == "source.needs_attention"

    clock.advance(days=2)
    stopped = poll(engine, settings, connector, clock)
    assert stopped.status == "skipped" and stopped.error.startswith("needs attention")

    with write_transaction(engine) as s:
        clear_attention(s, SOURCE, actor="admin@example.nhs.uk")
    fake_x.add_tweet(author="pat", text="@NHSCovWarks back again")
    assert (poll(engine, settings, connector, clock).status, len(stored_ids(engine))) == ("polled", 1)


def test_a_permanent_error_alerts_once_per_episode(engine, clock, setup):
    settings, _ = setup
    poll(engine, settings, Scripted(PermanentError("token revoked")), clock)
    with write_transaction(engine) as s:
        clear_attention(s, SOURCE, actor="admin@example.nhs.uk")
    clock.advance(hours=1)
    poll(engine, settings, Scripted(PermanentError("token revoked")), clock)
    with write_transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 2


# Malformed items ----------------------------------------------------------------------------


def test_malformed_items_are_counted_and_the_rest_are_stored(engine, fake_x, clock, setup):
    settings, connector = setup
    good = fake_x.add_tweet(author="pat", text="@NHSCovWarks hello")
    body = {
        "data": [
            {
                "id": good["id"],
                "text": good["text"],
                "edit_history_tweet_ids": [good["id"]],
                "author_id": good["author_id"],
                "created_at": good["created_at"],
            },
            {"id": str(int(good["id"]) + 1), "edit_history_tweet_ids": []},  # no text
        ],
        "meta": {"result_count": 2, "newest_id": str(int(good["id"]) + 1), "oldest_id": good["id"]},
    }
    fake_x.inject(Failure(status=200, body=body), path="/mentions$")

    outcome = poll(engine, settings, connector, clock)

    assert (outcome.status, outcome.new, outcome.rejected) == ("polled", 1, 1)
    assert "text" in outcome.rejected_reasons[0]
    assert stored_ids(engine) == [good["id"]]


def _mention(external_id: str) -> Mention:
    return Mention(
        platform="x",
        external_id=external_id,
        source=SOURCE,
        kind="mention",
        author=Author(id="a1", handle="pat"),
        text="hello",
        created_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )


class Returns:
    def __init__(self, mentions: list[Mention], cursor: dict) -> None:
        self.mentions, self.cursor = mentions, cursor

    def fetch(self, source, checkpoint):
        return self.mentions, Checkpoint(self.cursor)


@pytest.mark.postgres
def test_a_post_the_database_refuses_does_not_block_the_source(pg_url, clock):
    from listener.store.db import make_engine
    from listener.store.migrate import upgrade

    engine = make_engine(pg_url)
    upgrade(engine)
    settings = settings_for(SOURCE)
    sync(engine, settings)
    batch = [_mention("1"), _mention("9" * 150), _mention("2")]  # external ids hold 100 characters

    outcome = poll(engine, settings, Returns(batch, {"since_id": "3"}), clock)

    assert (outcome.status, outcome.new, outcome.rejected) == ("polled", 2, 1)
    assert stored_ids(engine) == ["1", "2"]
    assert checkpoint_row(engine).cursor == {"since_id": "3"}
    engine.dispose()


# Poison posts and failures that repeat ------------------------------------------------------


def test_a_post_with_characters_no_database_stores_does_not_blind_the_source(any_engine, fake_x, clock):
    settings = settings_for(SOURCE, base_url=fake_x.base_url)
    sync(any_engine, settings)
    connector = x_connector(fake_x, clock)
    fake_x.add_tweet(author="pat", text="@NHSCovWarks lone \ud800 surrogate")
    fake_x.add_tweet(author="sam", text="@NHSCovWarks a NUL \x00 here")
    fake_x.add_tweet(author="jo", text="@NHSCovWarks an ordinary question")

    first = poll(any_engine, settings, connector, clock)
    assert (first.status, first.new, first.rejected) == ("polled", 3, 0)

    later = fake_x.add_tweet(author="kim", text="@NHSCovWarks are you open today?")
    clock.advance(seconds=120)
    second = poll(any_engine, settings, connector, clock)

    assert (second.status, second.new) == ("polled", 1)
    assert later["id"] in stored_ids(any_engine) and len(stored_ids(any_engine)) == 4
    assert not source_row(any_engine).needs_attention
    with write_transaction(any_engine) as s:
        notes = sorted(n for n in s.scalars(select(MentionRow.text_note)) if n)
    assert len(notes) == 2 and "NUL character was removed" in notes[0] + notes[1]


def test_a_connector_bug_twice_in_a_row_stops_the_source_and_tells_the_admins(engine, clock, setup):
    settings, _ = setup
    first = poll(engine, settings, Scripted(KeyError("id")), clock)
    assert first.status == "temporary_error" and not source_row(engine).needs_attention
    clock.now = first.next_poll_at

    second = poll(engine, settings, Scripted(KeyError("id")), clock)

    assert second.status == "permanent_error"
    source = source_row(engine)
    assert source.needs_attention and source.next_poll_at is None
    assert source.attention_reason == f"failed the same way twice in a row: {first.error}"
    with write_transaction(engine) as s:
        alert = s.scalars(select(Alert)).one()
        assert (alert.kind, alert.audience) == ("source_attention", "admins") and first.error in alert.body
        assert s.scalar(select(AuditEvent.action)) == "source.needs_attention"


def test_posts_that_cannot_be_stored_twice_in_a_row_stop_the_source(engine, fake_x, clock, setup):
    settings, connector = setup
    fake_x.add_tweet(author="pat", text="@NHSCovWarks hello")

    class BrokenScorer:
        def score(self, m):
            raise ValueError("cannot score this")

    stage = stub_stage()
    stage.scorer = BrokenScorer()
    outcomes = []
    for _ in range(2):
        outcomes.append(
            poll_source(
                engine, settings, SOURCE, connector=connector, stage=stage, now=clock(), worker_id="w1"
            )
        )
        clock.now = outcomes[-1].next_poll_at or clock()
    assert [o.status for o in outcomes] == ["temporary_error", "permanent_error"]
    assert source_row(engine).needs_attention


def test_different_failures_in_a_row_keep_retrying(engine, clock, setup):
    settings, _ = setup
    for error in (KeyError("id"), ValueError("x"), KeyError("id")):
        outcome = poll(engine, settings, Scripted(error), clock)
        assert outcome.status == "temporary_error"
        clock.now = outcome.next_poll_at
    assert not source_row(engine).needs_attention
