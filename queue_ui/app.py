"""The queue UI as one FastAPI app: pages (server-rendered, htmx), the JSON API, health and metrics."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from listener.errors import UserError
from listener.queue.items import ItemNotFound
from listener.settings import Settings
from listener.store.types import utcnow
from queue_ui.deps import CsrfFailed, NotAllowed, NotSignedIn, PasswordChangeNeeded
from queue_ui.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware
from queue_ui.rendering import render

# Every router the app serves; incidents and reports are built by their own helpers.
ROUTE_MODULES = (
    "auth",
    "queue",
    "items",
    "inbox",
    "admin",
    "audit",
    "api",
    "ops",
    "incidents",
    "reports",
    "report_downloads",
    "webhooks",
)
STATIC_DIR = Path(__file__).resolve().parent / "static"
MIN_SECRET_LENGTH = 32
# Forms carry at most a reply, a template or a reason: far below this.
MAX_BODY_BYTES = 256 * 1024
SESSION_COOKIE = "lp_session"


def _session_secret(settings: Settings, explicit: str | None) -> str:
    if explicit is not None:
        secret = explicit
    elif settings.secrets.session_secret is not None:
        secret = settings.secrets.session_secret.get_secret_value()
    else:
        raise UserError(
            "the queue UI needs LISTENING_POST_SESSION_SECRET (32 or more random characters) to sign sessions"
        )
    if len(secret) < MIN_SECRET_LENGTH:
        raise UserError(f"LISTENING_POST_SESSION_SECRET must be at least {MIN_SECRET_LENGTH} characters")
    return secret


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    clock: Callable[[], datetime] | None = None,
    session_secret: str | None = None,
) -> FastAPI:
    """Build the app. ``session_secret`` overrides the environment's (tests, the demo)."""
    secret = _session_secret(settings, session_secret)
    app = FastAPI(
        title="Listening Post",
        summary="Reply queue API: the same operations as the queue pages.",
        openapi_url=None,  # served by queue_ui.routes.api to signed-in staff only
        docs_url=None,  # Swagger UI needs inline script, which our CSP refuses
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.clock = clock or utcnow

    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=settings.ui.session_hours * 3600,
        same_site="lax",
        https_only=settings.ui.https,
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.ui.https)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    for name in ROUTE_MODULES:
        router = importlib.import_module(f"queue_ui.routes.{name}").router
        # The OpenAPI schema documents the JSON API only; pages are for people.
        for route in router.routes:
            if isinstance(route, APIRoute) and not route.path.startswith("/api"):
                route.include_in_schema = False
        app.include_router(router)

    _install_error_handlers(app)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def _wants_fragment(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "Sign in first."}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/sign-in?next={quote(target, safe='')}"
        if _wants_fragment(request):
            # htmx follows this header with a full page load instead of swapping a fragment.
            return Response(status_code=401, headers={"HX-Redirect": location})
        return RedirectResponse(location, status_code=303)

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, exc: NotAllowed) -> Response:
        message = f"This needs the {exc.needed} role or higher."
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=403)
        return render(request, "error.html", status_code=403, title="You do not have access", message=message)

    @app.exception_handler(PasswordChangeNeeded)
    async def password_change_needed(request: Request, exc: PasswordChangeNeeded) -> Response:
        message = "Choose a new password first: you signed in with a one-time password."
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=403)
        if _wants_fragment(request):
            return Response(status_code=403, headers={"HX-Redirect": "/account/password"})
        return RedirectResponse("/account/password", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        message = "This form has expired or did not come from Listening Post. Reload the page and try again."
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=403)
        return render(request, "error.html", status_code=403, title="Form expired", message=message)

    @app.exception_handler(ItemNotFound)
    async def item_not_found(request: Request, exc: ItemNotFound) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=404)
        return render(request, "error.html", status_code=404, title="Item not found", message=str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request) or exc.status_code < 400:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        titles = {404: "Page not found", 405: "Not allowed", 409: "Changed by someone else"}
        return render(
            request,
            "error.html",
            status_code=exc.status_code,
            title=titles.get(exc.status_code, "Something went wrong"),
            message=str(exc.detail) if exc.status_code != 404 else "Check the address and try again.",
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": _plain_errors(exc)}, status_code=422)
        problems = "; ".join(e["field"] + ": " + e["message"] for e in _plain_errors(exc))
        return render(
            request,
            "error.html",
            status_code=422,
            title="There is a problem with the request",
            message=problems,
        )


def _plain_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    # Never echo the input back: it may be a long hostile post or a password.
    return [
        {"field": ".".join(str(p) for p in err["loc"][1:]) or "body", "message": err["msg"]}
        for err in exc.errors()
    ]
