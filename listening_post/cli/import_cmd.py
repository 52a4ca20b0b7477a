"""`listening-post import --platform x|facebook|instagram|linkedin|bluesky FILE`: ingest a raw API body.

FILE holds what the platform's API returned (an X API v2 tweets response; a Graph API
feed, tagged or comments response with nested comments; an Instagram media, tags or
comments response, or a ``mentioned_comment``/``mentioned_media`` lookup; a LinkedIn posts
or ``socialActions`` comments response; a Bluesky listNotifications or searchPosts response),
e.g. saved from a backfill or an export. Its posts go through the same ingest as polling; the
command prints one JSON line
``{"new": N, "duplicates": D, "rejected": R}``. Importing the same file again adds nothing.
Characters no database can store (a lone UTF-16 surrogate, NUL) are repaired in the stored
text and noted on the post; a post the database still refuses is counted as rejected, and the
rest of the body is stored.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from connectors import registry
from connectors.base import PayloadError
from listener.errors import UserError
from listener.intake.ingest import ingest_or_skip_refused
from listener.intake.pipeline import build_stage
from listener.settings import Settings
from listener.store.db import write_transaction
from listening_post.cli.common import add_store_options, open_store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="Ingest a raw X, Facebook, Instagram, LinkedIn or Bluesky API response body (backfill)",
        description='Prints {"new": N, "duplicates": D, "rejected": R}. '
        "Importing the same file twice adds nothing.",
    )
    p.add_argument("--platform", required=True, choices=sorted(registry.IMPORT_PARSERS))
    p.add_argument("file", metavar="FILE", help="the response body as JSON; - reads standard input")
    p.add_argument(
        "--source",
        metavar="KEY",
        help="source key recorded on the imported posts (default: <platform>:import:<file name>)",
    )
    add_store_options(p)
    p.set_defaults(func=run)


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise UserError(f"{name}: cannot read: {exc.strerror}") from exc


def _own_accounts(settings: Settings, platform: str) -> dict[str, list[str]]:
    """The board's own accounts, so their posts are kept for listening but not queued."""
    accounts = [a for a in settings.accounts if a.platform == platform]
    if platform == "x":
        return {
            "own_handles": [a.handle for a in accounts],
            "own_user_ids": [a.user_id for a in accounts if a.user_id],
        }
    if platform == "instagram":  # the IG user id and the @username both mark the account's own comments
        return {"own_ids": [n for a in accounts for n in (a.handle, a.user_id) if n]}
    if platform == "bluesky":
        return {"own_handles": [a.handle for a in accounts]}
    # A Facebook account's handle is its page id; a LinkedIn account's is its organisation id.
    return {"own_ids": [a.handle for a in accounts]}


def run(args: argparse.Namespace) -> int:
    body = _read(args.file)
    store = open_store(args)
    source = args.source or f"{args.platform}:import:{Path(args.file).name if args.file != '-' else 'stdin'}"
    parse = registry.IMPORT_PARSERS[args.platform]
    try:
        parsed = parse(body, source=source, **_own_accounts(store.settings, args.platform))
    except PayloadError as exc:
        raise UserError(f"{args.file}: {exc.message}") from exc
    for reason in parsed.rejected:
        print(f"rejected: {reason}", file=sys.stderr)

    with write_transaction(store.engine) as session:
        result, refused = ingest_or_skip_refused(session, parsed.mentions, build_stage(store.settings))
    for reason in refused:
        print(f"rejected: {reason} (the database refused it)", file=sys.stderr)
    print(json.dumps({**result.counts(), "rejected": len(parsed.rejected) + len(refused)}))
    return 0
