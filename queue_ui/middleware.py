"""ASGI middleware: security headers on every response, and a cap on request body size."""

from __future__ import annotations

import json
from html import escape

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere: the NHS design system, htmx and our own JS are files.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = dict(SECURITY_HEADERS)
        if hsts:
            self.headers["Strict-Transport-Security"] = "max-age=31536000"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
                if scope["path"].startswith("/static/"):
                    return await send(message)
                # Pages show personal data: keep them out of shared caches and the back-forward cache.
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette's own 500 answer is made outside every middleware, so it would carry none of
            # the headers: answer here instead, then re-raise so the server logs it (and tests see it).
            if not started:
                await _send_page(
                    send_with_headers,
                    scope,
                    500,
                    "Something went wrong",
                    "Listening Post could not finish this. Try again; if it keeps happening, tell an admin.",
                )
            raise


async def _send_page(send: Send, scope: Scope, status: int, title: str, message: str) -> None:
    wants_json = scope["path"].startswith("/api/")
    body = (json.dumps({"detail": message}) if wants_json else _html_page(message, title=title)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json" if wants_json else b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413 and a message a person can act on.

    Checks the declared Content-Length first and also counts streamed bytes, so a
    chunked upload cannot slip past the limit.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return (
            f"The form you sent is too large (over {self.max_bytes // 1024} KB). "
            "Shorten the text and try again."
        )

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await _send_page(send, scope, 413, "Request too large", self._message())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        started = False
        too_large = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if too_large:
                # FastAPI catches any error while reading a body and answers 400 "error parsing the
                # body": a chunked upload over the limit gets the clear 413 instead.
                if not started:
                    started = True
                    await self._refuse(scope, send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send)


def _html_page(message: str, *, title: str) -> str:
    """A plain NHS-styled page, made without templates or the database (either may be what failed)."""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} - Listening Post'
        '</title><link rel="stylesheet" href="/static/vendor/nhsuk/nhsuk-frontend.min.css"></head><body>'
        '<main class="nhsuk-width-container nhsuk-main-wrapper" id="maincontent">'
        f'<h1 class="nhsuk-heading-l">{escape(title)}</h1><p>{escape(message)}</p>'
        "<p>Use your browser's back button to return to the form.</p></main></body></html>"
    )
