"""The domain of DESIGN.md as tables. Constraints protect the data; indexes serve the queue's sort orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from listener.store.types import JSONType, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("agent", "lead", "manager", "admin")
ITEM_STATUSES = ("new", "claimed", "replied", "closed", "no_reply_needed")
REPLY_STATUSES = ("draft", "pending_approval", "approved", "sending", "held", "sent", "failed")
# A reply in one of these is being written or is on its way: an item has at most one (a partial
# unique index), and so has each target of an incident's post. ``held``: the outbox could not tell
# whether an earlier attempt was posted, and waits for a person to check.
LIVE_REPLY_STATUSES = ("draft", "pending_approval", "approved", "sending", "held")
INCIDENT_STATUSES = ("listening", "responding", "resolved")
LEVELS = ("watch", "alert", "crisis")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    initials: Mapped[str] = mapped_column(String(8))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when an admin issued a one-time password: every page but "change your password" is closed.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    password_changed_at: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(String(64))  # base32; set = second factor on

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else self.initials


class SignInSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored here.

    Every request looks its row up, so deleting the row (sign-out, disable, role or password
    change, an admin ending it) refuses the cookie at once.
    """

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class SignInCounter(Base):
    """Failed sign-ins per key (``address:<ip>`` or ``account:<email>|<ip>``), shared by every UI process."""

    __tablename__ = "sign_in_counters"

    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime]
    lockouts: Mapped[int] = mapped_column(Integer, default=0)  # doubles the next lockout: backoff
    locked_until: Mapped[datetime | None]


class Source(Base):
    """Something polled. The lease columns let several workers share sources: one poller at a time."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(500), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    interval_seconds: Mapped[int] = mapped_column(Integer, default=120)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    attention_reason: Mapped[str | None] = mapped_column(Text)
    next_poll_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    polls: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    checkpoint: Mapped[Checkpoint | None] = relationship(back_populates="source", uselist=False)


class Checkpoint(Base):
    __tablename__ = "checkpoints"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_poll_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    retry_at: Mapped[datetime | None]  # rate-limit reset or backoff
    last_count: Mapped[int] = mapped_column(Integer, default=0)
    lag_seconds: Mapped[float | None] = mapped_column(Float)

    source: Mapped[Source] = relationship(back_populates="checkpoint")


class Author(Base):
    __tablename__ = "authors"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    handle: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str] = mapped_column(String(400), default="")
    followers: Mapped[int] = mapped_column(Integer, default=0)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    is_media: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymised_at: Mapped[datetime | None]


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("platform", "thread_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    thread_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)


class Mention(Base):
    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("platform", "external_id"),
        Index("ix_mentions_created_at", "created_at"),
        Index("ix_mentions_author_created", "author_id", "created_at"),
        Index("ix_mentions_conversation", "conversation_id", "created_at"),
        # The crisis watch re-reads recent arrivals by received_at (ids can commit out of order).
        Index("ix_mentions_received", "received_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    source_key: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    text: Mapped[str] = mapped_column(Text)
    # What the connector had to change so a database could store the text (lone surrogates, NUL).
    text_note: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(100))
    lang: Mapped[str | None] = mapped_column(String(20))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_own: Mapped[bool] = mapped_column(Boolean, default=False)
    is_repost: Mapped[bool] = mapped_column(Boolean, default=False)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    anonymised_at: Mapped[datetime | None]

    author: Mapped[Author] = relationship()
    score: Mapped[Score | None] = relationship(back_populates="mention", uselist=False)
    queue_item: Mapped[QueueItem | None] = relationship(back_populates="mention", uselist=False)


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (
        CheckConstraint(_in("label", ("positive", "neutral", "negative")), name="label"),
        Index("ix_scores_topic", "topic"),
    )

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    compound: Mapped[float] = mapped_column(Float)
    pos: Mapped[float] = mapped_column(Float)
    neg: Mapped[float] = mapped_column(Float)
    neu: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(10))
    emotive: Mapped[float] = mapped_column(Float, default=0.0)
    legal_terms: Mapped[list[Any]] = mapped_column(default=list)
    media: Mapped[bool] = mapped_column(Boolean, default=False)
    personal_data: Mapped[list[Any]] = mapped_column(default=list)  # [{kind, start, end}] — never the value
    is_question: Mapped[bool] = mapped_column(Boolean, default=False)
    is_complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    is_compliment: Mapped[bool] = mapped_column(Boolean, default=False)
    abusive: Mapped[bool] = mapped_column(Boolean, default=False)
    topic: Mapped[str | None] = mapped_column(String(200))
    reach: Mapped[int] = mapped_column(Integer, default=0)
    priority: Mapped[int] = mapped_column(Integer, default=3)
    reasons: Mapped[list[Any]] = mapped_column(default=list)

    mention: Mapped[Mention] = relationship(back_populates="score")


class SentimentOverride(Base):
    """An agent's word on a mention's sentiment ("this is actually neutral"), beside the scorer's.

    One per mention (the latest word stands; each change is in the audit log). ``scored_label``
    is the scorer's label when the agent judged it: together they are labelled data, and the
    share where the two agree is the reports' agreement rate.
    """

    __tablename__ = "sentiment_overrides"
    __table_args__ = (
        CheckConstraint(_in("label", ("positive", "neutral", "negative")), name="label"),
        CheckConstraint(_in("scored_label", ("positive", "neutral", "negative")), name="scored_label"),
    )

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(10))
    scored_label: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    judged_at: Mapped[datetime] = mapped_column(default=utcnow)


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(_in("status", INCIDENT_STATUSES), name="status"),
        CheckConstraint(_in("level", LEVELS), name="level"),
        UniqueConstraint("episode_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_key: Mapped[str] = mapped_column(String(200))  # from the crisis monitor: one incident per episode
    subject: Mapped[str] = mapped_column(String(500))
    topic: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default="listening")
    criteria: Mapped[list[Any]] = mapped_column(default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)  # criterion -> [mention ids]
    accounts: Mapped[list[Any]] = mapped_column(default=list)
    timeline: Mapped[list[Any]] = mapped_column(default=list)  # [{at, mentions, negative, compound}]
    mentions_count: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime]
    level_changed_at: Mapped[datetime]
    first_alert_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    escalated_at: Mapped[datetime | None]
    listening_message_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class IncidentMention(Base):
    __tablename__ = "incident_mentions"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)


class QueueItem(Base):
    __tablename__ = "queue_items"
    __table_args__ = (
        CheckConstraint(_in("status", ITEM_STATUSES), name="status"),
        Index("ix_queue_open_order", "status", "priority", "due_at"),
        Index("ix_queue_assignee", "assignee_id", "status"),
        Index("ix_queue_incident", "incident_id"),
        Index("ix_queue_created", "created_at"),
        # The open items alone, with what the open tabs' counts test: one small index-only pass
        # counts every open tab (listener.queue.items.tab_counts), however many items were closed.
        Index(
            "ix_queue_open_tabs",
            "status",
            "claimed_at",
            "assignee_id",
            "incident_id",
            postgresql_where=text("status IN ('new', 'claimed')"),
            sqlite_where=text("status IN ('new', 'claimed')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="new")
    priority: Mapped[int] = mapped_column(Integer, default=3)
    due_at: Mapped[datetime]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    no_reply_reason: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None]
    escalation_reason: Mapped[str | None] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    sla_warned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped on every change: a stale form cannot overwrite a newer state.
    version: Mapped[int] = mapped_column(Integer, default=1)

    mention: Mapped[Mention] = relationship(back_populates="queue_item")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])


def _live(extra: str) -> Any:
    return text(f"{extra} AND {_in('status', LIVE_REPLY_STATUSES)}")


class Reply(Base):
    """A reply through its life: draft -> pending_approval -> approved -> sending (-> held) -> sent | failed.

    Two partial unique indexes hold "exactly one" where SQLite's write lock would hide a race
    on PostgreSQL: one live reply per queue item, and one live post per incident, purpose,
    account and part (an incident's listening message and considered response).
    """

    __tablename__ = "replies"
    __table_args__ = (
        CheckConstraint(_in("status", REPLY_STATUSES), name="status"),
        UniqueConstraint("idempotency_key"),
        Index("ix_replies_outbox", "status", "next_attempt_at"),
        Index(
            "uq_replies_one_live_per_item",
            "queue_item_id",
            unique=True,
            sqlite_where=_live("queue_item_id IS NOT NULL"),
            postgresql_where=_live("queue_item_id IS NOT NULL"),
        ),
        Index(
            "uq_replies_one_live_per_post",
            "incident_id",
            "purpose",
            "source_key",
            "part",
            unique=True,
            sqlite_where=_live("queue_item_id IS NULL AND incident_id IS NOT NULL"),
            postgresql_where=_live("queue_item_id IS NULL AND incident_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_item_id: Mapped[int | None] = mapped_column(ForeignKey("queue_items.id"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    purpose: Mapped[str] = mapped_column(String(20), default="reply")  # reply | listening | response
    platform: Mapped[str] = mapped_column(String(20))
    source_key: Mapped[str] = mapped_column(String(500))
    in_reply_to: Mapped[str | None] = mapped_column(String(100))  # external id answered; None = a new post
    part: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # a thread's part number
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    lint: Mapped[list[Any]] = mapped_column(default=list)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    idempotency_key: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_reply_id: Mapped[str | None] = mapped_column(String(100))
    platform_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    author: Mapped[User] = relationship(foreign_keys=[author_id])


class ReplyAttempt(Base):
    """Written before each call to the platform, finished after: a crash leaves an open attempt to check."""

    __tablename__ = "reply_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    reply_id: Mapped[int] = mapped_column(ForeignKey("replies.id", ondelete="CASCADE"), index=True)
    worker: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))  # sent | temporary | permanent | found_existing
    error: Mapped[str | None] = mapped_column(Text)


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_item_id: Mapped[int | None] = mapped_column(ForeignKey("queue_items.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemTag(Base):
    """A tag a person put on a queue item ("parking", "letters"): reports can group by it."""

    __tablename__ = "item_tags"
    __table_args__ = (
        UniqueConstraint("queue_item_id", "tag"),
        Index("ix_item_tags_tag", "tag"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_item_id: Mapped[int] = mapped_column(ForeignKey("queue_items.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(40))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Response(Base):
    """The considered response of policy 7.2, with its checklist and the stakeholders' sign-offs."""

    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    format: Mapped[str] = mapped_column(
        String(20), default="post"
    )  # post | thread | statement | news_release
    text: Mapped[str] = mapped_column(Text, default="")
    checklist: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft | signed_off | posted
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None]


class SignOff(Base):
    """One per stakeholder per response; and one person signs one stakeholder's part of a given text."""

    __tablename__ = "signoffs"
    __table_args__ = (
        UniqueConstraint("response_id", "stakeholder"),
        Index("uq_signoffs_one_per_person", "response_id", "text_version", "user_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    stakeholder: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text_version: Mapped[str] = mapped_column(String(64))  # hash of the text signed: an edit voids it
    comment: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("dedupe_key"), Index("ix_alerts_pending", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))  # incident | escalation | source_attention | sla_warning
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    level: Mapped[str | None] = mapped_column(String(10))
    audience: Mapped[str] = mapped_column(String(20))  # leads | escalation | admins
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # One entry per channel per attempt ({channel, to (masked), status, at, error}): a retry skips
    # the channels that already have it, and the incident page shows where it went.
    deliveries: Mapped[list[Any]] = mapped_column(default=list)


class AuditEvent(Base):
    """Append-only: the app inserts and reads, never updates or deletes."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_at", "at"), Index("ix_audit_object", "object_type", "object_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(320))  # email, or "worker"/"cli" for the system
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Template(Base):
    """Saved replies and listening messages; config/templates holds the defaults, edits live here."""

    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    for_kinds: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SettingOverride(Base):
    """Thresholds and SLA targets changed by an admin in the UI (validated against Settings, audited)."""

    __tablename__ = "setting_overrides"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # dotted, e.g. "sla.urgent_minutes"
    value: Mapped[Any] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class WorkerHeartbeat(Base):
    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid:start
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ItemView(Base):
    """Who has an item open right now (refreshed while the page is open)."""

    __tablename__ = "item_views"

    queue_item_id: Mapped[int] = mapped_column(
        ForeignKey("queue_items.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Added by the queue UI (H6): hiding comments ------------------------------------------------


class ModerationRequest(Base):
    """A person asked for a comment to be hidden on the platform; the worker does it (connector.hide)."""

    __tablename__ = "moderation_requests"
    __table_args__ = (
        CheckConstraint(_in("status", ("pending", "done", "failed")), name="status"),
        Index("ix_moderation_pending", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_item_id: Mapped[int] = mapped_column(ForeignKey("queue_items.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20), default="hide")
    platform: Mapped[str] = mapped_column(String(20))
    source_key: Mapped[str] = mapped_column(String(500))
    external_id: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]


# --- Added by the performance benchmarks (H10): indexes the pages' queries need -----------------
# The item page lists an item's replies and the author's earlier replies, and the queue page
# looks up each row's latest reply: all by replies.queue_item_id, which without this index is
# a scan of every reply ever sent (bench/queue.py: item page p50 223 ms -> 33 ms at 100,000
# mentions on SQLite).
Index("ix_replies_item", Reply.queue_item_id)


# --- Added for Instagram @mentions (issue 20): webhook events waiting for the worker ------------


class InstagramMentionEvent(Base):
    """One ``mentions`` webhook from Meta: the worker looks the post up and ingests it.

    ``comment_id`` is ``""`` for a caption mention, so the unique constraint also holds for
    those (NULLs never collide): Meta delivers at least once, and a repeat is stored once.
    """

    __tablename__ = "instagram_mention_events"
    __table_args__ = (
        UniqueConstraint("media_id", "comment_id"),
        Index("ix_instagram_mention_events_undone", "done_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[str] = mapped_column(String(100))  # the IG user id the webhook entry names
    media_id: Mapped[str] = mapped_column(String(100))
    comment_id: Mapped[str] = mapped_column(String(100), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
