"""Sign in and out. Sessions are signed cookies; sign-in is throttled per address and per account."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from listener.store import audit
from listener.users import authenticate
from queue_ui.deps import CsrfChecked, DbSession, Now, OptionalUser
from queue_ui.rendering import flash, render

router = APIRouter()

SIGN_IN_ERROR = (
    "Enter a correct email address and password. After several wrong tries the account locks for a while."
)


def safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would make a good phishing link."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/queue"
    return target


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/")
def home(user: OptionalUser) -> Response:
    return RedirectResponse("/queue" if user else "/sign-in", status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request, user: OptionalUser, next: str | None = None) -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "sign_in.html", title="Sign in", next=safe_next(next), email="", errors={})


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
    throttle = request.app.state.sign_in_throttle
    key = client_key(request)
    if throttle.blocked(key, now):
        minutes = max(1, throttle.retry_after(key, now) // 60)
        message = f"Too many sign-in attempts from your network. Try again in {minutes} minutes."
        return render(
            request,
            "sign_in.html",
            status_code=429,
            title="Sign in",
            next=safe_next(next),
            email=email,
            errors={"email": message},
        )
    errors: dict[str, str] = {}
    if not email.strip():
        errors["email"] = "Enter your email address"
    if not password:
        errors["password"] = "Enter your password"
    user = None
    if not errors:
        ui = request.app.state.settings.ui
        user = authenticate(
            db,
            email=email,
            password=password,
            max_failures=ui.max_failed_logins,
            lockout=timedelta(minutes=ui.lockout_minutes),
            now=now,
        )
        if user is None:
            throttle.hit(key, now)
            errors["email"] = SIGN_IN_ERROR
    if user is None:
        return render(
            request,
            "sign_in.html",
            status_code=400,
            title="Sign in",
            next=safe_next(next),
            email=email,
            errors=errors,
        )
    # A fresh session and CSRF token at sign-in: a token planted before sign-in is worthless.
    request.session.clear()
    request.session["user_id"] = user.id
    request.session["csrf"] = secrets.token_urlsafe(32)
    audit.record(db, actor=user, action="user.sign_in", object_type="user", object_id=user.id)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/sign-out")
def sign_out(request: Request, db: DbSession, user: OptionalUser, _csrf: CsrfChecked) -> Response:
    if user is not None:
        audit.record(db, actor=user, action="user.sign_out", object_type="user", object_id=user.id)
    request.session.clear()
    flash(request, "You have signed out.")
    return RedirectResponse("/sign-in", status_code=303)
