"""Rows for the report, FOI and retention tests, inserted directly so every value is known."""

from __future__ import annotations

import uuid
from datetime import datetime
from itertools import count

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from listener.accounts import users
from listener.store.db import write_transaction
from listener.store.models import Author, Mention, QueueItem, Score, User
from tests.conftest import TEST_PASSWORD

_ids = count(1)


def user(engine: Engine, name: str, role: str = "agent", initials: str = "AB") -> User:
    """A user in any database (the shared make_user fixture writes to SQLite only)."""
    with write_transaction(engine) as session:
        return users.add_user(
            session,
            email=f"{role}-{uuid.uuid4().hex[:8]}@example.nhs.uk",
            name=name,
            initials=initials,
            role=role,
            password=TEST_PASSWORD,
        )


def db_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def author(
    session: Session, handle: str = "pat", *, platform: str = "x", name: str = "Pat Example"
) -> Author:
    row = Author(
        platform=platform, external_id=f"{handle}-{next(_ids)}", handle=handle, name=name, followers=10
    )
    session.add(row)
    session.flush()
    return row


def mention(
    session: Session,
    by: Author,
    created_at: datetime,
    *,
    text: str = "When is my appointment?",
    platform: str | None = None,
    source: str = "x:mentions:@NHSCovWarks",
    label: str = "neutral",
    compound: float = 0.0,
    is_own: bool = False,
    url: str | None = None,
    raw: dict | None = None,
) -> Mention:
    row = Mention(
        platform=platform or by.platform,
        external_id=str(next(_ids)),
        source_key=source,
        kind="mention",
        author_id=by.id,
        text=text,
        url=url,
        is_own=is_own,
        raw=raw if raw is not None else {"text": text, "user": by.handle},
        metrics={"reposts": 2},
        created_at=created_at,
        received_at=created_at,
    )
    session.add(row)
    session.flush()
    session.add(
        Score(
            mention_id=row.id,
            compound=compound,
            pos=0.0,
            neg=0.0,
            neu=1.0,
            label=label,
            topic="appointments",
            priority=3,
            reasons=["question"],
        )
    )
    return row


def item(
    session: Session,
    of: Mention,
    *,
    due_at: datetime,
    assignee: User | None = None,
    status: str = "new",
    first_response_at: datetime | None = None,
    closed_at: datetime | None = None,
    priority: int = 3,
) -> QueueItem:
    row = QueueItem(
        mention_id=of.id,
        status=status,
        priority=priority,
        due_at=due_at,
        assignee_id=assignee.id if assignee else None,
        first_response_at=first_response_at,
        closed_at=closed_at,
        created_at=of.created_at,
    )
    session.add(row)
    session.flush()
    return row
