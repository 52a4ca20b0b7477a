"""The JSON API: the queue's operations for scripts and tools, with the same session and roles as the pages.

Sign in through ``/sign-in`` (the session cookie), read the CSRF token from ``GET /api/session``
and send it as ``X-CSRF-Token`` on every write. The schema is at ``/api/openapi.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from listener.queue.items import (
    PAGE_SIZE,
    ItemNotFound,
    QueueError,
    QueueFilters,
    assign,
    claim,
    get_item,
    list_items,
    release,
    tab_counts,
)
from listener.replies import drafts as replies
from listener.replies.drafts import LintBlocked, ReplyError
from listener.store.models import Reply, User
from queue_ui.deps import MAX_ID, Agent, CsrfChecked, DbSession, Now, RowId, csrf_token
from queue_ui.item_view import build_item_page, reply_link
from queue_ui.settings_view import effective

router = APIRouter(prefix="/api", tags=["queue"])

Tab = Literal["new", "mine", "unassigned", "approval", "crisis", "closed"]
Platform = Literal["x", "facebook", "rss"]
Sentiment = Literal["negative", "neutral", "positive"]
Due = Literal["overdue", "soon", "today"]


class Problem(BaseModel):
    detail: str


class UserOut(BaseModel):
    id: int
    name: str
    initials: str
    role: str


class SessionOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="Send as the X-CSRF-Token header on every POST, PUT or DELETE.")


class QueueItemOut(BaseModel):
    id: int
    status: str
    priority: int
    due_at: datetime
    assignee: UserOut | None
    platform: str
    source: str
    author: str
    text: str
    sentiment: str | None
    incident_id: int | None
    reply_status: str | None
    version: int


class QueuePageOut(BaseModel):
    tab: str
    items: list[QueueItemOut]
    next_cursor: str | None = Field(description="Pass as `after` for the next page; null on the last page.")
    counts: dict[str, int] = Field(description="Items per tab, counted up to 1,000.")


class FindingOut(BaseModel):
    rule: str
    severity: Literal["block", "warn", "tip"]
    start: int
    end: int
    message: str
    suggestion: str | None = None


class ReplyOut(BaseModel):
    id: int
    status: str
    text: str
    lint: list[FindingOut]
    author: str
    created_at: datetime
    approved_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    link: str | None


class ItemOut(QueueItemOut):
    kind: str
    score: dict[str, Any] | None
    guidance: list[dict[str, str]]
    suggestions: list[dict[str, str]]
    replies: list[ReplyOut]
    viewers: list[str]


class AssignIn(BaseModel):
    user_id: int = Field(ge=1, le=MAX_ID)


class TextIn(BaseModel):
    text: str = Field(max_length=replies.MAX_REPLY_CHARS)


class SendIn(TextIn):
    override: bool = Field(
        default=False, description="Leads only: send despite a blocking finding (audited)."
    )


class SendOut(BaseModel):
    reply: ReplyOut
    queued: bool
    needs_approval: bool


class LintIn(BaseModel):
    text: str = Field(max_length=replies.MAX_REPLY_CHARS)
    platform: Literal["x", "facebook"]


class LintOut(BaseModel):
    ok: bool
    findings: list[FindingOut]
    used: int
    limit: int


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not signed in"},
    403: {"model": Problem, "description": "Role too low, or CSRF token missing"},
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": Problem, "description": "No such item"},
    409: {"model": Problem, "description": "Held by someone else, closed, or already answered"},
}


def _person(user: User) -> UserOut:
    return UserOut(id=user.id, name=user.name, initials=user.initials, role=user.role)


def _user(user: User | None) -> UserOut | None:
    return _person(user) if user is not None else None


def _reply(reply: Reply) -> ReplyOut:
    return ReplyOut(
        id=reply.id,
        status=reply.status,
        text=reply.text,
        lint=[FindingOut(**f) for f in reply.lint],
        author=reply.author.name,
        created_at=reply.created_at,
        approved_at=reply.approved_at,
        sent_at=reply.sent_at,
        last_error=reply.last_error,
        link=reply_link(reply),
    )


def _conflict(exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=409)


@router.get("/session", response_model=SessionOut, responses=ERRORS)
def session_info(request: Request, user: Agent) -> SessionOut:
    """Who is signed in, and the CSRF token to send with writes."""
    return SessionOut(user=_person(user), csrf_token=csrf_token(request))


@router.get("/queue", response_model=QueuePageOut, responses=ERRORS)
def queue(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    tab: Tab = "new",
    platform: Platform | None = None,
    source: Annotated[str | None, Query(max_length=500)] = None,
    sentiment: Sentiment | None = None,
    priority: Annotated[int | None, Query(ge=1, le=4)] = None,
    due: Due | None = None,
    incident: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    after: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
) -> QueuePageOut:
    """One page of a queue tab, ordered by priority then due time (closed: newest first)."""
    settings = effective(request, db)
    filters = QueueFilters(
        platform=platform, source=source, sentiment=sentiment, priority=priority, due=due, incident=incident
    )
    page = list_items(
        db,
        tab=tab,
        user=user,
        filters=filters,
        now=now,
        warn_minutes=settings.sla.warn_before_minutes,
        after=after,
        limit=limit,
        timezone=settings.general.timezone,
    )
    items = [
        QueueItemOut(
            id=row.item.id,
            status=row.item.status,
            priority=row.item.priority,
            due_at=row.item.due_at,
            assignee=_user(row.assignee),
            platform=row.mention.platform,
            source=row.mention.source_key,
            author=row.author.handle or row.author.name,
            text=row.mention.text,
            sentiment=row.score.label if row.score else None,
            incident_id=row.item.incident_id,
            reply_status=row.reply_status,
            version=row.item.version,
        )
        for row in page.rows
    ]
    return QueuePageOut(
        tab=tab, items=items, next_cursor=page.next_cursor, counts=tab_counts(db, user=user, now=now)
    )


def _item_out(request: Request, db: DbSession, user: User, now: datetime, item_id: int) -> ItemOut:
    page = build_item_page(db, effective(request, db), item_id=item_id, user=user, now=now)
    return ItemOut(
        id=page.item.id,
        status=page.item.status,
        priority=page.item.priority,
        due_at=page.item.due_at,
        assignee=_user(page.assignee),
        platform=page.mention.platform,
        source=page.mention.source_key,
        author=page.author.handle or page.author.name,
        text=page.mention.text,
        sentiment=page.score.label if page.score else None,
        incident_id=page.item.incident_id,
        reply_status=page.replies[-1].status if page.replies else None,
        version=page.item.version,
        kind=page.kind,
        score=(
            {
                "label": page.score.label,
                "compound": page.score.compound,
                "priority": page.score.priority,
                "emotive": page.score.emotive,
                "reach": page.score.reach,
                "topic": page.score.topic,
                "legal_terms": page.score.legal_terms,
                "personal_data": [p.get("kind") for p in page.score.personal_data],
                "reasons": page.score.reasons,
            }
            if page.score
            else None
        ),
        guidance=[
            {
                "id": c.id,
                "title": c.title,
                "body": c.body,
                "importance": c.importance,
                "policy": c.policy_section,
            }
            for c in page.guidance
        ],
        suggestions=[{"template": s.template_id, "title": s.title, "text": s.text} for s in page.suggestions],
        replies=[_reply(r) for r in page.replies],
        viewers=[v.name for v in page.viewers],
    )


@router.get("/items/{item_id}", response_model=ItemOut, responses={**ERRORS, 404: {"model": Problem}})
def item(request: Request, db: DbSession, user: Agent, now: Now, item_id: RowId) -> ItemOut:
    """An item with its post, scores, guidance, suggested replies and replies."""
    return _item_out(request, db, user, now, item_id)


@router.post("/items/{item_id}/claim", response_model=ItemOut, responses=WRITE_ERRORS)
def claim_item(
    request: Request, db: DbSession, user: Agent, now: Now, _csrf: CsrfChecked, item_id: RowId
) -> Any:
    """Claim an unassigned item; 409 names who holds it when someone else claimed it first."""
    try:
        claim(db, item_id=item_id, user=user, now=now)
    except ItemNotFound:
        raise
    except QueueError as exc:
        return _conflict(exc)
    return _item_out(request, db, user, now, item_id)


@router.post("/items/{item_id}/release", response_model=ItemOut, responses=WRITE_ERRORS)
def release_item(
    request: Request, db: DbSession, user: Agent, now: Now, _csrf: CsrfChecked, item_id: RowId
) -> Any:
    try:
        release(db, item_id=item_id, user=user, now=now)
    except ItemNotFound:
        raise
    except QueueError as exc:
        return _conflict(exc)
    return _item_out(request, db, user, now, item_id)


@router.post("/items/{item_id}/assign", response_model=ItemOut, responses=WRITE_ERRORS)
def assign_item(
    request: Request, db: DbSession, user: Agent, now: Now, _csrf: CsrfChecked, item_id: RowId, body: AssignIn
) -> Any:
    assignee = db.get(User, body.user_id)
    if assignee is None:
        return JSONResponse({"detail": "No such user."}, status_code=422)
    try:
        assign(db, item_id=item_id, assignee=assignee, actor=user, now=now)
    except ItemNotFound:
        raise
    except QueueError as exc:
        return _conflict(exc)
    return _item_out(request, db, user, now, item_id)


@router.put("/items/{item_id}/draft", response_model=ReplyOut, responses=WRITE_ERRORS)
def save_draft(
    request: Request, db: DbSession, user: Agent, now: Now, _csrf: CsrfChecked, item_id: RowId, body: TextIn
) -> Any:
    """Save the reply as a draft (claims the item when nobody holds it)."""
    try:
        reply = replies.save_draft(
            db,
            item=get_item(db, item_id),
            user=user,
            text=body.text,
            settings=effective(request, db),
            now=now,
        )
    except ItemNotFound:
        raise
    except (ReplyError, QueueError) as exc:
        return _conflict(exc)
    return _reply(reply)


@router.post(
    "/items/{item_id}/send",
    response_model=SendOut,
    responses={**WRITE_ERRORS, 422: {"model": Problem, "description": "The reply checker blocks sending"}},
)
def send(
    request: Request, db: DbSession, user: Agent, now: Now, _csrf: CsrfChecked, item_id: RowId, body: SendIn
) -> Any:
    """Queue the reply in the outbox, or for a lead's approval when the item is part of an open crisis."""
    try:
        outcome = replies.send(
            db,
            item=get_item(db, item_id),
            user=user,
            text=body.text,
            settings=effective(request, db),
            now=now,
            override=body.override,
        )
    except LintBlocked as exc:
        return JSONResponse(
            {"detail": str(exc), "findings": [f.to_dict() for f in exc.result.findings]}, status_code=422
        )
    except ItemNotFound:
        raise
    except (ReplyError, QueueError) as exc:
        return _conflict(exc)
    return SendOut(reply=_reply(outcome.reply), queued=outcome.queued, needs_approval=outcome.needs_approval)


@router.post("/lint", response_model=LintOut, responses=ERRORS)
def lint(request: Request, db: DbSession, user: Agent, _csrf: CsrfChecked, body: LintIn) -> LintOut:
    """Run the reply checker; ``used``/``limit`` are characters as the platform counts them."""
    result = replies.lint(body.text, platform=body.platform, settings=effective(request, db))
    used, limit = replies.length_used(body.text, body.platform)
    return LintOut(
        ok=result.ok, findings=[FindingOut(**f.to_dict()) for f in result.findings], used=used, limit=limit
    )
