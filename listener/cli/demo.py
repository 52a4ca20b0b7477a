"""`listening-post demo`: not built yet (issue #10)."""

import argparse

from listener.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="Run the whole product on SQLite with fake platforms and a scripted day (issue #10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise UserError("'demo' arrives with issue #10 and is not available yet")
