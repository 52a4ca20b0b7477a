"""Failed sign-ins counted in the database, so every UI process sees the same counts.

Two counters, both keyed by the caller's address:

* ``address:<ip>`` — failures from one address in a window (credential stuffing across accounts);
* ``account:<email>|<ip>`` — failures for one account from one address. Reaching the limit
  locks that pair, for ``lockout`` and then twice as long each time again (backoff). Someone
  elsewhere guessing at a colleague's email locks only themselves out, never the colleague.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from listener.store.db import upsert_insert
from listener.store.models import SignInCounter

MAX_LOCKOUT = timedelta(hours=24)


@dataclass(frozen=True)
class Limits:
    per_address: int  # failures from one address per window
    window: timedelta
    per_account: int  # failures for one account from one address before it locks
    lockout: timedelta  # the first lockout; each further one doubles


def _address_key(address: str) -> str:
    return f"address:{address}"[:500]


def _account_key(email: str, address: str) -> str:
    return f"account:{email.strip().lower()}|{address}"[:500]


def _row(session: Session, key: str, now: datetime) -> SignInCounter:
    """The counter row, locked for this transaction (made first if it is new)."""
    session.execute(
        upsert_insert(session, SignInCounter.__table__)
        .values(key=key, failures=0, window_started_at=now, lockouts=0)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = session.scalar(
        select(SignInCounter)
        .where(SignInCounter.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def address_retry_after(session: Session, *, address: str, now: datetime, limits: Limits) -> int:
    """Seconds until this address may try again; 0 when it may now."""
    row = session.get(SignInCounter, _address_key(address))
    if row is None or row.failures < limits.per_address:
        return 0
    ends = row.window_started_at + limits.window
    return int((ends - now).total_seconds()) + 1 if ends > now else 0


def account_locked(session: Session, *, email: str, address: str, now: datetime) -> bool:
    row = session.get(SignInCounter, _account_key(email, address))
    return row is not None and row.locked_until is not None and row.locked_until > now


def record_failure(
    session: Session, *, email: str, address: str, now: datetime, limits: Limits
) -> timedelta | None:
    """Count one failure; returns the lockout length when this failure locked the account here."""
    forget_stale(session, now=now)
    by_address = _row(session, _address_key(address), now)
    if by_address.window_started_at + limits.window <= now:
        by_address.failures, by_address.window_started_at = 0, now
    by_address.failures += 1
    if not email.strip():
        return None
    by_account = _row(session, _account_key(email, address), now)
    if by_account.locked_until is not None and by_account.locked_until > now:
        return None
    by_account.failures += 1
    if by_account.failures < limits.per_account:
        return None
    lockout = min(limits.lockout * 2**by_account.lockouts, MAX_LOCKOUT)
    by_account.failures = 0
    by_account.lockouts += 1
    by_account.locked_until = now + lockout
    return lockout


def forget_stale(session: Session, *, now: datetime) -> None:
    """Drop counters nobody has failed on for a day and that lock nothing (addresses come and go)."""
    stale = (SignInCounter.window_started_at < now - MAX_LOCKOUT) & (
        SignInCounter.locked_until.is_(None) | (SignInCounter.locked_until < now - MAX_LOCKOUT)
    )
    session.execute(delete(SignInCounter).where(stale))


def record_success(session: Session, *, email: str, address: str) -> None:
    """A right password from here: this pair starts afresh (the address's count stays)."""
    session.execute(delete(SignInCounter).where(SignInCounter.key == _account_key(email, address)))
