"""Who can reach what: every route against every role and anonymous; CSRF, cookies, headers, sign-in."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select

from listener.errors import UserError
from listener.settings import Settings, UiSettings
from listener.store.db import write_transaction
from listener.store.models import ROLES, AuditEvent, User
from queue_ui.app import create_app
from tests.conftest import TEST_PASSWORD
from tests.queue_ui.conftest import SECRET, UiClient, csrf_of, sign_in

# (method, path, least role) for the routes this app's queue, admin, audit, API and ops modules serve,
# and the incident routes added since. None = open to anyone (sign-in, probes).
# {item}/{reply}/{user}/{incident} are filled in by the test.
ROUTES: list[tuple[str, str, str | None]] = [
    ("GET", "/sign-in", None),
    ("GET", "/sign-in/code", None),
    ("POST", "/sign-in/code", None),
    ("GET", "/healthz", None),
    ("GET", "/metrics", None),
    ("GET", "/queue", "agent"),
    ("GET", "/queue/results", "agent"),
    ("GET", "/help", "agent"),
    ("GET", "/account/password", "agent"),
    ("POST", "/account/password", "agent"),
    ("GET", "/account/two-factor", "agent"),
    ("POST", "/account/two-factor", "agent"),
    ("GET", "/items/{item}", "agent"),
    ("GET", "/items/{item}/replies", "agent"),
    ("POST", "/items/{item}/presence", "agent"),
    ("POST", "/items/{item}/lint", "agent"),
    ("POST", "/items/{item}/claim", "agent"),
    ("POST", "/items/{item}/release", "agent"),
    ("POST", "/items/{item}/assign", "agent"),
    ("POST", "/items/{item}/reply", "agent"),
    ("POST", "/items/{item}/no-reply", "agent"),
    ("POST", "/items/{item}/escalate", "agent"),
    ("POST", "/items/{item}/hide", "agent"),
    ("POST", "/items/{item}/sentiment", "agent"),
    ("POST", "/items/{item}/replies/{reply}/approve", "lead"),
    ("POST", "/items/{item}/replies/{reply}/not-posted", "agent"),
    ("POST", "/items/{item}/replies/{reply}/posted", "agent"),
    ("POST", "/items/{item}/replies/{reply}/return", "lead"),
    ("GET", "/audit", "manager"),
    ("GET", "/admin", "admin"),
    ("GET", "/admin/users", "admin"),
    ("POST", "/admin/users", "admin"),
    ("POST", "/admin/users/{user}", "admin"),
    ("GET", "/admin/users/{user}/sessions", "admin"),
    ("POST", "/admin/users/{user}/sessions/end", "admin"),
    ("POST", "/admin/users/{user}/reset-password", "admin"),
    ("GET", "/admin/sources", "admin"),
    ("POST", "/admin/sources/fixed", "admin"),
    ("GET", "/admin/templates", "admin"),
    ("GET", "/admin/templates/{template}", "admin"),
    ("POST", "/admin/templates/{template}", "admin"),
    ("POST", "/admin/templates/{template}/reset", "admin"),
    ("GET", "/admin/settings", "admin"),
    ("POST", "/admin/settings", "admin"),
    ("POST", "/admin/settings/reset", "admin"),
    ("GET", "/api/session", "agent"),
    ("GET", "/api/openapi.json", "agent"),
    ("GET", "/api/queue", "agent"),
    ("GET", "/api/items/{item}", "agent"),
    ("POST", "/api/items/{item}/claim", "agent"),
    ("POST", "/api/items/{item}/release", "agent"),
    ("POST", "/api/items/{item}/assign", "agent"),
    ("PUT", "/api/items/{item}/draft", "agent"),
    ("POST", "/api/items/{item}/send", "agent"),
    ("POST", "/api/lint", "agent"),
    ("POST", "/items/{item}/notes", "agent"),
    ("POST", "/items/{item}/tags", "agent"),
    ("POST", "/items/{item}/tags/remove", "agent"),
    ("POST", "/queue/bulk", "agent"),
    ("POST", "/incidents/{incident}/resolve", "lead"),
    ("POST", "/incidents/{incident}/reopen", "lead"),
    ("POST", "/incidents/{incident}/rename", "lead"),
]
# Routes of other modules that are deliberately open: the emailed acknowledgement link carries its own token.
# Meta's webhook is authenticated by its signature instead (tests/queue_ui/test_webhooks.py).
OPEN_ELSEWHERE = {"/", "/sign-out", "/incidents/ack/{token}", "/webhooks/instagram"}
SIGNED_BY_CALLER = {"/webhooks/instagram"}  # no session, so no CSRF token: refused unsigned (401)
WHO = ["anonymous", *ROLES]


@pytest.fixture
def world(engine, seed, make_user, client_as, open_incident):
    """One item with a reply waiting for approval, and a client per role (plus anonymous)."""
    clients = {role: client_as(role) for role in ROLES}
    agent = clients["agent"].user
    item = seed(assignee=agent, status="claimed")
    with write_transaction(engine) as session:
        from listener.store.models import Reply

        reply = Reply(
            queue_item_id=item.item_id,
            platform="x",
            source_key="x:mentions:@NHSCovWarks",
            in_reply_to="1",
            text="Thanks for getting in touch. ^AB",
            status="pending_approval",
            author_id=agent.id,
            idempotency_key="k-world",
        )
        session.add(reply)
        session.flush()
        reply_id = reply.id
    other = make_user("agent")
    return {
        "clients": clients,
        "ids": {
            "item": item.item_id,
            "reply": reply_id,
            "user": other.id,
            "template": "thanks-comment",
            "incident": open_incident(),
        },
    }


def _call(client: UiClient, method: str, path: str):
    if path.startswith("/api/"):
        body = {"text": "Thanks ^AB", "platform": "x", "user_id": 1} if method != "GET" else None
        return client.api(method, path, json=body, follow_redirects=False)
    if method == "GET":
        return client.get(path, follow_redirects=False)
    return client.form(
        path,
        {"key": "sla.urgent_minutes", "value": "45", "text": "Thanks ^AB", "reason": "r", "assignee_id": "1"},
    )


@pytest.mark.parametrize("who", WHO)
def test_every_route_checks_the_role(app, world, anonymous, who):
    client = anonymous if who == "anonymous" else world["clients"][who]
    rank = -1 if who == "anonymous" else ROLES.index(who)
    for method, template, least in ROUTES:
        path = template.format(**world["ids"])
        response = _call(client, method, path)
        where = f"{who} {method} {path} -> {response.status_code}"
        if least is None or rank >= ROLES.index(least):
            assert response.status_code not in (401, 403), where
            assert "/sign-in" not in response.headers.get("location", "") or path.startswith("/sign-in"), (
                where
            )
        elif who == "anonymous":
            if path.startswith("/api/"):
                assert response.status_code == 401, where
            else:
                assert response.status_code == 303 and response.headers["location"].startswith("/sign-in"), (
                    where
                )
        else:
            assert response.status_code == 403, where


def test_the_matrix_lists_every_route_of_the_queue_ui(app):
    mine = {"auth", "queue", "items", "inbox", "admin", "audit", "api", "ops"}
    served = {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.endpoint.__module__.rsplit(".", 1)[-1] in mine
        for method in route.methods
    }
    placeholders = {
        "{item}": "{item_id}",
        "{reply}": "{reply_id}",
        "{user}": "{user_id}",
        "{template}": "{key}",
        "{incident}": "{incident_id:int}",
    }
    listed = set()
    for method, path, _ in ROUTES:
        for short, full in placeholders.items():
            path = path.replace(short, full)
        listed.add((method, path))
    missing = {(m, p) for m, p in served if p not in OPEN_ELSEWHERE and p != "/sign-in"} - listed
    assert not missing, f"add these routes to the access matrix: {sorted(missing)}"


def test_no_route_anywhere_is_open_to_anonymous_by_accident(app, anonymous):
    """Every page and API route of every module (incidents and reports too) refuses anonymous callers."""
    public = {path for _, path, least in ROUTES if least is None} | OPEN_ELSEWHERE
    tried = 0
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or route.path in public:
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in route.methods - {"HEAD"}:
            tried += 1
            response = _call(anonymous, method, path)
            assert response.status_code in (303, 401), (
                f"anonymous {method} {route.path} -> {response.status_code}"
            )
            if response.status_code == 303:
                assert response.headers["location"].startswith("/sign-in")
    assert tried >= len(ROUTES) // 2, f"the walk saw only {tried} routes: is the route table read?"


def test_every_write_without_the_csrf_token_is_refused(app, world):
    admin = world["clients"]["admin"]
    writes = 0
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        for method in route.methods - {"GET", "HEAD"}:
            writes += 1
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            if path in SIGNED_BY_CALLER:
                assert admin.request(method, path, data={"text": "x"}).status_code == 401
                continue
            if path.startswith("/api/"):
                response = admin.request(method, path, json={"text": "x"}, follow_redirects=False)
            else:
                response = admin.request(method, path, data={"text": "x"}, follow_redirects=False)
            assert response.status_code == 403, f"{method} {route.path} accepted a write without a CSRF token"
    assert writes >= 20, f"the walk saw only {writes} write routes: is the route table read?"


def test_a_token_from_another_session_is_refused(app, world, seed):
    agent = world["clients"]["agent"]
    other = world["clients"]["lead"]
    item = seed()
    response = agent.post(
        f"/items/{item.item_id}/claim", data={"csrf_token": other.csrf}, follow_redirects=False
    )
    assert response.status_code == 403 and "expired" in response.text


def test_session_cookie_is_httponly_and_samesite_lax(app, make_user):
    user = make_user("agent")
    client = UiClient(app)
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


def test_session_cookie_is_secure_behind_https(engine, clock, make_user):
    app = create_app(Settings(ui=UiSettings(https=True)), engine, clock=clock, session_secret=SECRET)
    response = UiClient(app, base_url="https://testserver").get("/sign-in")
    assert "secure" in response.headers["set-cookie"].lower()
    assert response.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize(
    "path", ["/sign-in", "/queue", "/static/css/app.css", "/api/queue", "/healthz", "/nowhere"]
)
def test_security_headers_on_every_response(anonymous, path):
    headers = anonymous.get(path, follow_redirects=False).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp and "style-src 'self'" in csp and "img-src 'self' data:" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "camera=()" in headers["permissions-policy"]


def test_pages_carry_no_inline_script_or_style(client_as, seed):
    client = client_as("admin")
    item = seed()
    for path in [
        "/sign-in",
        "/queue",
        f"/items/{item.item_id}",
        "/help",
        "/audit",
        "/admin/users",
        "/admin/settings",
    ]:
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), f"inline script on {path}"
        assert not re.search(r"\son[a-z]+=", html), f"inline event handler on {path}"
        assert "<style" not in html and ' style="' not in html, f"inline style on {path}"


def test_oversized_bodies_are_refused_with_a_clear_message(client_as, seed):
    client = client_as("agent")
    item = seed()
    page = client.form(f"/items/{item.item_id}/reply", {"text": "x" * 300_000})
    assert page.status_code == 413 and "too large" in page.text
    api = client.api("POST", "/api/lint", json={"text": "x" * 300_000, "platform": "x"})
    assert api.status_code == 413 and "too large" in api.json()["detail"]


def test_an_overlong_field_is_refused_without_echoing_it(client_as, seed):
    client = client_as("agent")
    item = seed()
    response = client.form(f"/items/{item.item_id}/no-reply", {"reason": "secretish " * 250})
    assert response.status_code == 422 and "secretish" not in response.text


def test_sign_in_locks_the_account_after_repeated_failures(app, make_user, clock, engine):
    user = make_user("agent")
    client = UiClient(app)
    token = csrf_of(client.get("/sign-in").text)
    for _ in range(5):
        bad = client.post(
            "/sign-in", data={"email": user.email, "password": "wrong" * 3, "csrf_token": token}
        )
        assert bad.status_code == 400 and "Enter a correct email address and password" in bad.text
    locked = client.post(
        "/sign-in", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 400, "the right password does not open a locked account"
    clock.advance(minutes=16)
    ok = client.post(
        "/sign-in",
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    with write_transaction(engine) as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "user.locked")) is not None


def test_sign_in_is_throttled_per_address(engine, clock):
    settings = Settings(ui=UiSettings(max_sign_ins_per_address=3))
    app = create_app(settings, engine, clock=clock, session_secret=SECRET)
    client = UiClient(app)
    token = csrf_of(client.get("/sign-in").text)
    for n in range(3):
        client.post(
            "/sign-in", data={"email": f"nobody{n}@example.org", "password": "x" * 12, "csrf_token": token}
        )
    blocked = client.post(
        "/sign-in", data={"email": "x@example.org", "password": "x" * 12, "csrf_token": token}
    )
    assert blocked.status_code == 429 and "Too many sign-in attempts" in blocked.text
    clock.advance(minutes=6)
    again = client.post(
        "/sign-in", data={"email": "x@example.org", "password": "x" * 12, "csrf_token": token}
    )
    assert again.status_code == 400


def test_sign_in_only_redirects_within_the_site(app, make_user):
    user = make_user("agent")
    client = UiClient(app)
    token = csrf_of(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={
            "email": user.email,
            "password": TEST_PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/queue"


def test_sign_in_renews_the_session_and_sign_out_ends_it(app, make_user):
    user = make_user("agent")
    client = sign_in(app, user)
    before = client.csrf
    assert client.form("/sign-out").headers["location"] == "/sign-in"
    assert client.get("/queue", follow_redirects=False).status_code == 303
    again = sign_in(app, user)
    assert again.csrf != before


def test_a_disabled_account_loses_its_session(app, engine, client_as):
    client = client_as("agent")
    with write_transaction(engine) as session:
        session.get_one(User, client.user.id).active = False
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_the_ui_refuses_to_start_without_a_strong_secret(engine):
    with pytest.raises(UserError, match="LISTENING_POST_SESSION_SECRET"):
        create_app(Settings(), engine)
    with pytest.raises(UserError, match="at least 32"):
        create_app(Settings(), engine, session_secret="short")


def test_the_audit_log_has_no_write_routes(app):
    audit_routes = [
        route
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and "audit" in route.path
    ]
    assert audit_routes, "no audit routes seen: is the route table read?"
    for route in audit_routes:
        assert route.methods <= {"GET", "HEAD"}, route.path


def test_the_openapi_schema_covers_the_api_only(anonymous, client_as):
    schema = client_as("agent").get("/api/openapi.json").json()
    assert schema["paths"] and all(path.startswith("/api/") for path in schema["paths"])
    assert anonymous.get("/docs").status_code == 404, "Swagger UI needs inline script: it is switched off"


def test_session_lifetime_follows_the_settings(engine, clock):
    app = create_app(Settings(ui=UiSettings(session_hours=2)), engine, clock=clock, session_secret=SECRET)
    cookie = UiClient(app).get("/sign-in").headers["set-cookie"]
    assert f"Max-Age={int(timedelta(hours=2).total_seconds())}" in cookie


NEW_PASSWORD = "a different long passphrase entirely"


@pytest.mark.parametrize("event", ["sign-out", "disable-and-enable", "password-change"])
def test_after_the_session_ends_the_old_cookie_opens_no_route(app, world, event):
    from queue_ui.app import SESSION_COOKIE

    lead = world["clients"]["lead"]
    admin = world["clients"]["admin"]
    old = UiClient(app)
    old.cookies.set(SESSION_COOKIE, lead.cookies[SESSION_COOKIE])
    old.csrf = lead.csrf
    if event == "sign-out":
        lead.form("/sign-out")
    elif event == "disable-and-enable":
        admin.form(f"/admin/users/{lead.user.id}", {"active": "false"})
        admin.form(f"/admin/users/{lead.user.id}", {"active": "true"})
    else:
        changed = lead.form(
            "/account/password", {"current": TEST_PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        )
        assert changed.status_code == 303
    for method, template, least in ROUTES:
        if least is None:
            continue
        path = template.format(**world["ids"])
        response = _call(old, method, path)
        where = f"old cookie after {event}: {method} {path} -> {response.status_code}"
        if path.startswith("/api/"):
            assert response.status_code in (401, 403), where
        elif response.status_code == 403:
            assert "expired" in response.text, where  # a write whose CSRF token died with the session
        else:
            assert response.status_code == 303 and response.headers["location"].startswith("/sign-in"), where
    again = sign_in(app, lead.user, NEW_PASSWORD if event == "password-change" else TEST_PASSWORD)
    assert again.get("/queue", follow_redirects=False).status_code == 200
