"""`listening-post replay`: not built yet (issue #5)."""

import argparse

from listener.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="Replay a JSON-lines mention stream through the whole pipeline (issue #5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise UserError("'replay' arrives with issue #5 and is not available yet")
