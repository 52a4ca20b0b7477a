"""`listening-post lint`: check a reply before it is sent, print the findings as JSON.

Exit status: 0 when the reply may be sent (no finding blocks it), 1 when a finding
blocks it, 2 for a usage or configuration problem.
"""

from __future__ import annotations

import argparse
import json
import sys

from listener.errors import UserError
from listener.paths import load_config_toml
from triage.lint import LintConfig, LintConfigError, check_reply
from triage.lint.length import PLATFORMS

EXIT_BLOCKED = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lint",
        help="Check a reply before it is sent (JSON out)",
        description=(
            "Check a reply against the social media policy (5.2, 7.0, 7.1) and print "
            '{"ok": ..., "findings": [...]} as JSON. Exit status 0 when it may be sent, '
            "1 when a finding blocks it."
        ),
    )
    p.add_argument(
        "--platform", required=True, choices=PLATFORMS, help="where the reply will be posted"
    )
    p.add_argument("--image", action="store_true", help="an image is attached to the reply")
    p.add_argument("--alt", metavar="TEXT", help="the attached image's description (implies --image)")
    p.add_argument(
        "--no-signature",
        dest="signs_replies",
        action="store_false",
        help="the account does not sign replies with initials or a first name",
    )
    p.add_argument("text", metavar="TEXT", help="the reply, or - to read it from standard input")
    p.set_defaults(func=run)


def load_lint_config() -> LintConfig:
    """The reply checker's rules from ``config/lint.toml``."""
    try:
        return LintConfig.from_dict(load_config_toml("lint.toml"))
    except LintConfigError as exc:
        raise UserError(f"lint.toml: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    # A reply piped in usually ends with the newline the shell or editor added.
    text = sys.stdin.read().rstrip("\r\n") if args.text == "-" else args.text
    result = check_reply(
        text,
        platform=args.platform,
        rules=load_lint_config(),
        has_image=args.image or args.alt is not None,
        image_alt=args.alt,
        signs_replies=args.signs_replies,
    )
    print(json.dumps(result.to_dict(), ensure_ascii=False))
    return 0 if result.ok else EXIT_BLOCKED
