"""`listening-post export`: the Freedom of Information export (policy 6.0), audited."""

from __future__ import annotations

import argparse
import os
import sys

from listener.errors import UserError
from listener.reports.foi import FORMATS, FoiQuery, count_matching, record_export, write_export
from listener.store.db import session_factory, write_transaction
from listening_post.cli.common import add_store_options, open_store
from listening_post.cli.report import parse_day


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="Freedom of Information export: mentions with replies, notes and decisions",
        description="Every mention in range (and matching --search) with its replies, internal notes "
        "and decisions, as JSON lines (one mention a line) or CSV (one row per entry) on stdout. "
        "Each export is recorded in the audit log.",
    )
    add_store_options(p)
    p.add_argument("--from", dest="date_from", metavar="DATE", help="first day (YYYY-MM-DD, local time)")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="last day, inclusive")
    p.add_argument(
        "--search", metavar="TERMS", help='words or "quoted phrases" that must all appear in the text'
    )
    p.add_argument("--format", choices=FORMATS, default="json", help="output format (default json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    query = FoiQuery(
        date_from=parse_day(args.date_from, "--from"),
        date_to=parse_day(args.date_to, "--to"),
        search=args.search,
    )
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise UserError(f"--from {query.date_from} is after --to {query.date_to}")
    query.terms()  # an unbalanced quote is reported before anything is written
    store = open_store(args)
    timezone = store.settings.general.timezone
    # The audit entry is committed before the data leaves: an interrupted export is still on record.
    with write_transaction(store.engine) as session:
        count = count_matching(session, query, timezone=timezone)
        record_export(session, actor="cli", query=query, fmt=args.format, mentions=count)
    with session_factory(store.engine)() as session:
        try:
            write_export(session, sys.stdout, query=query, fmt=args.format, timezone=timezone)
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader stopped early (``| head``): send the rest of the output nowhere and stop quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
