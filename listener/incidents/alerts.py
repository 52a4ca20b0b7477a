"""Alerts to people: stored first, then handed to apprise channels (email, Teams, Slack, SMS ...).

An alert is a row before it is a message: ``queue_alert`` stores it (once per
``dedupe_key``), and ``deliver_due_alerts`` — a scheduler job — sends what is due. Sending
happens outside any database transaction (an SMTP server may take seconds), so a due alert
is first claimed by moving its ``next_attempt_at`` on; a worker that dies mid-send leaves
the alert to be sent again after the claim lapses (at least once, never lost).

Each channel's outcome is kept in ``Alert.deliveries``: a retry goes only to the channels
that have not had it. Channel URLs come from ``settings.alerts.<audience>``; ``${NAME}``
placeholders are filled from the environment at send time, so the settings file never
holds a secret, and only masked URLs are stored or logged.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import apprise
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Engine, and_, select, update
from sqlalchemy.orm import Session

from listener.settings import Settings, mask_url
from listener.store.db import upsert_insert, write_transaction
from listener.store.leases import rows_changed
from listener.store.models import Alert, Incident
from listener.store.types import utcnow

log = logging.getLogger(__name__)

AUDIENCES = ("leads", "escalation", "admins")
KINDS = ("incident", "escalation", "source_attention", "sla_warning")
# A claimed alert is left alone this long; a worker that died mid-send frees it after.
CLAIM_SECONDS = 300
SEND_TIMEOUT_SECONDS = 60
ACK_LINK_HOURS = 24
_ACK_SALT = "listening-post.incident-ack"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class DeliveryError(Exception):
    """A channel did not take the message. The text is safe to store: it holds no secret."""


class Channel(Protocol):
    key: str  # stable per configured URL (a hash, never the URL itself)
    label: str  # what people see: the masked URL

    def send(self, *, title: str, body: str) -> None: ...


ChannelFactory = Callable[[str, Sequence[str]], Sequence[Channel]]


def channel_key(url_template: str) -> str:
    return hashlib.sha256(url_template.encode()).hexdigest()[:16]


def fill_placeholders(url_template: str, environ: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """``${NAME}`` -> the environment's value. Returns the URL and the values filled in (to scrub)."""
    env = os.environ if environ is None else environ
    secrets: list[str] = []

    def _sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if not env.get(name):
            raise DeliveryError(f"environment variable {name} is not set")
        secrets.append(env[name])
        return env[name]

    return _PLACEHOLDER.sub(_sub, url_template), secrets


class AppriseChannel:
    """One configured apprise URL. Its secrets are filled in only for the call and scrubbed from errors."""

    def __init__(self, url_template: str, *, environ: Mapping[str, str] | None = None) -> None:
        self.url_template = url_template
        self.key = channel_key(url_template)
        self.label = mask_url(url_template)
        self._environ = environ

    def send(self, *, title: str, body: str) -> None:
        url, secrets = fill_placeholders(self.url_template, self._environ)
        notifier = apprise.Apprise()
        if not notifier.add(url):
            raise DeliveryError(f"not a URL apprise understands: {self.label}")
        # TEXT: the body quotes public posts; declared as text, apprise escapes it for HTML email.
        result = notifier.notify(
            body=body, title=title, body_format=apprise.NotifyFormat.TEXT, timeout=SEND_TIMEOUT_SECONDS
        )
        if result:
            return
        messages = [
            entry.message
            for service in result.results
            for entry in service.logs()
            if entry.level in ("WARNING", "ERROR", "CRITICAL")
        ]
        reason = "; ".join(messages) or f"delivery failed ({result.status.name.lower()})"
        raise DeliveryError(_scrub(reason, secrets))


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "****")
    return text


def apprise_channels(audience: str, urls: Sequence[str]) -> list[Channel]:
    return [AppriseChannel(url) for url in urls]


def audience_urls(settings: Settings, audience: str) -> list[str]:
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    return list(getattr(settings.alerts, audience))


def quote(text: str, personal_data: Sequence[Mapping[str, Any]] = (), limit: int = 200) -> str:
    """A post as an alert shows it: personal data blanked out (alerts leave the building), one line, short."""
    for finding in sorted(personal_data, key=lambda f: f["start"], reverse=True):
        text = f"{text[: finding['start']]}[{finding['kind']} removed]{text[finding['end'] :]}"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def queue_alert(
    session: Session,
    *,
    kind: str,
    audience: str,
    title: str,
    body: str,
    dedupe_key: str,
    incident_id: int | None = None,
    level: str | None = None,
    now: datetime | None = None,
) -> Alert | None:
    """Store an alert to be sent; ``None`` when one with this ``dedupe_key`` exists already.

    Safe against a concurrent worker queueing the same alert: the unique key decides.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    now = now or utcnow()
    values: dict[str, Any] = {
        "dedupe_key": dedupe_key[:200],
        "kind": kind,
        "incident_id": incident_id,
        "level": level,
        "audience": audience,
        "title": title[:500],
        "body": body,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "deliveries": [],
    }
    stmt = (
        upsert_insert(session, Alert).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    alert_id = session.execute(stmt.returning(Alert.id)).scalar()
    if alert_id is None:
        return None
    return session.get(Alert, alert_id)


@dataclass(frozen=True)
class Delivered:
    """What a delivery run did with one alert (the replay prints these)."""

    alert_id: int
    incident_id: int | None
    kind: str
    audience: str
    level: str | None
    at: datetime
    status: str  # sent | failed
    to: tuple[str, ...]  # masked labels of the channels that took it this time


def _due(now: datetime, max_attempts: int) -> Any:
    return and_(
        Alert.status.in_(("pending", "failed")),
        Alert.next_attempt_at.is_not(None),
        Alert.next_attempt_at <= now,
        Alert.attempts < max_attempts,
    )


def deliver_due_alerts(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    notifier_factory: ChannelFactory | None = None,
    on_delivery: Callable[[Delivered], None] | None = None,
) -> int:
    """Send every alert that is due; returns how many were fully delivered this run.

    ``notifier_factory(audience, urls)`` gives the channels (apprise by default);
    ``on_delivery`` hears about each attempt (the replay prints them).
    """
    now = now or utcnow()
    factory = notifier_factory or apprise_channels
    max_attempts = settings.alerts.max_attempts
    with write_transaction(engine) as session:
        due = session.scalars(
            select(Alert).where(_due(now, max_attempts)).order_by(Alert.next_attempt_at, Alert.id)
        ).all()
        claimed = []
        for alert in due:
            # Conditional update: of two workers only one sees the row count of 1.
            taken = session.execute(
                update(Alert)
                .where(Alert.id == alert.id, Alert.next_attempt_at == alert.next_attempt_at)
                .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
            )
            if rows_changed(taken):
                claimed.append(
                    (alert.id, alert.audience, alert.title, alert.body, alert.incident_id, alert.deliveries)
                )
    delivered = 0
    for alert_id, audience, title, body, incident_id, deliveries in claimed:
        done = {d["channel"] for d in deliveries if d.get("status") == "sent"}
        channels = [c for c in factory(audience, audience_urls(settings, audience)) if c.key not in done]
        text = body + _ack_footer(settings, alert_id, incident_id)
        attempts: list[dict[str, Any]] = []
        if not channels and not done:
            attempts.append(
                {
                    "channel": "-",
                    "to": audience,
                    "status": "failed",
                    "at": now.isoformat(),
                    "error": f"no alert channels are configured for {audience} (settings: alerts.{audience})",
                }
            )
        for channel in channels:
            try:
                channel.send(title=title, body=text)
            except DeliveryError as exc:
                log.warning("alert %s to %s failed: %s", alert_id, channel.label, exc)
                attempts.append(_attempt(channel, now, "failed", str(exc)))
            else:
                attempts.append(_attempt(channel, now, "sent", None))
        if _record(engine, settings, alert_id, attempts, now, on_delivery):
            delivered += 1
    return delivered


def _attempt(channel: Channel, now: datetime, status: str, error: str | None) -> dict[str, Any]:
    return {
        "channel": channel.key,
        "to": channel.label,
        "status": status,
        "at": now.isoformat(),
        "error": error,
    }


def _record(
    engine: Engine,
    settings: Settings,
    alert_id: int,
    attempts: list[dict[str, Any]],
    now: datetime,
    on_delivery: Callable[[Delivered], None] | None,
) -> bool:
    failed = [a for a in attempts if a["status"] == "failed"]
    with write_transaction(engine) as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            return False
        alert.deliveries = [*alert.deliveries, *attempts]
        alert.attempts += 1
        if failed:
            alert.status = "failed"
            alert.last_error = "; ".join(f"{a['to']}: {a['error']}" for a in failed)[:2000]
            give_up = alert.attempts >= settings.alerts.max_attempts
            alert.next_attempt_at = (
                None if give_up else now + timedelta(minutes=settings.alerts.retry_minutes)
            )
        else:
            alert.status = "sent"
            alert.last_error = None
            alert.sent_at = now
            alert.next_attempt_at = None
            if alert.incident_id is not None:
                # The incident's time to first alert (its resolution summary reports it).
                session.execute(
                    update(Incident)
                    .where(Incident.id == alert.incident_id, Incident.first_alert_at.is_(None))
                    .values(first_alert_at=now)
                    .execution_options(synchronize_session=False)
                )
        outcome = Delivered(
            alert_id=alert.id,
            incident_id=alert.incident_id,
            kind=alert.kind,
            audience=alert.audience,
            level=alert.level,
            at=now,
            status=alert.status,
            to=tuple(a["to"] for a in attempts if a["status"] == "sent"),
        )
    if on_delivery is not None:
        on_delivery(outcome)
    return not failed


def retry_alert(session: Session, *, alert: Alert, now: datetime | None = None) -> None:
    """Send a failed alert again at the next delivery run, with a fresh round of attempts."""
    if alert.status == "sent":
        raise ValueError("this alert has been delivered")
    alert.status = "pending"
    alert.attempts = 0
    alert.next_attempt_at = now or utcnow()


def next_due_at(session: Session, settings: Settings) -> datetime | None:
    """When the next alert delivery is due (the replay advances its clock to it)."""
    return session.scalar(
        select(Alert.next_attempt_at)
        .where(
            Alert.status.in_(("pending", "failed")),
            Alert.next_attempt_at.is_not(None),
            Alert.attempts < settings.alerts.max_attempts,
        )
        .order_by(Alert.next_attempt_at)
        .limit(1)
    )


# --- acknowledgement links -------------------------------------------------------------------


def _serializer(settings: Settings) -> URLSafeTimedSerializer | None:
    secret = settings.secrets.session_secret
    if secret is None:
        return None
    return URLSafeTimedSerializer(secret.get_secret_value(), salt=_ACK_SALT)


def ack_token(settings: Settings, *, incident_id: int, alert_id: int) -> str | None:
    """A signed, expiring token that acknowledges one incident; ``None`` without a session secret."""
    serializer = _serializer(settings)
    if serializer is None:
        return None
    return serializer.dumps({"incident": incident_id, "alert": alert_id})


class BadAckLink(Exception):
    """The link is forged, for another purpose, or too old."""


def read_ack_token(settings: Settings, token: str, *, max_age_hours: int = ACK_LINK_HOURS) -> tuple[int, int]:
    """(incident id, alert id) from a token made by ``ack_token``; raises ``BadAckLink``."""
    serializer = _serializer(settings)
    if serializer is None:
        raise BadAckLink("acknowledgement links are off: no session secret is set")
    try:
        data = serializer.loads(token, max_age=max_age_hours * 3600)
    except SignatureExpired as exc:
        raise BadAckLink("this link has expired; acknowledge on the incident page") from exc
    except BadSignature as exc:
        raise BadAckLink("this link is not valid") from exc
    return int(data["incident"]), int(data["alert"])


def ack_url(settings: Settings, *, incident_id: int, alert_id: int) -> str | None:
    token = ack_token(settings, incident_id=incident_id, alert_id=alert_id)
    if token is None:
        return None
    return f"{settings.general.base_url.rstrip('/')}/incidents/ack/{token}"


def _ack_footer(settings: Settings, alert_id: int, incident_id: int | None) -> str:
    # Made at send time, not stored: the link is a credential and its life starts when it goes out.
    if incident_id is None:
        return ""
    url = ack_url(settings, incident_id=incident_id, alert_id=alert_id)
    if url is None:
        return ""
    return f"\n\nAcknowledge (link valid {ACK_LINK_HOURS} hours): {url}"
