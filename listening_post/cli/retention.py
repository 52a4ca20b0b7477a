"""`listening-post retention`: anonymise personal data past the retention period."""

from __future__ import annotations

import argparse
import json

from listener.errors import UserError
from listener.reports.retention import run_retention
from listening_post.cli.common import add_store_options, open_store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "retention",
        help="Anonymise personal data (author names, handles, texts) past the retention period",
        description="Prints what it changed as JSON, or what it would change with --dry-run.",
    )
    add_store_options(p)
    p.add_argument("--dry-run", action="store_true", help="count what would change; change nothing")
    p.add_argument(
        "--older-than",
        type=int,
        metavar="DAYS",
        help="anonymise data older than DAYS (default: retention.days from the settings)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.older_than is not None and args.older_than <= 0:
        raise UserError("--older-than must be a whole number of days, at least 1")
    store = open_store(args)
    summary = run_retention(
        store.engine, store.settings, dry_run=args.dry_run, older_than_days=args.older_than, actor="cli"
    )
    print(json.dumps(summary))
    return 0
