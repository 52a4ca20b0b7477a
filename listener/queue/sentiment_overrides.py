"""Agents' word on a mention's sentiment: the override, its agreement rate, and the labelled data.

On the item page an agent can say "this is actually neutral" (or confirm the scorer's
label). The scorer's own score is never changed: the agent's label sits beside it, one
per mention (the latest word stands, each change is audited). Reports show how often the
agents agree with the scorer; managers download the pairs as labelled data (JSON lines)
to check or retune the lexicon (bench/triage_accuracy.py reads the same shape of data).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listener.store import audit
from listener.store.db import upsert_insert
from listener.store.models import Mention, Score, SentimentOverride, User

LABELS = ("positive", "neutral", "negative")
TABLE = SentimentOverride.__table__


class OverrideError(ValueError):
    """The label or the mention cannot take an override; the message says why."""


def set_override(
    session: Session, *, mention_id: int, label: str, user: User, now: datetime
) -> SentimentOverride:
    """Record ``user``'s label for the mention's sentiment (replacing an earlier one), audited."""
    if label not in LABELS:
        raise OverrideError(f"Choose positive, neutral or negative, not {label!r}.")
    scored = session.scalar(select(Score.label).where(Score.mention_id == mention_id))
    if scored is None:
        raise OverrideError("This mention has no score to agree or disagree with.")
    earlier = session.get(SentimentOverride, mention_id)
    before = (
        {"label": earlier.label, "scored_label": earlier.scored_label}
        if earlier
        else {"scored_label": scored}
    )
    # One row per mention even when two agents answer at once: the later write stands.
    values = {
        "mention_id": mention_id,
        "label": label,
        "scored_label": scored,
        "user_id": user.id,
        "judged_at": now,
    }
    stmt = upsert_insert(session, TABLE).values(**values)
    session.execute(stmt.on_conflict_do_update(index_elements=["mention_id"], set_={**values}))
    audit.record(
        session,
        actor=user,
        action="sentiment.override",
        object_type="mention",
        object_id=mention_id,
        before=before,
        after={"label": label, "scored_label": scored},
    )
    session.expire_all()
    return session.get_one(SentimentOverride, mention_id)


def override_for(session: Session, mention_id: int) -> SentimentOverride | None:
    return session.get(SentimentOverride, mention_id)


@dataclass
class Agreement:
    """How often the agents' word matched the scorer's label, over the mentions they judged."""

    judged: int = 0
    agreed: int = 0
    # (scorer's label, agents' label) -> mentions: where the disagreements lie
    pairs: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return self.agreed / self.judged if self.judged else None

    def add(self, scored: str, label: str, count: int) -> None:
        self.pairs[(scored, label)] = self.pairs.get((scored, label), 0) + count
        self.judged += count
        self.agreed += count if scored == label else 0

    def disagreements(self) -> list[tuple[str, str, int]]:
        """(scorer's label, agents' label, mentions), most first."""
        found = [(s, a, n) for (s, a), n in self.pairs.items() if s != a]
        return sorted(found, key=lambda t: -t[2])


def labelled_lines(session: Session) -> Iterator[str]:
    """Every judged mention as a JSON line: the text, the scorer's label and compound, the agent's label.

    Mentions past the retention period (anonymised) are left out, and so is who judged.
    """
    stmt = (
        select(
            Mention.id,
            Mention.platform,
            Mention.created_at,
            Mention.text,
            Score.compound,
            SentimentOverride.scored_label,
            SentimentOverride.label,
            SentimentOverride.judged_at,
        )
        .join(SentimentOverride, SentimentOverride.mention_id == Mention.id)
        .join(Score, Score.mention_id == Mention.id)
        .where(Mention.anonymised_at.is_(None))
        .order_by(Mention.id)
    )
    for mention_id, platform, created_at, text, compound, scored, label, judged_at in session.execute(stmt):
        row = {
            "mention": mention_id,
            "platform": platform,
            "created_at": created_at.isoformat(),
            "text": text,
            "compound": compound,
            "scored_label": scored,
            "label": label,
            "judged_at": judged_at.isoformat(),
        }
        yield json.dumps(row, ensure_ascii=False) + "\n"


def count_labelled(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(SentimentOverride)) or 0)


def record_labels_export(session: Session, *, actor: User, rows: int) -> None:
    audit.record(
        session,
        actor=actor,
        action="sentiment.labels_export",
        object_type="sentiment_labels",
        after={"rows": rows},
    )
