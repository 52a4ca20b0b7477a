"""Sign in and out, the second factor, and changing your own password.

Sessions live in the ``sessions`` table (``listener.accounts.sessions``); the signed cookie only
carries the session's random token and the CSRF token. Failed sign-ins are counted in
the database per address and per (account, address) (``listener.accounts.sign_in_throttle``).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from listener.accounts import sessions, sign_in_throttle, two_factor, users
from listener.errors import UserError
from listener.settings import Settings
from listener.store import audit
from listener.store.models import User
from queue_ui.deps import Agent, CsrfChecked, DbSession, Now, OptionalUser, client_address, session_lifetime
from queue_ui.rendering import flash, render
from queue_ui.settings_view import effective

router = APIRouter()

SIGN_IN_ERROR = (
    "Enter a correct email address and password. After several wrong tries the account locks for a while."
)
CODE_ERROR = "Enter the 6-digit code your authenticator app shows now."
# How long the code step waits after the password step.
PENDING_SECONDS = 300


def safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would make a good phishing link."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/queue"
    return target


def limits(settings: Settings) -> sign_in_throttle.Limits:
    return sign_in_throttle.Limits(
        per_address=settings.ui.max_sign_ins_per_address,
        window=timedelta(minutes=5),
        per_account=settings.ui.max_failed_logins,
        lockout=timedelta(minutes=settings.ui.lockout_minutes),
    )


@router.get("/")
def home(user: OptionalUser) -> Response:
    return RedirectResponse("/queue" if user else "/sign-in", status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request, user: OptionalUser, next: str | None = None) -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "sign_in.html", title="Sign in", next=safe_next(next), email="", errors={})


def _begin_session(request: Request, db: DbSession, user: User, *, now, target: str) -> Response:
    # A fresh session and CSRF token at sign-in: a token planted before sign-in is worthless.
    sessions.remove_expired(db, now=now, lifetime=session_lifetime(request))
    request.session.clear()
    request.session["sid"] = sessions.start_session(
        db,
        user=user,
        now=now,
        address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    request.session["csrf"] = secrets.token_urlsafe(32)
    audit.record(db, actor=user, action="user.sign_in", object_type="user", object_id=user.id)
    if user.must_change_password:
        flash(request, "Choose a new password to finish signing in.")
        return RedirectResponse("/account/password", status_code=303)
    return RedirectResponse(safe_next(target), status_code=303)


@router.post("/sign-in")
def sign_in(
    request: Request,
    db: DbSession,
    now: Now,
    _csrf: CsrfChecked,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/queue",
) -> Response:
    settings = effective(request, db)
    address = client_address(request)
    page: dict[str, Any] = {"title": "Sign in", "next": safe_next(next), "email": email}
    wait = sign_in_throttle.address_retry_after(db, address=address, now=now, limits=limits(settings))
    if wait:
        users.burn_one_hash(password)
        minutes = max(1, wait // 60)
        message = f"Too many sign-in attempts from your network. Try again in {minutes} minutes."
        return render(request, "sign_in.html", status_code=429, errors={"email": message}, **page)
    errors: dict[str, str] = {}
    if not email.strip():
        errors["email"] = "Enter your email address"
    if not password:
        errors["password"] = "Enter your password"
    if errors:
        return render(request, "sign_in.html", status_code=400, errors=errors, **page)
    user = None
    if sign_in_throttle.account_locked(db, email=email, address=address, now=now):
        users.burn_one_hash(password)  # a locked pair answers as slowly as a wrong password
    else:
        user = users.authenticate(db, email=email, password=password)
    if user is None:
        locked_for = sign_in_throttle.record_failure(
            db, email=email, address=address, now=now, limits=limits(settings)
        )
        account = db.scalar(select(User).where(User.email == email.strip().lower()))
        if locked_for is not None and account is not None:
            audit.record(
                db,
                actor="sign-in",
                action="user.locked",
                object_type="user",
                object_id=account.id,
                after={"address": address, "minutes": int(locked_for.total_seconds() // 60)},
            )
        return render(request, "sign_in.html", status_code=400, errors={"email": SIGN_IN_ERROR}, **page)
    sign_in_throttle.record_success(db, email=email, address=address)
    if user.totp_secret:
        request.session.clear()
        request.session["pending"] = {"user_id": user.id, "at": now.isoformat(), "next": safe_next(next)}
        request.session["csrf"] = secrets.token_urlsafe(32)
        return RedirectResponse("/sign-in/code", status_code=303)
    return _begin_session(request, db, user, now=now, target=next)


def _pending_user(request: Request, db: DbSession, now) -> tuple[User, str] | None:
    pending = request.session.get("pending")
    if not isinstance(pending, dict):
        return None
    try:
        started = datetime.fromisoformat(str(pending["at"]))
        user = db.get(User, int(pending["user_id"]))
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if user is None or not user.active or not user.totp_secret:
        return None
    if not timedelta(0) <= now - started <= timedelta(seconds=PENDING_SECONDS):
        return None
    return user, safe_next(str(pending.get("next", "/queue")))


@router.get("/sign-in/code")
def code_page(request: Request, db: DbSession, now: Now) -> Response:
    if _pending_user(request, db, now) is None:
        return RedirectResponse("/sign-in", status_code=303)
    return render(request, "sign_in_code.html", title="Enter your code", errors={})


@router.post("/sign-in/code")
def code_check(
    request: Request,
    db: DbSession,
    now: Now,
    _csrf: CsrfChecked,
    code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    pending = _pending_user(request, db, now)
    if pending is None:
        request.session.pop("pending", None)
        return RedirectResponse("/sign-in", status_code=303)
    user, target = pending
    address = client_address(request)
    if sign_in_throttle.account_locked(db, email=user.email, address=address, now=now) or not (
        two_factor.verify(user.totp_secret or "", code, now=now)
    ):
        locked_for = sign_in_throttle.record_failure(
            db, email=user.email, address=address, now=now, limits=limits(effective(request, db))
        )
        if locked_for is not None:
            request.session.pop("pending", None)
            return RedirectResponse("/sign-in", status_code=303)
        return render(
            request,
            "sign_in_code.html",
            status_code=400,
            title="Enter your code",
            errors={"code": CODE_ERROR},
        )
    sign_in_throttle.record_success(db, email=user.email, address=address)
    return _begin_session(request, db, user, now=now, target=target)


@router.post("/sign-out")
def sign_out(request: Request, db: DbSession, user: OptionalUser, _csrf: CsrfChecked) -> Response:
    token = request.session.get("sid")
    if isinstance(token, str):
        sessions.end_session(db, token=token)
    if user is not None:
        audit.record(db, actor=user, action="user.sign_out", object_type="user", object_id=user.id)
    request.session.clear()
    flash(request, "You have signed out.")
    return RedirectResponse("/sign-in", status_code=303)


# --- your own account ------------------------------------------------------------------------


@router.get("/account/password")
def password_page(request: Request, user: Agent) -> Response:
    return render(request, "account_password.html", title="Change your password", errors={})


@router.post("/account/password")
def password_change(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    current: Annotated[str, Form(max_length=1000)] = "",
    new: Annotated[str, Form(max_length=1000)] = "",
    confirm: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    errors: dict[str, str] = {}
    if new != confirm:
        errors["confirm"] = "The two new passwords are not the same"
    problem = users.password_problem(new, email=user.email, name=user.name)
    if problem:
        errors["new"] = problem
    if not errors:
        try:
            users.change_password(db, user=user, current=current, new=new, now=now)
        except UserError as exc:
            field = "current" if "current" in str(exc).lower() else "new"
            errors[field] = str(exc)
    if errors:
        return render(
            request, "account_password.html", status_code=400, title="Change your password", errors=errors
        )
    # Every session ended with the old password, this one too: start a fresh one here.
    response = _begin_session(request, db, user, now=now, target="/queue")
    flash(request, "Your password has changed. Other browsers signed in as you have been signed out.")
    return response


@router.get("/account/two-factor")
def two_factor_page(request: Request, user: Agent) -> Response:
    secret = None if user.totp_secret else two_factor.new_secret()
    if secret:
        request.session["totp_setup"] = secret
    return render(
        request,
        "account_two_factor.html",
        title="Two-step sign-in",
        allowed=two_factor.allowed(user.role),
        enabled=bool(user.totp_secret),
        secret=secret,
        uri=two_factor.provisioning_uri(secret, email=user.email) if secret else None,
        errors={},
    )


@router.post("/account/two-factor")
def two_factor_save(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    code: Annotated[str, Form(max_length=20)] = "",
    turn_off: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    if turn_off is not None:
        if user.totp_secret and two_factor.verify(user.totp_secret, code, now=now):
            user.totp_secret = None
            audit.record(db, actor=user, action="user.two_factor_off", object_type="user", object_id=user.id)
            flash(request, "Two-step sign-in is off.")
            return RedirectResponse("/account/two-factor", status_code=303)
        return _two_factor_error(request, user, "Enter the code your app shows now to turn it off")
    secret = request.session.get("totp_setup")
    if not two_factor.allowed(user.role) or not isinstance(secret, str) or user.totp_secret:
        return RedirectResponse("/account/two-factor", status_code=303)
    if not two_factor.verify(secret, code, now=now):
        return _two_factor_error(request, user, CODE_ERROR, secret=secret)
    user.totp_secret = secret
    request.session.pop("totp_setup", None)
    audit.record(db, actor=user, action="user.two_factor_on", object_type="user", object_id=user.id)
    flash(request, "Two-step sign-in is on: you will be asked for a code each time you sign in.")
    return RedirectResponse("/account/two-factor", status_code=303)


def _two_factor_error(request: Request, user: User, message: str, *, secret: str | None = None) -> Response:
    return render(
        request,
        "account_two_factor.html",
        status_code=400,
        title="Two-step sign-in",
        allowed=two_factor.allowed(user.role),
        enabled=bool(user.totp_secret),
        secret=secret,
        uri=two_factor.provisioning_uri(secret, email=user.email) if secret else None,
        errors={"code": message},
    )
