"""`listening-post report`: the response-time report per agent, account, platform, source or day."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from listener.errors import UserError
from listener.reports.csv_out import write_csv
from listener.reports.filters import GROUPINGS, ReportFilters
from listener.reports.responses import RESPONSE_COLUMNS, response_report
from listener.store.db import session_factory
from listener.store.types import utcnow
from listening_post.cli.common import add_store_options, open_store

DEFAULT_DAYS = 30


def parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UserError(f"{option} {value!r}: not a date (YYYY-MM-DD)") from exc


def date_range(args: argparse.Namespace, timezone: str, today: date | None = None) -> tuple[date, date]:
    """--from/--to, both inclusive; by default the last 30 days up to today (local time)."""
    today = today or datetime.now(ZoneInfo(timezone)).date()
    date_to = parse_day(args.date_to, "--to") or today
    date_from = parse_day(args.date_from, "--from") or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        raise UserError(f"--from {date_from} is after --to {date_to}")
    return date_from, date_to


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="Response-time report: first response median and p90 in business seconds, share within SLA",
        description="Per group: items, answered, first-response median and p90 (business seconds), "
        "share within SLA. JSON lines (one per group, then the total) or CSV.",
    )
    add_store_options(p)
    p.add_argument("--from", dest="date_from", metavar="DATE", help="first day (YYYY-MM-DD, local time)")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="last day, inclusive (default today)")
    p.add_argument("--by", choices=GROUPINGS, default="agent", help="grouping (default agent)")
    p.add_argument("--format", choices=("json", "csv"), default="json", help="output format (default json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = open_store(args)
    date_from, date_to = date_range(args, store.settings.general.timezone)
    filters = ReportFilters(date_from=date_from, date_to=date_to)
    with session_factory(store.engine)() as session:
        report = response_report(session, store.settings, filters, by=args.by, now=utcnow())
    rows = [g.as_dict() for g in report.groups]
    total = report.total.as_dict()
    if args.format == "csv":
        write_csv(sys.stdout, RESPONSE_COLUMNS, [*rows, total])
        return 0
    for row in rows:
        print(json.dumps({"type": "group", "by": args.by, **row}))
    print(json.dumps({"type": "total", "from": date_from.isoformat(), "to": date_to.isoformat(), **total}))
    return 0
