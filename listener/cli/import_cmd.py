"""`listening-post import`: not built yet (issue #3)."""

import argparse

from listener.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="Ingest a raw X or Graph API response body (issue #3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise UserError("'import' arrives with issue #3 and is not available yet")
