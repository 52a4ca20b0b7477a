"""Sign-in throttles that can't be dodged or turned against staff."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from listener.accounts import users
from listener.settings import Settings, UiSettings
from listener.store.db import write_transaction
from listener.store.models import SignInCounter
from queue_ui.app import create_app
from tests.conftest import TEST_PASSWORD
from tests.queue_ui.conftest import SECRET, UiClient, csrf_of

WRONG = "not the password at all"


def _client(app, address: str = "198.51.100.7", **kwargs) -> UiClient:
    client = UiClient(app, client=(address, 50000), **kwargs)
    client.csrf = csrf_of(client.get("/sign-in").text)
    return client


def _try(client: UiClient, email: str, password: str, **kwargs):
    return client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": client.csrf},
        follow_redirects=False,
        **kwargs,
    )


def _app(engine, clock, **ui):
    return create_app(Settings(ui=UiSettings(**ui)), engine, clock=clock, session_secret=SECRET)


def test_someone_elsewhere_cannot_lock_a_colleague_out(engine, clock, make_user):
    app = _app(engine, clock)
    user = make_user("agent")
    attacker = _client(app, "203.0.113.9")
    for _ in range(10):
        assert _try(attacker, user.email, WRONG).status_code == 400
    assert _try(attacker, user.email, TEST_PASSWORD).status_code == 400, "locked for the attacker's address"
    assert _try(_client(app, "198.51.100.7"), user.email, TEST_PASSWORD).status_code == 303


def test_each_further_lockout_lasts_twice_as_long(engine, clock, make_user):
    app = _app(engine, clock, max_failed_logins=3, lockout_minutes=10)
    user = make_user("agent")
    client = _client(app)
    for expected_minutes in (10, 20, 40):
        for _ in range(3):
            _try(client, user.email, WRONG)
        clock.advance(minutes=expected_minutes - 1)
        assert _try(client, user.email, TEST_PASSWORD).status_code == 400, expected_minutes
        clock.advance(minutes=1, seconds=1)
    assert _try(client, user.email, TEST_PASSWORD).status_code == 303


def test_forwarded_addresses_count_only_from_a_configured_proxy(engine, clock):
    direct = _app(engine, clock, max_sign_ins_per_address=2)
    client = _client(direct, "198.51.100.7")
    for n in range(2):  # a new X-Forwarded-For each time: without a configured proxy it changes nothing
        _try(client, f"n{n}@example.org", WRONG, headers={"X-Forwarded-For": f"192.0.2.{n}"})
    blocked = _try(client, "x@example.org", WRONG, headers={"X-Forwarded-For": "192.0.2.99"})
    assert blocked.status_code == 429


def test_behind_a_configured_proxy_the_forwarded_address_is_the_client(engine, clock):
    app = _app(engine, clock, max_sign_ins_per_address=2, trusted_proxies=["10.0.0.0/8"])
    proxy = _client(app, "10.1.2.3")
    for _ in range(2):
        _try(proxy, "a@example.org", WRONG, headers={"X-Forwarded-For": "6.6.6.6, 192.0.2.10"})
    # The same client, even claiming another address further left, is blocked ...
    blocked = _try(proxy, "a@example.org", WRONG, headers={"X-Forwarded-For": "7.7.7.7, 192.0.2.10"})
    assert blocked.status_code == 429
    # ... and another client behind the same proxy is not.
    assert _try(proxy, "a@example.org", WRONG, headers={"X-Forwarded-For": "192.0.2.11"}).status_code == 400
    with write_transaction(engine) as session:
        keys = set(session.scalars(select(SignInCounter.key)))
    assert "address:192.0.2.10" in keys and not any("6.6.6.6" in k or "10.1.2.3" in k for k in keys)


def test_a_bad_proxy_setting_is_refused():
    with pytest.raises(ValueError, match="not an IP address"):
        UiSettings(trusted_proxies=["proxy.example"])


def test_the_counts_are_shared_by_every_ui_process(engine, clock):
    """Two apps on one database (two uvicorn processes): failures at either count at both."""
    first, second = (
        _app(engine, clock, max_sign_ins_per_address=4),
        _app(engine, clock, max_sign_ins_per_address=4),
    )
    a, b = _client(first), _client(second)
    for n in range(2):
        _try(a, f"a{n}@example.org", WRONG)
        _try(b, f"b{n}@example.org", WRONG)
    assert _try(a, "c@example.org", WRONG).status_code == 429
    assert _try(b, "c@example.org", WRONG).status_code == 429


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verifications = 0

    def verify(self, hash, password):  # type: ignore[override]
        self.verifications += 1
        return super().verify(hash, password)


@pytest.mark.parametrize("case", ["unknown", "disabled", "locked", "wrong password", "address blocked"])
def test_every_failed_sign_in_costs_one_password_hash(engine, clock, make_user, monkeypatch, case):
    """What takes the time is the hash: every way of failing runs exactly one, like a wrong password."""
    app = _app(engine, clock, max_failed_logins=2, max_sign_ins_per_address=3)
    user = make_user("agent")
    client = _client(app)
    if case == "disabled":
        with write_transaction(engine) as session:
            users.set_active(session, email=user.email, active=False)
    if case == "locked":
        for _ in range(2):
            _try(client, user.email, WRONG)
    if case == "address blocked":
        for n in range(3):
            _try(client, f"n{n}@example.org", WRONG)
    hasher = CountingHasher()
    monkeypatch.setattr(users, "_hasher", hasher)
    monkeypatch.setattr(users, "_DUMMY_HASH", hasher.hash("not-a-real-password-only-for-timing"))
    email = "nobody@example.org" if case == "unknown" else user.email
    password = WRONG if case in ("unknown", "wrong password") else TEST_PASSWORD
    response = _try(client, email, password)
    assert response.status_code in (400, 429)
    assert hasher.verifications == 1, case


def test_the_counters_work_on_both_databases(any_engine):
    from datetime import UTC, datetime, timedelta

    from listener.accounts import sign_in_throttle as throttle

    now = datetime(2026, 3, 4, 10, tzinfo=UTC)
    limits = throttle.Limits(
        per_address=3, window=timedelta(minutes=5), per_account=2, lockout=timedelta(minutes=15)
    )
    locks = []
    for _ in range(4):
        with write_transaction(any_engine) as session:
            locks.append(
                throttle.record_failure(session, email="A@x.org", address="192.0.2.1", now=now, limits=limits)
            )
    with write_transaction(any_engine) as session:
        assert throttle.account_locked(session, email="a@x.org", address="192.0.2.1", now=now)
        assert not throttle.account_locked(session, email="a@x.org", address="192.0.2.2", now=now)
        assert throttle.address_retry_after(session, address="192.0.2.1", now=now, limits=limits) == 301
    assert locks == [None, timedelta(minutes=15), None, None]


def test_counters_nobody_has_used_for_a_day_are_forgotten(engine):
    from datetime import UTC, datetime, timedelta

    from listener.accounts import sign_in_throttle as throttle

    now = datetime(2026, 3, 4, 10, tzinfo=UTC)
    limits = throttle.Limits(
        per_address=3, window=timedelta(minutes=5), per_account=2, lockout=timedelta(minutes=15)
    )
    with write_transaction(engine) as session:
        throttle.record_failure(session, email="a@x.org", address="192.0.2.1", now=now, limits=limits)
    with write_transaction(engine) as session:
        throttle.record_failure(
            session, email="b@x.org", address="192.0.2.2", now=now + timedelta(days=2), limits=limits
        )
        keys = set(session.scalars(select(SignInCounter.key)))
    assert keys == {"address:192.0.2.2", "account:b@x.org|192.0.2.2"}
