"""facebook-sdk's GraphAPI, made fit for a current Graph API, and the translation of its failures.

facebook-sdk 3.1.0 (2018) knows only API versions up to 3.1, never sends
``appsecret_proof``, has no default timeout, and reports failures in several shapes. The
subclass here fixes the first three without touching the library's module globals; the
function :func:`translate` turns every failure into our typed errors.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import facebook
import requests

from connectors.base import (
    ConnectorError,
    GoneError,
    PayloadError,
    PermanentError,
    TemporaryError,
    register_secret,
)
from connectors.http import make_session, transport_error

GRAPH_URL = "https://graph.facebook.com"
# Graph rate limits: 4 app, 17 user, 32 page, 613 custom; 80001-80014 business use case limits.
RATE_LIMIT_CODES = {4, 17, 32, 613} | set(range(80001, 80015))
TOKEN_CODES = {190, 102}  # access token invalid, expired, revoked (102: session key invalid)
PERMISSION_CODES = {10} | set(range(200, 300))
TRANSIENT_CODES = {1, 2}  # "unknown error" / "service temporarily unavailable"
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=15)


def normalise_version(version: str) -> str:
    """``"21.0"`` or ``"v21.0"`` -> ``"v21.0"``."""
    match = re.fullmatch(r"v?(\d{1,3}\.\d{1,2})", version.strip())
    if not match:
        raise ValueError(f"Graph API version must look like v21.0, not {version!r}")
    return f"v{match[1]}"


class PageGraphAPI(facebook.GraphAPI):
    """``facebook.GraphAPI`` with a current version, ``appsecret_proof`` on every call and a timeout."""

    def __init__(
        self,
        *,
        access_token: str,
        app_secret: str | None,
        version: str,
        timeout: float,
        session: requests.Session,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")  # facebook-sdk's default (None) waits for ever
        # facebook-sdk checks ``version`` only in __init__, against a list that ends at 3.1 and a
        # regex that allows a one-digit major ("21.0" raises GraphAPIError). Every call then reads
        # ``self.version``. So we construct without a version and set ours afterwards: no patching
        # of the library's globals (VALID_API_VERSIONS, FACEBOOK_GRAPH_URL), nothing shared changes.
        super().__init__(access_token=access_token, timeout=timeout, session=session)
        self.version = normalise_version(version)
        self.appsecret_proof = (
            hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()
            if app_secret
            else None
        )

    def __repr__(self) -> str:
        return f"PageGraphAPI(version={self.version!r})"

    def request(
        self,
        path: str,
        args: dict[str, Any] | None = None,
        post_args: dict[str, Any] | None = None,
        files: Any = None,
        method: str | None = None,
    ) -> Any:
        """As the library's, plus ``appsecret_proof`` beside the access token.

        The proof is HMAC-SHA256(app secret, access token): with "Require App Secret" on, Graph
        refuses server calls without it, and a stolen page token alone is then useless. It goes
        where the library puts the token: the POST body when there is one, else the query.
        """
        if self.appsecret_proof:
            if post_args:
                post_args = {**post_args, "appsecret_proof": self.appsecret_proof}
            else:
                args = {**(args or {}), "appsecret_proof": self.appsecret_proof}
        return super().request(path, args, post_args, files, method)


class LastResponse(threading.local):
    """The status and headers of the latest Graph response on this thread (facebook-sdk drops them)."""

    status: int | None = None
    headers: dict[str, str] | None = None

    def remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self.status = response.status_code
        self.headers = dict(response.headers)
        return response

    def clear(self) -> None:
        self.status = None
        self.headers = None


def _regain_at(headers: dict[str, str] | None, now: datetime) -> datetime | None:
    """When access returns: ``estimated_time_to_regain_access`` (minutes) in ``X-Business-Use-Case-Usage``."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    raw = lowered.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
        minutes = max(
            int(entry.get("estimated_time_to_regain_access") or 0)
            for entries in usage.values()
            for entry in entries
        )
    except (ValueError, TypeError, AttributeError):
        return None
    return now + timedelta(minutes=minutes) if minutes > 0 else None


def translate(
    exc: Exception,
    *,
    action: str,
    last: LastResponse,
    now: Callable[[], datetime],
) -> ConnectorError:
    """The typed error for one failed Graph call (ConnectorError masks any credential it repeats)."""
    status = last.status
    if isinstance(exc, requests.JSONDecodeError):
        return PayloadError(f"Facebook sent a body that is not valid JSON while {action}")
    if isinstance(exc, requests.RequestException):
        return transport_error(exc, service=f"Facebook ({action})")
    if isinstance(exc, KeyError):  # facebook-sdk reads headers["content-type"] unguarded
        if status is not None and status >= 500:
            return TemporaryError(f"Facebook server error {status} while {action}")
        return PayloadError(f"Facebook sent a response without a content type while {action}")
    if not isinstance(exc, facebook.GraphAPIError):
        raise TypeError(f"not a Graph failure: {type(exc).__name__}")

    code = exc.code if isinstance(exc.code, int) else None
    result = exc.result if isinstance(exc.result, dict) else {}
    error: dict[str, Any] = result["error"] if isinstance(result.get("error"), dict) else {}
    subcode = error.get("error_subcode")
    message = str(exc.message or "")[:300]
    detail = (
        f" (code {code}{f'/{subcode}' if subcode else ''}): {message}" if code is not None else f": {message}"
    )

    if code is None:
        # No Graph error body: an HTML error page or an unexpected content type. Judge by the status.
        if status is None or status >= 500 or status == 429:
            return TemporaryError(f"Facebook answered {status or 'without a status'} while {action}")
        if status == 401:
            return PermanentError(f"Facebook rejected the page token while {action} (401)")
        if status == 403:
            return PermanentError(f"Facebook refused {action} (403): permission missing")
        if status in (404, 410):
            return GoneError(f"Facebook says the object is gone while {action} ({status})")
        if 200 <= status < 300:
            return PayloadError(f"Facebook sent an unreadable body while {action}{detail}")
        return PermanentError(f"Facebook rejected the request while {action} ({status}){detail}")
    if code in RATE_LIMIT_CODES:
        retry_at = _regain_at(last.headers, now()) or now() + DEFAULT_RATE_LIMIT_WAIT
        return TemporaryError(f"Facebook rate limit reached while {action}{detail}", retry_at=retry_at)
    if code in TOKEN_CODES:
        return PermanentError(
            f"Facebook rejected the page token while {action}{detail}. The token is invalid, expired or "
            "revoked: generate a new page access token"
        )
    if code in PERMISSION_CODES:
        return PermanentError(f"Facebook refused {action}: a permission is missing{detail}")
    if (code == 100 and subcode == 33) or code == 803:
        return GoneError(f"Facebook says the object is gone while {action}{detail}")
    if code in TRANSIENT_CODES or error.get("is_transient") is True:
        return TemporaryError(f"Facebook had a temporary problem while {action}{detail}")
    return PermanentError(f"Facebook rejected the request while {action}{detail}")


class GraphClient:
    """One Graph API access token's calls: facebook-sdk's request, our paging loop, typed errors.

    Shared by the Facebook page and the Instagram account connectors (an Instagram professional
    account is read with the token of the Facebook page it is linked to): one HTTP stack.
    ``base_url`` sends every call to another host (a local fake or a proxy).
    """

    def __init__(
        self,
        *,
        access_token: str,
        app_secret: str | None,
        api_version: str,
        base_url: str | None,
        timeout: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.clock = clock
        self._last = LastResponse()
        session = make_session(timeout=timeout, rewrites={GRAPH_URL: base_url} if base_url else None)
        session.hooks["response"].append(self._last.remember)
        self.graph = PageGraphAPI(
            access_token=access_token,
            app_secret=app_secret,
            version=api_version,
            timeout=timeout,
            session=session,
        )
        register_secret(access_token, app_secret, self.graph.appsecret_proof)

    @property
    def version(self) -> str:
        return self.graph.version

    def request(
        self,
        action: str,
        path: str,
        args: dict[str, Any] | None = None,
        post_args: dict[str, Any] | None = None,
    ) -> Any:
        self._last.clear()
        try:
            return self.graph.request(f"{self.graph.version}/{path}", args=args, post_args=post_args)
        except (facebook.GraphAPIError, requests.RequestException, KeyError) as exc:
            # ``from None``: the library's exceptions repeat URLs that carry the access token.
            raise translate(exc, action=action, last=self._last, now=self.clock) from None

    def pages(
        self, action: str, path: str, params: dict[str, Any], *, page_size: int, max_pages: int
    ) -> Iterator[tuple[dict[str, Any], bool]]:
        """Each page of a listing, with whether more pages follow that were not read (``max_pages``).

        Our own loop: facebook-sdk's ``get_all_connections`` deletes ``access_token`` from each
        ``next`` link and fails when it is absent. We take the ``next`` link's query (cursor or
        time bounds), minus credentials, and ask again through ``request``.
        """
        args = dict(params, limit=page_size)
        for number in range(1, max_pages + 1):
            body = self.request(action, path, args)
            if not isinstance(body, dict):
                raise PayloadError(f"Graph sent a {type(body).__name__} while {action}, not a list response")
            paging = body.get("paging")
            link = paging.get("next") if isinstance(paging, dict) else None
            if not isinstance(link, str) or not link:
                yield body, False
                return
            yield body, number == max_pages
            query = parse_qs(urlsplit(link).query)
            args = {k: v[-1] for k, v in query.items() if k not in ("access_token", "appsecret_proof")}
