"""All outbound HTTP of the connectors goes through sessions set up here.

Two jobs, in one place:

* a default timeout on every request (tweepy never passes one, facebook-sdk passes ``None``
  unless told, and a hung socket would stall a worker for good);
* pointing a platform at another base URL (a local fake or a proxy) without patching a
  library: tweepy hard-codes ``https://api.twitter.com`` inside ``Client.request`` and
  facebook-sdk reads the module global ``FACEBOOK_GRAPH_URL``, so we rewrite the URL in the
  transport adapter instead, after the library has built the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from connectors.base import TemporaryError

DEFAULT_TIMEOUT = 20.0


class TimeoutAdapter(HTTPAdapter):
    """An HTTPAdapter that applies a default timeout and, optionally, moves one URL prefix to another.

    ``rewrite=("https://api.twitter.com", "http://127.0.0.1:8765")`` sends every request
    under the first prefix to the second one, keeping path and query.
    """

    def __init__(self, *, timeout: float, rewrite: tuple[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout = timeout
        self.rewrite = rewrite

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.rewrite and request.url:
            upstream = self.rewrite[0].rstrip("/") + "/"
            if request.url.startswith(upstream):
                request.url = self.rewrite[1].rstrip("/") + "/" + request.url[len(upstream) :]
        return super().send(request, **kwargs)


def configure_session(
    session: requests.Session,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    rewrites: Mapping[str, str] | None = None,
) -> requests.Session:
    """Mount timeout adapters on ``session`` (every URL) and a rewriting one per entry of ``rewrites``.

    ``rewrites`` maps an upstream prefix (``"https://graph.facebook.com"``) to the base URL
    that should receive its requests instead. Without it, requests go where the library
    sends them.
    """
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    session.mount("http://", TimeoutAdapter(timeout=timeout))
    session.mount("https://", TimeoutAdapter(timeout=timeout))
    for upstream, target in (rewrites or {}).items():
        # requests picks the adapter with the longest matching prefix, so this one wins.
        session.mount(upstream.rstrip("/") + "/", TimeoutAdapter(timeout=timeout, rewrite=(upstream, target)))
    return session


def make_session(
    *, timeout: float = DEFAULT_TIMEOUT, rewrites: Mapping[str, str] | None = None
) -> requests.Session:
    """A new ``requests.Session`` set up by :func:`configure_session`."""
    return configure_session(requests.Session(), timeout=timeout, rewrites=rewrites)


def transport_error(exc: requests.RequestException, *, service: str) -> TemporaryError:
    """A TemporaryError for a timeout or connection failure that never repeats the URL.

    ``str(exc)`` of a requests error contains the full URL, and Graph API URLs carry the
    access token in their query string, so the message names only the host and the kind
    of failure. Raise it ``from None`` for the same reason.
    """
    host = ""
    url = getattr(getattr(exc, "request", None), "url", None)
    if url:
        host = urlsplit(url).netloc
    where = f" ({host})" if host else ""
    if isinstance(exc, requests.Timeout):
        what = "timed out"
    elif isinstance(exc, requests.ConnectionError):
        what = "could not connect"
    else:
        what = f"request failed ({type(exc).__name__})"
    return TemporaryError(f"{service}: {what}{where}")


def retry_after(response: requests.Response | None, now: datetime) -> datetime | None:
    """The time a ``Retry-After`` header (seconds or an HTTP date) asks us to wait for, if any."""
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    if value.strip().isdigit():
        return now + timedelta(seconds=int(value))
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
