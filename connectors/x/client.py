"""The tweepy client, set up once, and the translation of its failures into our typed errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import requests
import tweepy

from connectors.base import GoneError, PayloadError, PermanentError, TemporaryError
from connectors.http import configure_session, retry_after, transport_error

X_API = "https://api.twitter.com"
# X's rate-limit windows are 15 minutes: the wait when a 429 comes without a reset header.
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=15)

T = TypeVar("T")


def make_client(
    *,
    bearer_token: str | None,
    consumer_key: str | None,
    consumer_secret: str | None,
    access_token: str | None,
    access_token_secret: str | None,
    base_url: str | None,
    timeout: float,
) -> tweepy.Client:
    """A ``tweepy.Client`` that returns plain dicts, never sleeps, and sends HTTP through our adapter.

    ``return_type=dict`` keeps tweepy's models (which ``int()`` every id and fail the whole
    page on one bad item) out of the way: our pydantic models validate item by item.
    ``wait_on_rate_limit=False``: tweepy would sleep up to 15 minutes inside the call, or
    retry without bound when the 429 lacks a reset header; we hand the reset time to the
    scheduler instead.
    """
    client = tweepy.Client(
        bearer_token=bearer_token,
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        access_token=access_token,
        access_token_secret=access_token_secret,
        return_type=dict,
        wait_on_rate_limit=False,
    )
    configure_session(client.session, timeout=timeout, rewrites={X_API: base_url} if base_url else None)
    return client


def _detail(exc: tweepy.HTTPException) -> str:
    messages = "; ".join(m for m in exc.api_messages if m)
    return f": {messages[:300]}" if messages else ""


def call(action: str, fn: Callable[..., T], *args: Any, now: Callable[[], datetime], **kwargs: Any) -> T:
    """Run one tweepy call; every failure leaves as a ConnectorError saying whether to retry."""
    try:
        return fn(*args, **kwargs)
    except tweepy.TooManyRequests as exc:
        retry_at = (
            datetime.fromtimestamp(exc.reset_time, tz=now().tzinfo)
            if exc.reset_time is not None
            else now() + DEFAULT_RATE_LIMIT_WAIT
        )
        raise TemporaryError(
            f"X rate limit reached while {action}; retry after {retry_at.isoformat()}", retry_at=retry_at
        ) from None
    except tweepy.Unauthorized as exc:
        raise PermanentError(
            f"X rejected the credentials while {action} (401): the token is invalid, expired or revoked"
            f"{_detail(exc)}"
        ) from None
    except tweepy.Forbidden as exc:
        raise PermanentError(
            f"X refused {action} (403): the app lacks the permission or API access level for it{_detail(exc)}"
        ) from None
    except tweepy.NotFound as exc:
        raise GoneError(f"X says the object is gone while {action} (404){_detail(exc)}") from None
    except tweepy.TwitterServerError as exc:
        raise TemporaryError(
            f"X server error {exc.response.status_code} while {action}",
            retry_at=retry_after(exc.response, now()),
        ) from None
    except tweepy.HTTPException as exc:  # 400 and any other unexpected status: sending it again will not help
        raise PermanentError(
            f"X rejected the request while {action} ({exc.response.status_code}){_detail(exc)}"
        ) from None
    except requests.JSONDecodeError:
        raise PayloadError(f"X sent a body that is not valid JSON while {action}") from None
    except requests.RequestException as exc:  # timeouts, refused connections, broken transfers
        raise transport_error(exc, service=f"X ({action})") from None
