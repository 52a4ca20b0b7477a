"""Meta's Instagram webhook: the verification handshake, the signature, and each event stored once."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, select

from listener.settings import Secrets, Settings
from listener.store.db import write_transaction
from listener.store.models import InstagramMentionEvent
from queue_ui.app import create_app
from tests.queue_ui.conftest import SECRET, Clock

APP_SECRET = "app-secret-of-the-facebook-app"
VERIFY_TOKEN = "a-verify-token-we-chose"
IG_USER_ID = "17841400000000001"


def webhook(*changes: dict) -> bytes:
    entry = {"id": IG_USER_ID, "time": 1764849600, "changes": list(changes)}
    return json.dumps({"object": "instagram", "entry": [entry]}).encode()


def mention(media_id: str, comment_id: str | None = None) -> dict:
    value = {"media_id": media_id} | ({"comment_id": comment_id} if comment_id else {})
    return {"field": "mentions", "value": value}


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


@pytest.fixture
def app(engine: Engine, clock: Clock) -> FastAPI:
    settings = Settings()
    settings.secrets = Secrets(
        facebook_app_secret=SecretStr(APP_SECRET), instagram_verify_token=SecretStr(VERIFY_TOKEN)
    )
    return create_app(settings, engine, clock=clock, session_secret=SECRET)


@pytest.fixture
def meta(app: FastAPI) -> TestClient:
    return TestClient(app)


def events(engine: Engine) -> list[tuple[str, str, str, bool]]:
    with write_transaction(engine) as session:
        rows = session.scalars(select(InstagramMentionEvent).order_by(InstagramMentionEvent.id))
        return [(r.account_id, r.media_id, r.comment_id, r.done_at is None) for r in rows]


def test_verification_echoes_the_challenge(meta: TestClient) -> None:
    response = meta.get(
        "/webhooks/instagram",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )
    assert response.status_code == 200 and response.text == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_verification_with_a_wrong_token_or_mode_is_refused(meta: TestClient, params: dict) -> None:
    response = meta.get("/webhooks/instagram", params=params)
    assert response.status_code == 403 and "1" not in response.text


def test_verification_is_refused_when_no_verify_token_is_set(engine: Engine, clock: Clock) -> None:
    meta = TestClient(create_app(Settings(), engine, clock=clock, session_secret=SECRET))
    response = meta.get(
        "/webhooks/instagram", params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    )
    assert response.status_code == 403


def test_a_signed_mention_is_stored_once_even_when_sent_twice(meta: TestClient, engine: Engine) -> None:
    body = webhook(mention("17900000000000011", "17900000000000012"), mention("17900000000000013"))
    for _ in range(2):
        response = meta.post("/webhooks/instagram", content=body, headers=signed(body))
        assert response.status_code == 200
    assert events(engine) == [
        (IG_USER_ID, "17900000000000011", "17900000000000012", True),
        (IG_USER_ID, "17900000000000013", "", True),
    ]


@pytest.mark.parametrize(
    "headers",
    [{}, signed(b"another body"), signed(webhook(mention("17900000000000011")), secret="not-the-app-secret")],
    ids=["unsigned", "signature of another body", "signed with another secret"],
)
def test_a_wrongly_signed_delivery_is_refused_and_stores_nothing(
    meta: TestClient, engine: Engine, headers: dict
) -> None:
    body = webhook(mention("17900000000000011"))
    response = meta.post("/webhooks/instagram", content=body, headers=headers)
    assert response.status_code == 401
    assert events(engine) == []


def test_other_fields_and_unusable_ids_are_left_out(meta: TestClient, engine: Engine) -> None:
    body = webhook(
        {"field": "comments", "value": {"id": "17900000000000021", "text": "hi"}},
        mention("1){id}"),
        mention("17900000000000022"),
    )
    assert meta.post("/webhooks/instagram", content=body, headers=signed(body)).status_code == 200
    assert events(engine) == [(IG_USER_ID, "17900000000000022", "", True)]


def test_a_signed_body_that_is_not_json_is_refused(meta: TestClient, engine: Engine) -> None:
    body = b"{not json"
    assert meta.post("/webhooks/instagram", content=body, headers=signed(body)).status_code == 400
    assert events(engine) == []
