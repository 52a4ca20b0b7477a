"""The reports' downloads, for managers and above: each table of the reports page as CSV, for
the filters on the page, and the posts agents re-labelled, with the scorer's label, as JSON lines."""

from __future__ import annotations

import io
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from listener.queue import sentiment_overrides
from listener.reports.csv_out import write_csv
from listener.reports.drilldown import drill_down, mention_rows
from listener.reports.filters import LABELS, MEASURES, ReportFilters
from listener.reports.incidents import INCIDENT_COLUMNS, incident_report
from listener.reports.responses import (
    ITEM_COLUMNS,
    RESPONSE_COLUMNS,
    GroupFigures,
    item_dict,
    item_rows,
    summarise,
)
from listener.reports.volume import VOLUME_COLUMNS, volume_report
from listener.settings import Settings
from queue_ui.deps import CsrfChecked, DbSession, Manager, Now
from queue_ui.routes.reports import parse_query

router = APIRouter()


def _csv(name: str, filters: ReportFilters, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> Response:
    out = io.StringIO()
    write_csv(out, columns, rows)
    filename = f"{name}-{filters.date_from.isoformat()}-to-{filters.date_to.isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/reports/response.csv")
def response_csv(request: Request, db: DbSession, user: Manager, now: Now) -> Response:
    settings: Settings = request.app.state.settings
    query = parse_query(request)
    rows = item_rows(db, settings, query.filters, now=now, with_tags=query.by == "tag")
    table = [g.as_dict() for g in summarise(rows, settings, by=query.by)]
    table.append(GroupFigures.of("total", "All items", rows).as_dict())
    return _csv(f"response-times-by-{query.by}", query.filters, RESPONSE_COLUMNS, table)


@router.get("/reports/volume.csv")
def volume_csv(request: Request, db: DbSession, user: Manager) -> Response:
    query = parse_query(request)
    volume = volume_report(db, request.app.state.settings, query.filters)
    return _csv("volume", query.filters, VOLUME_COLUMNS, [v.as_dict() for v in volume])


@router.get("/reports/incidents.csv")
def incidents_csv(request: Request, db: DbSession, user: Manager) -> Response:
    query = parse_query(request)
    incidents = incident_report(db, request.app.state.settings, query.filters)
    return _csv("incidents", query.filters, INCIDENT_COLUMNS, [i.as_dict() for i in incidents])


@router.get("/reports/items.csv")
def items_csv(request: Request, db: DbSession, user: Manager, now: Now, measure: str = "items") -> Response:
    query = parse_query(request)
    measure = measure if measure in MEASURES else "items"
    rows = drill_down(db, request.app.state.settings, query.filters, measure=measure, now=now)
    return _csv(f"items-{measure}", query.filters, ITEM_COLUMNS, [item_dict(r) for r in rows])


@router.get("/reports/mentions.csv")
def mentions_csv(request: Request, db: DbSession, user: Manager, label: str | None = None) -> Response:
    query = parse_query(request)
    label = label if label in LABELS else None
    rows = mention_rows(db, request.app.state.settings, query.filters, label=label)
    columns = ("mention", "platform", "source", "created_at", "label", "compound", "item")
    table = [
        {
            "mention": m.id,
            "platform": m.platform,
            "source": m.source_key,
            "created_at": m.created_at.isoformat(),
            "label": m.label,
            "compound": m.compound,
            "item": m.queue_item_id,
        }
        for m in rows
    ]
    return _csv(f"mentions-{label or 'all'}", query.filters, columns, table)


@router.post("/reports/sentiment-labels")
def sentiment_labels(
    request: Request, db: DbSession, user: Manager, now: Now, _csrf: CsrfChecked
) -> Response:
    """Every post an agent judged, with the scorer's label and the agent's, as JSON lines (audited)."""
    lines = list(sentiment_overrides.labelled_lines(db))
    sentiment_overrides.record_labels_export(db, actor=user, rows=len(lines))
    timezone = request.app.state.settings.general.timezone
    stamp = now.astimezone(ZoneInfo(timezone)).strftime("%Y%m%d-%H%M%S")
    return Response(
        "".join(lines),
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": f'attachment; filename="sentiment-labels-{stamp}.jsonl"',
            "Cache-Control": "no-store",
        },
    )
