"""Leases: which worker may poll a source, or run a leader-only job, right now.

A lease is the ``lease_owner`` / ``lease_expires_at`` pair on a ``sources`` row, taken with
one conditional UPDATE whose row count says who won: on PostgreSQL the second of two
concurrent UPDATEs waits for the first to commit and then re-checks the WHERE clause against
the new row, so exactly one succeeds; on SQLite ``BEGIN IMMEDIATE`` serialises writers. A
worker that dies keeps its leases only until they expire.

Leader-only jobs (crisis watch, alerts, retention) lease a pseudo-source ``job:<name>``
(platform ``"job"``, never polled) so the same mechanism elects one runner among workers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Engine, Result, and_, or_, update
from sqlalchemy.orm import Session

from listener.store.db import upsert_insert, write_transaction
from listener.store.models import Source

JOB_PREFIX = "job:"
JOB_PLATFORM = "job"


def job_key(name: str) -> str:
    return f"{JOB_PREFIX}{name}"


def rows_changed(result: Result[Any]) -> int:
    """The row count of an UPDATE: who won a conditional update."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def _free_or_mine(owner: str, now: datetime) -> ColumnElement[bool]:
    return or_(Source.lease_owner.is_(None), Source.lease_owner == owner, Source.lease_expires_at <= now)


def take(
    session: Session, key: str, *, owner: str, now: datetime, ttl: timedelta, due_only: bool = False
) -> bool:
    """Take or renew the lease on ``key`` in the caller's transaction; True when ``owner`` holds it.

    ``due_only`` also requires the source to be enabled, not waiting for an admin, and due
    (``next_poll_at`` reached): the check and the take are one statement, so a worker never
    polls a source another has just polled.
    """
    conditions = [Source.key == key, _free_or_mine(owner, now)]
    if due_only:
        conditions += [
            Source.enabled.is_(True),
            Source.needs_attention.is_(False),
            or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now),
        ]
    result = session.execute(
        update(Source)
        .where(and_(*conditions))
        .values(lease_owner=owner, lease_expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    return rows_changed(result) == 1


def release(session: Session, key: str, *, owner: str) -> bool:
    """Give the lease back (only if ``owner`` still holds it)."""
    result = session.execute(
        update(Source)
        .where(Source.key == key, Source.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return rows_changed(result) == 1


def release_all(engine: Engine, *, owner: str) -> int:
    """Give back every lease ``owner`` holds (a clean shutdown: peers need not wait for expiry)."""
    with write_transaction(engine) as session:
        result = session.execute(
            update(Source)
            .where(Source.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        return rows_changed(result)


def take_job_lease(engine: Engine, name: str, *, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Become (or stay) the one worker that runs the leader-only job ``name`` for the next ``ttl``.

    The leader keeps renewing on every run; if it dies, another worker takes over once
    ``ttl`` has passed.
    """
    key = job_key(name)
    with write_transaction(engine) as session:
        session.execute(
            upsert_insert(session, Source)
            .values(key=key, platform=JOB_PLATFORM, enabled=False, interval_seconds=int(ttl.total_seconds()))
            .on_conflict_do_nothing(index_elements=["key"])
        )
        return take(session, key, owner=owner, now=now, ttl=ttl)
