"""Crisis incidents (policy 7.2): opened from the crisis monitor's episodes, alerted, acknowledged, resolved.

One episode of the monitor is one incident (``Incident.episode_key`` is unique): a repeat
of the same episode — a worker restart warming the monitor again, a replay run twice —
updates the incident and never opens a second one. An incident's level only rises; each
rise to ``alert`` or ``crisis`` queues one alert to the comms leads (de-duplicated per
incident and level). An alert nobody acknowledges within ``alerts.escalate_after_minutes``
goes to the escalation list. The queue items of the incident's mentions are linked to it,
so their replies need a lead's approval.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from listener.incidents.alerts import queue_alert, quote
from listener.settings import Settings
from listener.store import audit
from listener.store.db import upsert_insert, write_transaction
from listener.store.models import (
    LEVELS,
    Alert,
    Author,
    Incident,
    IncidentMention,
    Mention,
    QueueItem,
    Reply,
    Response,
    Score,
    SignOff,
    User,
)
from listener.store.types import utcnow

CRITERIA = ("sole_subject", "emotive", "legal", "media")
# Policy 7.2's criteria as the alert and the incident page say them.
CRITERIA_WORDS = {
    "sole_subject": "One subject is the only thing people are talking about negatively",
    "emotive": "Highly emotive, or a high risk to our reputation",
    "legal": "Legal in nature, or with negative legal connotations",
    "media": "Wider media are reporting it negatively",
}
ALERT_LEVELS = ("alert", "crisis")  # watch is shown on the incident list, not sent to anyone
SYSTEM = "worker"
TIMELINE_BUCKET = timedelta(minutes=10)
TIMELINE_BUCKETS = 144  # a day of ten-minute buckets on the page
EVIDENCE_PER_CRITERION = 25
EXAMPLES_PER_CRITERION = 2


def level_rank(level: str) -> int:
    return LEVELS.index(level)


@dataclass(frozen=True)
class EpisodeUpdate:
    """What the crisis monitor says about one episode, in the store's terms (mention ids)."""

    episode_key: str
    at: datetime
    level: str
    criteria: Sequence[str]
    evidence: dict[str, Sequence[int]]  # criterion -> mention ids
    subject: str
    topic: str | None = None
    mention_ids: Sequence[int] = ()  # the episode's mentions (evidence or not) to link
    details: dict[str, str] = field(default_factory=dict)  # criterion -> the figure behind it, in words
    why: str = ""  # the evidence in one sentence (triage.crisis.say_why)
    samples: Sequence[int] = ()  # mention ids of a few posts to show with it


@dataclass(frozen=True)
class IncidentChange:
    """What applying an update did: the replay prints openings and level rises."""

    incident_id: int
    opened: bool
    level_rose: bool
    level: str
    at: datetime
    criteria: tuple[str, ...]
    subject: str
    mentions: int


def apply_update(
    session: Session, settings: Settings, update_: EpisodeUpdate, *, now: datetime | None = None
) -> IncidentChange | None:
    """Open or update the episode's incident; ``None`` when its incident is resolved and stays so.

    A resolved incident stays resolved while its episode goes on at the level it was resolved
    at: a lead decided it is over. If the episode rises above that level, the incident opens
    again and alerts — the leads must not hear of a worse turn from the press.
    """
    now = now or update_.at
    incident = session.scalars(
        select(Incident).where(Incident.episode_key == update_.episode_key)
    ).one_or_none()
    opened = incident is None
    if incident is None:
        incident = _open(session, update_)
    elif incident.status == "resolved":
        if level_rank(update_.level) <= level_rank(incident.level):
            return None
        _reopen(session, incident, update_)
    previous = incident.level
    rose = not opened and level_rank(update_.level) > level_rank(previous)
    incident.criteria = [c for c in CRITERIA if c in set(incident.criteria) | set(update_.criteria)]
    incident.evidence = _merge_evidence(incident.evidence, update_.evidence)
    if update_.topic is not None and not incident.summary.get("named_by"):
        # The monitor names the subject better as it grows (and a surge may open before it has one);
        # a name a lead gave stays.
        incident.subject = update_.subject[:500]
        incident.topic = update_.topic
    if update_.details:
        incident.summary = {
            **incident.summary,
            "details": {**incident.summary.get("details", {}), **update_.details},
        }
    if update_.why:
        incident.summary = {**incident.summary, "why": update_.why, "samples": list(update_.samples)}
    if rose:
        incident.level = update_.level
        incident.level_changed_at = update_.at
    linked = _link(session, incident, {*update_.mention_ids, *_ids(update_.evidence)})
    if linked or opened:
        _refresh(session, incident)
    if opened or rose:
        audit.record(
            session,
            actor=SYSTEM,
            action="incident.opened" if opened else "incident.level_rose",
            object_type="incident",
            object_id=incident.id,
            before=None if opened else {"level": previous},
            after={"level": incident.level, "criteria": incident.criteria, "subject": incident.subject},
        )
        if incident.level in ALERT_LEVELS:
            _queue_incident_alert(session, settings, incident, now)
    return IncidentChange(
        incident_id=incident.id,
        opened=opened,
        level_rose=rose,
        level=incident.level,
        at=update_.at,
        criteria=tuple(incident.criteria),
        subject=incident.subject,
        mentions=incident.mentions_count,
    )


def _reopen(session: Session, incident: Incident, update_: EpisodeUpdate) -> None:
    incident.acknowledged_at = None
    incident.acknowledged_by_id = None
    _open_again(session, incident, actor=SYSTEM, at=update_.at, after={"level": update_.level})


def _open_again(
    session: Session, incident: Incident, *, actor: User | str, at: datetime, after: dict[str, Any]
) -> None:
    """Back to listening, the earlier resolution kept in ``summary['reopened']``; audited."""
    resolved_at = incident.resolved_at.isoformat() if incident.resolved_at else None
    before = {"status": "resolved", "level": incident.level, "resolved_at": resolved_at}
    summary = dict(incident.summary)
    earlier = summary.pop("resolution", None)
    by = {"by": actor.id} if isinstance(actor, User) else {}
    summary["reopened"] = [
        *summary.get("reopened", []),
        {**after, **before, "at": at.isoformat(), "resolution": earlier, **by},
    ]
    incident.summary = summary
    incident.status = "listening"
    incident.resolved_at = None
    incident.resolved_by_id = None
    audit.record(
        session,
        actor=actor,
        action="incident.reopened",
        object_type="incident",
        object_id=incident.id,
        before=before,
        after=after,
    )


def close_quiet_watch(session: Session, incident_id: int, at: datetime) -> bool:
    """A watch-level incident the monitor saw go quiet closes by itself: nobody was alerted about it.

    Alert and crisis incidents wait for a lead to resolve them.
    """
    incident = session.get(Incident, incident_id)
    if incident is None or incident.status == "resolved" or incident.level != "watch":
        return False
    summary = build_summary(session, incident, now=at)
    summary["note"] = "Closed by itself: the monitor saw it go quiet at watch level."
    incident.summary = {**incident.summary, "resolution": summary}
    incident.status = "resolved"
    incident.resolved_at = at
    audit.record(
        session,
        actor=SYSTEM,
        action="incident.resolved",
        object_type="incident",
        object_id=incident.id,
        before={"status": "listening"},
        after={"status": "resolved", "summary": summary},
    )
    return True


def _open(session: Session, update_: EpisodeUpdate) -> Incident:
    # ON CONFLICT: a second worker applying the same episode at the same moment finds the first's row.
    stmt = (
        upsert_insert(session, Incident)
        .values(
            episode_key=update_.episode_key[:200],
            subject=update_.subject[:500],
            topic=update_.topic,
            level=update_.level,
            status="listening",
            criteria=[],
            evidence={},
            accounts=[],
            timeline=[],
            mentions_count=0,
            opened_at=update_.at,
            level_changed_at=update_.at,
            summary={},
        )
        .on_conflict_do_nothing(index_elements=["episode_key"])
    )
    session.execute(stmt)
    return session.scalars(select(Incident).where(Incident.episode_key == update_.episode_key)).one()


def _ids(evidence: dict[str, Sequence[int]]) -> set[int]:
    return {mid for ids in evidence.values() for mid in ids}


def _merge_evidence(old: dict[str, Any], new: dict[str, Sequence[int]]) -> dict[str, list[int]]:
    merged = {k: list(v) for k, v in old.items()}
    for criterion, ids in new.items():
        have = merged.setdefault(criterion, [])
        for mid in ids:
            if mid not in have and len(have) < EVIDENCE_PER_CRITERION:
                have.append(mid)
    return merged


def _link(session: Session, incident: Incident, mention_ids: Iterable[int]) -> int:
    """Link mentions (and their queue items) to the incident; returns how many links are new."""
    ids = set(mention_ids)
    if ids:
        ids -= set(
            session.scalars(
                select(IncidentMention.mention_id).where(
                    IncidentMention.incident_id == incident.id, IncidentMention.mention_id.in_(ids)
                )
            )
        )
    if not ids:
        return 0
    fresh = sorted(ids)
    # DO NOTHING: another worker may link the same mention at the same moment.
    stmt = upsert_insert(session, IncidentMention).on_conflict_do_nothing(
        index_elements=["incident_id", "mention_id"]
    )
    session.execute(stmt, [{"incident_id": incident.id, "mention_id": mid} for mid in fresh])
    # A crisis item's reply needs a lead's approval: the reply flow checks QueueItem.incident_id.
    session.execute(
        update(QueueItem)
        .where(QueueItem.mention_id.in_(fresh), QueueItem.incident_id.is_(None))
        .values(incident_id=incident.id, version=QueueItem.version + 1)
        .execution_options(synchronize_session=False)
    )
    return len(fresh)


def link_mentions(session: Session, incident: Incident, mention_ids: Iterable[int]) -> int:
    """Add mentions to an open incident (the crisis watch keeps doing this while the episode runs)."""
    linked = _link(session, incident, mention_ids)
    if linked:
        _refresh(session, incident)
    return linked


def _refresh(session: Session, incident: Incident) -> None:
    """Recount mentions, accounts and the volume and sentiment timeline from the linked mentions."""
    rows = session.execute(
        select(Mention.created_at, Mention.source_key, Score.label, Score.compound)
        .join(IncidentMention, IncidentMention.mention_id == Mention.id)
        .outerjoin(Score, Score.mention_id == Mention.id)
        .where(IncidentMention.incident_id == incident.id)
    ).all()
    incident.mentions_count = len(rows)
    accounts = Counter(source for _, source, _, _ in rows)
    incident.accounts = [source for source, _ in accounts.most_common()]
    incident.timeline = timeline_of([(at, label, compound) for at, _, label, compound in rows])


def timeline_of(rows: Sequence[tuple[datetime, str | None, float | None]]) -> list[dict[str, Any]]:
    """Ten-minute buckets: mentions, negative mentions, mean compound (the last day of them)."""
    buckets: dict[datetime, list[tuple[str | None, float | None]]] = {}
    step = int(TIMELINE_BUCKET.total_seconds())
    for at, label, compound in rows:
        start = datetime.fromtimestamp(int(at.timestamp()) // step * step, tz=at.tzinfo)
        buckets.setdefault(start, []).append((label, compound))
    out = []
    for start in sorted(buckets)[-TIMELINE_BUCKETS:]:
        entries = buckets[start]
        scored = [c for _, c in entries if c is not None]
        out.append(
            {
                "at": start.isoformat(),
                "mentions": len(entries),
                "negative": sum(1 for label, _ in entries if label == "negative"),
                "compound": round(sum(scored) / len(scored), 3) if scored else None,
            }
        )
    return out


# --- alerts ----------------------------------------------------------------------------------


def incident_url(settings: Settings, incident_id: int) -> str:
    return f"{settings.general.base_url.rstrip('/')}/incidents/{incident_id}"


def _examples(session: Session, ids: Sequence[int]) -> list[str]:
    if not ids:
        return []
    rows = session.execute(
        select(Mention.id, Mention.platform, Mention.text, Author.handle, Score.personal_data)
        .join(Author, Author.id == Mention.author_id)
        .outerjoin(Score, Score.mention_id == Mention.id)
        .where(Mention.id.in_(list(ids)))
    ).all()
    by_id = {r.id: r for r in rows}
    out = []
    for mid in ids:
        row = by_id.get(mid)
        if row is None:
            continue
        who = f"@{row.handle}" if row.handle else "someone"
        out.append(f'{who} on {_platform_name(row.platform)}: "{quote(row.text, row.personal_data or ())}"')
    return out


def _platform_name(platform: str) -> str:
    names = {
        "x": "X",
        "facebook": "Facebook",
        "instagram": "Instagram",
        "linkedin": "LinkedIn",
        "bluesky": "Bluesky",
        "rss": "the news",
    }
    return names.get(platform, platform)


def describe(session: Session, settings: Settings, incident: Incident) -> str:
    """The alert text: what was met (in plain words, with example posts), the level, and the link."""
    lines = [
        f"Level: {incident.level.upper()} — {incident.subject}",
        f"Opened {incident.opened_at:%d %b %Y %H:%M} UTC; {incident.mentions_count} mentions so far"
        + (f" on {', '.join(incident.accounts)}" if incident.accounts else "")
        + ".",
    ]
    if incident.summary.get("why"):
        lines.append(f"Why: {incident.summary['why']}")
        lines += [
            f"    e.g. {example}" for example in _examples(session, incident.summary.get("samples", []))
        ]
    lines += [
        "",
        "Crisis criteria met (policy 7.2):",
    ]
    details = incident.summary.get("details", {})
    for criterion in incident.criteria:
        lines.append(
            f"- {CRITERIA_WORDS[criterion]}" + (f" ({details[criterion]})" if criterion in details else "")
        )
        for example in _examples(session, incident.evidence.get(criterion, [])[:EXAMPLES_PER_CRITERION]):
            lines.append(f"    e.g. {example}")
    missing = [c for c in CRITERIA if c not in incident.criteria]
    if missing:
        lines.append("Not met: " + "; ".join(CRITERIA_WORDS[c].lower() for c in missing) + ".")
    lines += [
        "",
        "Next: acknowledge, post the listening message, and start the considered response.",
        f'Suggested listening message: "{settings.incidents.listening_message}"',
        f"Incident page: {incident_url(settings, incident.id)}",
    ]
    return "\n".join(lines)


def _queue_incident_alert(session: Session, settings: Settings, incident: Incident, now: datetime) -> None:
    queue_alert(
        session,
        kind="incident",
        audience="leads",
        title=f"{incident.level.capitalize()}: {incident.subject}"[:500],
        body=describe(session, settings, incident),
        dedupe_key=f"incident:{incident.id}:{incident.level}",
        incident_id=incident.id,
        level=incident.level,
        now=now,
    )


def escalate_unacknowledged(engine: Engine, settings: Settings, *, now: datetime | None = None) -> int:
    """Send each incident alert nobody acknowledged within the configured minutes to the escalation list.

    Once per incident and level; returns how many escalations were queued.
    """
    now = now or utcnow()
    cutoff = now - timedelta(minutes=settings.alerts.escalate_after_minutes)
    escalation = aliased(Alert)
    with write_transaction(engine) as session:
        overdue = session.execute(
            select(Alert, Incident)
            .join(Incident, Incident.id == Alert.incident_id)
            .where(_unescalated(escalation), Alert.created_at <= cutoff)
            .order_by(Alert.created_at)
        ).all()
        queued = 0
        for alert, incident in overdue:
            waited = int((now - alert.created_at).total_seconds() // 60)
            made = queue_alert(
                session,
                kind="escalation",
                audience="escalation",
                title=f"Not acknowledged after {waited} min — {alert.title}"[:500],
                body=(
                    f"Nobody has acknowledged this {alert.level} alert, sent to the comms leads "
                    f"{waited} minutes ago.\n\n" + describe(session, settings, incident)
                ),
                dedupe_key=f"escalation:incident:{incident.id}:{alert.level}",
                incident_id=incident.id,
                level=alert.level,
                now=now,
            )
            if made is None:
                continue
            queued += 1
            if incident.escalated_at is None:
                incident.escalated_at = now
            audit.record(
                session,
                actor=SYSTEM,
                action="incident.escalated",
                object_type="incident",
                object_id=incident.id,
                after={"level": alert.level, "alert_id": alert.id, "waited_minutes": waited},
            )
        return queued


def _unescalated(escalation: Any) -> Any:
    return and_(
        Alert.kind == "incident",
        Alert.acknowledged_at.is_(None),
        Incident.status != "resolved",
        ~exists().where(
            and_(
                escalation.kind == "escalation",
                escalation.incident_id == Alert.incident_id,
                escalation.level == Alert.level,
            )
        ),
    )


def next_escalation_at(session: Session, settings: Settings) -> datetime | None:
    """When the next unacknowledged alert falls due for escalation (the replay's clock jumps to it)."""
    escalation = aliased(Alert)
    first = session.scalar(
        select(func.min(Alert.created_at))
        .join(Incident, Incident.id == Alert.incident_id)
        .where(_unescalated(escalation))
    )
    return None if first is None else first + timedelta(minutes=settings.alerts.escalate_after_minutes)


def acknowledge(
    session: Session,
    *,
    incident: Incident,
    user: User | None,
    via: str,
    alert: Alert | None = None,
    now: datetime | None = None,
) -> int:
    """Acknowledge alerts about the incident; returns how many that covered.

    On the incident page (``alert`` None) a lead acknowledges every alert so far. An alert's
    link (``via="link"``, ``alert`` the one it came in) covers that alert and the alerts and
    escalations of the same incident at its level or below — never a later, higher one, which
    still escalates if nobody answers it. ``user`` is whoever is signed in, or None: a link
    needs no sign-in, and then the audit names the alert instead of a person.
    """
    now = now or utcnow()
    unacknowledged = select(Alert).where(Alert.incident_id == incident.id, Alert.acknowledged_at.is_(None))
    if alert is not None:
        covered_levels = LEVELS[: level_rank(alert.level) + 1] if alert.level in LEVELS else ()
        unacknowledged = unacknowledged.where((Alert.id == alert.id) | Alert.level.in_(covered_levels))
    covered = session.scalars(unacknowledged.order_by(Alert.id)).all()
    for each in covered:
        each.acknowledged_at = now
        each.acknowledged_by_id = user.id if user else None
    whole = alert is None or (alert.level in LEVELS and level_rank(alert.level) >= level_rank(incident.level))
    if whole:
        incident.acknowledged_at = now
        incident.acknowledged_by_id = user.id if user else None
    audit.record(
        session,
        actor=user or (f"ack-link:alert:{alert.id}" if alert else f"ack-link:incident:{incident.id}"),
        action="incident.acknowledged",
        object_type="incident",
        object_id=incident.id,
        after={
            "via": via,
            "alerts": [a.id for a in covered],
            "level": alert.level if alert is not None else incident.level,
        },
    )
    return len(covered)


# --- status and the summary ------------------------------------------------------------------


def set_responding(session: Session, *, incident: Incident, user: User | str) -> None:
    if incident.status == "listening":
        incident.status = "responding"
        audit.record(
            session,
            actor=user,
            action="incident.responding",
            object_type="incident",
            object_id=incident.id,
            before={"status": "listening"},
            after={"status": "responding"},
        )


class IncidentClosed(Exception):
    """The incident is resolved: nothing more can be done on it."""


class NotResolved(Exception):
    """Only a resolved incident can be opened again."""


class WordsRequired(ValueError):
    """A lead's summary, reason or name is empty: the record must say why."""


def resolve(
    session: Session,
    *,
    incident: Incident,
    user: User,
    note: str,
    warnings: Sequence[str] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    """Back to listening: record the summary managers read later, and close the incident.

    ``note`` is the lead's summary of what happened and what was done: required, because the
    record outlives everyone's memory of the day. ``warnings`` are what the lead was warned of
    and confirmed past (an unsigned response, items still open); they are kept with the summary.
    """
    if incident.status == "resolved":
        raise IncidentClosed("this incident is resolved already")
    if not note.strip():
        raise WordsRequired("Write a summary of what happened and what was done")
    now = now or utcnow()
    summary = build_summary(session, incident, now=now)
    summary["note"] = note.strip()
    summary["warnings"] = list(warnings)
    before = {"status": incident.status}
    incident.summary = {**incident.summary, "resolution": summary}
    incident.status = "resolved"
    incident.resolved_at = now
    incident.resolved_by_id = user.id
    audit.record(
        session,
        actor=user,
        action="incident.resolved",
        object_type="incident",
        object_id=incident.id,
        before=before,
        after={"status": "resolved", "summary": summary},
    )
    return summary


def reopen(
    session: Session, *, incident: Incident, user: User, reason: str, now: datetime | None = None
) -> None:
    """A lead opens a resolved incident again (it was closed too soon); the earlier summary is kept."""
    if incident.status != "resolved":
        raise NotResolved("this incident is not resolved")
    if not reason.strip():
        raise WordsRequired("Say why the incident is opened again")
    _open_again(session, incident, actor=user, at=now or utcnow(), after={"reason": reason.strip()})


def rename(session: Session, *, incident: Incident, user: User, name: str) -> None:
    """A lead names the incident in words people use; the crisis monitor no longer renames it."""
    name = " ".join(name.split())[:500]
    if not name:
        raise WordsRequired("Give the incident a name")
    if name == incident.subject:
        return
    before = {"subject": incident.subject}
    incident.subject = name
    incident.summary = {**incident.summary, "named_by": user.id}
    audit.record(
        session,
        actor=user,
        action="incident.renamed",
        object_type="incident",
        object_id=incident.id,
        before=before,
        after={"subject": name},
    )


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 60, 1)


def build_summary(session: Session, incident: Incident, *, now: datetime) -> dict[str, Any]:
    """Volumes, time to first alert, time to the listening message, and what was posted."""
    first_mention = session.scalar(
        select(func.min(Mention.created_at))
        .join(IncidentMention, IncidentMention.mention_id == Mention.id)
        .where(IncidentMention.incident_id == incident.id)
    )
    timeline = incident.timeline or []
    peak = max(timeline, key=lambda b: b["mentions"], default=None)
    posted = session.scalars(
        select(Reply)
        .where(Reply.incident_id == incident.id, Reply.status.in_(("approved", "sending", "held", "sent")))
        .order_by(Reply.created_at)
    ).all()
    response = session.scalars(
        select(Response).where(Response.incident_id == incident.id).order_by(Response.id.desc())
    ).first()
    signoffs = (
        session.scalars(select(SignOff).where(SignOff.response_id == response.id)).all() if response else []
    )
    alerts = session.scalars(select(Alert).where(Alert.incident_id == incident.id)).all()
    listening_sent = min((r.sent_at for r in posted if r.purpose == "listening" and r.sent_at), default=None)
    return {
        "level": incident.level,
        "criteria": incident.criteria,
        "mentions": incident.mentions_count,
        "negative": sum(b["negative"] for b in timeline),
        "accounts": incident.accounts,
        "peak": {"at": peak["at"], "mentions": peak["mentions"]} if peak else None,
        "first_mention_at": first_mention.isoformat() if first_mention else None,
        "opened_at": incident.opened_at.isoformat(),
        "resolved_at": now.isoformat(),
        "minutes_open": _minutes(incident.opened_at, now),
        "minutes_to_first_alert": _minutes(first_mention or incident.opened_at, incident.first_alert_at),
        "minutes_to_acknowledge": _minutes(incident.first_alert_at, incident.acknowledged_at),
        # Until the post is out, the lead's approval is the best time there is.
        "minutes_to_listening_message": _minutes(
            first_mention or incident.opened_at, listening_sent or incident.listening_message_at
        ),
        "listening_message_sent": listening_sent is not None,
        "escalated": incident.escalated_at is not None,
        "alerts": {
            "sent": sum(1 for a in alerts if a.status == "sent"),
            "failed": sum(1 for a in alerts if a.status == "failed"),
        },
        "posted": [
            {
                "purpose": r.purpose,
                "platform": r.platform,
                "account": r.source_key,
                "in_reply_to": r.in_reply_to,
                "status": r.status,
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                "text": r.text,
            }
            for r in posted
        ],
        "response": (
            {
                "format": response.format,
                "status": response.status,
                "posted_at": response.posted_at.isoformat() if response.posted_at else None,
                "signed_off_by": [s.stakeholder for s in signoffs],
            }
            if response
            else None
        ),
    }
