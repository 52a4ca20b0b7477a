"""The demo's script against the real pipeline, in-process: ingest, triage, the crisis watch, alerts.

No servers and no waiting: the scripted posts are ingested at their scripted times (one
minute a second, the demo's default speed) and the crisis watch steps every 30 seconds,
as the worker's scheduler runs it. If a change to triage stops the story from being a
crisis, or makes last week's ordinary posts look like one, this says so in a second.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from connectors.base import Author, Mention
from listener.incidents.crisis_watch import CrisisWatch
from listener.intake.ingest import ingest
from listener.intake.pipeline import build_stage
from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.models import Alert, Incident, QueueItem, Reply
from listening_post.demo.platforms import Credentials
from listening_post.demo.runner import add_people, demo_settings
from listening_post.demo.script import DAY, STORY, Beat
from listening_post.demo.seeding import DAYS, SeedSources, seed_history

# The demo runs at whatever time it is started: a Tuesday morning here.
START = datetime(2024, 6, 11, 9, 0, tzinfo=UTC)
CRISIS_STEP = timedelta(seconds=30)
ADDRESSES = {
    "X_API": "http://127.0.0.1:9",
    "GRAPH_API": "http://127.0.0.1:9",
    "INSTAGRAM_API": "http://127.0.0.1:9",
    "BLUESKY_API": "http://127.0.0.1:9",
    "NEWS_FEED": "http://127.0.0.1:9/feeds/chronicle.xml",
    "SMTP_PORT": "9",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return demo_settings(tmp_path, addresses=ADDRESSES, ui_port=8000, credentials=Credentials())


def sources(settings: Settings) -> dict[str, str]:
    return {key.partition(":")[0]: key for key in (s.key for s in settings.sources)}


def as_mention(beat: Beat, number: int, at: datetime, keys: dict[str, str]) -> Mention:
    """The post as the platform's connector would hand it over."""
    kind = {"x": "mention", "facebook": "post", "instagram": "comment", "bluesky": "mention", "rss": "news"}[
        beat.platform
    ]
    text = f"{beat.title}\n\n{beat.text}" if beat.title else beat.text
    handle = beat.handle if beat.platform in ("x", "instagram", "bluesky") else ""
    return Mention(
        platform=beat.platform,
        external_id=f"day-{number}",
        source=keys[beat.platform],
        kind=kind,
        author=Author(id=f"day-{beat.handle}", handle=handle, name=beat.handle, followers=beat.followers),
        text=text,
        created_at=at,
        url=beat.url,
    )


def play(engine: Engine, settings: Settings) -> list[tuple[datetime, set[str]]]:
    """Seed last week, play the day, step the crisis watch; returns the incident levels after each step."""
    add_people(engine)
    stage = build_stage(settings)
    keys = sources(settings)
    seed_history(
        engine,
        stage,
        now=START,
        timezone=settings.general.timezone,
        x_handle="NHSCovWarks",
        sources=SeedSources(
            x=keys["x"], facebook=keys["facebook"], news=keys["rss"], news_outlet="Chronicle"
        ),
    )
    watch = CrisisWatch(engine, settings)
    pending = [(START + timedelta(seconds=b.minute), n, b) for n, b in enumerate(DAY)]
    states = []
    step_at = START + CRISIS_STEP
    while pending or step_at <= START + timedelta(seconds=DAY[-1].minute) + 4 * CRISIS_STEP:
        # What the worker polled before this step (it polls every 10 s; the step is what matters here).
        due = [p for p in pending if p[0] <= step_at]
        pending = [p for p in pending if p[0] > step_at]
        with write_transaction(engine) as session:
            for at, number, beat in due:
                ingest(session, [as_mention(beat, number, at, keys)], stage, now=at)
        watch.step(now=step_at)
        with write_transaction(engine) as session:
            levels = {level for (level,) in session.execute(select(Incident.level))}
        states.append((step_at, levels))
        step_at += CRISIS_STEP
    return states


def test_the_story_becomes_a_crisis_and_the_ordinary_day_does_not(engine: Engine, settings: Settings) -> None:
    states = play(engine, settings)
    story_starts = START + timedelta(seconds=STORY[0].minute)

    # Last week and the ordinary morning raise nothing.
    assert all(not levels for at, levels in states if at <= story_starts)
    # Within a minute of the story's last post the incident is at crisis level, with all four criteria.
    story_ends = START + timedelta(seconds=STORY[-1].minute)
    assert any(levels == {"crisis"} for at, levels in states if at <= story_ends + 2 * CRISIS_STEP)
    with write_transaction(engine) as session:
        incident = session.scalars(select(Incident)).one()
        assert incident.level == "crisis"
        assert set(incident.criteria) == {"sole_subject", "emotive", "legal", "media"}
        assert "riverside" in incident.subject.lower()
        # The leads' alert at crisis level is queued (the worker's alert job sends it).
        assert session.scalar(
            select(func.count()).select_from(Alert).where(Alert.level == "crisis", Alert.audience == "leads")
        )


def test_last_week_is_answered_and_leaves_the_queue_to_today(engine: Engine, settings: Settings) -> None:
    add_people(engine)
    keys = sources(settings)
    stored = seed_history(
        engine,
        build_stage(settings),
        now=START,
        timezone=settings.general.timezone,
        x_handle="NHSCovWarks",
        sources=SeedSources(
            x=keys["x"], facebook=keys["facebook"], news=keys["rss"], news_outlet="Chronicle"
        ),
    )
    with write_transaction(engine) as session:
        items = session.scalars(select(QueueItem)).all()
        assert 50 <= stored <= 200 and len(items) < stored  # news items are never queued
        assert {item.status for item in items} <= {"replied", "no_reply_needed"}
        replied = [item for item in items if item.status == "replied"]
        assert all(item.first_response_at and item.assignee_id for item in replied)
        sent = session.scalar(select(func.count()).select_from(Reply).where(Reply.status == "sent"))
        assert sent == len(replied)
        oldest = min(item.mention.created_at for item in items)
        assert START - timedelta(days=DAYS + 1) < oldest < START - timedelta(days=DAYS - 1)
