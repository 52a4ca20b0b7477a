"""LinkedIn's versioned REST API over our one HTTP session, and the translation of its failures.

We call the API with ``requests`` through :func:`connectors.http.make_session` rather than
LinkedIn's official Python client (``linkedin-api-client``): that one is a stale beta, and it
brings its own session, which would bypass our timeout and base-URL rewriting.

Every call names the API version (``LinkedIn-Version: YYYYMM``) and Rest.li protocol 2.0.0.
LinkedIn retires each monthly version about a year after release and then answers 426
``NONEXISTENT_VERSION``: a permanent error that tells the admin to change ``[linkedin]
api_version``. A token without the scope an endpoint needs gets 403 ``ACCESS_DENIED``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from connectors.base import (
    ConnectorError,
    GoneError,
    PayloadError,
    PermanentError,
    TemporaryError,
    mask_secret,
)
from connectors.http import make_session, retry_after, transport_error

LINKEDIN_API = "https://api.linkedin.com"
RESTLI_PROTOCOL = "2.0.0"
VERSION_CODES = {"NONEXISTENT_VERSION", "VERSION_MISSING", "UNSUPPORTED_VERSION"}
# What each kind of call needs, for the message when the token lacks it.
SCOPES = {
    "GET": "r_organization_social (and rw_organization_admin for mentions)",
    "POST": "w_organization_social",
    "DELETE": "w_organization_social",
}


def check_version(version: str) -> str:
    """``"202410"`` -> itself; anything but a plausible YYYYMM raises ValueError."""
    if not re.fullmatch(r"20\d{2}(0[1-9]|1[0-2])", version):
        raise ValueError(f"LinkedIn API version must look like 202410 (YYYYMM), not {version!r}")
    return version


def encode(urn: str) -> str:
    """A URN as Rest.li 2.0 wants it in a path or query: every reserved character percent-encoded."""
    return quote(urn, safe="")


def next_midnight(now: datetime) -> datetime:
    """LinkedIn's daily application and member limits reset at midnight UTC."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


class LinkedInClient:
    def __init__(
        self,
        *,
        access_token: str,
        api_version: str,
        base_url: str | None,
        timeout: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._token = access_token
        self.version = check_version(api_version)
        self.clock = clock
        self.session = make_session(timeout=timeout, rewrites={LINKEDIN_API: base_url} if base_url else None)
        self.session.headers.update(
            {
                "Authorization": f"Bearer {access_token}",
                "LinkedIn-Version": self.version,
                "X-Restli-Protocol-Version": RESTLI_PROTOCOL,
            }
        )

    def __repr__(self) -> str:
        return f"LinkedInClient(version={self.version!r}, token={mask_secret(self._token)!r})"

    def call(
        self, action: str, method: str, path: str, *, query: str = "", json: dict[str, Any] | None = None
    ) -> tuple[requests.Response, Any]:
        """One request to ``/rest/{path}?{query}``; the response and its JSON body (None when empty).

        ``query`` is already encoded: Rest.li's structure characters (``List(..)``, ``(start:..)``)
        must reach LinkedIn as they are, with only the values inside percent-encoded.
        """
        url = f"{LINKEDIN_API}/rest/{path}" + (f"?{query}" if query else "")
        # Rest.li finders (``q=author``, ``q=criteria``) are named as such, as LinkedIn's examples do.
        headers = {"X-RestLi-Method": "FINDER"} if query.startswith("q=") else None
        try:
            response = self.session.request(method, url, json=json, headers=headers)
        except requests.RequestException as exc:
            raise transport_error(exc, service=f"LinkedIn ({action})") from None
        if response.status_code >= 400:
            raise self._error(response, action, method)
        if not response.content:
            return response, None
        try:
            return response, response.json()
        except requests.JSONDecodeError:
            raise PayloadError(f"LinkedIn sent a body that is not valid JSON while {action}") from None

    def _error(self, response: requests.Response, action: str, method: str) -> ConnectorError:
        status = response.status_code
        try:
            body = response.json()
        except requests.JSONDecodeError:
            body = None
        body = body if isinstance(body, dict) else {}
        code = str(body.get("code") or "")
        message = str(body.get("message") or "").replace(self._token, mask_secret(self._token))[:300]
        detail = f" ({status}{f' {code}' if code else ''}): {message}" if message else f" ({status})"
        now = self.clock()
        if status == 426 or code in VERSION_CODES:
            return PermanentError(
                f"LinkedIn no longer serves API version {self.version} while {action}{detail}. "
                "Set [linkedin] api_version to a current version (YYYYMM) in the settings"
            )
        if status == 401:
            return PermanentError(
                f"LinkedIn rejected the access token while {action}{detail}. It is invalid, expired "
                "(LinkedIn tokens last 60 days) or revoked: generate a new one"
            )
        if status == 403:
            return PermanentError(
                f"LinkedIn refused {action}{detail}: the token lacks a permission (scope "
                f"{SCOPES.get(method, 'r_organization_social')}), or its member is no longer a page admin"
            )
        if status in (404, 410):
            return GoneError(f"LinkedIn says the object is gone while {action}{detail}")
        if status == 429:
            wait = retry_after(response, now) or next_midnight(now)
            return TemporaryError(f"LinkedIn rate limit reached while {action}{detail}", retry_at=wait)
        if status >= 500:
            return TemporaryError(
                f"LinkedIn server error {status} while {action}", retry_at=retry_after(response, now)
            )
        return PermanentError(f"LinkedIn rejected the request while {action}{detail}")
