"""Secrets never show: API tokens, the session secret, the SMTP password, a user's password and a database
password are set to known values, the product runs a worker-and-UI scenario with failures that tend to
echo credentials (revoked tokens, timeouts, a mail server refusing the login), and then every log line,
every page, every export and the config check are searched for them.

Two runs: in-process (every log record, pages through the test client) and, marked slow, the real
``listening-post run`` process (its own logging set-up, pages over HTTP).
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from sqlalchemy import Engine, select

from connectors.facebook import fake as graph
from connectors.facebook.fake import FakeGraphApi
from connectors.fake_server import Failure
from connectors.x import fake as x
from connectors.x.fake import FakeXApi
from listener.accounts import users
from listener.incidents import alerts
from listener.settings import load_settings
from listener.store.db import make_engine, write_transaction
from listener.store.migrate import upgrade
from listener.store.models import Alert, Incident, Mention, QueueItem, Reply, Source
from listener.store.types import utcnow
from listener.worker import Worker
from listening_post.cli.main import main
from queue_ui.app import create_app
from tests.listener.smtp_server import SmtpServer
from tests.queue_ui.conftest import UiClient, csrf_of
from tests.reliability.test_access import LEAST_ROLE, concrete

PAGE_ID = "104729318865221"


def _known(label: str) -> str:
    return f"{label}{uuid.uuid4().hex}"


@dataclass
class Secrets:
    """Distinct, recognisable values; the environment names the product reads them from."""

    env: dict[str, str] = field(
        default_factory=lambda: {
            "LISTENING_POST_SESSION_SECRET": _known("SessionSecret"),
            "LISTENING_POST_X_BEARER_TOKEN": _known("XBearer"),
            "LISTENING_POST_X_CONSUMER_KEY": _known("XConsumerKey"),
            "LISTENING_POST_X_CONSUMER_SECRET": _known("XConsumerSecret"),
            "LISTENING_POST_X_ACCESS_TOKEN": "1500000000000000001-" + _known("XAccess"),
            "LISTENING_POST_X_ACCESS_TOKEN_SECRET": _known("XAccessSecret"),
            "LISTENING_POST_FACEBOOK_PAGE_TOKEN": _known("EAAGPageToken"),
            "LISTENING_POST_FACEBOOK_APP_SECRET": _known("AppSecret"),
            "LISTENING_POST_INSTAGRAM_VERIFY_TOKEN": _known("IgVerifyToken"),
            "LISTENING_POST_LINKEDIN_ACCESS_TOKEN": _known("AQXLinkedIn"),
            "LISTENING_POST_SMTP_PASSWORD": _known("SmtpPassword"),
        }
    )
    user_password: str = field(default_factory=lambda: _known("UserPassword"))
    database_password: str = field(default_factory=lambda: _known("DbPassword"))

    def values(self) -> list[str]:
        return [*self.env.values(), self.user_password, self.database_password]

    def found_in(self, text: str) -> list[str]:
        """The secrets that appear in ``text``, as they are or URL- or base64-encoded."""
        found = []
        for secret in self.values():
            forms = {
                secret,
                quote(secret, safe=""),
                quote_plus(secret),
                base64.b64encode(secret.encode()).decode(),
            }
            if any(form in text for form in forms):
                found.append(secret[:12] + "…")
        return found


@dataclass
class Scenario:
    secrets: Secrets
    config: Path
    db_url: str
    x: FakeXApi
    graph: FakeGraphApi
    smtp: SmtpServer
    admin_email: str = "admin@example.nhs.uk"


def write_config(
    tmp_path: Path, x_fake: FakeXApi, graph_fake: FakeGraphApi, smtp: SmtpServer, ui_port: int
) -> Path:
    # The alert URL names the password as a placeholder, filled from the environment at send time; the
    # mail server does not offer a login, so every delivery fails and its error is stored and shown.
    mail = (
        f"mailto://alerts:${{LISTENING_POST_SMTP_PASSWORD}}@127.0.0.1:{smtp.port}"
        "?from=alerts@example.nhs.uk&to=lead@example.nhs.uk"
    )
    config = tmp_path / "listening-post.toml"
    config.write_text(
        f"""
[general]
data_dir = "{tmp_path}"
base_url = "http://127.0.0.1:{ui_port}"

[ui]
port = {ui_port}

[[accounts]]
platform = "x"
handle = "NHSCovWarks"

[[accounts]]
platform = "facebook"
handle = "{PAGE_ID}"

[[sources]]
key = "x:mentions:@NHSCovWarks"
interval_seconds = 10
api_base_url = "{x_fake.base_url}"

[[sources]]
key = "facebook:page:{PAGE_ID}"
interval_seconds = 10
api_base_url = "{graph_fake.base_url}"

[polling]
jitter_seconds = 0
lease_seconds = 30
request_timeout_seconds = 2

[alerts]
leads = ["{mail}"]
admins = ["{mail}"]
retry_minutes = 1

[media]
include_default_list = false
"""
    )
    return config


@contextlib.contextmanager
def scenario(tmp_path: Path, db_url: str, ui_port: int = 8000) -> Iterator[Scenario]:
    secrets = Secrets()
    env = secrets.env
    x_fake = FakeXApi(
        me="NHSCovWarks", tokens={env["LISTENING_POST_X_BEARER_TOKEN"], env["LISTENING_POST_X_ACCESS_TOKEN"]}
    )
    graph_fake = FakeGraphApi(
        page_id=PAGE_ID,
        page_token=env["LISTENING_POST_FACEBOOK_PAGE_TOKEN"],
        app_secret=env["LISTENING_POST_FACEBOOK_APP_SECRET"],
    )
    smtp = SmtpServer()
    smtp.start()
    with x_fake, graph_fake:
        try:
            for n in range(3):
                x_fake.add_tweet(author=f"resident{n}", text=f"@NHSCovWarks is the clinic open today? ({n})")
            post = graph_fake.add_post(text="Flu clinics this week", author_name="Sam Patel")
            for n in range(120):  # more than a page: the paging links carry the token
                graph_fake.add_comment(
                    on=post["id"], text=f"Which clinic is nearest? {n}", author_name=f"R {n}"
                )
            # The token is refused on the first mentions poll: permanent, the admins are alerted.
            x_fake.inject(x.http_error(401, "Unauthorized: token revoked"), path=r"/mentions$")
            # Facebook hangs once (a timeout error names the URL, which carries the token) ...
            graph_fake.inject(Failure(hang=True), path=r"/feed$")
            # ... and later refuses the token, with a message that repeats what it was sent.
            graph_fake.inject(
                graph.graph_error(
                    190, f"Invalid OAuth access token {env['LISTENING_POST_FACEBOOK_PAGE_TOKEN']}", status=400
                ),
                path=r"/feed$",
                after=1,
            )
            config = write_config(tmp_path, x_fake, graph_fake, smtp, ui_port)
            engine = make_engine(db_url)
            upgrade(engine)
            with write_transaction(engine) as s:
                users.add_user(
                    s,
                    email="admin@example.nhs.uk",
                    name="Ada Admin",
                    initials="AA",
                    role="admin",
                    password=secrets.user_password,
                )
            engine.dispose()
            yield Scenario(secrets, config, db_url, x_fake, graph_fake, smtp)
        finally:
            smtp.stop()


def sign_in_admin(client: httpx.Client | UiClient, s: Scenario) -> str:
    token = csrf_of(client.get("/sign-in").text)
    response = client.post(
        "/sign-in", data={"email": s.admin_email, "password": s.secrets.user_password, "csrf_token": token}
    )
    assert response.status_code in (200, 303), response.text
    return csrf_of(client.get("/help").text)


def seed_reply_and_incident(engine: Engine, s: Scenario) -> dict[str, object]:
    """An approved reply for the outbox and an incident with an alert: ids for the page sweep."""
    with write_transaction(engine) as session:
        mention = session.scalars(select(Mention).where(Mention.platform == "facebook")).first()
        assert mention is not None, "nothing was polled"
        item_id = session.scalar(select(QueueItem.id).where(QueueItem.mention_id == mention.id))
        admin = session.scalars(select(users.User)).one()
        reply = Reply(
            queue_item_id=item_id,
            platform="facebook",
            source_key=f"facebook:page:{PAGE_ID}",
            in_reply_to=mention.external_id,
            text="The nearest is on Hill Street. ^AA",
            status="approved",
            author_id=admin.id,
            approved_by_id=admin.id,
            approved_at=utcnow(),
            next_attempt_at=utcnow(),
            idempotency_key=uuid.uuid4().hex,
        )
        session.add(reply)
        incident = Incident(
            episode_key="secrets",
            subject="Clinic closures",
            level="crisis",
            status="listening",
            opened_at=utcnow(),
            level_changed_at=utcnow(),
        )
        session.add(incident)
        session.flush()
        alert = alerts.queue_alert(
            session,
            kind="incident",
            audience="leads",
            title="Crisis: clinic closures",
            body="Criteria met",
            dedupe_key="secrets-incident",
            incident_id=incident.id,
            level="crisis",
        )
        session.flush()
        assert alert is not None
        return {
            "item_id": item_id,
            "reply_id": reply.id,
            "user_id": admin.id,
            "key": "thanks-comment",
            "incident_id:int": incident.id,
            "alert_id:int": alert.id,
            "token": "not-a-valid-token",
        }


def every_page(client: httpx.Client | UiClient, ids: dict[str, object], csrf: str) -> list[str]:
    """Every GET route of the app (the access table lists them all), an FOI export in both formats, errors."""
    texts = []
    for method, path in LEAST_ROLE:
        if method == "GET":
            response = client.get(concrete(path, ids), follow_redirects=True)
            assert response.status_code < 500, (path, response.status_code)
            texts.append(f"{path}\n{response.headers}\n{response.text}")
    for fmt in ("csv", "json"):
        export = client.post(
            "/reports/foi", data={"date_from": "2000-01-01", "format": fmt, "csrf_token": csrf}
        )
        assert export.status_code == 200
        texts.append(export.text)
    texts.append(client.get("/items/999999").text)
    texts.append(client.get("/api/items/not-a-number").text)
    return texts


def cli(*args: str) -> str:
    """Run a CLI command in this process; its output and errors."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        main(list(args))
    return out.getvalue() + err.getvalue()


def assert_no_secrets(s: Scenario, texts: dict[str, str]) -> None:
    leaks = {where: found for where, text in texts.items() if (found := s.secrets.found_in(text))}
    assert not leaks, f"secrets found in: {leaks}"


def test_no_secret_reaches_logs_pages_exports_or_the_config_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with scenario(tmp_path, f"sqlite:///{tmp_path / 'lp.db'}") as s:
        for name, value in s.secrets.env.items():
            monkeypatch.setenv(name, value)
        caplog.set_level(logging.INFO)
        for ours in ("listener", "connectors", "queue_ui"):
            caplog.set_level(logging.DEBUG, logger=ours)  # our own code is searched at every level
        settings = load_settings(s.config)
        engine = make_engine(s.db_url)
        worker = Worker(settings, engine, worker_id="secrets")
        worker.prepare()
        for source in worker.pollable_sources():
            worker.poll(source)  # X: token refused; Facebook: timed out
        with write_transaction(engine) as session:  # due again at once
            for row in session.scalars(select(Source)):
                row.next_poll_at = None
        worker.poll(f"facebook:page:{PAGE_ID}")  # a full read, across pages
        ids = seed_reply_and_incident(engine, s)
        worker.send_replies()
        with write_transaction(engine) as session:
            for row in session.scalars(select(Source)):
                row.next_poll_at = None
        worker.poll(f"facebook:page:{PAGE_ID}")  # the token refused, with the token in the message
        worker.deliver_alerts()  # the mail server refuses: the error is stored and shown
        with write_transaction(engine) as session:
            errors = [a.last_error or "" for a in session.scalars(select(Alert))]
        assert errors and all(errors), "the alerts should have failed against a server without login"

        client = UiClient(create_app(settings, engine))
        csrf = sign_in_admin(client, s)
        pages = every_page(client, ids, csrf)
        texts = {
            "log records": "\n".join(
                f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records
            ),
            "pages and exports": "\n".join(pages),
            "config check": cli("config", "check", str(s.config)),
            "export": cli("export", "--db", s.db_url, "--from", "2000-01-01", "--format", "csv"),
            "report": cli("report", "--db", s.db_url, "--by", "platform"),
            "alerts": "\n".join(errors),
        }
        assert len(caplog.records) > 5
        assert_no_secrets(s, texts)
        engine.dispose()


def test_the_config_check_masks_a_database_password(tmp_path: Path) -> None:
    secrets = Secrets()
    config = tmp_path / "listening-post.toml"
    config.write_text(
        f'[database]\nurl = "postgresql+psycopg://lp:{secrets.database_password}@db.example:5432/lp"\n'
    )
    shown = cli("config", "check", str(config))
    assert "db.example" in shown and secrets.database_password not in shown


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(what: str, condition: Callable[[], object], proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll until ``condition()`` holds; the deadline only stops a broken build from hanging."""
    end = time.monotonic() + 120
    while not condition():
        if proc.poll() is not None or time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


@pytest.mark.slow
def test_the_running_process_keeps_every_secret_out_of_its_output_and_pages(tmp_path: Path) -> None:
    port = free_port()
    with scenario(tmp_path, f"sqlite:///{tmp_path / 'lp.db'}", ui_port=port) as s:
        log = tmp_path / "run.log"
        env = {**os.environ, **s.secrets.env, "PYTHONUNBUFFERED": "1"}
        env.pop("LISTENING_POST_DATABASE_URL", None)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "listening_post",
                    "run",
                    "--config",
                    str(s.config),
                    "--db",
                    s.db_url,
                    "--worker-id",
                    "w1",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        engine = make_engine(s.db_url)
        try:
            base = f"http://127.0.0.1:{port}"

            def up() -> bool:
                try:
                    return httpx.get(f"{base}/healthz").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until("the UI", up, proc, log)
            wait_until("the Facebook comments", lambda: _count(engine, Mention) >= 100, proc, log)
            ids = seed_reply_and_incident(engine, s)
            wait_until("an alert attempt", lambda: _failed_alerts(engine) >= 1, proc, log)
            with httpx.Client(base_url=base) as client:
                csrf = sign_in_admin(client, s)
                pages = every_page(client, ids, csrf)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
            texts = {"process output": log.read_text(errors="replace"), "pages and exports": "\n".join(pages)}
            assert "worker w1 stopped" in texts["process output"]
            assert_no_secrets(s, texts)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            engine.dispose()


def _count(engine: Engine, model: type) -> int:
    with write_transaction(engine) as s:
        return len(s.scalars(select(model.id)).all())  # type: ignore[attr-defined]


def _failed_alerts(engine: Engine) -> int:
    with write_transaction(engine) as s:
        return len(s.scalars(select(Alert.id).where(Alert.last_error.is_not(None))).all())


def test_the_searcher_finds_a_secret_in_each_form() -> None:
    """The search above must be able to fail: each encoded form of a secret is found."""
    secrets = Secrets()
    token = secrets.env["LISTENING_POST_FACEBOOK_PAGE_TOKEN"]
    for text in (token, f"?access_token={quote(token)}", base64.b64encode(token.encode()).decode()):
        assert secrets.found_in(f"noise {text} noise")
    assert not secrets.found_in("nothing to see " + token[:10])
