"""Sessions end when they should; passwords are changed and reset; the second factor."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from listener.accounts import users
from listener.store.db import write_transaction
from listener.store.models import AuditEvent, SignInSession, User
from queue_ui.app import SESSION_COOKIE
from tests.conftest import TEST_PASSWORD
from tests.queue_ui.conftest import UiClient, csrf_of, sign_in

NEW_PASSWORD = "plum orchard lantern seventeen"


def _copy(client: UiClient) -> UiClient:
    copy = UiClient(client.app)
    copy.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    copy.csrf = client.csrf
    return copy


def _rows(engine, user_id: int) -> list[SignInSession]:
    with write_transaction(engine) as session:
        return list(session.scalars(select(SignInSession).where(SignInSession.user_id == user_id)))


def test_a_copied_cookie_stops_working_at_sign_out(app, client_as):
    client = client_as("agent")
    copy = _copy(client)
    client.form("/sign-out")
    assert copy.get("/queue", follow_redirects=False).status_code == 303


def test_the_database_holds_only_a_hash_of_the_cookie_token(app, engine, client_as):
    client = client_as("agent", initials="ZZ")
    rows = _rows(engine, client.user.id)
    assert len(rows) == 1 and len(rows[0].token_hash) == 64
    assert rows[0].user_agent and rows[0].address == "testclient"


def test_re_enabling_a_user_revives_none_of_their_cookies(app, engine, client_as):
    admin, agent = client_as("admin"), client_as("agent")
    copy = _copy(agent)
    admin.form(f"/admin/users/{agent.user.id}", {"active": "false"})
    admin.form(f"/admin/users/{agent.user.id}", {"active": "true"})
    assert agent.get("/queue", follow_redirects=False).status_code == 303
    assert copy.get("/queue", follow_redirects=False).status_code == 303
    assert _rows(engine, agent.user.id) == []


def test_the_cli_disable_ends_sessions_too(app, engine, client_as):
    agent = client_as("agent")
    with write_transaction(engine) as session:
        users.set_active(session, email=agent.user.email, active=False)
        users.set_active(session, email=agent.user.email, active=True)
    assert agent.get("/queue", follow_redirects=False).status_code == 303


def test_a_role_change_ends_the_sessions(app, client_as):
    admin, lead = client_as("admin"), client_as("lead")
    admin.form(f"/admin/users/{lead.user.id}", {"role": "agent"})
    assert lead.get("/queue", follow_redirects=False).status_code == 303


def test_a_session_ends_after_session_hours_whatever_the_cookie_says(app, client_as, clock):
    client = client_as("agent")
    clock.advance(hours=9, minutes=59)
    assert client.get("/queue", follow_redirects=False).status_code == 200
    clock.advance(minutes=2)
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_an_admin_sees_a_users_sessions_and_ends_them(app, engine, make_user, client_as, clock):
    admin = client_as("admin")
    user = make_user("agent")
    first, second = sign_in(app, user), sign_in(app, user)
    clock.advance(minutes=6)
    first.get("/queue")  # last seen moves on
    page = admin.get(f"/admin/users/{user.id}/sessions")
    assert page.status_code == 200 and page.text.count('name="session_id"') == 2
    one = _rows(engine, user.id)[0].id
    admin.form(f"/admin/users/{user.id}/sessions/end", {"session_id": str(one)})
    alive = [c.get("/queue", follow_redirects=False).status_code for c in (first, second)]
    assert sorted(alive) == [200, 303]
    admin.form(f"/admin/users/{user.id}/sessions/end")
    assert [c.get("/queue", follow_redirects=False).status_code for c in (first, second)] == [303, 303]
    with write_transaction(engine) as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "user.sessions_ended"))


def test_changing_your_password_needs_the_current_one_and_signs_out_elsewhere(app, client_as):
    client = client_as("agent")
    elsewhere = _copy(client)
    wrong = client.form(
        "/account/password", {"current": "not it at all", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert wrong.status_code == 400 and "current password is not right" in wrong.text
    done = client.form(
        "/account/password", {"current": TEST_PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.status_code == 303
    client.csrf = csrf_of(client.get("/help").text)
    assert client.get("/queue", follow_redirects=False).status_code == 200, "this browser stays signed in"
    assert elsewhere.get("/queue", follow_redirects=False).status_code == 303
    sign_in(app, client.user, NEW_PASSWORD)


def test_new_passwords_follow_the_ncsc_rules(app, client_as):
    client = client_as("agent")
    for bad, why in [
        ("short one", "at least 12"),
        ("Password2026!", "most common"),
        ("qwertyuiop12", "most common"),
        ("aaaaaaaaaaaaaaaa", "most common"),
    ]:
        page = client.form("/account/password", {"current": TEST_PASSWORD, "new": bad, "confirm": bad})
        assert page.status_code == 400 and why in page.text, bad
    assert users.password_problem("seventeen purple umbrellas") is None


def test_an_admin_reset_gives_a_one_time_password_that_must_be_changed(app, engine, make_user, client_as):
    admin = client_as("admin")
    user = make_user("agent")
    old = sign_in(app, user)
    page = admin.form(f"/admin/users/{user.id}/reset-password")
    assert page.status_code == 200
    temporary = re.search(r"<code>([^<]+)</code>", page.text).group(1)
    assert old.get("/queue", follow_redirects=False).status_code == 303, "the reset ends the old sessions"
    with write_transaction(engine) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.password_reset")).all()
        assert events and temporary not in str([(e.before, e.after) for e in events])
    client = UiClient(app)
    token = csrf_of(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={"email": user.email, "password": temporary, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/account/password"
    assert client.get("/queue", follow_redirects=False).headers["location"] == "/account/password"
    assert client.get("/api/queue").status_code == 403
    client.csrf = csrf_of(client.get("/account/password").text)
    done = client.form(
        "/account/password", {"current": temporary, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.status_code == 303
    assert client.get("/queue", follow_redirects=False).status_code == 200


def test_a_lead_can_turn_on_a_second_factor_and_then_needs_the_code(app, engine, make_user, clock):
    user = make_user("lead")
    client = sign_in(app, user)
    page = client.get("/account/two-factor")
    secret = re.search(r"Key: <code>([A-Z2-7]+)</code>", page.text).group(1)
    bad = client.form("/account/two-factor", {"code": "000000"})
    assert bad.status_code == 400
    on = client.form("/account/two-factor", {"code": pyotp.TOTP(secret).at(clock.now)})
    assert on.status_code == 303
    fresh = UiClient(app)
    token = csrf_of(fresh.get("/sign-in").text)
    step = fresh.post(
        "/sign-in",
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert step.headers["location"] == "/sign-in/code"
    assert fresh.get("/queue", follow_redirects=False).status_code == 303, (
        "the password alone is not a session"
    )
    fresh.csrf = csrf_of(fresh.get("/sign-in/code").text)
    assert fresh.form("/sign-in/code", {"code": "123456"}).status_code == 400
    ok = fresh.form("/sign-in/code", {"code": pyotp.TOTP(secret).at(clock.now)})
    assert ok.status_code == 303 and ok.headers["location"] == "/queue"
    assert fresh.get("/queue", follow_redirects=False).status_code == 200


def test_agents_are_not_offered_a_second_factor(app, client_as):
    client = client_as("agent")
    assert "for leads and admins" in client.get("/account/two-factor").text
    assert client.form("/account/two-factor", {"code": "123456"}).status_code == 303
    with write_transaction(client.app.state.engine) as session:
        assert session.get(User, client.user.id).totp_secret is None


def test_the_lockout_set_on_the_admin_page_is_the_one_sign_in_uses(app, make_user, client_as, clock):
    admin = client_as("admin")
    assert admin.form("/admin/settings", {"key": "ui.max_failed_logins", "value": "2"}).status_code == 303
    assert admin.form("/admin/settings", {"key": "ui.lockout_minutes", "value": "60"}).status_code == 303
    user = make_user("agent")
    client = UiClient(app)
    token = csrf_of(client.get("/sign-in").text)
    for _ in range(2):
        client.post("/sign-in", data={"email": user.email, "password": "wrong" * 3, "csrf_token": token})
    right = {"email": user.email, "password": TEST_PASSWORD, "csrf_token": token}
    assert client.post("/sign-in", data=right).status_code == 400, "locked after 2, not the file's 5"
    clock.advance(minutes=30)
    assert client.post("/sign-in", data=right).status_code == 400, "for 60 minutes, not the file's 15"
    clock.advance(minutes=31)
    assert client.post("/sign-in", data=right, follow_redirects=False).status_code == 303


def test_expired_sessions_are_cleared_at_the_next_sign_in(app, engine, make_user, clock):
    user = make_user("agent")
    sign_in(app, user)
    clock.advance(hours=11)
    sign_in(app, user)
    assert len(_rows(engine, user.id)) == 1
