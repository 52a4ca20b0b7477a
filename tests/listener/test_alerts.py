"""Alerts: stored once, delivered through apprise to a real SMTP server on loopback, retried, masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from pydantic import SecretStr
from sqlalchemy import select

from listener.incidents import alerts
from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.models import Alert
from tests.listener.smtp_server import SmtpServer, text_of

NOW = datetime(2026, 3, 3, 21, 30, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def _settings(**alerts_fields) -> Settings:
    settings = Settings.model_validate({"alerts": alerts_fields})
    settings.secrets.session_secret = SecretStr("s" * 40)
    return settings


def _queue(engine, key="k1", **kw) -> int:
    with write_transaction(engine) as session:
        alert = alerts.queue_alert(
            session,
            kind=kw.pop("kind", "incident"),
            audience=kw.pop("audience", "leads"),
            title=kw.pop("title", "Crisis: GP letters sent to the wrong addresses"),
            body=kw.pop("body", "Criteria met: one subject; legal"),
            dedupe_key=key,
            now=NOW,
            **kw,
        )
        assert alert is not None
        return alert.id


def _alert(engine, alert_id) -> Alert:
    with write_transaction(engine) as session:
        return session.get(Alert, alert_id)


def test_the_same_dedupe_key_stores_one_alert(any_engine):
    engine = any_engine  # SQLite, and PostgreSQL when the CI gives one
    _queue(engine, "incident:1:alert")
    with write_transaction(engine) as session:
        again = alerts.queue_alert(
            session, kind="incident", audience="leads", title="t", body="b", dedupe_key="incident:1:alert"
        )
        assert again is None
        assert len(session.scalars(select(Alert)).all()) == 1


def test_the_alert_email_arrives_at_a_real_smtp_server(engine, smtp):
    settings = _settings(leads=[smtp.url()])
    alert_id = _queue(engine, incident_id=None, level="crisis")
    assert alerts.deliver_due_alerts(engine, settings, now=NOW) == 1

    [message] = smtp.messages
    assert message["Subject"] == "Crisis: GP letters sent to the wrong addresses"
    assert "Criteria met: one subject; legal" in text_of(message)
    alert = _alert(engine, alert_id)
    assert (alert.status, alert.sent_at, alert.attempts, alert.next_attempt_at) == ("sent", NOW, 1, None)
    assert [d["status"] for d in alert.deliveries] == ["sent"]
    # Nothing more to send: a second run is a no-op.
    assert alerts.deliver_due_alerts(engine, settings, now=NOW + timedelta(minutes=5)) == 0
    assert len(smtp.messages) == 1


def test_a_failed_delivery_is_retried_and_delivered_when_the_server_returns(any_engine, smtp):
    engine = any_engine  # SQLite, and PostgreSQL when the CI gives one
    settings = _settings(leads=[smtp.url()], retry_minutes=2)
    smtp.stop()
    alert_id = _queue(engine)

    assert alerts.deliver_due_alerts(engine, settings, now=NOW) == 0
    alert = _alert(engine, alert_id)
    assert alert.status == "failed"
    assert alert.last_error and "127.0.0.1" in alert.last_error
    assert alert.next_attempt_at == NOW + timedelta(minutes=2)

    smtp.start()
    # Not due yet: nothing is sent before the retry time.
    assert alerts.deliver_due_alerts(engine, settings, now=NOW + timedelta(minutes=1)) == 0
    assert smtp.messages == []
    assert alerts.deliver_due_alerts(engine, settings, now=NOW + timedelta(minutes=2)) == 1
    assert len(smtp.messages) == 1
    alert = _alert(engine, alert_id)
    assert alert.status == "sent"
    assert [d["status"] for d in alert.deliveries] == ["failed", "sent"]


def test_a_retry_goes_only_to_the_channels_that_missed_it(engine, smtp):
    down = SmtpServer()  # never started: connection refused
    settings = _settings(leads=[smtp.url(), down.url("deputy@example.nhs.uk")], retry_minutes=1)
    alert_id = _queue(engine)
    alerts.deliver_due_alerts(engine, settings, now=NOW)
    down.start()
    try:
        alerts.deliver_due_alerts(engine, settings, now=NOW + timedelta(minutes=1))
    finally:
        down.stop()
    assert len(smtp.messages) == 1
    assert len(down.messages) == 1
    assert _alert(engine, alert_id).status == "sent"


def test_delivery_gives_up_after_max_attempts_and_can_be_retried_by_hand(engine):
    settings = _settings(leads=[SmtpServer().url()], retry_minutes=1, max_attempts=2)
    alert_id = _queue(engine)
    alerts.deliver_due_alerts(engine, settings, now=NOW)
    alerts.deliver_due_alerts(engine, settings, now=NOW + timedelta(minutes=1))
    alert = _alert(engine, alert_id)
    assert (alert.status, alert.attempts, alert.next_attempt_at) == ("failed", 2, None)
    assert alerts.deliver_due_alerts(engine, settings, now=NOW + timedelta(hours=1)) == 0

    with write_transaction(engine) as session:
        alerts.retry_alert(session, alert=session.get(Alert, alert_id), now=NOW + timedelta(hours=1))
    assert _alert(engine, alert_id).status == "pending"


def test_an_audience_without_channels_fails_visibly(engine):
    alert_id = _queue(engine)
    alerts.deliver_due_alerts(engine, _settings(), now=NOW)
    alert = _alert(engine, alert_id)
    assert alert.status == "failed"
    assert "no alert channels are configured for leads" in alert.last_error


def test_placeholders_are_filled_from_the_environment_at_send_time(engine, smtp, monkeypatch):
    settings = _settings(
        leads=["mailto://127.0.0.1:${LP_TEST_SMTP_PORT}?from=a@example.nhs.uk&to=b@example.nhs.uk"]
    )
    _queue(engine, "first")
    alerts.deliver_due_alerts(engine, settings, now=NOW)
    assert "LP_TEST_SMTP_PORT is not set" in _alert(engine, 1).last_error

    monkeypatch.setenv("LP_TEST_SMTP_PORT", str(smtp.port))
    _queue(engine, "second")
    assert alerts.deliver_due_alerts(engine, settings, now=NOW) == 1
    assert len(smtp.messages) == 1


def test_a_secret_in_the_url_is_never_stored_or_logged(engine, monkeypatch, caplog):
    monkeypatch.setenv("LP_TEST_SMTP_PASSWORD", "hunter2-very-secret")
    port = SmtpServer().port  # nobody listening
    settings = _settings(
        leads=[
            f"mailto://alerts:${{LP_TEST_SMTP_PASSWORD}}@127.0.0.1:{port}?from=alerts@example.nhs.uk&to=b@example.nhs.uk"
        ]
    )
    alert_id = _queue(engine)
    with caplog.at_level(logging.DEBUG):
        alerts.deliver_due_alerts(engine, settings, now=NOW)
    alert = _alert(engine, alert_id)
    stored = repr(alert.deliveries) + (alert.last_error or "")
    assert alert.status == "failed"
    assert "hunter2" not in stored
    assert "hunter2" not in caplog.text
    assert alert.deliveries[0]["to"].startswith("mailto://a...s:****@127.0.0.1")


def test_the_incident_alert_carries_an_acknowledgement_link_made_at_send_time(engine, smtp):
    from listener.store.models import Incident

    with write_transaction(engine) as session:
        incident = Incident(
            episode_key="e1", subject="GP letters", level="crisis", opened_at=NOW, level_changed_at=NOW
        )
        session.add(incident)
        session.flush()
        incident_id = incident.id
    settings = _settings(leads=[smtp.url()])
    alert_id = _queue(engine, incident_id=incident_id)
    with time_machine.travel(NOW, tick=False):
        alerts.deliver_due_alerts(engine, settings, now=NOW)
        body = text_of(smtp.messages[0])
        assert "/incidents/ack/" in body
        token = body.split("/incidents/ack/")[1].split()[0]
        assert alerts.read_ack_token(settings, token) == (incident_id, alert_id)
        # Not stored: the body in the database has no link.
        assert "/incidents/ack/" not in _alert(engine, alert_id).body
    with time_machine.travel(NOW + timedelta(hours=alerts.ACK_LINK_HOURS, minutes=1), tick=False):
        with pytest.raises(alerts.BadAckLink, match="expired"):
            alerts.read_ack_token(settings, token)


def test_a_tampered_or_foreign_token_is_refused():
    settings = _settings()
    token = alerts.ack_token(settings, incident_id=1, alert_id=2)
    with pytest.raises(alerts.BadAckLink, match="not valid"):
        alerts.read_ack_token(settings, token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    other = _settings()
    other.secrets.session_secret = SecretStr("another-secret-of-enough-length-0123456789")
    with pytest.raises(alerts.BadAckLink):
        alerts.read_ack_token(other, token)


def test_quoted_posts_lose_their_personal_data():
    text = "Ring me on 07700 900123 about my letter"
    assert alerts.quote(text, [{"kind": "phone", "start": 11, "end": 23}]) == (
        "Ring me on [phone removed] about my letter"
    )
    assert alerts.quote("word " * 100, limit=20).endswith("…")


def test_html_in_a_quoted_post_reaches_the_email_as_text_not_markup(engine, smtp):
    settings = _settings(leads=[smtp.url()])
    _queue(engine, body='Example post: <img src=x onerror="alert(1)"> <a href="https://evil.example">click</a>')
    assert alerts.deliver_due_alerts(engine, settings, now=NOW) == 1
    [message] = smtp.messages
    for part in message.walk():
        if part.get_content_type() == "text/html":
            html = part.get_content()
            assert "<img" not in html and "<a href" not in html
            assert "&lt;img" in html
    assert '<img src=x onerror="alert(1)">' in text_of(message)
