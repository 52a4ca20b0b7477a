"""Queue UI fixtures: the app on a fixed clock, signed-in clients per role, and items to work on."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from listener.accounts import users
from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.models import Author, Incident, Mention, QueueItem, Score, User
from queue_ui.app import SESSION_COOKIE, create_app
from tests.conftest import TEST_PASSWORD

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday morning, inside business hours
SECRET = "queue-ui-test-session-secret-0123456789"
SESSION_COOKIE_NAME = SESSION_COOKIE
_ids = itertools.count(1)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with its production cost takes ~0.4 s a hash here; these tests sign in dozens of people."""
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", hasher)
    monkeypatch.setattr(users, "_DUMMY_HASH", hasher.hash("not-a-real-password-only-for-timing"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ui_settings() -> Settings:
    return Settings()


@pytest.fixture
def app(engine: Engine, ui_settings: Settings, clock: Clock) -> FastAPI:
    return create_app(ui_settings, engine, clock=clock, session_secret=SECRET)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class UiClient(TestClient):
    """A TestClient that remembers its session's CSRF token and sends it with every form."""

    csrf: str = ""
    user: User | None = None

    def form(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any):
        return self.post(
            path, data={**(data or {}), "csrf_token": self.csrf}, follow_redirects=False, **kwargs
        )

    def api(self, method: str, path: str, json: Any = None, **kwargs: Any):
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.request(method, path, json=json, headers=headers, **kwargs)


def sign_in(app: FastAPI, user: User, password: str = TEST_PASSWORD) -> UiClient:
    client = UiClient(app)
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": user.email, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    client.csrf = csrf_of(client.get("/help").text)
    client.user = user
    return client


@pytest.fixture
def client_as(app: FastAPI, make_user: Callable[..., User]) -> Callable[..., UiClient]:
    """``client_as("lead")``: a new user of that role, signed in."""

    def _client(role: str = "agent", **kwargs: Any) -> UiClient:
        return sign_in(app, make_user(role, **kwargs))

    return _client


@pytest.fixture
def anonymous(app: FastAPI) -> UiClient:
    client = UiClient(app)
    client.csrf = csrf_of(client.get("/sign-in").text)
    return client


@dataclass
class Seeded:
    item_id: int
    mention_id: int


@pytest.fixture
def seed(engine: Engine) -> Callable[..., Seeded]:
    """Store a mention with its score and queue item, as ingest would."""

    def _seed(
        text: str = "Why was my appointment at the walk-in centre cancelled?",
        *,
        platform: str = "x",
        source: str = "x:mentions:@NHSCovWarks",
        handle: str = "patient1",
        name: str = "Pat Jones",
        label: str = "negative",
        priority: int = 3,
        due_in: timedelta = timedelta(hours=2),
        status: str = "new",
        created_at: datetime | None = None,
        incident_id: int | None = None,
        score: dict[str, Any] | None = None,
        assignee: User | None = None,
    ) -> Seeded:
        n = next(_ids)
        with write_transaction(engine) as session:
            author = Author(platform=platform, external_id=f"author-{handle}-{n}", handle=handle, name=name)
            mention = Mention(
                platform=platform,
                external_id=f"{n}000{n}",
                source_key=source,
                kind="comment" if platform == "facebook" else "mention",
                author=author,
                text=text,
                created_at=created_at or NOW - timedelta(minutes=10),
            )
            session.add(mention)
            session.flush()
            session.add(
                Score(
                    **{
                        "mention_id": mention.id,
                        "compound": {"negative": -0.6, "neutral": 0.0, "positive": 0.7}[label],
                        "pos": 0.1,
                        "neg": 0.5,
                        "neu": 0.4,
                        "label": label,
                        "priority": priority,
                        "reasons": [f"sentiment: {label}"],
                        **(score or {}),
                    }
                )
            )
            item = QueueItem(
                mention_id=mention.id,
                status=status,
                priority=priority,
                due_at=NOW + due_in,
                incident_id=incident_id,
                created_at=NOW - timedelta(minutes=10),
                assignee_id=assignee.id if assignee else None,
                claimed_at=NOW if assignee else None,
            )
            session.add(item)
            session.flush()
            return Seeded(item_id=item.id, mention_id=mention.id)

    return _seed


@pytest.fixture
def open_incident(engine: Engine) -> Callable[..., int]:
    def _make(subject: str = "Letters sent to the wrong patients") -> int:
        with write_transaction(engine) as session:
            incident = Incident(
                episode_key=f"episode-{next(_ids)}",
                subject=subject,
                level="crisis",
                status="listening",
                opened_at=NOW - timedelta(hours=1),
                level_changed_at=NOW - timedelta(hours=1),
            )
            session.add(incident)
            session.flush()
            return incident.id

    return _make
