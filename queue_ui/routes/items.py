"""The item page and what people do there: claim, assign, release, reply, approve, close, escalate, hide."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from connectors.registry import PLATFORM_NAMES
from listener.accounts.users import has_role
from listener.queue.items import (
    ItemNotFound,
    QueueError,
    assign,
    assignable_users,
    claim,
    ensure_holder,
    get_item,
    record_view,
    release,
    viewers,
)
from listener.queue.sentiment_overrides import OverrideError, set_override
from listener.replies import decisions, moderation, outbox
from listener.replies import drafts as replies
from listener.replies.drafts import LintBlocked, ReplyError
from listener.replies.moderation import ModerationError
from listener.store.models import Mention, Reply, User
from queue_ui.deps import MAX_ID, Agent, CsrfChecked, DbSession, Lead, Now, RowId
from queue_ui.item_view import build_item_page, reply_link
from queue_ui.rendering import flash, render
from queue_ui.settings_view import effective

router = APIRouter()

ReplyText = Annotated[str, Form(max_length=replies.MAX_REPLY_CHARS)]
Reason = Annotated[str, Form(max_length=replies.MAX_REASON_CHARS)]


def _page(
    request: Request,
    db: DbSession,
    user: User,
    now: Any,
    item_id: int,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    text: str | None = None,
    lint_findings: list[dict[str, Any]] | None = None,
) -> HTMLResponse:
    settings = effective(request, db)
    try:
        page = build_item_page(db, settings, item_id=item_id, user=user, now=now)
    except ItemNotFound:
        return render(
            request,
            "error.html",
            status_code=404,
            title="Item not found",
            message=f"There is no item {item_id}.",
        )
    template_id = request.query_params.get("template")
    if text is None:
        chosen = next((s for s in page.suggestions if s.template_id == template_id), None)
        text = chosen.text if chosen else (page.working.text if page.working else "")
    if lint_findings is None:
        lint_findings = page.working.lint if page.working and page.working.text == text else []
    used, limit = (
        replies.length_used(text, page.mention.platform)
        if page.mention.platform in (replies.REPLY_PLATFORMS)
        else (len(text), 0)
    )
    return render(
        request,
        "item.html",
        status_code=status_code,
        title=f"Item {item_id}",
        page=page,
        errors=errors or {},
        text=text,
        lint_findings=lint_findings,
        used=used,
        limit=limit,
        users=assignable_users(db) if has_role(user, "lead") or page.item.assignee_id == user.id else [],
        warn_minutes=settings.sla.warn_before_minutes,
        reply_link=reply_link,
        is_lead=has_role(user, "lead"),
    )


def _done(request: Request, item_id: int, message: str) -> Response:
    flash(request, message)
    return RedirectResponse(f"/items/{item_id}", status_code=303)


@router.get("/items/{item_id}")
def item_page(request: Request, db: DbSession, user: Agent, now: Now, item_id: RowId) -> HTMLResponse:
    return _page(request, db, user, now, item_id)


@router.post("/items/{item_id}/claim")
def claim_item(
    request: Request, db: DbSession, user: Agent, now: Now, _csrf: CsrfChecked, item_id: RowId
) -> Response:
    try:
        claim(db, item_id=item_id, user=user, now=now)
    except QueueError as exc:
        return _page(request, db, user, now, item_id, status_code=409, errors={"claim": str(exc)})
    return _done(request, item_id, "You have claimed this item.")


@router.post("/items/{item_id}/release")
def release_item(
    request: Request, db: DbSession, user: Agent, now: Now, _csrf: CsrfChecked, item_id: RowId
) -> Response:
    try:
        release(db, item_id=item_id, user=user, now=now)
    except QueueError as exc:
        return _page(request, db, user, now, item_id, status_code=409, errors={"claim": str(exc)})
    return _done(request, item_id, "You have released this item back to the queue.")


@router.post("/items/{item_id}/assign")
def assign_item(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    item_id: RowId,
    assignee_id: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    assignee = db.get(User, assignee_id)
    if assignee is None:
        return _page(
            request, db, user, now, item_id, status_code=400, errors={"assignee_id": "Choose a person."}
        )
    try:
        assign(db, item_id=item_id, assignee=assignee, actor=user, now=now)
    except QueueError as exc:
        return _page(request, db, user, now, item_id, status_code=409, errors={"assignee_id": str(exc)})
    return _done(request, item_id, f"Assigned to {assignee.name}.")


@router.post("/items/{item_id}/sentiment")
def sentiment_override(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    item_id: RowId,
    label: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """The agent's word on the post's sentiment (the score itself is kept): audited, shown in reports."""
    try:
        item = get_item(db, item_id)
        set_override(db, mention_id=item.mention_id, label=label, user=user, now=now)
    except OverrideError as exc:
        return _page(request, db, user, now, item_id, status_code=400, errors={"sentiment": str(exc)})
    return _done(request, item_id, f"Sentiment noted as {label}.")


@router.post("/items/{item_id}/presence")
def presence(
    request: Request, db: DbSession, user: Agent, now: Now, _csrf: CsrfChecked, item_id: RowId
) -> HTMLResponse:
    """htmx heartbeat from an open item page: note this viewer, show the others."""
    get_item(db, item_id)
    record_view(db, item_id=item_id, user=user, now=now)
    return render(
        request, "partials/viewers.html", viewers=viewers(db, item_id=item_id, now=now, exclude=user)
    )


@router.post("/items/{item_id}/lint")
def lint_preview(
    request: Request, db: DbSession, user: Agent, _csrf: CsrfChecked, item_id: RowId, text: ReplyText = ""
) -> HTMLResponse:
    """The reply checker's findings and the characters left, as the agent types (htmx)."""
    item = get_item(db, item_id)
    mention = db.get_one(Mention, item.mention_id)
    platform = mention.platform
    settings = effective(request, db)
    result = replies.lint(text, source_key=mention.source_key, settings=settings)
    used, limit = replies.length_used(text, platform)
    return render(
        request,
        "partials/lint.html",
        lint_findings=[f.to_dict() for f in result.findings],
        used=used,
        limit=limit,
    )


@router.post("/items/{item_id}/reply")
def reply(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    item_id: RowId,
    text: ReplyText = "",
    action: Annotated[str, Form(max_length=20)] = "draft",
    override: Annotated[bool, Form()] = False,
) -> Response:
    settings = effective(request, db)
    try:
        item = get_item(db, item_id)
        if action == "send":
            outcome = replies.send(
                db, item=item, user=user, text=text, settings=settings, now=now, override=override
            )
            message = (
                "This item is part of an open incident: your reply is waiting for a comms lead's approval."
                if outcome.needs_approval
                else "Your reply is queued to send."
            )
            return _done(request, item_id, message)
        if action == "approval":
            replies.request_approval(db, item=item, user=user, text=text, settings=settings, now=now)
            return _done(request, item_id, "Your reply is waiting for a comms lead's approval.")
        replies.save_draft(db, item=item, user=user, text=text, settings=settings, now=now)
        return _done(request, item_id, "Draft saved.")
    except LintBlocked as exc:
        return _page(
            request,
            db,
            user,
            now,
            item_id,
            status_code=422,
            errors={"reply-text": str(exc)},
            text=text,
            lint_findings=[f.to_dict() for f in exc.result.findings],
        )
    except (ReplyError, QueueError) as exc:
        return _page(
            request, db, user, now, item_id, status_code=409, errors={"reply-text": str(exc)}, text=text
        )


def _reply_of(db: DbSession, item_id: int, reply_id: int) -> Reply | None:
    reply_row = db.get(Reply, reply_id)
    return reply_row if reply_row is not None and reply_row.queue_item_id == item_id else None


@router.post("/items/{item_id}/replies/{reply_id}/approve")
def approve_reply(
    request: Request,
    db: DbSession,
    user: Lead,
    now: Now,
    _csrf: CsrfChecked,
    item_id: RowId,
    reply_id: RowId,
    override: Annotated[bool, Form()] = False,
    text_version: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Approve the text the lead was shown (``text_version``, a hash sent with the form)."""
    reply_row = _reply_of(db, item_id, reply_id)
    if reply_row is None:
        return _page(request, db, user, now, item_id, status_code=404, errors={"approve": "No such reply."})
    try:
        replies.approve(
            db, reply=reply_row, user=user, now=now, override=override, shown_version=text_version
        )
    except ReplyError as exc:
        return _page(request, db, user, now, item_id, status_code=409, errors={"approve": str(exc)})
    return _done(request, item_id, "Reply approved: it is queued to send.")


@router.post("/items/{item_id}/replies/{reply_id}/not-posted")
def send_held_reply(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    item_id: RowId,
    reply_id: RowId,
) -> Response:
    """A person checked the platform: the held reply is not there, so send it."""
    reply_row = _reply_of(db, item_id, reply_id)
    if reply_row is None:
        return _page(request, db, user, now, item_id, status_code=404, errors={"held": "No such reply."})
    try:
        ensure_holder(db, item=get_item(db, item_id), user=user, now=now)
        outbox.send_after_check(db, reply=reply_row, user=user, now=now)
    except (QueueError, outbox.NotHeld) as exc:
        return _page(request, db, user, now, item_id, status_code=409, errors={"held": str(exc)})
    return _done(request, item_id, "You checked: it is not on the platform. The reply is queued to send.")


@router.post("/items/{item_id}/replies/{reply_id}/posted")
def mark_held_reply_posted(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    item_id: RowId,
    reply_id: RowId,
    link: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """A person found the held reply on the platform: record it as sent."""
    reply_row = _reply_of(db, item_id, reply_id)
    if reply_row is None:
        return _page(request, db, user, now, item_id, status_code=404, errors={"held": "No such reply."})
    try:
        ensure_holder(db, item=get_item(db, item_id), user=user, now=now)
        outbox.mark_posted(db, reply=reply_row, user=user, now=now, link=link)
    except (QueueError, outbox.NotHeld) as exc:
        return _page(request, db, user, now, item_id, status_code=409, errors={"held": str(exc)})
    return _done(request, item_id, "Recorded as sent: it was already on the platform.")


@router.post("/items/{item_id}/replies/{reply_id}/return")
def return_reply(
    request: Request,
    db: DbSession,
    user: Lead,
    now: Now,
    _csrf: CsrfChecked,
    item_id: RowId,
    reply_id: RowId,
    note: Reason = "",
) -> Response:
    reply_row = _reply_of(db, item_id, reply_id)
    if reply_row is None:
        return _page(request, db, user, now, item_id, status_code=404, errors={"approve": "No such reply."})
    try:
        replies.return_to_draft(db, reply=reply_row, user=user, note=note)
    except ReplyError as exc:
        return _page(request, db, user, now, item_id, status_code=409, errors={"approve": str(exc)})
    return _done(request, item_id, "Reply sent back to its writer as a draft.")


@router.post("/items/{item_id}/no-reply")
def no_reply(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    item_id: RowId,
    reason: Reason = "",
) -> Response:
    try:
        decisions.no_reply_needed(db, item=get_item(db, item_id), user=user, reason=reason, now=now)
    except (ReplyError, QueueError) as exc:
        return _page(request, db, user, now, item_id, status_code=400, errors={"no-reply-reason": str(exc)})
    return _done(request, item_id, "Closed: no reply needed.")


@router.post("/items/{item_id}/escalate")
def escalate(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    item_id: RowId,
    reason: Reason = "",
) -> Response:
    settings = effective(request, db)
    try:
        item = get_item(db, item_id)
        decisions.escalate(db, item=item, user=user, reason=reason, settings=settings, now=now)
    except (ReplyError, QueueError) as exc:
        return _page(request, db, user, now, item_id, status_code=400, errors={"escalate-reason": str(exc)})
    return _done(request, item_id, "Escalated to a manager.")


@router.post("/items/{item_id}/hide")
def hide(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    item_id: RowId,
    reason: Reason = "",
) -> Response:
    try:
        hide = moderation.request_hide(db, item=get_item(db, item_id), user=user, reason=reason, now=now)
    except (ModerationError, QueueError) as exc:
        return _page(request, db, user, now, item_id, status_code=400, errors={"hide-reason": str(exc)})
    done = "deleted" if hide.action == "delete" else "hidden"
    return _done(request, item_id, f"The comment will be {done} on {PLATFORM_NAMES[hide.platform]} shortly.")


@router.get("/items/{item_id}/replies")
def reply_status(request: Request, db: DbSession, user: Agent, item_id: RowId) -> HTMLResponse:
    """The replies and their status (polled by htmx while one is queued or sending)."""
    get_item(db, item_id)
    return render(
        request,
        "partials/reply_status.html",
        item_id=item_id,
        item_replies=replies.replies_for(db, item_id),
        reply_link=reply_link,
        is_lead=has_role(user, "lead"),
    )
