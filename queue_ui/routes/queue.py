"""The queue page: tabs with counts, filters in the query string, a table that refreshes itself."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from listener.queue.items import (
    DUE_CHOICES,
    PRIORITIES,
    SENTIMENTS,
    TABS,
    QueueFilters,
    filter_choices,
    list_items,
    tab_counts,
)
from listener.store.models import User
from queue_ui.deps import MAX_ID, Agent, DbSession, Now
from queue_ui.rendering import render
from queue_ui.settings_view import effective

router = APIRouter()

PLATFORMS = {"x": "X", "facebook": "Facebook", "rss": "News"}


def _int(value: str | None) -> int | None:
    number = int(value) if value is not None and value.isascii() and value.isdigit() else None
    return number if number is not None and 1 <= number <= MAX_ID else None


def queue_filters(
    platform: str | None = None,
    source: str | None = None,
    sentiment: str | None = None,
    priority: str | None = None,
    due: str | None = None,
    incident: str | None = None,
) -> QueueFilters:
    """Filters from the query string; values we do not know are ignored rather than refused."""
    return QueueFilters(
        platform=platform if platform in PLATFORMS else None,
        source=source[:500] if source else None,
        sentiment=sentiment if sentiment in SENTIMENTS else None,
        priority=p if (p := _int(priority)) in PRIORITIES else None,
        due=due if due in DUE_CHOICES else None,
        incident=_int(incident),
    )


Filters = Annotated[QueueFilters, Depends(queue_filters)]


def _tab(tab: str | None) -> str:
    return tab if tab in TABS else "new"


def _context(
    request: Request,
    db: Session,
    user: User,
    now: datetime,
    filters: QueueFilters,
    tab: str,
    after: str | None,
) -> dict[str, Any]:
    settings = effective(request, db)
    warn = settings.sla.warn_before_minutes
    page = list_items(
        db,
        tab=tab,
        user=user,
        filters=filters,
        now=now,
        warn_minutes=warn,
        after=after,
        timezone=settings.general.timezone,
    )
    query = filters.as_query()
    return {
        "page": page,
        "tab": tab,
        "tabs": TABS,
        "counts": tab_counts(db, user=user, now=now),
        "filters": filters,
        "filter_query": urlencode(query),
        "refresh_query": urlencode({**query, "tab": tab, **({"after": after} if after else {})}),
        "warn_minutes": warn,
        "platforms": PLATFORMS,
        "sentiments": SENTIMENTS,
        "priorities": PRIORITIES,
        "due_choices": DUE_CHOICES,
        "choices": filter_choices(db),
        "after": after,
    }


@router.get("/queue")
def queue_page(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    filters: Filters,
    tab: str | None = None,
    after: str | None = None,
) -> HTMLResponse:
    context = _context(request, db, user, now, filters, _tab(tab), after)
    return render(request, "queue.html", title=f"Queue: {TABS[context['tab']]}", **context)


@router.get("/queue/results")
def queue_results(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    filters: Filters,
    tab: str | None = None,
    after: str | None = None,
) -> HTMLResponse:
    """The tabs and the table only: htmx polls this every 15 seconds."""
    context = _context(request, db, user, now, filters, _tab(tab), after)
    return render(request, "partials/queue_results.html", **context)


@router.get("/help")
def help_page(request: Request, user: Agent) -> HTMLResponse:
    return render(request, "help.html", title="Help and keyboard shortcuts")
