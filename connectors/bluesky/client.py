"""The ``atproto`` client, set up once, and the translation of its failures into our typed errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from atproto import Client
from atproto_client import exceptions as xrpc
from atproto_client.models.common import XrpcError
from atproto_client.request import Request
from atproto_core.exceptions import AtProtocolError

from connectors.base import GoneError, PayloadError, PermanentError, TemporaryError
from connectors.bluesky.errors import SessionExpired

# Bluesky's rate-limit windows are 5 minutes: the wait when a 429 comes without ratelimit-reset.
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=5)
# XRPC error names that mean the session's token is no longer good: refresh it, or log in again.
SESSION_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})

T = TypeVar("T")


class ClockedClient(Client):
    """An ``atproto.Client`` that reads the time from our clock.

    The client refreshes the session when the access token is about to expire, judged by
    ``get_current_time``: with the connector's clock, tests (and a fake with its own clock)
    agree with it on when that is.
    """

    def __init__(self, *args: Any, clock: Callable[[], datetime], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_current_time(self) -> datetime:
        return self._clock()


def make_client(*, service: str, timeout: float, clock: Callable[[], datetime]) -> ClockedClient:
    """A client for ``service`` (a PDS such as https://bsky.social, or a local fake) with a request timeout.

    atproto sends HTTP through httpx, not requests, so the connectors' requests session does
    not apply: the timeout goes to its ``httpx.Client``, and the base URL is the client's own.
    """
    return ClockedClient(base_url=service, request=Request(timeout=timeout), clock=clock)


def _error_of(exc: xrpc.RequestErrorBase) -> tuple[int, str, str]:
    response = exc.response
    if response is None:
        return 0, "", ""
    content = response.content
    if isinstance(content, XrpcError):
        return response.status_code, content.error or "", (content.message or "")[:300]
    return response.status_code, "", ""


def _detail(name: str, message: str) -> str:
    said = ": ".join(p for p in (name, message) if p)
    return f": {said}" if said else ""


def translate(exc: Exception, *, action: str, now: Callable[[], datetime]) -> Exception:
    """The ConnectorError for one failure of an atproto call (raise it ``from`` the original)."""
    if isinstance(exc, xrpc.RateLimitExceededError):
        retry_at = exc.reset_at
        if retry_at is None and exc.retry_after is not None:
            retry_at = now() + timedelta(seconds=exc.retry_after)
        retry_at = (retry_at or now() + DEFAULT_RATE_LIMIT_WAIT).astimezone(now().tzinfo)
        return TemporaryError(
            f"Bluesky rate limit reached while {action}; retry after {retry_at.isoformat()}",
            retry_at=retry_at,
        )
    if isinstance(exc, xrpc.InvokeTimeoutError) or isinstance(exc.__cause__, httpx.TimeoutException):
        return TemporaryError(f"Bluesky ({action}): timed out")
    if isinstance(exc, xrpc.RequestErrorBase):
        status, name, message = _error_of(exc)
        if status == 0:
            return TemporaryError(f"Bluesky ({action}): could not connect")
        if name in SESSION_ERRORS:
            return SessionExpired(
                f"Bluesky refused the session's token while {action} ({status}{_detail(name, message)}): "
                "log in again with the app password"
            )
        if status == 401:
            return PermanentError(
                f"Bluesky rejected the credentials while {action} (401{_detail(name, message)}): "
                "the app password is wrong or revoked, or the login is not allowed"
            )
        if status == 403:
            return PermanentError(
                f"Bluesky refused {action} (403{_detail(name, message)}): the account or app password "
                "lacks the permission for it"
            )
        if status == 404 or name == "NotFound":
            return GoneError(
                f"Bluesky says the object is gone while {action} ({status}{_detail(name, message)})"
            )
        if status in (408, 409, 425) or status >= 500:
            return TemporaryError(f"Bluesky server error {status} while {action}{_detail(name, message)}")
        return PermanentError(
            f"Bluesky rejected the request while {action} ({status}{_detail(name, message)})"
        )
    if isinstance(exc, xrpc.ModelError | ValueError):
        # a body that is not JSON (pydantic_core's from_json), or a typed answer of the wrong shape
        return PayloadError(f"Bluesky sent a body we cannot read while {action}")
    if isinstance(exc, httpx.HTTPError):  # a dropped connection, a broken transfer
        return TemporaryError(f"Bluesky ({action}): request failed ({type(exc).__name__})")
    return exc


def call(action: str, fn: Callable[..., T], *args: Any, now: Callable[[], datetime], **kwargs: Any) -> T:
    """Run one atproto call; every failure leaves as a ConnectorError saying whether to retry."""
    try:
        return fn(*args, **kwargs)
    except (AtProtocolError, ValueError, httpx.HTTPError) as exc:
        error = translate(exc, action=action, now=now)
        if error is exc:
            raise
        raise error from None  # the library's exception may repeat request details
