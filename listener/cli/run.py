"""`listening-post run`: not built yet (issue #4)."""

import argparse

from listener.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="Run the worker and/or the web UI for real accounts (issue #4)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise UserError("'run' arrives with issue #4 and is not available yet")
