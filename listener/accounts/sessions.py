"""Sign-in sessions kept in the database: started at sign-in, checked on every request, ended for good.

The browser's cookie carries a random token; the ``sessions`` table holds only its SHA-256,
so a copy of the database cannot be replayed as cookies. Ending a session deletes its row:
a copied cookie is refused at its next request, and re-enabling a user revives nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from listener.store.models import SignInSession, User

# last_seen_at is a hint for the admin page, not a lock: write it at most this often per session.
TOUCH_EVERY = timedelta(minutes=5)
MAX_USER_AGENT = 300


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, *, user: User, now: datetime, address: str, user_agent: str) -> str:
    """A new session for ``user``; returns the token for the cookie (never stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        SignInSession(
            token_hash=_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            address=address[:64],
            user_agent=user_agent[:MAX_USER_AGENT],
        )
    )
    session.flush()
    return token


@dataclass(frozen=True)
class Check:
    user: User
    session_id: int
    needs_touch: bool


def check_session(session: Session, *, token: str, now: datetime, lifetime: timedelta) -> Check | None:
    """The user of a live session with this token, or None (unknown, ended, expired, user disabled)."""
    row = session.scalar(select(SignInSession).where(SignInSession.token_hash == _hash(token)))
    if row is None or row.created_at + lifetime <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return Check(user=user, session_id=row.id, needs_touch=now - row.last_seen_at >= TOUCH_EVERY)


def touch(session: Session, *, session_id: int, now: datetime) -> None:
    session.execute(update(SignInSession).where(SignInSession.id == session_id).values(last_seen_at=now))


def end_session(session: Session, *, token: str) -> None:
    session.execute(delete(SignInSession).where(SignInSession.token_hash == _hash(token)))


def _deleted(session: Session, statement: Any) -> int:
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return int(result.rowcount or 0)


def end_session_by_id(session: Session, *, user_id: int, session_id: int) -> int:
    condition = (SignInSession.id == session_id) & (SignInSession.user_id == user_id)
    return _deleted(session, delete(SignInSession).where(condition))


def end_all_sessions(session: Session, *, user_id: int) -> int:
    """End every session of a user (disable, role change, password change, an admin's button)."""
    return _deleted(session, delete(SignInSession).where(SignInSession.user_id == user_id))


def active_sessions(
    session: Session, *, user_id: int, now: datetime, lifetime: timedelta
) -> list[SignInSession]:
    return list(
        session.scalars(
            select(SignInSession)
            .where(SignInSession.user_id == user_id, SignInSession.created_at > now - lifetime)
            .order_by(SignInSession.last_seen_at.desc())
        )
    )


def remove_expired(session: Session, *, now: datetime, lifetime: timedelta) -> int:
    """Delete sessions past their lifetime (they are refused anyway; this keeps the table small)."""
    return _deleted(session, delete(SignInSession).where(SignInSession.created_at <= now - lifetime))
