"""Reports and the FOI export, for managers and above.

The reports page shows response times, SLA outcomes, volume and sentiment, and incidents for
a date range and filters; every count links to the items behind it, and every table downloads
as CSV (:mod:`queue_ui.routes.report_downloads`). The FOI export page writes an audit entry,
then streams the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from listener.errors import UserError
from listener.reports import foi
from listener.reports.drilldown import count_mentions, drill_down, mention_rows
from listener.reports.filters import GROUPINGS, LABELS, MEASURES, UNASSIGNED, ReportFilters, filter_choices
from listener.reports.incidents import incident_report
from listener.reports.responses import (
    GroupFigures,
    item_rows,
    summarise,
)
from listener.reports.volume import sentiment_agreement, volume_report
from listener.settings import Settings
from queue_ui import charts
from queue_ui.deps import CsrfChecked, DbSession, Manager, Now
from queue_ui.formatting import duration
from queue_ui.rendering import render

router = APIRouter()

DEFAULT_DAYS = 30
MAX_DAYS = 366  # a year: bounded work per page (about 25 s of CPU at 2,700 mentions a day on SQLite)
LIST_LIMIT = 500  # rows shown on a drill-down page; the CSV has them all
GROUPING_NAMES = {
    "agent": "Agent",
    "account": "Account",
    "platform": "Platform",
    "source": "Source",
    "day": "Day",
    "tag": "Tag",
}
MEASURE_NAMES = {
    "items": "items",
    "answered": "answered items",
    "closed": "closed items",
    "within_sla": "items answered within the SLA",
    "breached": "items that missed the SLA",
    "pending": "open items not yet due",
    "no_reply_needed": "items closed without a reply",
}
# Negative in red with hatching, neutral in grey with stripes, positive in green with dots.
SENTIMENT_STYLES = {"negative": 1, "neutral": 5, "positive": 2}
PRIORITIES = {1: "1 urgent", 2: "2 high", 3: "3 normal", 4: "4 low"}


# --- parameters --------------------------------------------------------------------------


@dataclass
class Query:
    filters: ReportFilters
    by: str
    errors: dict[str, str]


def _today(request: Request) -> date:
    zone = ZoneInfo(request.app.state.settings.general.timezone)
    return request.app.state.clock().astimezone(zone).date()


def _text(request: Request, name: str, limit: int = 500) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value[:limit] or None


def _day(request: Request, name: str, errors: dict[str, str]) -> date | None:
    value = _text(request, name, 20)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "Enter a real date, for example 2026-03-01"
        return None


def parse_query(request: Request) -> Query:
    """Filters from the query string; a bad value is reported and replaced by its default."""
    errors: dict[str, str] = {}
    date_to = _day(request, "to", errors) or _today(request)
    date_from = _day(request, "from", errors) or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        errors["from"] = "The start date must be on or before the end date"
        date_from = date_to - timedelta(days=DEFAULT_DAYS - 1)
    if (date_to - date_from).days >= MAX_DAYS:
        errors["from"] = "Choose a range of at most a year (366 days)"
        date_from = date_to - timedelta(days=MAX_DAYS - 1)
    agent = _text(request, "agent", 20)
    if agent is not None and agent != UNASSIGNED and not agent.isdigit():
        errors["agent"] = "Choose an agent from the list"
        agent = None
    priority_text = _text(request, "priority", 2)
    priority = int(priority_text) if priority_text in {"1", "2", "3", "4"} else None
    if priority_text is not None and priority is None:
        errors["priority"] = "Choose a priority from the list"
    by = _text(request, "by", 20) or "agent"
    if by not in GROUPINGS:
        errors["by"] = "Choose a grouping from the list"
        by = "agent"
    filters = ReportFilters(
        date_from=date_from,
        date_to=date_to,
        platform=_text(request, "platform", 20),
        source=_text(request, "source"),
        account=_text(request, "account"),
        agent=agent,
        priority=priority,
        tag=_text(request, "tag", 40),
    )
    return Query(filters=filters, by=by, errors=errors)


def link(path: str, filters: ReportFilters, **extra: Any) -> str:
    params = {**filters.as_params(), **{k: str(v) for k, v in extra.items() if v is not None}}
    return f"{path}?{urlencode(params)}"


# --- presentation helpers ----------------------------------------------------------------


def time_text(seconds: float | None) -> str:
    return "no data" if seconds is None else duration(timedelta(seconds=seconds))


def percent(share: float | None) -> str:
    return "no data" if share is None else f"{share * 100:.0f}%"


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _day_label(day: date) -> str:
    return f"{day.day} {day:%b}"


def _charts(
    filters: ReportFilters, by: str, groups: list[GroupFigures], days: list[GroupFigures], volume: list
) -> dict[str, str]:
    categories = [_day_label(v.day) for v in volume]
    span = f"{filters.date_from:%d %b %Y} to {filters.date_to:%d %b %Y}"
    by_day = {g.key: g for g in days}
    day_figures = [by_day.get(v.day.isoformat()) for v in volume]
    return {
        "volume": charts.bar_chart(
            title="Mentions per day by sentiment",
            description=f"Mentions each day from {span}, stacked by sentiment label.",
            categories=categories,
            series=[
                charts.Series(
                    label.title(), [getattr(v, label) for v in volume], style=SENTIMENT_STYLES[label]
                )
                for label in reversed(LABELS)
            ],
            x_label="Day",
            y_label="Mentions",
            stacked=True,
            chart_id="chart-volume",
        ),
        "response": charts.line_chart(
            title="First response time per day (business hours)",
            description=f"Median and 90th percentile first-response time of the items posted each day, "
            f"from {span}, in business hours. Days without an answered item have no point.",
            categories=categories,
            series=[
                charts.Series(
                    "Median", [_hours(g.first_response_median_seconds) if g else None for g in day_figures]
                ),
                charts.Series(
                    "90th percentile",
                    [_hours(g.first_response_p90_seconds) if g else None for g in day_figures],
                ),
            ],
            x_label="Day the post was made",
            y_label="Business hours",
            chart_id="chart-response",
        ),
        "sla": charts.bar_chart(
            title=f"Share answered within the SLA by {GROUPING_NAMES[by].lower()}",
            description=f"Per {GROUPING_NAMES[by].lower()}, the percentage of items answered by their "
            f"due time, of those answered or past due, from {span}.",
            categories=[g.label for g in groups],
            series=[
                charts.Series(
                    "Within SLA", [None if g.sla_share is None else round(g.sla_share * 100) for g in groups]
                )
            ],
            x_label=GROUPING_NAMES[by],
            y_label="Percent within SLA",
            value_format=lambda v: f"{v:.0f}%",
            y_max=100,
            chart_id="chart-sla",
        ),
    }


# --- pages -------------------------------------------------------------------------------


@router.get("/reports")
def reports_page(request: Request, db: DbSession, user: Manager, now: Now) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    query = parse_query(request)
    filters, by = query.filters, query.by
    rows = item_rows(db, settings, filters, now=now, with_tags=by == "tag")
    groups = summarise(rows, settings, by=by)
    days = summarise(rows, settings, by="day")
    volume = volume_report(db, settings, filters)
    return render(
        request,
        "reports/index.html",
        title="Reports",
        query=query,
        filters=filters,
        by=by,
        groups=groups,
        total=GroupFigures.of("total", "All items", rows),
        volume=volume,
        incidents=incident_report(db, settings, filters),
        agreement=sentiment_agreement(db, settings, filters),
        charts=_charts(filters, by, groups, days, volume),
        choices=filter_choices(db, settings, filters),
        groupings=GROUPING_NAMES,
        priorities=PRIORITIES,
        link=link,
        time_text=time_text,
        percent=percent,
        errors=query.errors,
    )


@router.get("/reports/items")
def items_page(
    request: Request, db: DbSession, user: Manager, now: Now, measure: str = "items"
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    query = parse_query(request)
    measure = measure if measure in MEASURES else "items"
    rows = drill_down(db, settings, query.filters, measure=measure, now=now)
    return render(
        request,
        "reports/items.html",
        title=f"Report: {MEASURE_NAMES[measure]}",
        query=query,
        filters=query.filters,
        measure=measure,
        measure_name=MEASURE_NAMES[measure],
        measures=MEASURE_NAMES,
        rows=rows[:LIST_LIMIT],
        total=len(rows),
        limit=LIST_LIMIT,
        link=link,
        time_text=time_text,
        priorities=PRIORITIES,
        errors=query.errors,
    )


@router.get("/reports/mentions")
def mentions_page(request: Request, db: DbSession, user: Manager, label: str | None = None) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    query = parse_query(request)
    label = label if label in LABELS else None
    return render(
        request,
        "reports/mentions.html",
        title="Report: mentions",
        query=query,
        filters=query.filters,
        label=label,
        rows=mention_rows(db, settings, query.filters, label=label, limit=LIST_LIMIT),
        total=count_mentions(db, settings, query.filters, label=label),
        limit=LIST_LIMIT,
        link=link,
        errors=query.errors,
    )


# --- FOI export --------------------------------------------------------------------------


def _foi_form(
    request: Request, *, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "reports/foi.html",
        status_code=status,
        title="Freedom of Information export",
        values=values,
        errors=errors,
    )


@router.get("/reports/foi")
def foi_page(request: Request, user: Manager) -> HTMLResponse:
    return _foi_form(request, values={"format": "csv"}, errors={})


def _stream(engine: Engine, query: foi.FoiQuery, fmt: str, timezone: str) -> Iterator[str]:
    # Its own session: the request's transaction (with the audit entry) is committed before streaming.
    with Session(engine) as session:
        yield from foi.export_chunks(session, query=query, fmt=fmt, timezone=timezone)


@router.post("/reports/foi")
def foi_export(
    request: Request,
    db: DbSession,
    user: Manager,
    now: Now,
    _csrf: CsrfChecked,
    date_from: Annotated[str, Form(max_length=20)] = "",
    date_to: Annotated[str, Form(max_length=20)] = "",
    search: Annotated[str, Form(max_length=500)] = "",
    format: Annotated[str, Form(max_length=10)] = "csv",
) -> Response:
    values = {"date_from": date_from, "date_to": date_to, "search": search, "format": format}
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        try:
            days[name] = date.fromisoformat(value.strip()) if value.strip() else None
        except ValueError:
            errors[name] = "Enter a real date, for example 2026-03-01"
    if not errors and days["date_from"] and days["date_to"] and days["date_from"] > days["date_to"]:
        errors["date_from"] = "The start date must be on or before the end date"
    if not date_from.strip() and not date_to.strip() and not search.strip():
        errors["date_from"] = "Give a date range, search terms, or both"
    if format not in foi.FORMATS:
        errors["format"] = "Choose CSV or JSON"
    query = foi.FoiQuery(
        date_from=days.get("date_from"), date_to=days.get("date_to"), search=search.strip() or None
    )
    if not errors:
        try:
            query.terms()
        except UserError as exc:
            errors["search"] = f"Check the quotation marks in the search terms ({exc})"
    if errors:
        return _foi_form(request, values=values, errors=errors, status=422)

    settings: Settings = request.app.state.settings
    timezone = settings.general.timezone
    count = foi.count_matching(db, query, timezone=timezone)
    foi.record_export(db, actor=user, query=query, fmt=format, mentions=count)
    stamp = now.astimezone(ZoneInfo(timezone)).strftime("%Y%m%d-%H%M%S")
    extension, media = (
        ("csv", "text/csv; charset=utf-8") if format == "csv" else ("jsonl", "application/x-ndjson")
    )
    return StreamingResponse(
        _stream(request.app.state.engine, query, format, timezone),
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="foi-export-{stamp}.{extension}"',
            "Cache-Control": "no-store",
        },
    )
