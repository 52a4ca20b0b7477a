"""Engine and session setup for SQLite (default, one worker) and PostgreSQL (several workers)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from listener.errors import UserError


def make_engine(url: str, *, connect_timeout: int = 10, statement_timeout: int = 60, **kwargs: Any) -> Engine:
    """An engine for ``url``. PostgreSQL connections give up after ``connect_timeout`` seconds and
    statements after ``statement_timeout``; TCP keepalives notice a server that has gone silent."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a long message
        raise UserError(f"database URL {url!r} is not valid") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            _create_private(Path(database))
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
        url = parsed.render_as_string(hide_password=False)
    if parsed.get_backend_name() == "postgresql":
        # Options given here replace the URL's own: keep those (a search_path, say) and add ours.
        options = " ".join(
            [*_as_list(parsed.query.get("options")), f"-c statement_timeout={statement_timeout * 1000}"]
        )
        kwargs.setdefault(
            "connect_args",
            {
                "connect_timeout": connect_timeout,
                "options": options,
                "keepalives": 1,
                "keepalives_idle": 30,
                "keepalives_interval": 10,
                "keepalives_count": 3,
            },
        )
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _as_list(value: str | tuple[str, ...] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only (0600): it holds personal data and
    password hashes. SQLite gives its -wal and -shm files the same permissions."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers, a busy timeout for writers, and foreign keys (off by default in SQLite).

    pysqlite's own transaction handling is switched off so that ``BEGIN IMMEDIATE`` can be
    issued for read-then-write transactions (claims, leases): it takes the write lock up front.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Session]:
    """A session whose transaction takes the write lock at once on SQLite (``BEGIN IMMEDIATE``)."""
    bind = engine.execution_options(sqlite_begin="IMMEDIATE") if is_sqlite(engine) else engine
    with Session(bind, expire_on_commit=False) as session, session.begin():
        yield session


def upsert_insert(session: Session, table: Any) -> Any:
    """An INSERT that can say ON CONFLICT DO NOTHING / DO UPDATE, on SQLite and PostgreSQL alike."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
