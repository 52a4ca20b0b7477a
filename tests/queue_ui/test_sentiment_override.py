"""Sentiment override: an agent's word on a post's sentiment, stored, audited, shown, counted, exported."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from listener.reports.filters import ReportFilters
from listener.reports.volume import sentiment_agreement
from listener.settings import Settings
from listener.store.db import session_factory, write_transaction
from listener.store.models import AuditEvent, Mention, Score, SentimentOverride
from tests.queue_ui.conftest import NOW


def _overrides(engine) -> list[SentimentOverride]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(SentimentOverride)))


def _events(engine, action: str) -> list[AuditEvent]:
    with session_factory(engine)() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def test_an_agent_says_what_the_sentiment_actually_is(client_as, seed, engine):
    agent = client_as("agent")
    item = seed("Is the walk-in centre open on the bank holiday?", label="negative")
    response = agent.form(f"/items/{item.item_id}/sentiment", {"label": "neutral"})
    assert response.status_code == 303
    [row] = _overrides(engine)
    assert (row.mention_id, row.label, row.scored_label, row.user_id) == (
        item.mention_id,
        "neutral",
        "negative",
        agent.user.id,
    )
    assert row.judged_at == NOW
    with session_factory(engine)() as session:
        assert session.get_one(Score, item.mention_id).label == "negative"  # the score itself is kept
    [event] = _events(engine, "sentiment.override")
    assert (event.object_type, event.object_id, event.actor) == (
        "mention",
        str(item.mention_id),
        agent.user.email,
    )
    assert event.before == {"scored_label": "negative"}
    assert event.after == {"label": "neutral", "scored_label": "negative"}
    html = agent.get(f"/items/{item.item_id}").text
    assert "Negative (-0.60); an agent says neutral" in html
    assert 'value="neutral" checked' in html


def test_a_second_word_replaces_the_first_and_both_are_audited(client_as, seed, engine):
    first, second = client_as("agent"), client_as("lead")
    item = seed(label="negative")
    assert first.form(f"/items/{item.item_id}/sentiment", {"label": "positive"}).status_code == 303
    assert second.form(f"/items/{item.item_id}/sentiment", {"label": "negative"}).status_code == 303
    [row] = _overrides(engine)
    assert (row.label, row.user_id) == ("negative", second.user.id)
    events = _events(engine, "sentiment.override")
    assert [e.after["label"] for e in events] == ["positive", "negative"]
    assert events[1].before == {"label": "positive", "scored_label": "negative"}
    assert "confirmed negative" in second.get(f"/items/{item.item_id}").text


def test_a_label_that_is_not_one_of_the_three_is_refused(client_as, seed, engine):
    agent = client_as("agent")
    item = seed()
    response = agent.form(f"/items/{item.item_id}/sentiment", {"label": "furious"})
    assert response.status_code == 400
    assert "Choose positive, neutral or negative" in response.text
    assert _overrides(engine) == [] and _events(engine, "sentiment.override") == []
    assert agent.form("/items/999999/sentiment", {"label": "neutral"}).status_code == 404


def _judge(engine, mention_id: int, scored: str, label: str) -> None:
    with write_transaction(engine) as session:
        session.add(SentimentOverride(mention_id=mention_id, label=label, scored_label=scored, judged_at=NOW))


def test_the_agreement_rate_counts_the_judged_posts_in_range(client_as, seed, engine):
    # Planted: in range, 3 agreements and 2 disagreements (negative -> neutral twice, one X one Facebook);
    # out of range (40 days ago) one disagreement; one post in range nobody judged.
    judged = [
        ("negative", "negative", "x"),
        ("positive", "positive", "x"),
        ("neutral", "neutral", "facebook"),
        ("negative", "neutral", "x"),
        ("negative", "neutral", "facebook"),
    ]
    for scored, label, platform in judged:
        _judge(engine, seed(label=scored, platform=platform).mention_id, scored, label)
    old = seed(label="positive", created_at=NOW - timedelta(days=40))
    _judge(engine, old.mention_id, "positive", "negative")
    seed(label="negative")
    # Computed from the plan, not from the code under test.
    in_range = judged
    agreed = sum(scored == label for scored, label, _ in in_range)
    assert (agreed, len(in_range)) == (3, 5)

    settings = Settings()
    filters = ReportFilters(date_from=(NOW - timedelta(days=29)).date(), date_to=NOW.date())
    with session_factory(engine)() as session:
        figure = sentiment_agreement(session, settings, filters)
        on_x = sentiment_agreement(
            session, settings, ReportFilters(filters.date_from, filters.date_to, platform="x")
        )
    assert (figure.agreed, figure.judged, figure.rate) == (3, 5, 0.6)
    assert figure.disagreements() == [("negative", "neutral", 2)]
    assert (on_x.agreed, on_x.judged) == (2, 3)

    manager = client_as("manager")
    html = manager.get("/reports").text
    assert "<strong>60%</strong> agreed with the score (3 of 5)" in html
    assert "Where agents and the score differ" in html


def test_managers_download_the_judged_posts_as_labelled_data(client_as, seed, engine):
    item = seed("Thank you, the crew were brilliant", label="positive")
    seed("Nobody judged this one", label="negative")
    old = seed("Past the retention period", label="negative")
    agent = client_as("agent")
    agent.form(f"/items/{item.item_id}/sentiment", {"label": "positive"})
    agent.form(f"/items/{old.item_id}/sentiment", {"label": "neutral"})
    with write_transaction(engine) as session:
        session.get_one(Mention, old.mention_id).anonymised_at = NOW
    assert agent.form("/reports/sentiment-labels").status_code == 403

    manager = client_as("manager")
    response = manager.form("/reports/sentiment-labels")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert 'filename="sentiment-labels-' in response.headers["content-disposition"]
    [line] = [json.loads(x) for x in response.text.splitlines()]
    assert line == {
        "mention": item.mention_id,
        "platform": "x",
        "created_at": (NOW - timedelta(minutes=10)).isoformat(),
        "text": "Thank you, the crew were brilliant",
        "compound": 0.7,
        "scored_label": "positive",
        "label": "positive",
        "judged_at": NOW.isoformat(),
    }
    [event] = _events(engine, "sentiment.labels_export")
    assert (event.actor, event.after) == (manager.user.email, {"rows": 1})
