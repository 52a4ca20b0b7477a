"""What the worker tests share: a settable clock, a stub triage stage, the fake X API and its connector.

Test modules import the fixtures ``clock_fixture`` and ``fake_x_fixture``; tests ask for ``clock``
and ``fake_x``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from connectors.x import XConnector
from connectors.x.fake import FakeXApi
from listener.accounts import users
from listener.intake.ingest import TriageStage
from listener.intake.sources import sync_sources
from listener.queue.business_hours import BusinessClock
from listener.settings import Settings, SlaSettings, SourceSettings
from listener.store.db import write_transaction
from listener.store.models import Mention, QueueItem, Reply, User
from triage.model import MentionInput, Score

MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BEARER = "AAAAAAAAAAAAAAAAAAAAAworkerTestBearer01"
SOURCE = "x:mentions:@NHSCovWarks"
TEST_PASSWORD = "correct horse battery staple"


@dataclass
class Clock:
    """The time every fake, connector and worker call sees in a test: moved by hand, never by waiting."""

    now: datetime = MONDAY_10AM

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


class KeywordScorer:
    """Scoring is not under test here: negative when the text says "cancelled"."""

    def score(self, m: MentionInput) -> Score:
        negative = "cancelled" in m.text
        return Score(
            compound=-0.6 if negative else 0.4,
            pos=0.0,
            neg=0.5,
            neu=0.5,
            label="negative" if negative else "positive",
            priority=1 if negative else 3,
        )


def stub_stage() -> TriageStage:
    sla = SlaSettings()
    return TriageStage(
        scorer=KeywordScorer(),
        topic_of=lambda text, url: None,
        sla=sla,
        clock=BusinessClock(sla.business_hours),
    )


def settings_for(*keys: str, base_url: str | None = None, interval: int = 120, **polling: int) -> Settings:
    settings = Settings.model_validate(
        {
            "accounts": [{"platform": "x", "handle": "NHSCovWarks"}],
            "sources": [
                SourceSettings(key=k, interval_seconds=interval, api_base_url=base_url) for k in keys
            ],
            "polling": {"jitter_seconds": 0, **polling},
        }
    )
    settings.secrets = settings.secrets.model_copy(update={"x_bearer_token": BEARER})
    return settings


def sync(engine: Engine, settings: Settings) -> None:
    with write_transaction(engine) as session:
        sync_sources(session, settings)


@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock()


@pytest.fixture(name="fake_x")
def fake_x_fixture(clock: Clock) -> Iterator[FakeXApi]:
    with FakeXApi(me="NHSCovWarks", clock=clock) as fake:
        yield fake  # type: ignore[misc]


def x_connector(fake: FakeXApi, clock: Clock, **kwargs: object) -> XConnector:
    return XConnector(
        bearer_token=BEARER,
        base_url=fake.base_url,
        timeout=5,
        own_handles=["NHSCovWarks"],
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


def add_user(engine: Engine, role: str = "agent") -> User:
    with write_transaction(engine) as session:
        return users.add_user(
            session,
            email=f"{role}-{uuid.uuid4().hex[:6]}@example.nhs.uk",
            name=f"Test {role.title()}",
            initials="TA",
            role=role,
            password=TEST_PASSWORD,
        )


def approve_reply(
    engine: Engine,
    *,
    mention_external_id: str,
    text: str,
    author: User,
    approved_at: datetime,
    source_key: str = SOURCE,
) -> int:
    """An approved reply to a stored mention, as the queue UI leaves it for the outbox."""
    with write_transaction(engine) as session:
        mention = session.scalars(select(Mention).where(Mention.external_id == mention_external_id)).one()
        item_id = session.scalar(select(QueueItem.id).where(QueueItem.mention_id == mention.id))
        reply = Reply(
            queue_item_id=item_id,
            platform=mention.platform,
            source_key=source_key,
            in_reply_to=mention.external_id,
            text=text,
            status="approved",
            author_id=author.id,
            approved_by_id=author.id,
            approved_at=approved_at,
            next_attempt_at=approved_at,
            idempotency_key=uuid.uuid4().hex,
        )
        session.add(reply)
        session.flush()
        return reply.id
