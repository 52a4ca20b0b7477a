"""`listening-post retention`: not built yet (issue #9)."""

import argparse

from listener.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("retention", help="Anonymise personal data past the retention period (issue #9)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise UserError("'retention' arrives with issue #9 and is not available yet")
