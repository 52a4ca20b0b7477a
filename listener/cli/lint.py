"""`listening-post lint`: not built yet (issue #6)."""

import argparse

from listener.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lint", help="Check a reply before it is sent (JSON out) (issue #6)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise UserError("'lint' arrives with issue #6 and is not available yet")
