"""`listening-post spikes`: not built yet (issue #5)."""

import argparse

from listener.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("spikes", help="Detect volume spikes in a CSV of counts per bucket (issue #5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise UserError("'spikes' arrives with issue #5 and is not available yet")
