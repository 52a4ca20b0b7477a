"""Faults survived: platforms failing in every way, the database going away, workers killed, mail down.

The in-process drills drive a real ``Worker`` — the object ``listening-post run`` schedules —
by calling its jobs the way the scheduler does, tick by tick, on a clock the test moves (no
sleeping). The platforms are the loopback fakes behind a TCP proxy that can be stopped, and
PostgreSQL is reached through such a proxy too: stopping it is a database restart as the
worker sees it, without touching the real server.

Related tests elsewhere, not repeated here: connectors against the failure table
(tests/connectors/test_failures.py), one poll at a time (tests/listener/test_polling.py),
the outbox's crash cases (tests/listener/test_outbox.py), three worker processes killed mid-poll
and mid-send on PostgreSQL (tests/listener/test_worker_processes.py), alert retries against a
real SMTP server (tests/listener/test_alerts.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, event, func, select, text, update
from sqlalchemy.engine import make_url

from connectors.base import Connector
from connectors.fake_server import Failure
from connectors.x.fake import FakeXApi
from listener.incidents import alerts
from listener.intake.polling import MAX_BACKOFF, PollOutcome
from listener.intake.sources import Connectors, clear_attention
from listener.settings import Settings
from listener.store.db import make_engine, write_transaction
from listener.store.migrate import upgrade
from listener.store.models import (
    Alert,
    AuditEvent,
    Checkpoint,
    Incident,
    QueueItem,
    Reply,
    ReplyAttempt,
    Score,
    Source,
    User,
)
from listener.store.models import Mention as MentionRow
from listener.store.types import utcnow
from listener.worker import Worker
from queue_ui.app import create_app
from tests.listener.smtp_server import SmtpServer
from tests.listener.test_worker_processes import Workers, post_mentions, wait_for, write_config
from tests.listener.worker_support import Clock, add_user, approve_reply, stub_stage
from tests.queue_ui.conftest import SECRET, sign_in
from tests.reliability.platforms import CASES, PERMANENT, PLATFORMS, X_BEARER, Platform, x_platform
from tests.reliability.tcp_proxy import TcpProxy

INTERVAL = 60


def drill_settings(platform: Platform) -> Settings:
    settings = Settings.model_validate(
        {
            "accounts": [{"platform": "x", "handle": "NHSCovWarks"}],
            "sources": [{"key": platform.source, "interval_seconds": INTERVAL}],
            "polling": {"jitter_seconds": 0, "lease_seconds": 60},
        }
    )
    settings.secrets = settings.secrets.model_copy(update={"x_bearer_token": X_BEARER})
    return settings


def make_worker(engine: Engine, platform: Platform, clock: Clock, name: str = "w1") -> Worker:
    connector = platform.connector()
    worker = Worker(
        drill_settings(platform),
        engine,
        worker_id=name,
        connectors=Connectors(
            by_source={platform.source: connector}, by_platform={platform.name: connector}, unavailable={}
        ),
        stage=stub_stage(),
        clock=clock,
    )
    worker.prepare()
    return worker


def stored(engine: Engine, platform: str) -> list[str]:
    with write_transaction(engine) as s:
        return list(s.scalars(select(MentionRow.external_id).where(MentionRow.platform == platform)))


def count(engine: Engine, model: type, *where: object) -> int:
    with write_transaction(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=sorted(PLATFORMS))
def platform(request: pytest.FixtureRequest, clock: Clock) -> Iterator[Platform]:
    with PLATFORMS[request.param](clock) as built:
        yield built


def poll_once(worker: Worker, platform: Platform, where: str) -> PollOutcome:
    outcome = worker.poll(platform.source)
    assert outcome is not None, f"{where}: the poll raised instead of recording the failure"
    return outcome


def test_a_running_worker_survives_every_platform_failure_and_loses_nothing(
    any_engine: Engine, platform: Platform, clock: Clock
) -> None:
    """One source goes through the whole failure table, one case after another, while posts keep coming.

    Each case: a post is published, the platform fails in that way, the worker polls and records the
    failure (a permanent one stops polling and alerts the admins until one clears it), then the
    platform recovers and the next due poll collects the post. At the end every post is stored once.
    """
    engine = any_engine
    worker = make_worker(engine, platform, clock)
    published = [platform.publish("first question")]
    assert poll_once(worker, platform, "first poll").status == "polled"
    clock.advance(seconds=INTERVAL)

    for case in CASES:
        if case != "empty page":
            published.append(platform.publish(f"question during {case}"))
        reset_at = clock() + timedelta(minutes=10)
        platform.inject(case, reset_at=reset_at)
        if case == "timeout":
            # A short read timeout for this one poll, so the drill does not wait the default.
            worker.connectors.by_source[platform.source] = platform.connector(timeout=0.3)
        outcome = poll_once(worker, platform, case)
        worker.connectors.by_source[platform.source] = worker.connectors.by_platform[platform.name]
        platform.recover()

        if case in PERMANENT:
            assert outcome.status == "permanent_error", (case, outcome)
            assert count(engine, Alert, Alert.kind == "source_attention") == PERMANENT.index(case) + 1
            requests_before = len(platform.fake.requests_to(platform.listing))
            clock.advance(hours=2)
            skipped = poll_once(worker, platform, f"{case}, not yet cleared")
            assert skipped.status == "skipped" and "needs attention" in (skipped.error or "")
            assert len(platform.fake.requests_to(platform.listing)) == requests_before, (
                "polled a broken source"
            )
            with write_transaction(engine) as s:
                clear_attention(s, platform.source, actor="admin@example.nhs.uk")
        elif case in ("broken item", "empty page"):
            assert outcome.status == "polled", (case, outcome)
            assert outcome.rejected == (1 if case == "broken item" else 0), (case, outcome)
            clock.advance(seconds=INTERVAL)
        else:
            assert outcome.status == "temporary_error", (case, outcome)
            assert outcome.next_poll_at is not None
            if case == "429":
                assert outcome.next_poll_at == reset_at, "polling again before the rate limit resets"
            early = poll_once(worker, platform, f"{case}, before the retry time")
            assert early.status == "skipped", (case, early)
            clock.now = outcome.next_poll_at

        recovered = poll_once(worker, platform, f"after {case}")
        assert recovered.status == "polled", (case, recovered)
        assert sorted(stored(engine, platform.name)) == sorted(published), f"after {case}"
        clock.advance(seconds=INTERVAL)

    # A burst after all that: more than one page of posts at once.
    published += [platform.publish(f"burst {n}") for n in range(120)]
    assert poll_once(worker, platform, "burst").new == 120
    assert sorted(stored(engine, platform.name)) == sorted(published)  # each once
    assert worker.jobs[f"poll:{platform.source}"]["failures"] == 0, worker.jobs
    assert count(engine, AuditEvent, AuditEvent.action == "source.needs_attention") == len(PERMANENT)
    with write_transaction(engine) as s:
        row = s.scalars(select(Source).where(Source.key == platform.source)).one()
        assert (row.errors, row.needs_attention, row.lease_owner) == (0, False, None)


# The database goes away --------------------------------------------------------------------


@pytest.fixture
def pg_proxy(pg_url: str) -> Iterator[tuple[TcpProxy, str]]:
    """A proxy in front of the test PostgreSQL server, and the database URL that goes through it."""
    url = make_url(pg_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


@pytest.fixture
def x(clock: Clock) -> Iterator[Platform]:
    with x_platform(clock) as platform:
        yield platform


@pytest.mark.postgres
def test_a_worker_waits_out_a_database_restart_and_then_collects_everything(
    pg_proxy: tuple[TcpProxy, str], x: Platform, clock: Clock
) -> None:
    proxy, url = pg_proxy
    engine = make_engine(url)
    upgrade(engine)
    worker = make_worker(engine, x, clock)
    published = [x.publish(f"before {n}") for n in range(3)]
    assert poll_once(worker, x, "before").new == 3

    proxy.stop()  # PostgreSQL restarts: every connection is cut and new ones are refused
    published += [x.publish(f"during {n}") for n in range(4)]
    listings = len(x.fake.requests_to(x.listing))
    for _ in range(3):
        clock.advance(seconds=INTERVAL)
        # Each job fails inside, is recorded for the admin page, and the worker carries on.
        assert worker.poll(x.source) is None
        assert worker.send_replies() is None
        worker.heartbeat()
    # Without the database it fetches nothing, so nothing fetched can be lost.
    assert len(x.fake.requests_to(x.listing)) == listings
    poll_job = worker.jobs[f"poll:{x.source}"]
    assert poll_job["failures"] == 3 and "OperationalError" in poll_job["last_error"]

    proxy.start()  # the database is back
    clock.advance(seconds=INTERVAL)
    assert poll_once(worker, x, "after the restart").new == 4
    assert sorted(stored(engine, "x")) == sorted(published)
    worker.heartbeat()
    assert worker.jobs["heartbeat"]["last_ok"] == clock().isoformat()
    engine.dispose()


@pytest.mark.postgres
def test_a_connection_cut_in_the_middle_of_ingest_commits_nothing_and_the_next_poll_stores_all(
    pg_url: str, x: Platform, clock: Clock
) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    admin = make_engine(pg_url)
    worker = make_worker(engine, x, clock)
    published = [x.publish(f"question {n}") for n in range(5)]
    cut: list[int] = []

    def terminate_mid_ingest(conn, cursor, statement, parameters, context, executemany) -> None:
        # The mentions are about to be written, inside the poll's transaction: end the backend now.
        if statement.startswith("INSERT INTO mentions") and not cut:
            cut.append(conn.connection.dbapi_connection.info.backend_pid)
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": cut[0]})

    event.listen(engine, "before_cursor_execute", terminate_mid_ingest)
    assert worker.poll(x.source) is None  # the transaction died with its connection
    assert cut and stored(engine, "x") == []
    with write_transaction(engine) as s:
        assert s.scalar(select(Checkpoint.cursor)) is None  # the checkpoint did not move either

    clock.advance(seconds=1)  # still this worker's lease and still due: it tries again at once
    again = poll_once(worker, x, "after the cut")
    assert (again.status, again.new) == ("polled", 5)
    assert sorted(stored(engine, "x")) == sorted(published)
    assert count(engine, QueueItem) == 5
    engine.dispose()
    admin.dispose()


class CutDatabaseAfterReply:
    """The real connector, except that the database goes away just after the platform took the reply."""

    def __init__(self, connector: Connector, proxy: TcpProxy) -> None:
        self.connector, self.proxy = connector, proxy

    def __getattr__(self, name: str) -> object:
        return getattr(self.connector, name)

    def reply(self, **kwargs: str) -> str:
        platform_id = self.connector.reply(**kwargs)  # type: ignore[arg-type]
        self.proxy.stop()
        return platform_id


@pytest.mark.postgres
def test_a_reply_posted_just_before_the_database_went_away_is_not_posted_again(
    pg_proxy: tuple[TcpProxy, str], x: Platform, clock: Clock
) -> None:
    proxy, url = pg_proxy
    engine = make_engine(url)
    upgrade(engine)
    worker = make_worker(engine, x, clock)
    [target] = [x.publish("when does the clinic open?")]
    poll_once(worker, x, "poll")
    approve_reply(
        engine,
        mention_external_id=target,
        text="It opens at 8am. ^TA",
        author=add_user(engine),
        approved_at=clock(),
    )
    worker.connectors.by_platform["x"] = CutDatabaseAfterReply(worker.connectors.by_platform["x"], proxy)

    assert worker.send_replies() is None  # posted on X, then the database was gone: recorded as a failure
    assert len(x.fake.replies) == 1
    proxy.start()
    worker.connectors.by_platform["x"] = worker.connectors.by_source[x.source]

    assert worker.send_replies() == 0  # still claimed by the attempt that never finished
    clock.advance(seconds=worker.settings.polling.lease_seconds)
    assert worker.send_replies() == 1  # the claim ran out: found on X, not posted again
    assert len(x.fake.replies) == 1
    with write_transaction(engine) as s:
        reply = s.scalars(select(Reply)).one()
        assert (reply.status, reply.platform_reply_id) == ("sent", x.fake.replies[0]["id"])
        assert list(s.scalars(select(ReplyAttempt.outcome))) == ["found_existing"]
    engine.dispose()


# A platform outage with a full outbox --------------------------------------------------------


def test_a_full_outbox_waits_out_a_platform_outage_then_drains_in_order(
    any_engine: Engine, x: Platform, clock: Clock
) -> None:
    engine = any_engine
    worker = make_worker(engine, x, clock)
    threads = []
    for t in range(5):
        root = x.fake.add_tweet(author=f"parent{t}", text=f"@NHSCovWarks our GP surgery closed early ({t})")
        follow_ups = [
            x.fake.add_tweet(
                author=f"parent{t}", text=f"@NHSCovWarks still waiting {n}", in_reply_to=root["id"]
            )
            for n in range(2)
        ]
        threads.append([root["id"], *(f["id"] for f in follow_ups)])
    assert poll_once(worker, x, "before the outage").new == 15
    agent = add_user(engine)

    x.proxy.stop()  # X is down: connections refused, for polling and for sending
    approval_order = [threads[t][n] for n in range(3) for t in range(5)]  # 15 replies, threads interleaved
    for n, target in enumerate(approval_order):
        clock.advance(seconds=1)
        approve_reply(
            engine,
            mention_external_id=target,
            text=f"Sorry about this, we are on it ({n}). ^TA",
            author=agent,
            approved_at=clock(),
        )
    during = [x.publish(f"posted during the outage {n}") for n in range(3)]

    outage_ends = clock() + timedelta(minutes=20)
    while clock() < outage_ends:  # a tick a minute: the jobs as the scheduler runs them
        worker.poll(x.source)
        assert worker.send_replies() == 0
        clock.advance(minutes=1)
    with write_transaction(engine) as s:
        replies = s.scalars(select(Reply)).all()
        assert {r.status for r in replies} == {"approved"}, "a reply gave up during the outage"
        # The first reply of each conversation keeps being retried, saying why; the others wait their turn.
        tried = [r for r in replies if r.attempts]
        assert len(tried) == 5 and all("could not connect" in (r.last_error or "") for r in tried)
    assert x.fake.replies == []

    x.proxy.start()
    back = clock()

    def all_sent() -> bool:
        with write_transaction(engine) as s:
            return set(s.scalars(select(Reply.status))) == {"sent"}

    # Tick on until the outbox is empty and the posts of the outage are in; polling backs off to at
    # most an hour between tries, so that is the longest it may take.
    while not (all_sent() and set(during) <= set(stored(engine, "x"))):
        assert clock() - back <= MAX_BACKOFF, "the worker did not recover within the longest backoff"
        worker.poll(x.source)
        worker.send_replies()
        clock.advance(minutes=1)
    answered = [r["referenced_tweets"][0]["id"] for r in x.fake.replies]
    assert answered == approval_order, "replies went out of order, or twice"
    for thread in threads:
        assert [a for a in answered if a in thread] == thread  # within a conversation: in order
    assert worker.jobs["outbox"]["failures"] == 0 and worker.jobs[f"poll:{x.source}"]["failures"] == 0


# Worker processes killed ------------------------------------------------------------------------


@pytest.fixture
def live_x() -> Iterator[FakeXApi]:
    """The fake X API on the wall clock, for worker processes (they run on real time)."""
    with FakeXApi(me="NHSCovWarks") as fake:
        yield fake  # type: ignore[misc]


def blocked_by(engine: Engine, blocker: int, statement: str) -> bool:
    """Whether a backend running ``statement...`` waits for a lock that backend ``blocker`` holds."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT 1 FROM pg_stat_activity WHERE query LIKE :q AND :blocker = ANY(pg_blocking_pids(pid))"
            ),
            {"q": statement + "%", "blocker": blocker},
        )
        return found.first() is not None


@pytest.mark.postgres
@pytest.mark.slow
def test_a_worker_killed_in_the_middle_of_ingest_loses_nothing_and_doubles_nothing(
    pg_url: str, tmp_path: Path, live_x: FakeXApi
) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    workers = Workers(tmp_path, write_config(tmp_path, live_x.base_url), pg_url)
    posted = post_mentions(live_x, 20, "first")
    try:
        # Hold the queue table: the worker's poll stores the mentions and their scores, then waits at the
        # queue items, in the middle of its one transaction. That is where it is killed.
        with engine.connect() as blocker:
            blocker.execute(text("LOCK TABLE queue_items IN EXCLUSIVE MODE"))
            pid = blocker.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
            workers.start("w1")
            wait_for(
                "the poll to block mid-ingest",
                lambda: blocked_by(engine, pid, "INSERT INTO queue_items"),
                workers,
                ["w1"],
            )
            workers.kill("w1")
            blocker.rollback()
        assert count(engine, MentionRow) == 0  # the dead worker's transaction committed nothing
        with write_transaction(engine) as s:  # time passes: the dead worker's lease runs out
            s.execute(update(Source).where(Source.lease_owner == "w1").values(lease_expires_at=utcnow()))

        workers.start("w2")
        wait_for("the first 20 mentions", lambda: count(engine, MentionRow) == 20, workers, ["w2"])
        posted += post_mentions(live_x, 5, "later")
        wait_for("5 more", lambda: count(engine, MentionRow) == 25, workers, ["w2"])
        assert sorted(stored(engine, "x")) == sorted(posted)
        assert count(engine, QueueItem) == 25 and count(engine, Score) == 25  # one of each per mention
        assert workers.terminate("w2") == 0
    finally:
        workers.stop_all()
        engine.dispose()


@pytest.mark.slow
def test_the_only_worker_on_sqlite_killed_mid_send_is_replaced_without_a_double_post(
    tmp_path: Path, live_x: FakeXApi
) -> None:
    """The default set-up (one worker, SQLite): killed after X took a reply but before it was recorded."""
    db_url = f"sqlite:///{tmp_path / 'lp.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    workers = Workers(tmp_path, write_config(tmp_path, live_x.base_url), db_url)
    targets = post_mentions(live_x, 3, "pat")
    try:
        workers.start("w1")
        wait_for("the mentions", lambda: count(engine, MentionRow) == 3, workers, ["w1"])
        agent = add_user(engine)
        live_x.inject(Failure(hang=True, after_apply=True), method="POST", path="/2/tweets$")
        for n, target in enumerate(targets):
            approve_reply(
                engine,
                mention_external_id=target,
                text=f"Thanks, we will look into it ({n}). ^TA",
                author=agent,
                approved_at=utcnow(),
            )

        def open_attempt() -> bool:
            return count(engine, ReplyAttempt, ReplyAttempt.finished_at.is_(None)) == 1

        wait_for(
            "a reply posted and left unanswered", lambda: live_x.replies and open_attempt(), workers, ["w1"]
        )
        workers.kill("w1")
        live_x.release()
        with write_transaction(engine) as s:  # time passes: the dead worker's claims and lease run out
            s.execute(update(Reply).where(Reply.status == "sending").values(next_attempt_at=utcnow()))
            s.execute(update(Source).where(Source.lease_owner == "w1").values(lease_expires_at=utcnow()))

        workers.start("w2")

        def all_sent() -> bool:
            with write_transaction(engine) as s:
                return set(s.scalars(select(Reply.status))) == {"sent"}

        wait_for("every reply to be sent", all_sent, workers, ["w2"])
        answered = sorted(r["referenced_tweets"][0]["id"] for r in live_x.replies)
        assert answered == sorted(targets)  # each once
        with write_transaction(engine) as s:
            assert list(
                s.scalars(select(ReplyAttempt.outcome).where(ReplyAttempt.outcome == "found_existing"))
            ) == ["found_existing"]
            assert set(s.scalars(select(Reply.platform_reply_id))) == {r["id"] for r in live_x.replies}
        assert sorted(stored(engine, "x")) == sorted(targets)
        assert workers.terminate("w2") == 0
    finally:
        workers.stop_all()
        engine.dispose()


# The mail server is down when an alert fires -------------------------------------------------------


def test_an_alert_fired_while_the_mail_server_is_down_shows_as_failed_then_is_delivered(
    engine: Engine, clock: Clock, make_user: Callable[..., User]
) -> None:
    """Through the worker's alerts job and the incident page (retry rules: tests/listener/test_alerts.py)."""
    smtp = SmtpServer()  # not started yet: the mail server is down
    settings = Settings.model_validate({"alerts": {"leads": [smtp.url()], "retry_minutes": 2}})
    settings.secrets.session_secret = SecretStr(SECRET)
    with write_transaction(engine) as s:
        incident = Incident(
            episode_key="letters-1",
            subject="GP letters sent to the wrong addresses",
            level="crisis",
            status="listening",
            opened_at=clock(),
            level_changed_at=clock(),
        )
        s.add(incident)
        s.flush()
        alerts.queue_alert(
            s,
            kind="incident",
            audience="leads",
            title="Crisis: GP letters sent to the wrong addresses",
            body="Criteria met: sole subject, legal",
            dedupe_key=f"incident:{incident.id}:crisis",
            incident_id=incident.id,
            level="crisis",
            now=clock(),
        )
        incident_id = incident.id
    worker = Worker(
        settings, engine, worker_id="w1", connectors=Connectors({}, {}, {}), stage=stub_stage(), clock=clock
    )
    lead = sign_in(create_app(settings, engine, clock=clock, session_secret=SECRET), make_user("lead"))

    def delivery() -> str:
        page = lead.get(f"/incidents/{incident_id}")
        assert page.status_code == 200
        row = re.search(r'<table[^>]*id="alert-table".*?</table>', page.text, re.S)
        assert row, "no alert table on the incident page"
        return " ".join(re.sub(r"<[^>]+>", " ", row.group(0)).split())

    assert worker.deliver_alerts() == 0
    assert "Failed attempt 1, next try" in delivery() and "Retry" in delivery()
    smtp.start()
    try:
        clock.advance(minutes=1)
        assert worker.deliver_alerts() == 0  # not due yet
        clock.advance(minutes=1)
        assert worker.deliver_alerts() == 1
        assert [m["Subject"] for m in smtp.messages] == ["Crisis: GP letters sent to the wrong addresses"]
    finally:
        smtp.stop()
    assert "Sent" in delivery() and "Failed" not in delivery()
    assert worker.jobs["alerts"]["failures"] == 0


@pytest.mark.postgres
@pytest.mark.slow
def test_a_worker_process_rides_out_a_database_restart(
    pg_proxy: tuple[TcpProxy, str], pg_url: str, tmp_path: Path, live_x: FakeXApi
) -> None:
    """The real ``listening-post run --worker`` process, its scheduler and all, while PostgreSQL goes away."""
    proxy, proxied_url = pg_proxy
    engine = make_engine(pg_url)  # the test's own view, not through the proxy
    upgrade(engine)
    workers = Workers(tmp_path, write_config(tmp_path, live_x.base_url), proxied_url)
    posted = post_mentions(live_x, 5, "before")
    try:
        workers.start("w1")
        wait_for("the first mentions", lambda: count(engine, MentionRow) == 5, workers, ["w1"])
        proxy.stop()
        posted += post_mentions(live_x, 5, "during")

        def failed_on_the_database() -> bool:
            return "OperationalError" in (tmp_path / "w1.log").read_text()

        wait_for("a job to meet the database outage", failed_on_the_database, workers, ["w1"])
        proxy.start()
        wait_for("the mentions of the outage", lambda: count(engine, MentionRow) == 10, workers, ["w1"])
        assert sorted(stored(engine, "x")) == sorted(posted)
        assert workers.terminate("w1") == 0
    finally:
        workers.stop_all()
        engine.dispose()
