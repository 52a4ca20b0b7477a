"""Two real worker processes on PostgreSQL polling X and Bluesky sources at once against the fakes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connectors.bluesky.fake import FakeBluesky
from connectors.x.fake import FakeXApi
from listener.accounts import users
from listener.store.db import make_engine, write_transaction
from listener.store.migrate import upgrade
from listener.store.models import Mention, QueueItem, Reply
from listener.store.types import utcnow
from tests.listener.test_worker_processes import Workers, count, wait_for

HANDLE = "nhscovwarks.bsky.social"
APP_PASSWORD = "proc-esst-estb-sky1"
SOURCES = {
    "x:mentions:@NHSCovWarks": "x",
    f"bluesky:mentions:@{HANDLE}": "bluesky",
    'bluesky:search:"NHS Coventry"': "bluesky",
}


@pytest.fixture
def fakes() -> Iterator[tuple[FakeXApi, FakeBluesky]]:
    with FakeXApi(me="NHSCovWarks") as x, FakeBluesky(handle=HANDLE, app_password=APP_PASSWORD) as bluesky:
        yield x, bluesky


def write_config(tmp_path: Path, urls: dict[str, str]) -> Path:
    sources = "".join(
        f'\n[[sources]]\nkey = {key!r}\ninterval_seconds = 10\napi_base_url = "{urls[platform]}"\n'
        for key, platform in SOURCES.items()
    )
    config = tmp_path / "listening-post.toml"
    config.write_text(
        f"""
[general]
data_dir = "{tmp_path}"

[[accounts]]
platform = "x"
handle = "NHSCovWarks"

[[accounts]]
platform = "bluesky"
handle = "{HANDLE}"
{sources}
[polling]
jitter_seconds = 0
lease_seconds = 30
request_timeout_seconds = 30

[media]
include_default_list = false
"""
    )
    return config


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_store_every_post_once_and_post_every_bluesky_reply_once(
    pg_url: str, tmp_path: Path, fakes: tuple[FakeXApi, FakeBluesky], monkeypatch: pytest.MonkeyPatch
) -> None:
    x, bluesky = fakes
    monkeypatch.setenv("LISTENING_POST_BLUESKY_APP_PASSWORD", APP_PASSWORD)
    engine = make_engine(pg_url)
    upgrade(engine)
    config = write_config(tmp_path, {"x": x.base_url, "bluesky": bluesky.base_url})
    workers = Workers(tmp_path, config, pg_url)
    try:
        for n in range(12):
            x.add_tweet(author=f"xresident{n}", text=f"@NHSCovWarks question {n}")
            bluesky.add_post(author=f"resident{n}.bsky.social", text=f"@{HANDLE} question {n}")
        for n in range(6):
            bluesky.add_post(
                author=f"local{n}.bsky.social", text=f"Waited ages at NHS Coventry walk-in ({n})"
            )
        workers.start("w1")
        workers.start("w2")
        alive = ["w1", "w2"]
        wait_for("every post", lambda: count(engine, Mention) == 30, workers, alive)

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
                select(QueueItem.id, Mention.external_id, Mention.source_key)
                .join(Mention)
                .where(Mention.platform == "bluesky")
                .order_by(Mention.id)
                .limit(5)
            ).all()
            now = utcnow()
            for n, (item_id, external_id, source_key) in enumerate(targets):
                s.add(
                    Reply(
                        queue_item_id=item_id,
                        platform="bluesky",
                        source_key=source_key,
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

        def all_sent() -> bool:
            with write_transaction(engine) as s:
                return set(s.scalars(select(Reply.status))) == {"sent"}

        wait_for("every reply to be sent", all_sent, workers, alive)
        answered = [c["record"]["reply"]["parent"]["uri"] for c in bluesky.created]
        assert sorted(answered) == sorted(external_id for _, external_id, _ in targets)
        with write_transaction(engine) as s:
            assert set(s.scalars(select(Reply.platform_reply_id))) == {c["uri"] for c in bluesky.created}
            per_post = s.execute(
                select(Mention.platform, Mention.external_id, func.count()).group_by(
                    Mention.platform, Mention.external_id
                )
            ).all()
        assert len(per_post) == 30 and {n for _, _, n in per_post} == {1}
        # each worker logs in at most once; polls reuse the session
        assert 1 <= len(bluesky.requests_to(r"createSession$")) <= 2
        for name in alive:
            assert workers.terminate(name) == 0
    finally:
        workers.stop_all()
        engine.dispose()
