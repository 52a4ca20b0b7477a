"""build_stage: the real scorer and topics, with the media list from the settings and config/media.toml."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from connectors.base import Author, Mention
from listener.intake.ingest import ingest
from listener.intake.pipeline import build_stage, media_lists
from listener.paths import load_config_toml
from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.models import QueueItem
from listener.store.models import Score as ScoreRow
from triage.model import MentionInput
from triage.topics import topic_of

MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def mention(external_id: str, text: str, handle: str = "patient_pat", **kw) -> Mention:
    return Mention(
        platform="x",
        external_id=external_id,
        source="x:mentions:@NHSCovWarks",
        kind=kw.pop("kind", "mention"),
        author=Author(id=handle, handle=handle, followers=kw.pop("followers", 40)),
        text=text,
        created_at=MONDAY_10AM,
        **kw,
    )


def test_the_media_list_joins_the_settings_and_the_areas_outlets():
    default = load_config_toml("media.toml")
    settings = Settings.model_validate({"media": {"handles": ["@MyLocalRadio"], "domains": ["News.Example"]}})
    handles, domains = media_lists(settings)
    assert "mylocalradio" in handles and "news.example" in domains
    assert {h.lstrip("@").lower() for h in default["handles"]} <= handles
    alone = Settings.model_validate({"media": {"handles": ["MyLocalRadio"], "include_default_list": False}})
    assert media_lists(alone) == (frozenset({"mylocalradio"}), frozenset())


def test_the_stage_scores_with_the_real_scorer_and_marks_media_authors():
    stage = build_stage(
        Settings.model_validate({"media": {"handles": ["CovChronicle"], "include_default_list": False}})
    )
    complaint = stage.scorer.score(
        MentionInput(text="My appointment was cancelled AGAIN, this is disgraceful", author_handle="pat")
    )
    assert complaint.label == "negative" and complaint.priority <= 2 and complaint.reasons
    press = stage.scorer.score(MentionInput(text="Hospital waits rise", author_handle="CovChronicle"))
    assert press.media
    assert stage.topic_of is topic_of and stage.media_handles == frozenset({"covchronicle"})


def test_ingest_with_the_real_stage_queues_by_priority_with_a_business_hours_due_time(engine):
    stage = build_stage(Settings.model_validate({"media": {"include_default_list": False}}))
    batch = [
        mention("1", "I will be contacting my solicitor about the negligence at the walk-in centre"),
        mention("2", "Lovely staff at the vaccination clinic today, thank you!"),
    ]
    with write_transaction(engine) as s:
        result = ingest(s, batch, stage, now=MONDAY_10AM)
    with write_transaction(engine) as s:
        items = {i.mention_id: i for i in s.scalars(select(QueueItem))}
        scores = {sc.mention_id: sc for sc in s.scalars(select(ScoreRow))}
    legal, kind = (items[n.id] for n in result.new)
    assert legal.priority == 1 and scores[result.new[0].id].legal_terms
    assert legal.due_at == stage.clock.add(MONDAY_10AM, stage.sla.urgent_minutes)
    assert kind.priority > legal.priority
    assert all(scores[n.id].topic == topic_of(n.mention.text) for n in result.new)
