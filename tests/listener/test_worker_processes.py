"""Real `listening-post run --worker` processes against the fake X API: kills, restarts, SIGTERM.

The workers run on the wall clock, so these tests wait for them by polling the database or
the fake until a condition holds (with a generous deadline so a broken build fails instead
of hanging). Where the test needs time to have passed — a dead worker's lease or claim to
expire — it moves that expiry into the past in the database instead of waiting for it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text, update

from connectors.fake_server import Failure
from connectors.x.fake import FakeXApi
from listener.accounts import users
from listener.store.db import make_engine, write_transaction
from listener.store.migrate import upgrade
from listener.store.models import Checkpoint, Mention, QueueItem, Reply, ReplyAttempt, Source, WorkerHeartbeat
from listener.store.types import utcnow

SOURCE = "x:mentions:@NHSCovWarks"
BEARER = "AAAAAAAAAAAAAAAAAAAAAprocessTestBearer1"
DEADLINE = 120.0  # seconds: only so that a broken build fails rather than hangs


class Workers:
    """Worker processes by name, each logging to its own file."""

    def __init__(self, tmp_path: Path, config: Path, db_url: str) -> None:
        self.tmp_path, self.config, self.db_url = tmp_path, config, db_url
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, side: tuple[str, ...] = ("--worker",)) -> None:
        """``side``: ``("--worker",)``, ``("--ui",)`` or ``()`` for both."""
        env = {
            **os.environ,
            "LISTENING_POST_X_BEARER_TOKEN": BEARER,
            "LISTENING_POST_SESSION_SECRET": "s" * 40,
            "PYTHONUNBUFFERED": "1",
        }
        command = ["run", *side, "--config", str(self.config), "--db", self.db_url, "--worker-id", name]
        log = (self.tmp_path / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "listening_post", *command], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        log.close()  # the child has its own copy

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()

    def terminate(self, name: str) -> int:
        self.procs[name].send_signal(signal.SIGTERM)
        return self.procs[name].wait()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.tmp_path.glob("w*.log"))
        )

    def check_alive(self, names: list[str]) -> None:
        for name in names:
            if self.procs[name].poll() is not None:
                pytest.fail(f"worker {name} exited with {self.procs[name].returncode}\n{self.logs()}")

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def wait_for(what: str, condition: Callable[[], object], workers: Workers, alive: list[str]) -> None:
    """Poll until ``condition()`` is true; fail with the workers' logs if it never is."""
    end = time.monotonic() + DEADLINE
    while not condition():
        workers.check_alive(alive)
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}\n{workers.logs()}")
        time.sleep(0.1)


def count(engine: Engine, model: type) -> int:
    with write_transaction(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def stored_ids(engine: Engine) -> list[str]:
    with write_transaction(engine) as s:
        return list(s.scalars(select(Mention.external_id)))


def write_config(tmp_path: Path, fake_url: str, ui_port: int = 8000) -> Path:
    config = tmp_path / "listening-post.toml"
    config.write_text(
        f"""
[ui]
port = {ui_port}

[general]
data_dir = "{tmp_path}"

[[accounts]]
platform = "x"
handle = "NHSCovWarks"

[[sources]]
key = "{SOURCE}"
interval_seconds = 10
api_base_url = "{fake_url}"

[polling]
jitter_seconds = 0
lease_seconds = 30
request_timeout_seconds = 30

[media]
include_default_list = false
"""
    )
    return config


@pytest.fixture
def fake() -> Iterator[FakeXApi]:
    with FakeXApi(me="NHSCovWarks") as fake_api:
        yield fake_api  # type: ignore[misc]


def post_mentions(fake: FakeXApi, n: int, tag: str) -> list[str]:
    return [
        fake.add_tweet(author=f"{tag}{i}", text=f"@NHSCovWarks question {tag}{i}")["id"] for i in range(n)
    ]


@pytest.mark.postgres
@pytest.mark.slow
def test_three_workers_survive_kills_mid_poll_and_mid_send_with_nothing_lost_or_doubled(
    pg_url: str, tmp_path: Path, fake: FakeXApi
) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    workers = Workers(tmp_path, write_config(tmp_path, fake.base_url), pg_url)
    try:
        posted = post_mentions(fake, 25, "early")
        fake.inject(
            Failure(hang=True), method="GET", path="/mentions$"
        )  # the first poll never gets an answer

        # 1. Three workers; the one that takes the source hangs mid-poll and is killed.
        for name in ("w1", "w2", "w3"):
            workers.start(name)
        alive = ["w1", "w2", "w3"]
        wait_for("a poll to start", lambda: fake.requests_to("/mentions$"), workers, alive)
        with write_transaction(engine) as s:
            poller = s.scalar(select(Source.lease_owner).where(Source.key == SOURCE))
        assert poller in alive
        workers.kill(poller)
        alive.remove(poller)
        fake.release()
        # Time passes: the dead worker's lease runs out.
        with write_transaction(engine) as s:
            s.execute(update(Source).where(Source.lease_owner == poller).values(lease_expires_at=utcnow()))

        # 2. Another worker takes the source over and stores every mention once.
        wait_for("the first 25 mentions", lambda: count(engine, Mention) == 25, workers, alive)
        posted += post_mentions(fake, 10, "later")
        wait_for("10 more mentions", lambda: count(engine, Mention) == 35, workers, alive)

        # 3. Approved replies; the worker sending them dies after X accepted the first one.
        with write_transaction(engine) as s:
            agent = users.add_user(
                s,
                email="agent@example.nhs.uk",
                name="Test Agent",
                initials="TA",
                role="agent",
                password="correct horse battery staple",
            )
            targets = s.execute(
                select(QueueItem.id, Mention.external_id).join(Mention).order_by(Mention.id).limit(6)
            ).all()
        fake.inject(Failure(hang=True, after_apply=True), method="POST", path="/2/tweets$")
        with write_transaction(engine) as s:
            now = utcnow()
            for n, (item_id, external_id) in enumerate(targets):
                s.add(
                    Reply(
                        queue_item_id=item_id,
                        platform="x",
                        source_key=SOURCE,
                        in_reply_to=external_id,
                        text=f"Thanks for asking, we will reply soon ({n}). TA",
                        status="approved",
                        author_id=agent.id,
                        approved_by_id=agent.id,
                        approved_at=now,
                        next_attempt_at=now,
                        idempotency_key=uuid.uuid4().hex,
                    )
                )

        def open_attempt() -> str | None:
            with write_transaction(engine) as s:
                return s.scalar(select(ReplyAttempt.worker).where(ReplyAttempt.finished_at.is_(None)))

        wait_for(
            "a reply to be posted and left hanging", lambda: fake.replies and open_attempt(), workers, alive
        )
        sender = open_attempt()
        assert sender in alive
        workers.kill(sender)
        alive.remove(sender)
        fake.release()
        with write_transaction(engine) as s:  # time passes: the dead worker's claims run out
            s.execute(update(Reply).where(Reply.status == "sending").values(next_attempt_at=utcnow()))

        def all_sent() -> bool:
            with write_transaction(engine) as s:
                return set(s.scalars(select(Reply.status))) == {"sent"}

        wait_for("every reply to be sent", all_sent, workers, alive)
        with write_transaction(engine) as s:
            outcomes = list(s.scalars(select(ReplyAttempt.outcome)))
        assert outcomes.count("found_existing") == 1  # the dead worker's reply was found, not resent

        # Every approved reply is on X exactly once, and recorded with the id X gave it.
        answered = [r["referenced_tweets"][0]["id"] for r in fake.replies]
        assert sorted(answered) == sorted(external_id for _, external_id in targets)
        with write_transaction(engine) as s:
            recorded = set(s.scalars(select(Reply.platform_reply_id)))
        assert recorded == {r["id"] for r in fake.replies}

        # 4. Restart: with no worker running, more mentions arrive; a new worker resumes from the checkpoint.
        [survivor] = alive
        assert workers.terminate(survivor) == 0
        with write_transaction(engine) as s:
            since_id = s.scalar(
                select(Checkpoint.cursor)
                .join(Source, Source.id == Checkpoint.source_id)
                .where(Source.key == SOURCE)
            )["since_id"]  # the X source's, not a job lease's (the chained crisis job keeps one too)
        posted += post_mentions(fake, 5, "overnight")
        workers.start("w4")
        wait_for("the overnight mentions", lambda: count(engine, Mention) == 40, workers, ["w4"])
        assert int(fake.requests_to("/mentions$")[-1].query["since_id"][0]) >= int(since_id)
        assert sorted(stored_ids(engine)) == sorted(posted)  # all of them, each once
        assert workers.terminate("w4") == 0
        with write_transaction(engine) as s:
            beats = set(s.scalars(select(WorkerHeartbeat.worker)))
        assert beats == {poller, sender}  # the clean stops removed theirs; the killed ones went stale
    finally:
        workers.stop_all()
        engine.dispose()


@pytest.mark.slow
def test_sigterm_finishes_and_exits_cleanly_on_sqlite(tmp_path: Path, fake: FakeXApi) -> None:
    db_url = f"sqlite:///{tmp_path / 'lp.db'}"
    engine = make_engine(db_url)
    workers = Workers(tmp_path, write_config(tmp_path, fake.base_url), db_url)
    try:
        posted = post_mentions(fake, 3, "pat")
        workers.start("w1")
        wait_for(
            "the first poll", lambda: _has_table(engine) and count(engine, Mention) == 3, workers, ["w1"]
        )
        with write_transaction(engine) as s:
            assert s.scalar(select(WorkerHeartbeat.worker)) == "w1"

        assert workers.terminate("w1") == 0

        with write_transaction(engine) as s:
            assert s.scalars(select(WorkerHeartbeat)).all() == []
            assert s.scalars(select(Source.lease_owner).where(Source.lease_owner.is_not(None))).all() == []
        assert sorted(stored_ids(engine)) == sorted(posted)
        assert "worker w1 stopped" in (tmp_path / "w1.log").read_text()
    finally:
        workers.stop_all()
        engine.dispose()


def _has_table(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'worker_heartbeats'")).first()
        )


@pytest.mark.slow
def test_worker_and_ui_together_stop_cleanly_on_sigterm(tmp_path: Path, fake: FakeXApi) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    db_url = f"sqlite:///{tmp_path / 'lp.db'}"
    engine = make_engine(db_url)
    workers = Workers(tmp_path, write_config(tmp_path, fake.base_url, ui_port=port), db_url)

    def healthz() -> dict | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as response:
                return json.load(response)
        except OSError:
            return None

    try:
        workers.start("w1", side=())
        wait_for("the UI to answer", healthz, workers, ["w1"])
        wait_for("the worker's heartbeat", lambda: (healthz() or {}).get("workers"), workers, ["w1"])
        assert [w["alive"] for w in healthz()["workers"]] == [True]  # names are for signed-in staff

        assert workers.terminate("w1") == 0

        log = (tmp_path / "w1.log").read_text()
        assert "worker w1 stopped" in log and "Finished server process" in log
        with write_transaction(engine) as s:
            assert s.scalars(select(WorkerHeartbeat)).all() == []
    finally:
        workers.stop_all()
        engine.dispose()
