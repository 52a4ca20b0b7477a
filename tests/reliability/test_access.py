"""Access: every route the app serves, against every role and anonymous, from the app's own route table.

The table ``LEAST_ROLE`` says who may use each route. The routes themselves are read from the
app, so a route added anywhere (queue, admin, incidents, reports ...) fails
``test_the_access_table_names_every_route_the_app_serves`` until someone decides who may use it.

Session cookie flags and the per-account lockout are in tests/queue_ui/test_access.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from pydantic import SecretStr
from sqlalchemy import Engine, event, select

from listener.incidents import alerts
from listener.settings import Settings, UiSettings
from listener.store.db import write_transaction
from listener.store.models import ROLES, AuditEvent, Reply, User
from queue_ui.app import SESSION_COOKIE, create_app
from tests.conftest import TEST_PASSWORD
from tests.queue_ui.conftest import SECRET, UiClient, csrf_of, sign_in

OPEN = None  # anyone, signed in or not
SIGNED = "signed"  # no sign-in, no CSRF token: the caller proves itself (Meta's webhook signature)
# Who may use each route: the least role (roles rank agent < lead < manager < admin), or OPEN.
LEAST_ROLE: dict[tuple[str, str], str | None] = {
    # signing in and out, probes, the schema of the API, static files
    ("GET", "/"): OPEN,
    ("GET", "/sign-in"): OPEN,
    ("POST", "/sign-in"): OPEN,
    ("POST", "/sign-out"): OPEN,
    ("GET", "/sign-in/code"): OPEN,  # the second step: it checks the session's pending sign-in
    ("POST", "/sign-in/code"): OPEN,
    # your own account
    ("GET", "/account/password"): "agent",
    ("POST", "/account/password"): "agent",
    ("GET", "/account/two-factor"): "agent",
    ("POST", "/account/two-factor"): "agent",
    ("GET", "/healthz"): OPEN,
    ("GET", "/metrics"): OPEN,
    ("GET", "/static"): OPEN,
    # Meta's Instagram webhook: the verify token (GET) or the body's signature (POST), never a session
    ("GET", "/webhooks/instagram"): SIGNED,
    ("POST", "/webhooks/instagram"): SIGNED,
    # the emailed acknowledgement link carries its own signed token
    ("GET", "/incidents/ack/{token}"): OPEN,
    ("POST", "/incidents/ack/{token}"): OPEN,
    # the queue
    ("GET", "/queue"): "agent",
    ("GET", "/queue/results"): "agent",
    ("GET", "/help"): "agent",
    ("GET", "/items/{item_id}"): "agent",
    ("GET", "/items/{item_id}/replies"): "agent",
    ("POST", "/items/{item_id}/claim"): "agent",
    ("POST", "/items/{item_id}/release"): "agent",
    ("POST", "/items/{item_id}/assign"): "agent",
    ("POST", "/items/{item_id}/presence"): "agent",
    ("POST", "/items/{item_id}/lint"): "agent",
    ("POST", "/items/{item_id}/reply"): "agent",
    ("POST", "/items/{item_id}/no-reply"): "agent",
    ("POST", "/items/{item_id}/escalate"): "agent",
    ("POST", "/items/{item_id}/hide"): "agent",
    ("POST", "/items/{item_id}/sentiment"): "agent",
    ("POST", "/items/{item_id}/replies/{reply_id}/approve"): "lead",
    ("POST", "/items/{item_id}/replies/{reply_id}/not-posted"): "agent",
    ("POST", "/items/{item_id}/replies/{reply_id}/posted"): "agent",
    ("POST", "/items/{item_id}/replies/{reply_id}/return"): "lead",
    ("POST", "/items/{item_id}/notes"): "agent",
    ("POST", "/items/{item_id}/tags"): "agent",
    ("POST", "/items/{item_id}/tags/remove"): "agent",
    ("POST", "/queue/bulk"): "agent",
    # the JSON API: the same operations as the queue pages
    ("GET", "/api/session"): "agent",
    ("GET", "/api/openapi.json"): "agent",
    ("GET", "/api/queue"): "agent",
    ("GET", "/api/items/{item_id}"): "agent",
    ("POST", "/api/items/{item_id}/claim"): "agent",
    ("POST", "/api/items/{item_id}/release"): "agent",
    ("POST", "/api/items/{item_id}/assign"): "agent",
    ("PUT", "/api/items/{item_id}/draft"): "agent",
    ("POST", "/api/items/{item_id}/send"): "agent",
    ("POST", "/api/lint"): "agent",
    # incidents: everyone on the team sees them; comms leads act on them (policy 7.2)
    ("GET", "/incidents"): "agent",
    ("GET", "/incidents/{incident_id:int}"): "agent",
    ("POST", "/incidents/{incident_id:int}/acknowledge"): "lead",
    ("POST", "/incidents/{incident_id:int}/alerts/{alert_id:int}/retry"): "lead",
    ("POST", "/incidents/{incident_id:int}/listening"): "lead",
    ("POST", "/incidents/{incident_id:int}/replies/{reply_id}/not-posted"): "lead",
    ("POST", "/incidents/{incident_id:int}/replies/{reply_id}/posted"): "lead",
    ("POST", "/incidents/{incident_id:int}/response"): "lead",
    ("POST", "/incidents/{incident_id:int}/response/sign-off"): "lead",
    ("POST", "/incidents/{incident_id:int}/response/post"): "lead",
    ("POST", "/incidents/{incident_id:int}/resolve"): "lead",
    ("POST", "/incidents/{incident_id:int}/reopen"): "lead",
    ("POST", "/incidents/{incident_id:int}/rename"): "lead",
    # response times, volumes and the FOI export are for managers
    ("GET", "/reports"): "manager",
    ("GET", "/reports/items"): "manager",
    ("GET", "/reports/mentions"): "manager",
    ("GET", "/reports/response.csv"): "manager",
    ("GET", "/reports/volume.csv"): "manager",
    ("GET", "/reports/incidents.csv"): "manager",
    ("GET", "/reports/items.csv"): "manager",
    ("GET", "/reports/mentions.csv"): "manager",
    ("GET", "/reports/foi"): "manager",
    ("POST", "/reports/foi"): "manager",
    ("POST", "/reports/sentiment-labels"): "manager",
    ("GET", "/audit"): "manager",
    # accounts, sources, templates and thresholds are for admins
    ("GET", "/admin"): "admin",
    ("GET", "/admin/users"): "admin",
    ("POST", "/admin/users"): "admin",
    ("POST", "/admin/users/{user_id}"): "admin",
    ("GET", "/admin/users/{user_id}/sessions"): "admin",
    ("POST", "/admin/users/{user_id}/sessions/end"): "admin",
    ("POST", "/admin/users/{user_id}/reset-password"): "admin",
    ("GET", "/admin/sources"): "admin",
    ("POST", "/admin/sources/fixed"): "admin",
    ("GET", "/admin/templates"): "admin",
    ("GET", "/admin/templates/{key}"): "admin",
    ("POST", "/admin/templates/{key}"): "admin",
    ("POST", "/admin/templates/{key}/reset"): "admin",
    ("GET", "/admin/settings"): "admin",
    ("POST", "/admin/settings"): "admin",
    ("POST", "/admin/settings/reset"): "admin",
}
WHO = ["anonymous", *ROLES]
# One form (or JSON body) that carries a plausible value for every field any route reads.
FIELDS = {
    "text": "Thanks for letting us know, we are looking into it. ^AB",
    "reason": "Answered by phone",
    "platform": "x",
    "key": "sla.urgent_minutes",
    "value": "45",
    "assignee_id": "1",
    "user_id": 1,
    "email": "someone@example.nhs.uk",
    "password": "a wrong password entirely",
    "name": "Some One",
    "initials": "SO",
    "role": "agent",
    "stakeholder": "Head of Communications",
    "source": "x:mentions:@NHSCovWarks",
    "date_from": "2026-03-01",
    "date_to": "2026-03-04",
    "label": "neutral",
}
# Writes that end or replace the session run last, so the client keeps its identity until then.
LAST = [("POST", "/sign-in"), ("POST", "/sign-out")]
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) for every route the app serves; a mount (static files) counts as a GET.

    Since FastAPI 0.137 ``app.routes`` holds each included router as one node: a loop over it sees
    none of their routes. ``iter_route_contexts`` walks into them.
    """
    found = set()
    for route in iter_route_contexts(app.routes):
        methods = getattr(route, "methods", None)
        if methods is None:  # a Mount
            found.add(("GET", route.path))
            continue
        found.update((method, route.path) for method in methods if method != "HEAD")
    assert len(found) > 20, f"only {len(found)} routes seen: is the route table read?"
    return found


@dataclass
class World:
    app: FastAPI
    engine: Engine
    ids: dict[str, Any]
    clients: dict[str, UiClient]


@pytest.fixture
def settings() -> Settings:
    settings = Settings()
    settings.secrets.session_secret = SecretStr(SECRET)  # the acknowledgement links are signed with it
    return settings


@pytest.fixture
def world(engine: Engine, settings: Settings, clock, seed, make_user, open_incident) -> World:
    app = create_app(settings, engine, clock=clock, session_secret=SECRET)
    clients = {"anonymous": UiClient(app)}
    clients["anonymous"].csrf = csrf_of(clients["anonymous"].get("/sign-in").text)
    for role in ROLES:
        clients[role] = sign_in(app, make_user(role))
    agent = clients["agent"].user
    assert agent is not None
    item = seed(assignee=agent, status="claimed")
    incident_id = open_incident()
    other = make_user("agent")
    with write_transaction(engine) as session:
        reply = Reply(
            queue_item_id=item.item_id,
            platform="x",
            source_key="x:mentions:@NHSCovWarks",
            in_reply_to="1",
            text="Thanks for getting in touch. ^AB",
            status="pending_approval",
            author_id=agent.id,
            idempotency_key="access-matrix",
        )
        session.add(reply)
        alert = alerts.queue_alert(
            session,
            kind="incident",
            audience="leads",
            title="Crisis",
            body="Criteria met",
            dedupe_key="access-matrix",
            incident_id=incident_id,
            level="crisis",
        )
        session.flush()
        assert alert is not None
        ids = {
            "item_id": item.item_id,
            "reply_id": reply.id,
            "user_id": other.id,
            "key": "thanks-comment",
            "incident_id:int": incident_id,
            "alert_id:int": alert.id,
            "token": alerts.ack_token(settings, incident_id=incident_id, alert_id=alert.id),
        }
    return World(app, engine, ids, clients)


def concrete(path: str, ids: dict[str, Any]) -> str:
    if path == "/static":
        return "/static/css/app.css"
    return re.sub(r"\{([^}]+)\}", lambda m: str(ids[m.group(1)]), path)


def call(client: UiClient, method: str, path: str, *, csrf: bool = True) -> Any:
    headers = {"X-CSRF-Token": client.csrf} if csrf else {}
    if path.startswith("/api/"):
        body = FIELDS if method != "GET" else None
        return client.request(method, path, json=body, headers=headers, follow_redirects=False)
    if method == "GET":
        return client.get(path, follow_redirects=False)
    data = {**FIELDS, "csrf_token": client.csrf} if csrf else dict(FIELDS)
    if path == "/sign-in":  # not the account POST /admin/users may have made from the same fields
        data["email"] = "nobody@example.org"
    return client.request(method, path, data=data, follow_redirects=False)


def ordered(routes: dict[tuple[str, str], str | None]) -> list[tuple[str, str]]:
    """Reads first, then writes, then the session-changing ones."""
    keys = sorted(routes, key=lambda r: (r in LAST, r[0] != "GET", r[1]))
    return [k for k in keys if k not in LAST] + LAST


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the test runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_the_access_table_names_every_route_the_app_serves(world: World) -> None:
    served = served_routes(world.app)
    assert len(served) > 60, "the route table could not be read"
    missing = served - set(LEAST_ROLE)
    stale = set(LEAST_ROLE) - served
    assert not missing, f"decide who may use these routes and add them to LEAST_ROLE: {sorted(missing)}"
    assert not stale, f"LEAST_ROLE lists routes the app no longer serves: {sorted(stale)}"


@pytest.mark.parametrize("who", WHO)
def test_every_route_lets_in_exactly_the_roles_it_should(
    world: World, who: str, statements: list[str]
) -> None:
    client = world.clients[who]
    rank = -1 if who == "anonymous" else ROLES.index(who)
    with write_transaction(world.engine) as session:
        audit_before = [
            (e.id, e.actor, e.action, e.object_id, e.before, e.after)
            for e in session.scalars(select(AuditEvent))
        ]
    for method, path in ordered(LEAST_ROLE):
        least = LEAST_ROLE[(method, path)]
        url = concrete(path, world.ids)
        response = call(client, method, url)  # a server error raises here (TestClient)
        where = f"{who}: {method} {url} -> {response.status_code}"
        for header in SECURITY_HEADERS:
            assert header in response.headers, f"{where}: no {header}"
        if least is OPEN:
            assert response.status_code not in (401, 403), where
        elif least == SIGNED:  # signing in opens nothing: without the token or signature it is refused
            assert response.status_code in (401, 403), where
        elif rank >= ROLES.index(least):
            assert response.status_code not in (401, 403), where
            assert not response.headers.get("location", "").startswith("/sign-in"), where
        elif who == "anonymous" and url.startswith("/api/"):
            assert response.status_code == 401, where
        elif who == "anonymous":
            assert response.status_code == 303, where
            assert response.headers["location"].startswith("/sign-in?next="), where
        else:
            assert response.status_code == 403, where
    # Nothing any route did changed or removed an audit event: the log only grows.
    writes = [s for s in statements if re.match(r"\s*(UPDATE|DELETE)\b[^;]*\baudit_events\b", s, re.I | re.S)]
    assert not writes, writes
    with write_transaction(world.engine) as session:
        audit_after = [
            (e.id, e.actor, e.action, e.object_id, e.before, e.after)
            for e in session.scalars(select(AuditEvent))
        ]
    assert audit_after[: len(audit_before)] == audit_before


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_every_write_without_the_csrf_token_is_refused(world: World, who: str) -> None:
    client = world.clients[who]
    writes = [r for r in LEAST_ROLE if r[0] != "GET"]
    for method, path in writes:
        url = concrete(path, world.ids)
        response = call(client, method, url, csrf=False)
        where = f"{who}: {method} {url} without a token -> {response.status_code}"
        if LEAST_ROLE[(method, path)] == SIGNED:  # no CSRF token to check: the unsigned body is refused
            assert response.status_code == 401, where
        elif who == "admin" or LEAST_ROLE[(method, path)] is OPEN:
            assert response.status_code == 403, where
            assert "expired" in response.text or "did not come from Listening Post" in response.text, where
        else:  # anonymous on a signed-in route: not signed in comes first, and is refused too
            assert response.status_code in (303, 401), where


def test_a_token_from_another_session_is_refused_everywhere(world: World) -> None:
    admin, other = world.clients["admin"], world.clients["lead"]
    for method, path in [r for r in LEAST_ROLE if r[0] != "GET" and r not in LAST]:
        url = concrete(path, world.ids)
        headers = {"X-CSRF-Token": other.csrf}
        if url.startswith("/api/"):
            response = admin.request(method, url, json=FIELDS, headers=headers, follow_redirects=False)
        else:
            data = {**FIELDS, "csrf_token": other.csrf}
            response = admin.request(method, url, data=data, follow_redirects=False)
        refused = 401 if LEAST_ROLE[(method, path)] == SIGNED else 403  # the signature, not a token, decides
        assert response.status_code == refused, f"{method} {url} took another session's token"


def test_no_route_lets_anyone_change_or_delete_the_audit_log(world: World) -> None:
    """Beyond the sweep above: no route even names the audit log with a write method."""
    writers = {(m, p) for m, p in served_routes(world.app) if "audit" in p and m not in ("GET", "HEAD")}
    assert not writers


@pytest.mark.parametrize("https", [False, True])
def test_the_session_cookie_after_sign_in(
    engine: Engine, make_user: Callable[..., User], clock, https: bool
) -> None:
    app = create_app(Settings(ui=UiSettings(https=https)), engine, clock=clock, session_secret=SECRET)
    user = make_user("agent")
    client = UiClient(app, base_url="https://testserver" if https else "http://testserver")
    token = csrf_of(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert ("; secure" in cookie) is https


def test_sign_in_from_one_address_is_throttled_at_the_default_limit(world: World, make_user) -> None:
    """Many accounts tried from one address (credential stuffing): after 20 failures, even the right
    password waits."""
    user = make_user("agent")
    client = UiClient(world.app)
    token = csrf_of(client.get("/sign-in").text)
    for n in range(20):
        failed = client.post(
            "/sign-in", data={"email": f"guess{n}@example.org", "password": "guess" * 3, "csrf_token": token}
        )
        assert failed.status_code == 400
    blocked = client.post(
        "/sign-in",
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert blocked.status_code == 429 and "Too many sign-in attempts" in blocked.text


def test_the_content_security_policy_allows_no_inline_script(world: World) -> None:
    policy = world.clients["admin"].get("/queue").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "nonce-" not in policy


NEW_PASSWORD = "a different long passphrase entirely"


def _copy_of(client: UiClient) -> UiClient:
    """Another browser holding the same cookie (a copied or stolen session)."""
    copy = UiClient(client.app)
    copy.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    copy.csrf, copy.user = client.csrf, client.user
    return copy


def _end_by(world: World, who: str, event: str) -> None:
    client = world.clients[who]
    admin = world.clients["admin"]
    assert client.user is not None
    if event == "sign-out":
        assert client.form("/sign-out").status_code == 303
    elif event == "disable-and-enable":
        for active in ("false", "true"):
            response = admin.form(f"/admin/users/{client.user.id}", {"active": active})
            assert response.status_code == 303, response.text
    elif event == "password-change":
        response = client.form(
            "/account/password", {"current": TEST_PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        )
        assert response.status_code == 303, response.text
    elif event == "role-change":
        response = admin.form(
            f"/admin/users/{client.user.id}", {"role": "agent" if who != "agent" else "lead"}
        )
        assert response.status_code == 303, response.text


@pytest.mark.parametrize("event", ["sign-out", "disable-and-enable", "password-change", "role-change"])
@pytest.mark.parametrize("who", ["agent", "lead", "manager"])
def test_every_old_cookie_is_refused_everywhere_after_the_session_ends(
    world: World, who: str, event: str
) -> None:
    """The whole route table, with the cookie from before sign-out, disable + enable, a password change
    or a role change: every signed-in route treats it as nobody's."""
    old = _copy_of(world.clients[who])
    assert old.get("/queue", follow_redirects=False).status_code == 200, "the copy works before"
    _end_by(world, who, event)
    for method, path in ordered(LEAST_ROLE):
        least = LEAST_ROLE[(method, path)]
        if least is OPEN or least == SIGNED:
            continue
        url = concrete(path, world.ids)
        response = call(old, method, url)
        where = f"old cookie of {who} after {event}: {method} {url} -> {response.status_code}"
        if url.startswith("/api/"):
            assert response.status_code in (401, 403), where
        else:
            assert response.status_code in (303, 403), where
            if response.status_code == 303:
                assert response.headers["location"].startswith("/sign-in"), where
            else:  # a write: its CSRF token died with the session, and it is refused before anything runs
                assert "expired" in response.text, where


@pytest.mark.parametrize("event", ["sign-out", "disable-and-enable", "password-change"])
def test_the_matrix_holds_for_a_fresh_sign_in_after_the_session_ended(world: World, event: str) -> None:
    """After the event the person signs in again and gets exactly their role's routes, no more."""
    who = "lead"
    _end_by(world, who, event)
    user = world.clients[who].user
    assert user is not None
    password = NEW_PASSWORD if event == "password-change" else TEST_PASSWORD
    fresh = sign_in(world.app, user, password)
    for method, path in ordered(LEAST_ROLE):
        least = LEAST_ROLE[(method, path)]
        if (method, path) in LAST or least is OPEN or least == SIGNED:
            continue
        url = concrete(path, world.ids)
        response = call(fresh, method, url)
        where = f"lead after {event}: {method} {url} -> {response.status_code}"
        if ROLES.index(who) >= ROLES.index(least):
            assert response.status_code not in (401, 403), where
        else:
            assert response.status_code == 403, where
