"""Options and set-up shared by the subcommands: --config, --db, opening the store."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from sqlalchemy import Engine

from listener.overrides import effective_settings
from listener.settings import Settings, load_settings
from listener.store.db import make_engine, session_factory
from listener.store.migrate import upgrade


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=os.environ.get("LISTENING_POST_CONFIG"),
        help="settings file (TOML); default $LISTENING_POST_CONFIG, else built-in defaults",
    )


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database URL; default $LISTENING_POST_DATABASE_URL, then the config file's, then SQLite",
    )


def add_store_options(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    add_db_option(parser)


@dataclass
class Store:
    """``settings``: what every command reads, the file's values with the admin's overrides applied.
    ``file_settings``: the file alone, for the long-running worker and UI, which apply the
    overrides themselves as they change."""

    settings: Settings
    engine: Engine
    file_settings: Settings


def open_store(args: argparse.Namespace, *, migrate: bool = True) -> Store:
    """Load settings, connect, and bring the schema up to date (migrations run automatically at start)."""
    settings = load_settings(getattr(args, "config", None))
    engine = make_engine(
        settings.database_url(getattr(args, "db", None)),
        connect_timeout=settings.database.connect_timeout_seconds,
        statement_timeout=settings.database.statement_timeout_seconds,
    )
    if not migrate:
        return Store(settings=settings, engine=engine, file_settings=settings)
    upgrade(engine)
    with session_factory(engine)() as session:
        effective = effective_settings(session, settings)
    return Store(settings=effective, engine=engine, file_settings=settings)
