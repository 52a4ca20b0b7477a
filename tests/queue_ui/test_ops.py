"""Health and metrics: open to probes, and saying nothing personal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import create_engine

from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.models import Alert, Source, WorkerHeartbeat
from queue_ui.app import create_app
from tests.queue_ui.conftest import NOW, SECRET, UiClient


def test_healthz_reports_the_database_and_workers(anonymous, engine, seed):
    down = anonymous.get("/healthz").json()
    assert (down["status"], down["database"], down["workers"]) == ("down", "ok", [])
    with write_transaction(engine) as session:
        session.add(
            WorkerHeartbeat(worker="host:1:a", started_at=NOW, last_seen_at=NOW - timedelta(seconds=5))
        )
        session.add(
            Source(key="x:mentions:@NHSCovWarks", platform="x", needs_attention=True, attention_reason="x")
        )
    body = anonymous.get("/healthz").json()
    assert body["workers"][0]["alive"] is True and body["sources_needing_attention"] == 1
    assert body["status"] == "degraded"
    assert "attention_reason" not in str(body), "error details stay on the admin page"


def test_healthz_names_the_workers_to_signed_in_staff_only(anonymous, engine, client_as):
    with write_transaction(engine) as session:
        session.add(WorkerHeartbeat(worker="lp-host-7:4242:ab", started_at=NOW, last_seen_at=NOW))
    public = anonymous.get("/healthz")
    assert public.json()["status"] == "ok" and "lp-host-7" not in public.text and "4242" not in public.text
    staff = client_as("agent").get("/healthz").json()
    assert staff["workers"][0]["worker"] == "lp-host-7:4242:ab"


def test_the_api_schema_needs_sign_in(anonymous, client_as):
    assert anonymous.get("/api/openapi.json").status_code == 401
    assert client_as("agent").get("/api/openapi.json").json()["paths"]


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path, clock):
    broken = create_engine(f"sqlite:///{tmp_path}/missing-dir/none.db")
    app = create_app(Settings(), broken, clock=clock, session_secret=SECRET)
    response = UiClient(app).get("/healthz")
    assert response.status_code == 503 and response.json() == {"status": "down", "database": "unreachable"}


def test_metrics_show_queue_depth_breaches_poll_errors_and_alert_latency(anonymous, engine, seed, client_as):
    seed(due_in=timedelta(minutes=-5))
    seed(due_in=timedelta(hours=1), assignee=client_as("agent").user, status="claimed")
    with write_transaction(engine) as session:
        session.add(Source(key="rss:https://news.example/feed", platform="rss", errors=4))
        session.add(
            Alert(
                dedupe_key="a1",
                kind="incident",
                audience="leads",
                title="t",
                body="b",
                status="sent",
                created_at=NOW - timedelta(minutes=10),
                sent_at=NOW - timedelta(minutes=10) + timedelta(seconds=42),
            )
        )
    text = anonymous.get("/metrics").text
    assert 'listening_post_queue_depth{status="new"} 1.0' in text
    assert 'listening_post_queue_depth{status="claimed"} 1.0' in text
    assert "listening_post_sla_breaches 1.0" in text
    assert 'listening_post_poll_errors{platform="rss"} 4.0' in text
    assert 'listening_post_alert_latency_seconds{quantile="0.5"} 42.0' in text
