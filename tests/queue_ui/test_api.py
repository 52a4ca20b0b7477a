"""The JSON API: the queue's operations with session auth and a CSRF header for writes."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.queue_ui.conftest import SESSION_COOKIE_NAME

GOOD = "Hi Pat, sorry to hear that. Please send us a direct message so we can look into it. ^AB"
BLOCKED = "Hi Pat, we have your NHS number 943 476 5919 on file. ^AB"


def test_session_gives_the_user_and_the_csrf_token(client_as):
    client = client_as("lead", name="Lee Lead")
    body = client.get("/api/session").json()
    assert body["user"]["name"] == "Lee Lead" and body["user"]["role"] == "lead"
    assert body["csrf_token"] == client.csrf


def test_queue_lists_a_tab_with_filters_counts_and_a_cursor(client_as, seed):
    client = client_as("agent")
    for n in range(3):
        seed(f"post {n}", platform="facebook", source="facebook:page:1")
    seed("on x")
    first = client.get("/api/queue", params={"platform": "facebook", "limit": 2}).json()
    assert [i["platform"] for i in first["items"]] == ["facebook", "facebook"]
    assert first["counts"]["new"] == 4 and first["next_cursor"]
    rest = client.get(
        "/api/queue", params={"platform": "facebook", "limit": 2, "after": first["next_cursor"]}
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_queue_refuses_unknown_filter_values(client_as):
    assert client_as("agent").get("/api/queue", params={"tab": "everything"}).status_code == 422


def test_claim_race_and_conflict_message(client_as, seed):
    first, second = client_as("agent", name="Winner Person"), client_as("agent")
    item = seed()
    assert first.api("POST", f"/api/items/{item.item_id}/claim").json()["assignee"]["name"] == "Winner Person"
    lost = second.api("POST", f"/api/items/{item.item_id}/claim")
    assert lost.status_code == 409 and lost.json()["detail"] == "Already claimed by Winner Person."
    assert second.api("POST", "/api/items/999999/claim").status_code == 404


def test_draft_send_and_the_checker(client_as, seed):
    client = client_as("agent")
    item = seed()
    draft = client.api("PUT", f"/api/items/{item.item_id}/draft", json={"text": BLOCKED})
    assert draft.status_code == 200 and draft.json()["status"] == "draft"
    assert any(f["severity"] == "block" for f in draft.json()["lint"])
    blocked = client.api("POST", f"/api/items/{item.item_id}/send", json={"text": BLOCKED})
    assert blocked.status_code == 422 and blocked.json()["findings"][0]["rule"] == "personal-data"
    sent = client.api("POST", f"/api/items/{item.item_id}/send", json={"text": GOOD})
    assert sent.status_code == 200 and sent.json()["queued"] and sent.json()["reply"]["status"] == "approved"
    again = client.api("POST", f"/api/items/{item.item_id}/send", json={"text": GOOD})
    assert again.status_code == 409
    detail = client.get(f"/api/items/{item.item_id}").json()
    assert detail["reply_status"] == "approved" and detail["kind"] and detail["guidance"]


def test_lint_endpoint(client_as):
    body = client_as("agent").api("POST", "/api/lint", json={"text": BLOCKED, "platform": "x"}).json()
    assert body["ok"] is False and body["limit"] == 280 and body["used"] == len(BLOCKED)
    text = "Thanks 👋🏽 see https://www.nhs.uk/conditions/flu-vaccine/ ^AB"
    bluesky = client_as("agent").api("POST", "/api/lint", json={"text": text, "platform": "bluesky"}).json()
    assert (bluesky["limit"], bluesky["used"]) == (300, len("Thanks 👋 see www.nhs.uk/conditions/f... ^AB"))


def test_assign_and_release(client_as, seed, make_user):
    lead = client_as("lead")
    other = make_user("agent")
    item = seed()
    assigned = lead.api("POST", f"/api/items/{item.item_id}/assign", json={"user_id": other.id})
    assert assigned.json()["assignee"]["id"] == other.id
    assert lead.api("POST", f"/api/items/{item.item_id}/release").json()["assignee"] is None
    assert lead.api("POST", f"/api/items/{item.item_id}/assign", json={"user_id": 424242}).status_code == 422


def test_writes_need_the_csrf_header(client_as, seed):
    client = client_as("agent")
    item = seed()
    response = client.post(f"/api/items/{item.item_id}/claim")
    assert response.status_code == 403 and "expired" in response.json()["detail"]


def test_the_api_never_answers_with_a_server_error(app, client_as, seed):
    """Hypothesis-generated requests for every operation in the schema: never a 500."""
    client = client_as("lead")
    seed()
    auth = {
        "headers": {"X-CSRF-Token": client.csrf},
        "cookies": {SESSION_COOKIE_NAME: client.cookies[SESSION_COOKIE_NAME]},
    }
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app, **auth)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case):
            case.call_and_validate(checks=[not_a_server_error], **auth)

        no_server_error()
