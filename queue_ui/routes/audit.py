"""The audit log, for managers: every action by a person or the worker, filterable. Read-only by design:
no route here (or anywhere) changes or deletes an audit event."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from listener.store.models import AuditEvent, User
from queue_ui.deps import MAX_ID, DbSession, Manager
from queue_ui.rendering import render
from queue_ui.words import audit_sentence

router = APIRouter()
PAGE = 100
# Dates a filter may name: outside these, adding a day or a time zone overflows Python's datetime.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)


def _date(value: str | None) -> date | None:
    """A date to filter by; None for empty or unreadable, and a plain 422 for one no event can have."""
    try:
        day = datetime.fromisoformat(value).date() if value else None
    except ValueError:
        return None
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "date"),
                    "msg": f"Enter a date from {FIRST_DAY} to {LAST_DAY}",
                    "type": "value_error",
                }
            ]
        )
    return day


@router.get("/audit")
def audit_page(
    request: Request,
    db: DbSession,
    user: Manager,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    zone = ZoneInfo(request.app.state.settings.general.timezone)
    stmt = select(AuditEvent)
    if actor:
        stmt = stmt.where(AuditEvent.actor.contains(actor.strip().lower()[:320], autoescape=True))
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action.strip()[:100], autoescape=True))
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type.strip()[:50])
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id.strip()[:100])
    start, end = _date(date_from), _date(date_to)
    if start is not None:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(start, time(), zone))
    if end is not None:
        stmt = stmt.where(AuditEvent.at < datetime.combine(end + timedelta(days=1), time(), zone))
    if before is not None:
        stmt = stmt.where(AuditEvent.id < before)
    events = list(db.scalars(stmt.order_by(AuditEvent.id.desc()).limit(PAGE + 1)))
    more = len(events) > PAGE
    events = events[:PAGE]
    query = {
        k: v
        for k, v in {
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "date_from": date_from,
            "date_to": date_to,
        }.items()
        if v
    }
    return render(
        request,
        "audit.html",
        title="Audit log",
        events=events,
        next_before=events[-1].id if more and events else None,
        query=query,
        first_page=before is None,
        names=dict(db.execute(select(User.id, User.name)).tuples().all()),
        audit_sentence=audit_sentence,
    )
