"""Retention anonymises exactly the personal data past the period, and keeps what the reports count."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from connectors.base import Author as AuthorIn
from connectors.base import Mention as MentionIn
from listener.intake.ingest import TriageStage, ingest
from listener.queue.business_hours import BusinessClock
from listener.reports.filters import ReportFilters
from listener.reports.responses import response_report
from listener.reports.retention import run_retention
from listener.settings import Settings
from listener.store.db import session_factory, write_transaction
from listener.store.models import AuditEvent, Author, Mention, QueueItem, Score
from listening_post.cli.main import main
from tests.listener import report_data as data
from triage.model import MentionInput
from triage.model import Score as TriageScore

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = Settings.model_validate({"retention": {"days": 365}})
CUTOFF = NOW - timedelta(days=365)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def people(any_engine):
    engine = any_engine
    agent = data.user(engine, "Alex Agent")
    with write_transaction(engine) as s:
        olive, max_, board, nia = (data.author(s, h) for h in ("olive", "max", "NHSCovWarks", "nia"))
        old = [
            data.mention(s, olive, utc(2025, 12, 1, 10), url="https://x.com/olive/status/1"),
            data.mention(s, olive, utc(2026, 2, 1, 10)),
            data.mention(s, max_, utc(2026, 1, 15, 10)),
        ]
        data.mention(s, max_, utc(2026, 6, 1, 10))
        data.mention(s, board, utc(2025, 11, 1, 10), text="Our flu clinics open today", is_own=True)
        data.mention(s, nia, CUTOFF)  # exactly at the cutoff: inside the period
        data.mention(s, nia, utc(2026, 12, 1, 10))
        for m in old:
            data.item(
                s,
                m,
                due_at=m.created_at + timedelta(hours=8),
                assignee=agent,
                status="closed",
                first_response_at=m.created_at + timedelta(hours=2),
                closed_at=m.created_at + timedelta(hours=3),
            )
    return {"olive": olive.id, "max": max_.id, "board": board.id, "nia": nia.id, "old": [m.id for m in old]}


def snapshot(engine) -> dict:
    with session_factory(engine)() as s:
        return {
            model.__tablename__: [
                tuple(getattr(row, c.key) for c in model.__table__.columns)
                for row in s.scalars(select(model).order_by(*model.__table__.primary_key))
            ]
            for model in (Mention, Author, Score, QueueItem)
        }


def report(engine):
    with session_factory(engine)() as s:
        return response_report(
            s, SETTINGS, ReportFilters(date(2025, 1, 1), date(2027, 3, 1)), by="day", now=NOW
        )


def test_a_dry_run_counts_and_changes_nothing(any_engine, people):
    before = snapshot(any_engine)
    summary = run_retention(any_engine, SETTINGS, dry_run=True, now=NOW)
    assert (summary["mentions"], summary["authors"], summary["dry_run"]) == (3, 1, True)
    assert snapshot(any_engine) == before
    with session_factory(any_engine)() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "retention.run")) is None


def test_retention_anonymises_exactly_what_is_past_the_period(any_engine, people):
    before = snapshot(any_engine)
    figures_before = report(any_engine)
    summary = run_retention(any_engine, SETTINGS, now=NOW)
    assert (summary["mentions"], summary["authors"]) == (3, 1)
    assert summary["cutoff"] == CUTOFF.isoformat()

    with session_factory(any_engine)() as s:
        mentions = {m.id: m for m in s.scalars(select(Mention))}
        authors = {a.id: a for a in s.scalars(select(Author))}
    for mention_id in people["old"]:
        m = mentions[mention_id]
        assert (m.text, m.url, m.raw, m.anonymised_at) == ("", None, {}, NOW)
        assert m.metrics == {"reposts": 2} and m.created_at < CUTOFF
    untouched = [m for m in mentions.values() if m.id not in people["old"]]
    assert all(m.anonymised_at is None and m.text for m in untouched)
    assert next(m for m in untouched if m.is_own).text == "Our flu clinics open today"

    olive = authors[people["olive"]]
    assert (olive.handle, olive.name, olive.external_id) == ("", "", f"anonymised:{olive.id}")
    assert olive.followers == 10 and olive.anonymised_at == NOW
    for name in ("max", "board", "nia"):
        assert authors[people[name]].anonymised_at is None and authors[people[name]].handle == name.replace(
            "board", "NHSCovWarks"
        )

    # Scores, queue items and their timings are as they were; so are the report's figures.
    after = snapshot(any_engine)
    assert after["scores"] == before["scores"] and after["queue_items"] == before["queue_items"]
    assert report(any_engine) == figures_before


def test_retention_is_idempotent_and_audited(any_engine, people):
    first = run_retention(any_engine, SETTINGS, now=NOW)
    state = snapshot(any_engine)
    second = run_retention(any_engine, SETTINGS, now=NOW)
    assert (first["mentions"], first["authors"]) == (3, 1)
    assert (second["mentions"], second["authors"]) == (0, 0)
    assert snapshot(any_engine) == state
    with session_factory(any_engine)() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "retention.run")).all()
    assert [(e.actor, e.after["mentions"], e.after["authors"]) for e in events] == [
        ("worker", 3, 1),
        ("worker", 0, 0),
    ]


def test_a_shorter_period_reaches_further(any_engine, people):
    summary = run_retention(any_engine, SETTINGS, dry_run=True, older_than_days=100, now=NOW)
    # All but the board's own post and Nia's post of 1 December 2026 (90 days old) are past 100 days.
    assert (summary["mentions"], summary["authors"]) == (5, 2)


class _Plain:
    def score(self, m: MentionInput) -> TriageScore:
        return TriageScore(compound=0.0, pos=0.0, neg=0.0, neu=1.0, label="neutral")


def test_a_later_post_by_an_anonymised_author_starts_a_new_author(any_engine, people):
    with session_factory(any_engine)() as s:
        olive = s.get_one(Author, people["olive"])
    original_id = olive.external_id
    run_retention(any_engine, SETTINGS, now=NOW)
    sla = SETTINGS.sla
    stage = TriageStage(
        scorer=_Plain(), topic_of=lambda text, url: None, sla=sla, clock=BusinessClock(sla.business_hours)
    )
    post = MentionIn(
        platform="x",
        external_id="new-1",
        source="x:mentions:@NHSCovWarks",
        kind="mention",
        author=AuthorIn(id=original_id, handle="olive", name="Olive"),
        text="Hello again",
        created_at=NOW,
    )
    with write_transaction(any_engine) as s:
        ingest(s, [post], stage, now=NOW)
    with session_factory(any_engine)() as s:
        fresh = s.scalar(select(Author).where(Author.external_id == original_id))
        old = s.get_one(Author, people["olive"])
    assert fresh is not None and fresh.id != old.id and fresh.handle == "olive"
    assert (old.handle, old.name) == ("", "")


@time_machine.travel(NOW, tick=False)
def test_the_retention_command_prints_what_it_changed(any_engine, people, capsys):
    url = data.db_url(any_engine)
    assert main(["retention", "--db", url, "--dry-run", "--older-than", "36500"]) == 0
    assert json.loads(capsys.readouterr().out)["mentions"] == 0
    assert main(["retention", "--db", url, "--older-than", "1"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert list(printed)[:2] == ["mentions", "authors"] and printed["dry_run"] is False
    assert printed["mentions"] == 6  # every post but the board's own
    with session_factory(any_engine)() as s:
        assert s.scalar(select(AuditEvent.actor).where(AuditEvent.action == "retention.run")) == "cli"
    assert main(["retention", "--db", url, "--older-than", "0"]) == 2
    assert "--older-than must be" in capsys.readouterr().err


@time_machine.travel(NOW, tick=False)
def test_the_retention_command_uses_the_admins_override(any_engine, people, capsys):
    """The settings file says 365 days; the admin page said 90: the command keeps 90 days."""
    from listener.store.models import SettingOverride

    url = data.db_url(any_engine)
    assert main(["retention", "--db", url, "--dry-run"]) == 0
    by_file = json.loads(capsys.readouterr().out)
    with write_transaction(any_engine) as s:
        s.add(SettingOverride(key="retention.days", value=90, updated_at=NOW))
    assert main(["retention", "--db", url, "--dry-run"]) == 0
    by_override = json.loads(capsys.readouterr().out)
    assert by_file["older_than_days"] == 365 and by_override["older_than_days"] == 90
    assert by_override["mentions"] > by_file["mentions"]
