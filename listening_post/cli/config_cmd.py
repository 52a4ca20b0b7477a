"""`listening-post config check FILE`: validate a settings file and print the effective settings, masked."""

from __future__ import annotations

import argparse
import json

from listener.settings import load_settings, masked_view


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="Check a settings file")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION")
    csub.required = True
    check = csub.add_parser("check", help="Validate FILE and print the effective settings (secrets masked)")
    check.add_argument("file")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.file)
    print(json.dumps(masked_view(settings), indent=2, default=str))
    return 0
