"""SLA pre-breach warnings: once per item, grouped per run, through the alert channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from listener.queue.sla import warn_due_items
from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.models import Alert, Author, Mention, QueueItem, Score

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def _item(
    session, n: int, due_in_minutes: int, *, status="new", text="When is my appointment?", pd=()
) -> int:
    author = Author(platform="x", external_id=f"a{n}", handle=f"patient{n}")
    mention = Mention(
        platform="x",
        external_id=f"m{n}",
        source_key="x:mentions:@NHSCovWarks",
        kind="mention",
        author=author,
        text=text,
        created_at=NOW - timedelta(hours=1),
    )
    session.add(mention)
    session.flush()
    session.add(
        Score(mention_id=mention.id, compound=0, pos=0, neg=0, neu=1, label="neutral", personal_data=list(pd))
    )
    item = QueueItem(mention_id=mention.id, status=status, due_at=NOW + timedelta(minutes=due_in_minutes))
    session.add(item)
    session.flush()
    return item.id


def test_items_due_soon_are_warned_about_once_in_one_alert(engine):
    with write_transaction(engine) as session:
        soon = _item(session, 1, 20)
        late = _item(session, 2, -5)
        _item(session, 3, 45)  # not yet within 30 minutes
        _item(session, 4, 10, status="replied")  # answered
    settings = Settings()
    assert warn_due_items(engine, settings, now=NOW) == 2
    assert warn_due_items(engine, settings, now=NOW + timedelta(minutes=1)) == 0

    with write_transaction(engine) as session:
        [alert] = session.scalars(select(Alert)).all()
        assert (alert.kind, alert.audience) == ("sla_warning", "leads")
        assert alert.title == "SLA: 2 items due within 30 minutes (1 already late)"
        assert f"#{soon} P3 due in 20 min" in alert.body
        assert f"#{late} P3 5 min late" in alert.body
        assert f"http://127.0.0.1:8000/items/{soon}" in alert.body
        warned = session.scalars(select(QueueItem.id).where(QueueItem.sla_warned_at == NOW)).all()
        assert sorted(warned) == sorted([soon, late])

    # Fifteen minutes on, the third item enters the window and gets its own warning.
    assert warn_due_items(engine, settings, now=NOW + timedelta(minutes=15)) == 1


def test_the_warning_does_not_repeat_personal_data(engine):
    text = "My NHS number is 943 476 5919, why no reply?"
    with write_transaction(engine) as session:
        _item(session, 1, 5, text=text, pd=[{"kind": "nhs_number", "start": 17, "end": 29}])
    warn_due_items(engine, Settings(), now=NOW)
    with write_transaction(engine) as session:
        body = session.scalars(select(Alert.body)).one()
    assert "943 476 5919" not in body
    assert "[nhs_number removed]" in body


def test_warn_before_zero_switches_warnings_off(engine):
    with write_transaction(engine) as session:
        _item(session, 1, -5)
    settings = Settings.model_validate({"sla": {"warn_before_minutes": 0}})
    assert warn_due_items(engine, settings, now=NOW) == 0
