"""Render a page: the template plus what every page needs (user, CSRF token, nav, open incidents,
and for leads the count of replies waiting for their approval)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from listener.accounts.users import has_role
from listener.queue import inbox
from listener.store.models import Incident
from queue_ui import formatting
from queue_ui.deps import Viewer, csrf_token

T = TypeVar("T")
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
formatting.install(templates.env)


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    role: str


NAV = (
    NavItem("Queue", "/queue", "agent"),
    NavItem("Incidents", "/incidents", "agent"),
    NavItem("Reports", "/reports", "manager"),
    NavItem("Audit", "/audit", "manager"),
    NavItem("Admin", "/admin", "admin"),
    NavItem("Help", "/help", "agent"),
)


def nav_for(user: Viewer | None, path: str) -> list[dict[str, Any]]:
    return [
        {
            "text": item.label,
            "href": item.href,
            "current": path == item.href or path.startswith(item.href + "/"),
        }
        for item in NAV
        if has_role(user, item.role)
    ]


def open_incidents(session: Session) -> list[Incident]:
    """Incidents not yet resolved, worst first: every page shows them in a banner."""
    order = {"crisis": 0, "alert": 1, "watch": 2}
    rows = session.scalars(select(Incident).where(Incident.status != "resolved").limit(20)).all()
    return sorted(rows, key=lambda i: (order.get(i.level, 3), i.opened_at))


def _read(request: Request, query: Callable[[Session], T]) -> T:
    session: Session | None = getattr(request.state, "db", None)
    if session is not None and session.in_transaction():
        return query(session)
    # An error page after the request's transaction ended: a short read of our own.
    with Session(request.app.state.engine) as fresh:
        return query(fresh)


def flash(request: Request, message: str) -> None:
    """A one-time message shown on the next page (after a redirect)."""
    request.session["flashes"] = [*request.session.get("flashes", []), message]


def render(
    request: Request,
    template_name: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    user: Viewer | None = getattr(request.state, "viewer", None)
    if user is not None and "open_incidents" not in context:
        context["open_incidents"] = _read(request, open_incidents)
    if has_role(user, "lead") and "waiting_approval" not in context:
        context["waiting_approval"] = _read(request, inbox.waiting_approval)
    context.setdefault("open_incidents", [])
    context.setdefault("waiting_approval", 0)
    context.setdefault("flashes", request.session.pop("flashes", []))
    context.update(
        user=user,
        csrf_token=csrf_token(request),
        nav=nav_for(user, request.url.path),
        settings=request.app.state.settings,
        now=request.app.state.clock(),
        has_role=has_role,
    )
    return templates.TemplateResponse(
        request, template_name, context, status_code=status_code, headers=headers
    )
