"""send_due_replies without a scheduler: exactly once, crash safety, retries, failures, order."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from connectors.fake_server import Failure
from connectors.x.fake import http_error, rate_limited
from listener.intake.polling import poll_source
from listener.replies import outbox
from listener.replies.outbox import MAX_ATTEMPTS, claim_due_replies, send_due_replies
from listener.store.db import write_transaction
from listener.store.models import AuditEvent, QueueItem, Reply, ReplyAttempt
from tests.listener.worker_support import (
    SOURCE,
    add_user,
    approve_reply,
    clock_fixture,  # noqa: F401 - the clock fixture
    fake_x_fixture,  # noqa: F401 - the fake_x fixture
    settings_for,
    stub_stage,
    sync,
    x_connector,
)


@pytest.fixture
def world(engine, fake_x, clock):
    """Two stored mentions from the fake, an agent, and a connector to the fake."""
    settings = settings_for(SOURCE, base_url=fake_x.base_url)
    sync(engine, settings)
    connector = x_connector(fake_x, clock)
    tweets = [fake_x.add_tweet(author=f"pat{i}", text=f"@NHSCovWarks question {i}") for i in range(2)]
    poll_source(engine, settings, SOURCE, connector=connector, stage=stub_stage(), now=clock(), worker_id="w")
    return settings, connector, tweets, add_user(engine)


def send(engine, settings, connector, clock, worker="w1", **kw):
    return send_due_replies(
        engine, settings, connectors={"x": connector}, now=clock(), worker_id=worker, **kw
    )


def reply_row(engine, reply_id) -> Reply:
    with write_transaction(engine) as s:
        return s.get_one(Reply, reply_id)


def attempts(engine, reply_id) -> list[ReplyAttempt]:
    with write_transaction(engine) as s:
        return list(
            s.scalars(select(ReplyAttempt).where(ReplyAttempt.reply_id == reply_id).order_by(ReplyAttempt.id))
        )


def test_an_approved_reply_is_posted_once_and_recorded(engine, fake_x, clock, world):
    settings, connector, tweets, agent = world
    reply_id = approve_reply(
        engine,
        mention_external_id=tweets[0]["id"],
        text="Happy to help. TA",
        author=agent,
        approved_at=clock(),
    )

    assert send(engine, settings, connector, clock) == 1
    assert send(engine, settings, connector, clock) == 0

    assert [(r["text"], r["referenced_tweets"][0]["id"]) for r in fake_x.replies] == [
        ("Happy to help. TA", tweets[0]["id"])
    ]
    reply = reply_row(engine, reply_id)
    assert (reply.status, reply.platform_reply_id, reply.sent_at) == (
        "sent",
        fake_x.replies[0]["id"],
        clock(),
    )
    [attempt] = attempts(engine, reply_id)
    assert (attempt.outcome, attempt.worker, attempt.finished_at) == ("sent", "w1", clock())
    with write_transaction(engine) as s:
        item = s.get_one(QueueItem, reply.queue_item_id)
        assert (item.status, item.first_response_at) == ("replied", clock())
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.object_type == "reply")) == "reply.sent"


def test_the_attempt_is_committed_before_the_platform_is_called(engine, fake_x, clock, world):
    settings, real, tweets, agent = world
    reply_id = approve_reply(
        engine, mention_external_id=tweets[0]["id"], text="Thanks. TA", author=agent, approved_at=clock()
    )
    seen = []

    class Watching:
        def reply(self, **kwargs):
            seen.extend((a.finished_at, a.outcome) for a in attempts(engine, reply_id))  # another session
            return real.reply(**kwargs)

    send(engine, settings, Watching(), clock)
    assert seen == [(None, None)]


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the worker catches it, nothing after it runs."""


def test_a_reply_posted_just_before_the_worker_died_is_not_posted_again(engine, fake_x, clock, world):
    settings, real, tweets, agent = world
    reply_id = approve_reply(
        engine,
        mention_external_id=tweets[0]["id"],
        text="We will look into it. TA",
        author=agent,
        approved_at=clock(),
    )

    class DiesAfterPosting:
        def reply(self, **kwargs):
            real.reply(**kwargs)  # the platform has it ...
            raise WorkerKilled  # ... and the worker dies before recording it

    with pytest.raises(WorkerKilled):
        send(engine, settings, DiesAfterPosting(), clock, worker="w1")
    assert reply_row(engine, reply_id).status == "sending"
    assert (
        send(engine, settings, real, clock, worker="w2") == 0
    )  # claimed by the dead worker until it expires

    clock.advance(seconds=settings.polling.lease_seconds)
    assert send(engine, settings, real, clock, worker="w2") == 1

    assert len(fake_x.replies) == 1
    reply = reply_row(engine, reply_id)
    assert (reply.status, reply.platform_reply_id) == ("sent", fake_x.replies[0]["id"])
    assert [a.outcome for a in attempts(engine, reply_id)] == ["found_existing"]
    assert fake_x.requests_to(r"/users/\d+/tweets$")  # it looked before deciding


def test_a_reply_the_dead_worker_never_got_out_is_posted_by_the_next(engine, fake_x, clock, world):
    settings, real, tweets, agent = world
    reply_id = approve_reply(
        engine, mention_external_id=tweets[0]["id"], text="On it. TA", author=agent, approved_at=clock()
    )

    class DiesBeforePosting:
        def reply(self, **kwargs):
            raise WorkerKilled

    with pytest.raises(WorkerKilled):
        send(engine, settings, DiesBeforePosting(), clock, worker="w1")
    clock.advance(seconds=settings.polling.lease_seconds)

    assert send(engine, settings, real, clock, worker="w2") == 1
    assert len(fake_x.replies) == 1
    assert [a.outcome for a in attempts(engine, reply_id)] == ["lost", "sent"]


def test_a_reply_accepted_but_unanswered_is_found_on_the_retry(engine, fake_x, clock, world):
    settings, connector, tweets, agent = world
    reply_id = approve_reply(
        engine,
        mention_external_id=tweets[0]["id"],
        text="Sorry to hear that. TA",
        author=agent,
        approved_at=clock(),
    )
    fake_x.inject(Failure(drop=True, after_apply=True), path="/2/tweets$", method="POST")

    assert send(engine, settings, connector, clock) == 0
    reply = reply_row(engine, reply_id)
    assert (reply.status, reply.next_attempt_at) == ("approved", clock() + timedelta(seconds=30))
    assert "could not connect" in reply.last_error or "failed" in reply.last_error

    clock.advance(seconds=30)
    assert send(engine, settings, connector, clock) == 1
    assert len(fake_x.replies) == 1
    assert [a.outcome for a in attempts(engine, reply_id)] == ["temporary"]
    with write_transaction(engine) as s:
        sent = s.scalars(select(AuditEvent).where(AuditEvent.action == "reply.sent")).one()
        assert sent.after == {"platform_reply_id": fake_x.replies[0]["id"], "how": "found_existing"}


@pytest.mark.parametrize(
    "failure, wait",
    [
        pytest.param(http_error(503), timedelta(seconds=30), id="503"),
        pytest.param(
            rate_limited(reset_at=int(datetime(2026, 3, 2, 10, 15, tzinfo=UTC).timestamp())),
            timedelta(minutes=15),
            id="429-until-reset",
        ),
    ],
)
def test_a_temporary_failure_is_retried_later(engine, fake_x, clock, world, failure, wait):
    settings, connector, tweets, agent = world
    reply_id = approve_reply(
        engine, mention_external_id=tweets[0]["id"], text="Thank you. TA", author=agent, approved_at=clock()
    )
    fake_x.inject(failure, path="/2/tweets$", method="POST")

    assert send(engine, settings, connector, clock) == 0
    assert reply_row(engine, reply_id).next_attempt_at == clock() + wait
    clock.now += wait - timedelta(seconds=1)
    assert send(engine, settings, connector, clock) == 0  # not yet
    clock.advance(seconds=1)
    assert send(engine, settings, connector, clock) == 1
    assert len(fake_x.replies) == 1
    assert reply_row(engine, reply_id).attempts == 2


def test_a_permanent_failure_fails_the_reply_and_tells_its_author(engine, fake_x, clock, world):
    settings, connector, tweets, agent = world
    reply_id = approve_reply(
        engine, mention_external_id=tweets[0]["id"], text="Thanks. TA", author=agent, approved_at=clock()
    )
    fake_x.inject(http_error(403, "You attempted to reply to a Tweet that is deleted"), path="/2/tweets$")

    assert send(engine, settings, connector, clock) == 0

    reply = reply_row(engine, reply_id)
    assert reply.status == "failed" and "403" in reply.last_error
    with write_transaction(engine) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "reply.failed")).one()
        assert event.object_id == str(reply_id) and event.after["author_id"] == agent.id
    clock.advance(hours=2)
    assert send(engine, settings, connector, clock) == 0
    assert fake_x.replies == []


def test_temporary_failures_give_up_after_the_last_attempt(engine, fake_x, clock, world):
    settings, connector, tweets, agent = world
    reply_id = approve_reply(
        engine, mention_external_id=tweets[0]["id"], text="Thanks. TA", author=agent, approved_at=clock()
    )
    fake_x.inject(http_error(503), path="/2/tweets$", method="POST", times=MAX_ATTEMPTS)
    for _ in range(MAX_ATTEMPTS):
        send(engine, settings, connector, clock)
        clock.advance(hours=1)
    reply = reply_row(engine, reply_id)
    assert reply.status == "failed" and reply.last_error.startswith(f"gave up after {MAX_ATTEMPTS} attempts")
    assert fake_x.replies == []


def test_replies_in_one_conversation_go_out_in_approval_order(engine, fake_x, clock, world):
    settings, connector, tweets, agent = world
    follow_up = fake_x.add_tweet(
        author="pat0", text="@NHSCovWarks and another thing", in_reply_to=tweets[0]["id"]
    )
    poll_source(
        engine,
        settings,
        SOURCE,
        connector=connector,
        stage=stub_stage(),
        now=clock() + timedelta(minutes=5),
        worker_id="w",
    )
    first = approve_reply(
        engine,
        mention_external_id=tweets[0]["id"],
        text="First answer. TA",
        author=agent,
        approved_at=clock(),
    )
    second = approve_reply(
        engine,
        mention_external_id=follow_up["id"],
        text="Second answer. TA",
        author=agent,
        approved_at=clock() + timedelta(seconds=1),
    )
    other = approve_reply(
        engine,
        mention_external_id=tweets[1]["id"],
        text="Another thread. TA",
        author=agent,
        approved_at=clock() + timedelta(seconds=2),
    )
    clock.advance(seconds=5)
    fake_x.inject(http_error(503), path="/2/tweets$", method="POST")

    assert send(engine, settings, connector, clock) == 1  # the first fails; the other thread is not held up
    assert [reply_row(engine, i).status for i in (first, second, other)] == ["approved", "approved", "sent"]

    clock.advance(seconds=30)
    send(engine, settings, connector, clock)
    send(engine, settings, connector, clock)
    assert [r["text"] for r in fake_x.replies] == [
        "Another thread. TA",
        "First answer. TA",
        "Second answer. TA",
    ]


def test_a_reply_for_a_platform_without_credentials_waits_with_the_reason(engine, clock, world):
    settings, _, tweets, agent = world
    reply_id = approve_reply(
        engine, mention_external_id=tweets[0]["id"], text="Thanks. TA", author=agent, approved_at=clock()
    )
    assert send_due_replies(engine, settings, connectors={}, now=clock(), worker_id="w1") == 0
    reply = reply_row(engine, reply_id)
    assert reply.status == "approved" and "no x connector" in reply.last_error


def test_stopping_hands_back_the_replies_not_yet_started(engine, fake_x, clock, world):
    settings, connector, tweets, agent = world
    ids = [
        approve_reply(
            engine,
            mention_external_id=t["id"],
            text=f"Reply {n}. TA",
            author=agent,
            approved_at=clock() + timedelta(seconds=n),
        )
        for n, t in enumerate(tweets)
    ]
    clock.advance(seconds=5)
    asked = []

    def stop_after_first():
        asked.append(1)
        return len(asked) > 1

    assert send(engine, settings, connector, clock, should_stop=stop_after_first) == 1
    assert [reply_row(engine, i).status for i in ids] == ["sent", "approved"]
    assert send(engine, settings, connector, clock) == 1


def make_new_post(engine, tweets, agent, clock) -> int:
    """An incident's message to the account itself: it answers no post."""
    reply_id = approve_reply(
        engine, mention_external_id=tweets[0]["id"], text="Statement. TA", author=agent, approved_at=clock()
    )
    with write_transaction(engine) as s:
        s.execute(update(Reply).values(in_reply_to=None, queue_item_id=None, purpose="listening"))
    return reply_id


class RepliesOnly:
    """A connector that can answer posts but not publish new ones."""

    def reply(self, **kwargs):
        raise AssertionError("a new post is not a reply")

    def find_reply(self, **kwargs):
        raise AssertionError("a new post is not a reply")


def test_a_new_post_fails_clearly_when_the_connector_cannot_publish_one(engine, clock, world):
    settings, _, tweets, agent = world
    reply_id = make_new_post(engine, tweets, agent, clock)
    assert send(engine, settings, RepliesOnly(), clock) == 0
    reply = reply_row(engine, reply_id)
    assert reply.status == "failed" and "cannot publish new posts on x" in reply.last_error
    assert attempts(engine, reply_id) == []


class PagePublisher:
    """A connector that can publish new posts, and remembers them in memory."""

    def __init__(self) -> None:
        self.posts: list[str] = []

    def post(self, *, source, text, idempotency_key):
        self.posts.append(text)
        return f"post-{len(self.posts)}"

    def find_post(self, *, source, text, within):
        return next((f"post-{n}" for n, t in enumerate(self.posts, 1) if t == text), None)

    def reply(self, **kwargs):
        raise AssertionError("a new post is not a reply")

    def find_reply(self, **kwargs):
        raise AssertionError("a new post is not a reply")


def test_a_new_post_published_before_a_crash_is_found_not_posted_again(engine, clock, world):
    settings, _, tweets, agent = world
    reply_id = make_new_post(engine, tweets, agent, clock)
    page = PagePublisher()

    class DiesAfterPosting(PagePublisher):
        def post(self, **kwargs):
            page.post(**kwargs)
            raise WorkerKilled

    with pytest.raises(WorkerKilled):
        send(engine, settings, DiesAfterPosting(), clock, worker="w1")
    clock.advance(seconds=settings.polling.lease_seconds)
    assert send(engine, settings, page, clock, worker="w2") == 1

    assert page.posts == ["Statement. TA"]
    assert reply_row(engine, reply_id).platform_reply_id == "post-1"


def test_concurrent_claims_never_hand_one_reply_to_two_workers(any_engine, clock):
    agent = add_user(any_engine)
    with write_transaction(any_engine) as s:
        for n in range(60):
            s.add(
                Reply(
                    platform="x",
                    source_key=SOURCE,
                    in_reply_to=str(n),
                    text=f"r{n}",
                    status="approved",
                    author_id=agent.id,
                    approved_at=clock(),
                    idempotency_key=f"k{n}",
                )
            )
    claimed: list[list[int]] = []
    barrier = threading.Barrier(4)

    def worker():
        barrier.wait()
        mine = []
        while batch := claim_due_replies(any_engine, now=clock(), limit=5, claim_for=timedelta(minutes=5)):
            mine.extend(batch)
        claimed.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for mine in claimed for i in mine]
    assert len(every) == 60 and len(set(every)) == 60


def test_retry_delays_double_up_to_an_hour():
    assert [outbox.retry_delay(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def _crash_after_posting(engine, settings, real, clock, reply_id):
    """The platform takes the reply, and the worker dies before the database hears of it."""

    class DiesAfterPosting:
        def reply(self, **kwargs):
            real.reply(**kwargs)
            raise WorkerKilled

    with pytest.raises(WorkerKilled):
        send(engine, settings, DiesAfterPosting(), clock, worker="w1")
    assert reply_row(engine, reply_id).status == "sending"


def test_a_reply_posted_before_a_crash_is_found_however_busy_the_account_was_since(
    engine, fake_x, clock, world
):
    settings, real, tweets, agent = world
    reply_id = approve_reply(
        engine,
        mention_external_id=tweets[0]["id"],
        text="Sorry to hear that. TA",
        author=agent,
        approved_at=clock(),
    )
    _crash_after_posting(engine, settings, real, clock, reply_id)
    for n in range(350):  # the account keeps posting (other people answer other posts) before the restart
        fake_x.add_tweet(author="NHSCovWarks", text=f"Clinic times update {n}")

    clock.advance(seconds=settings.polling.lease_seconds)
    assert send(engine, settings, real, clock, worker="w2") == 1

    ours = [r for r in fake_x.replies if r["referenced_tweets"][0]["id"] == tweets[0]["id"]]
    assert len(ours) == 1, "one reply on the platform"
    assert reply_row(engine, reply_id).platform_reply_id == ours[0]["id"]
    assert [a.outcome for a in attempts(engine, reply_id)] == ["found_existing"]


def test_past_what_the_platform_shows_the_reply_is_held_for_a_person(engine, fake_x, clock, world):
    settings, real, tweets, agent = world
    reply_id = approve_reply(
        engine,
        mention_external_id=tweets[0]["id"],
        text="We will call you. TA",
        author=agent,
        approved_at=clock(),
    )
    _crash_after_posting(engine, settings, real, clock, reply_id)
    for n in range(3300):  # more than X's timeline shows (3,200): nobody can tell from here
        fake_x.add_tweet(author="NHSCovWarks", text=f"Update {n}")

    clock.advance(seconds=settings.polling.lease_seconds)
    assert send(engine, settings, real, clock, worker="w2") == 0
    clock.advance(hours=2)
    assert send(engine, settings, real, clock, worker="w2") == 0, "held: the worker never sends it blind"

    reply = reply_row(engine, reply_id)
    assert reply.status == "held" and reply.last_error.startswith(outbox.HELD_MESSAGE)
    assert len(fake_x.replies) == 1
    assert [a.outcome for a in attempts(engine, reply_id)] == [outbox.UNKNOWN]
    with write_transaction(engine) as s:
        assert "reply.held" in s.scalars(select(AuditEvent.action)).all()


def test_a_person_says_whether_a_held_reply_is_posted(engine, fake_x, clock, world):
    settings, real, tweets, agent = world
    held, posted = (
        approve_reply(
            engine, mention_external_id=t["id"], text=f"Reply {n}. TA", author=agent, approved_at=clock()
        )
        for n, t in enumerate(tweets)
    )
    with write_transaction(engine) as s:
        s.execute(update(Reply).where(Reply.id.in_([held, posted])).values(status="held"))
        s.add_all(
            ReplyAttempt(reply_id=r, worker="w1", started_at=clock(), outcome=outbox.UNKNOWN)
            for r in (held, posted)
        )

    with write_transaction(engine) as s:
        outbox.send_after_check(s, reply=s.get_one(Reply, held), user=agent, now=clock())
        outbox.mark_posted(
            s, reply=s.get_one(Reply, posted), user=agent, now=clock(), link="https://x.com/i/web/status/1"
        )
    assert send(engine, settings, real, clock) == 1
    assert [r["text"] for r in fake_x.replies] == ["Reply 0. TA"]
    assert not fake_x.requests_to(r"/users/\d+/tweets$"), "checked by a person: no second look"
    assert (reply_row(engine, held).status, reply_row(engine, posted).status) == ("sent", "sent")
    assert reply_row(engine, posted).platform_url == "https://x.com/i/web/status/1"
    with write_transaction(engine) as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "reply")).all()
        assert {"reply.checked_not_posted", "reply.checked_posted"} <= set(actions)
        with pytest.raises(outbox.NotHeld):
            outbox.send_after_check(s, reply=s.get_one(Reply, held), user=agent, now=clock())
