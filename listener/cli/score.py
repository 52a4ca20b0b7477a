"""`listening-post score`: not built yet (issue #5)."""

import argparse

from listener.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="Score mentions (JSON lines in, JSON lines out) (issue #5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise UserError("'score' arrives with issue #5 and is not available yet")
