"""`listening-post db upgrade|current`: the database schema."""

from __future__ import annotations

import argparse

from listener.store.migrate import current_revision
from listening_post.cli.common import add_store_options, open_store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="Database schema: upgrade to the latest, or show the current revision")
    dbsub = p.add_subparsers(dest="db_command", metavar="ACTION")
    dbsub.required = True
    up = dbsub.add_parser("upgrade", help="Apply migrations (also done automatically at start)")
    add_store_options(up)
    up.set_defaults(func=run_upgrade)
    cur = dbsub.add_parser("current", help="Print the schema revision")
    add_store_options(cur)
    cur.set_defaults(func=run_current)


def run_upgrade(args: argparse.Namespace) -> int:
    store = open_store(args)
    print(f"database at revision {current_revision(store.engine)}")
    return 0


def run_current(args: argparse.Namespace) -> int:
    store = open_store(args, migrate=False)
    print(current_revision(store.engine) or "empty (run `listening-post db upgrade`)")
    return 0
