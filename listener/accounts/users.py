"""People who sign in: roles, argon2 password hashes, password rules, and what ends their sessions.

Anything that changes who a person is or how they prove it (disable, role, password) ends
every session they have, so a cookie copied before the change is refused after it.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime
from functools import cache
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from listener.accounts.sessions import end_all_sessions
from listener.errors import UserError
from listener.paths import CONFIG_DIR
from listener.store import audit
from listener.store.models import ROLES, User
from listener.store.types import utcnow


class HasRole(Protocol):
    @property
    def role(self) -> str: ...


ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
_hasher = PasswordHasher()
# NCSC: length over complexity. No composition rules, no expiry; refuse the commonest choices.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1000
# Verified against when a sign-in cannot succeed, so every failure costs one hash.
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")
COMMON_PASSWORDS_FILE = CONFIG_DIR / "passwords" / "common.txt"


def has_role(user: HasRole | None, role: str) -> bool:
    """Whether ``user`` ranks at least ``role`` (agent < lead < manager < admin)."""
    return user is not None and ROLE_RANK[user.role] >= ROLE_RANK[role]


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why ``password`` is refused, in words for the person choosing it; None when it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters. Three random words make a good password."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    stem = re.sub(r"[\d\W_]+$", "", lowered)
    common = common_passwords()
    if lowered in common or stem in common or len(set(lowered)) <= 2:
        return "This password is one of the most common ones. Choose something harder to guess."
    personal = {email.lower(), email.lower().split("@")[0], name.lower(), name.lower().replace(" ", "")}
    if lowered in personal - {""} or stem in personal - {""}:
        return "Do not use your name or email address as your password."
    return None


def hash_password(password: str, *, email: str = "", name: str = "") -> str:
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise UserError(f"password refused: {problem}")
    return _hasher.hash(password)


def clean_name(value: str, *, what: str) -> str:
    """A name or initials with no line breaks or control characters (they would forge log lines)."""
    value = value.strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        raise UserError(f"{what} cannot contain line breaks or control characters")
    return value


def add_user(
    session: Session,
    *,
    email: str,
    name: str,
    initials: str,
    role: str,
    password: str,
    actor: User | str = "cli",
    must_change_password: bool = False,
) -> User:
    email = clean_name(email, what="email").lower()
    name = clean_name(name, what="name")
    initials = clean_name(initials, what="initials")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email or any(ch.isspace() for ch in email):
        raise UserError(f"{email!r} is not an email address")
    if not initials or len(initials) > 8:
        raise UserError("initials must be 1 to 8 characters")
    if not name:
        raise UserError("name cannot be empty")
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise UserError(f"a user with email {email} already exists")
    user = User(
        email=email,
        name=name,
        initials=initials,
        role=role,
        password_hash=hash_password(password, email=email, name=name),
        must_change_password=must_change_password,
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
    ended = end_all_sessions(session, user_id=user.id)
    audit.record(
        session,
        actor=actor,
        action="user.enable" if active else "user.disable",
        object_type="user",
        object_id=user.id,
        before=before,
        after={"active": active, "sessions_ended": ended},
    )
    return user


def set_role(session: Session, *, user: User, role: str, actor: User | str) -> None:
    """Change the role; the person signs in again, so no page keeps showing the old role's powers."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if role == user.role:
        return
    before = {"role": user.role}
    user.role = role
    if role not in ("lead", "admin"):
        user.totp_secret = None  # the second factor is for leads and admins
    ended = end_all_sessions(session, user_id=user.id)
    audit.record(
        session,
        actor=actor,
        action="user.role",
        object_type="user",
        object_id=user.id,
        before=before,
        after={"role": role, "sessions_ended": ended},
    )


def verify_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_password(
    session: Session, *, user: User, current: str, new: str, now: datetime | None = None
) -> None:
    """The person's own change: the current password is required. Ends every session of theirs."""
    if not verify_password(user, current):
        raise UserError("The current password is not right.")
    if new == current:
        raise UserError("Choose a password different from the current one.")
    _store_password(session, user=user, password=new, now=now or utcnow(), must_change=False)
    audit.record(session, actor=user, action="user.password_change", object_type="user", object_id=user.id)


def reset_password(session: Session, *, user: User, actor: User | str, now: datetime | None = None) -> str:
    """A one-time password (returned, shown once) that must be changed at the next sign-in."""
    temporary = "-".join(secrets.token_urlsafe(6) for _ in range(3))
    _store_password(session, user=user, password=temporary, now=now or utcnow(), must_change=True)
    audit.record(session, actor=actor, action="user.password_reset", object_type="user", object_id=user.id)
    return temporary


def _store_password(session: Session, *, user: User, password: str, now: datetime, must_change: bool) -> None:
    user.password_hash = hash_password(password, email=user.email, name=user.name)
    user.must_change_password = must_change
    user.password_changed_at = now
    end_all_sessions(session, user_id=user.id)


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The user when the password is right and the account active; None otherwise (never says which).

    Every call verifies exactly one hash, whether the email is unknown, the account disabled
    or the password wrong, so the time taken tells an attacker nothing. Lockout is the
    caller's (``listener.accounts.sign_in_throttle``), checked before this and costing the same.
    """
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        burn_one_hash(password)
        return None
    if not verify_password(user, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def burn_one_hash(password: str) -> None:
    """Spend what one password check costs, for a sign-in that fails whatever the password."""
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass
