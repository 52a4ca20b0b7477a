"""`listening-post report`: not built yet (issue #9)."""

import argparse

from listener.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="Response-time report (issue #9)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise UserError("'report' arrives with issue #9 and is not available yet")
