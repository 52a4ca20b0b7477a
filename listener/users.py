"""People who sign in: roles, argon2 password hashes, lockout after repeated failures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from listener.errors import UserError
from listener.store import audit
from listener.store.models import ROLES, User
from listener.store.types import utcnow


class HasRole(Protocol):
    @property
    def role(self) -> str: ...


ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")


def has_role(user: HasRole | None, role: str) -> bool:
    """Whether ``user`` ranks at least ``role`` (agent < lead < manager < admin)."""
    return user is not None and ROLE_RANK[user.role] >= ROLE_RANK[role]


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def add_user(
    session: Session,
    *,
    email: str,
    name: str,
    initials: str,
    role: str,
    password: str,
    actor: User | str = "cli",
) -> User:
    email = email.strip().lower()
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email:
        raise UserError(f"{email!r} is not an email address")
    if not initials.strip() or len(initials.strip()) > 8:
        raise UserError("initials must be 1 to 8 characters")
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise UserError(f"a user with email {email} already exists")
    user = User(
        email=email,
        name=name.strip(),
        initials=initials.strip(),
        role=role,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.add",
        object_type="user",
        object_id=user.id,
        after={"email": email, "role": role, "name": user.name},
    )
    return user


def find_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise UserError(f"no user with email {email}")
    return user


def set_active(session: Session, *, email: str, active: bool, actor: User | str = "cli") -> User:
    user = find_user(session, email)
    before = {"active": user.active}
    user.active = active
    audit.record(
        session,
        actor=actor,
        action="user.enable" if active else "user.disable",
        object_type="user",
        object_id=user.id,
        before=before,
        after={"active": active},
    )
    return user


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    max_failures: int,
    lockout: timedelta,
    now: datetime | None = None,
) -> User | None:
    """The user when the password is right and the account usable; None otherwise (never says which)."""
    now = now or utcnow()
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    if not user.active or (user.locked_until is not None and user.locked_until > now):
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + lockout
            user.failed_logins = 0
            audit.record(
                session, actor=user.email, action="user.locked", object_type="user", object_id=user.id
            )
        return None
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user
