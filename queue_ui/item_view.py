"""Everything the item page shows, gathered in one place so the route stays thin and the API can share it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from listener.queue import notes_tags
from listener.queue.inbox import ReturnNote, return_note
from listener.queue.items import get_item, in_open_incident, viewers
from listener.queue.sentiment_overrides import override_for
from listener.replies import drafts as replies
from listener.replies import moderation
from listener.rules import guidance_book
from listener.settings import Settings
from listener.store.models import (
    Author,
    Incident,
    Mention,
    ModerationRequest,
    Note,
    QueueItem,
    Reply,
    Score,
    SentimentOverride,
    User,
)
from triage.guidance import KINDS, GuidanceCard, classify_item, guidance_for
from triage.model import PersonalDataFinding
from triage.model import Score as TriageScore
from triage.templates import SuggestedReply, suggest_replies

THREAD_LIMIT = 20


@dataclass
class ItemPage:
    item: QueueItem
    mention: Mention
    author: Author
    score: Score | None
    sentiment_override: SentimentOverride | None
    assignee: User | None
    incident: Incident | None
    kind: str
    kind_label: str
    thread: list[Mention] = field(default_factory=list)
    author_posts: list[Mention] = field(default_factory=list)
    earlier_replies: list[Reply] = field(default_factory=list)
    guidance: list[GuidanceCard] = field(default_factory=list)
    suggestions: list[SuggestedReply] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    working: Reply | None = None
    returned: ReturnNote | None = None  # the lead's note when the working reply was sent back
    notes: list[tuple[Note, str]] = field(default_factory=list)  # with the writer's name
    tags: list[str] = field(default_factory=list)
    hide_requests: list[ModerationRequest] = field(default_factory=list)
    viewers: list[User] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.item.status in ("new", "claimed")

    @property
    def can_hide(self) -> bool:
        return moderation.moderation_refusal(self.mention) is None

    @property
    def hide_action(self) -> str:
        """``hide``, or ``delete`` where the platform cannot hide (LinkedIn)."""
        return moderation.action_for(self.mention.platform)

    @property
    def reply_refusal(self) -> str | None:
        """Why this post cannot be answered from here (e.g. an Instagram reply to a reply), or None."""
        return replies.reply_refusal(self.mention)

    @property
    def reply_in_flight(self) -> bool:
        return any(r.status in replies.IN_FLIGHT for r in self.replies)


def triage_score(row: Score) -> TriageScore:
    """The stored score as triage's own type (personal data positions only: the values were never kept)."""
    return TriageScore(
        compound=row.compound,
        pos=row.pos,
        neg=row.neg,
        neu=row.neu,
        label=row.label,
        emotive=row.emotive,
        legal_terms=list(row.legal_terms),
        media=row.media,
        personal_data=[
            PersonalDataFinding(kind=p.get("kind", ""), start=p.get("start", 0), end=p.get("end", 0), text="")
            for p in row.personal_data
        ],
        is_question=row.is_question,
        is_complaint=row.is_complaint,
        is_compliment=row.is_compliment,
        abusive=row.abusive,
        topic=row.topic,
        reach=row.reach,
        priority=row.priority,
        reasons=list(row.reasons),
    )


def build_item_page(
    session: Session, settings: Settings, *, item_id: int, user: User, now: datetime
) -> ItemPage:
    item = get_item(session, item_id)
    mention = session.get_one(Mention, item.mention_id)
    author = session.get_one(Author, mention.author_id)
    score = session.get(Score, mention.id)
    incident = in_open_incident(session, item)
    triage = triage_score(score) if score is not None else None
    kind = "crisis" if incident is not None else (classify_item(triage) if triage is not None else "comment")
    page = ItemPage(
        item=item,
        mention=mention,
        author=author,
        score=score,
        sentiment_override=override_for(session, mention.id),
        assignee=session.get(User, item.assignee_id) if item.assignee_id else None,
        incident=incident,
        kind=kind,
        kind_label=KINDS.get(kind, kind),
    )
    if mention.conversation_id is not None:
        page.thread = list(
            session.scalars(
                select(Mention)
                .where(
                    Mention.conversation_id == mention.conversation_id,
                    Mention.id != mention.id,
                    Mention.created_at <= mention.created_at,
                )
                .order_by(Mention.created_at.desc())
                .limit(THREAD_LIMIT)
            )
        )[::-1]
    elsewhere = (
        or_(Mention.conversation_id.is_(None), Mention.conversation_id != mention.conversation_id)
        if mention.conversation_id is not None
        else Mention.id != mention.id
    )
    page.author_posts = list(
        session.scalars(
            select(Mention)
            .where(Mention.author_id == author.id, Mention.created_at < mention.created_at, elsewhere)
            .order_by(Mention.created_at.desc())
            .limit(THREAD_LIMIT)
        )
    )
    page.earlier_replies = list(
        session.scalars(
            select(Reply)
            .join(QueueItem, QueueItem.id == Reply.queue_item_id)
            .join(Mention, Mention.id == QueueItem.mention_id)
            .where(Mention.author_id == author.id, QueueItem.id != item.id, Reply.status == "sent")
            .order_by(Reply.sent_at.desc())
            .limit(THREAD_LIMIT)
        )
    )
    if triage is not None and mention.platform in replies.REPLY_PLATFORMS:
        page.guidance = guidance_for(
            triage, book=guidance_book(), kind=kind, in_crisis=incident is not None, platform=mention.platform
        )
        page.suggestions = suggest_replies(
            replies.reply_templates(session),
            kind=kind,
            author_name=author.name.split()[0] if author.name.split() else "",
            agent_initials=user.initials,
            agent_first_name=user.first_name,
            platform=mention.platform,
        )
    page.replies = replies.replies_for(session, item.id)
    page.working = next((r for r in reversed(page.replies) if r.status in replies.WORKING), None)
    page.returned = return_note(session, page.working)
    page.notes = notes_tags.notes_for(session, item.id)
    page.tags = notes_tags.tags_for(session, [item.id])[item.id]
    page.hide_requests = moderation.requests_for(session, item.id)
    page.viewers = viewers(session, item_id=item.id, now=now, exclude=user)
    return page


def reply_link(reply: Reply) -> str | None:
    """Where the sent reply can be seen on the platform."""
    if reply.platform_url:
        return reply.platform_url
    if not reply.platform_reply_id:
        return None
    if reply.platform == "x":
        return f"https://x.com/i/web/status/{reply.platform_reply_id}"
    if reply.platform == "facebook":
        return f"https://www.facebook.com/{reply.platform_reply_id}"
    if reply.platform == "linkedin":  # the comment URN names the post's activity: open the post there
        activity = reply.platform_reply_id.removeprefix("urn:li:comment:(").split(",")[0]
        return f"https://www.linkedin.com/feed/update/{activity}/"
    if reply.platform == "bluesky" and reply.platform_reply_id.startswith("at://"):
        # at://<did>/app.bsky.feed.post/<rkey> -> the post's page on the app
        did, _, rest = reply.platform_reply_id.removeprefix("at://").partition("/")
        return f"https://bsky.app/profile/{did}/post/{rest.rpartition('/')[2]}"
    return None
