"""Shared fixtures: databases (SQLite always, PostgreSQL when LISTENING_POST_TEST_PG is set), users,
browser.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, text

from listener.accounts import users
from listener.store.db import make_engine, write_transaction
from listener.store.migrate import upgrade
from listener.store.models import User

# No time limits in tests: Hypothesis's deadline and its "too slow" check are timings,
# and fail on a busy CI machine without anything being wrong.
settings.register_profile("listening-post", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("listening-post")

PG_URL = os.environ.get("LISTENING_POST_TEST_PG")
PG_SKIP_REASON = "PostgreSQL tests need LISTENING_POST_TEST_PG (set by .ci/run) pointing at a server"
TEST_PASSWORD = "correct horse battery staple"


def chromium_path() -> str | None:
    return (
        os.environ.get("LISTENING_POST_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lp.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema per test, so parallel test workers never see each other's rows."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    schema = f"lp_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lp.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    """A migrated SQLite database."""
    eng = make_engine(sqlite_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def any_engine(db_url: str) -> Iterator[Engine]:
    """A migrated database: SQLite, and PostgreSQL too when available."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def make_user(engine: Engine) -> Callable[..., User]:
    def _make(
        role: str = "agent", email: str | None = None, name: str | None = None, initials: str = "AB"
    ) -> User:
        with write_transaction(engine) as session:
            return users.add_user(
                session,
                email=email or f"{role}-{uuid.uuid4().hex[:6]}@example.nhs.uk",
                name=name or f"Test {role.title()}",
                initials=initials,
                role=role,
                password=TEST_PASSWORD,
            )

    return _make


@pytest.fixture
def chromium() -> str:
    path = chromium_path()
    if not path:
        pytest.skip("browser tests need Debian's chromium (installed by .ci/run)")
    return path
