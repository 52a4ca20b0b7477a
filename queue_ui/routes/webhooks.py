"""Meta's webhook callback for Instagram @mentions: ``/webhooks/instagram``.

Open without sign-in or CSRF token: Meta calls it, and authenticates each delivery with
``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the Facebook app secret). The
request only stores the event; the worker reads the post from Instagram.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from listener.intake.instagram_mentions import record_webhook
from queue_ui.deps import DbSession, Now

router = APIRouter(prefix="/webhooks")

SIGNATURE_HEADER = "X-Hub-Signature-256"


async def raw_body(request: Request) -> bytes:
    """The bytes as sent: the signature is over them, not over a re-encoded parse."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


@router.get("/instagram", include_in_schema=False)
def verify_subscription(request: Request) -> Response:
    """Meta's check when the callback is set up: echo ``hub.challenge`` if the verify token matches."""
    secret = request.app.state.settings.secrets.instagram_verify_token
    params = request.query_params
    sent = params.get("hub.verify_token", "")
    if (
        secret is None
        or params.get("hub.mode") != "subscribe"
        or not hmac.compare_digest(sent.encode(), secret.get_secret_value().encode())
    ):
        return PlainTextResponse("verification refused", status_code=403)
    return PlainTextResponse(params.get("hub.challenge", ""))


@router.post("/instagram", include_in_schema=False)
def receive(request: Request, raw: RawBody, db: DbSession, now: Now) -> Response:
    secret = request.app.state.settings.secrets.facebook_app_secret
    expected = (
        "sha256=" + hmac.new(secret.get_secret_value().encode(), raw, hashlib.sha256).hexdigest()
        if secret is not None
        else None
    )
    sent = request.headers.get(SIGNATURE_HEADER, "")
    if expected is None or not hmac.compare_digest(sent.encode(), expected.encode()):
        return PlainTextResponse("bad signature", status_code=401)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return PlainTextResponse("not JSON", status_code=400)
    record_webhook(db, body, now=now)
    return PlainTextResponse("ok")
