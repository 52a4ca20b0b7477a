"""FastAPI dependencies: the database session, the clock, the signed-in user and role checks, CSRF.

Pages and the JSON API share these. A missing or too-low role raises a typed error that
the app turns into a redirect to sign-in (pages) or a 401/403 JSON body (``/api``).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from listener.accounts import sessions
from listener.accounts.users import has_role
from listener.store.db import is_sqlite, write_transaction
from listener.store.models import ROLES, User

MAX_ID = 2**31 - 1  # PostgreSQL's integer: a larger id cannot exist, and would overflow the driver
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PASSWORD_CHANGE_PATHS = frozenset({"/account/password"})


@dataclass(frozen=True)
class Viewer:
    """Who is signed in, as plain values: pages still render after the request's transaction has ended."""

    id: int
    email: str
    name: str
    initials: str
    role: str


class NotSignedIn(Exception):
    """No (valid) session: pages redirect to sign-in, the API answers 401."""


class NotAllowed(Exception):
    """Signed in, but the role is too low for this route."""

    def __init__(self, needed: str) -> None:
        super().__init__(f"needs the {needed} role")
        self.needed = needed


class PasswordChangeNeeded(Exception):
    """Signed in with a one-time password: nothing opens until the person chooses their own."""


class CsrfFailed(Exception):
    """A write without the session's CSRF token (a stale form or a forged request)."""


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed when the handler returns, rolled back if it raises.

    Writes take SQLite's write lock up front (``BEGIN IMMEDIATE``): a read that later
    upgrades to a write can otherwise fail at once when another writer got there first.
    """
    engine = request.app.state.engine
    write = request.method not in SAFE_METHODS
    bind = engine.execution_options(sqlite_begin="IMMEDIATE") if write and is_sqlite(engine) else engine
    with Session(bind, expire_on_commit=False) as session, session.begin():
        request.state.db = session
        yield session


# scope="function": the commit happens before the response is sent, so the next request sees it.
DbSession = Annotated[Session, Depends(db_session, scope="function")]


def current_time(request: Request) -> datetime:
    return request.app.state.clock()


Now = Annotated[datetime, Depends(current_time)]


def client_address(request: Request) -> str:
    """The caller's address. ``X-Forwarded-For`` counts only when the peer is a configured proxy.

    Walking the header from the right, the first address that is not itself a trusted proxy
    is the client: anything further left was written by the client and proves nothing.
    """
    peer = request.client.host if request.client else "unknown"
    proxies = [ipaddress.ip_network(p, strict=False) for p in request.app.state.settings.ui.trusted_proxies]

    def trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in proxies)

    if not proxies or not trusted(peer):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return peer


def session_lifetime(request: Request) -> timedelta:
    return timedelta(hours=request.app.state.settings.ui.session_hours)


def optional_user(request: Request, db: DbSession) -> User | None:
    """The signed-in user, or None. The cookie's token must match a live row of ``sessions``."""
    token = request.session.get("sid")
    if not isinstance(token, str):
        return None
    now = request.app.state.clock()
    check = sessions.check_session(db, token=token, now=now, lifetime=session_lifetime(request))
    if check is None:
        request.session.clear()
        return None
    if check.needs_touch:
        if request.method in SAFE_METHODS:
            # Reads hold no write lock: a short transaction of its own keeps the read one read-only.
            with write_transaction(request.app.state.engine) as own:
                sessions.touch(own, session_id=check.session_id, now=now)
        else:
            sessions.touch(db, session_id=check.session_id, now=now)
    user = check.user
    request.state.viewer = Viewer(user.id, user.email, user.name, user.initials, user.role)
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]


def require_role(role: str) -> Callable[..., User]:
    """A dependency returning the signed-in user whose role ranks at least ``role``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def dependency(request: Request, user: OptionalUser) -> User:
        if user is None:
            raise NotSignedIn()
        if user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
            raise PasswordChangeNeeded()
        if not has_role(user, role):
            raise NotAllowed(role)
        return user

    dependency.__name__ = f"require_{role}"
    return dependency


Agent = Annotated[User, Depends(require_role("agent"))]
Lead = Annotated[User, Depends(require_role("lead"))]
Manager = Annotated[User, Depends(require_role("manager"))]
Admin = Annotated[User, Depends(require_role("admin"))]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (the sign-in form needs one before any user)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Every write carries the session's token: a form field, or the X-CSRF-Token header (htmx, API)."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise CsrfFailed()


CsrfChecked = Annotated[None, Depends(check_csrf)]
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
