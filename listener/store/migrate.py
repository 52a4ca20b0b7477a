"""Alembic migrations, applied automatically at start and by `listening-post db upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


# Any constant: the key of the PostgreSQL advisory lock that lets one process migrate at a time.
_MIGRATION_LOCK = 0x4C50_4D49


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Workers starting together on PostgreSQL take turns."""
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), revision)
        refresh_statistics(engine)
        return
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        try:
            command.upgrade(alembic_config(engine), revision)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})


def refresh_statistics(engine: Engine) -> None:
    """Give SQLite's query planner statistics (PostgreSQL's autovacuum keeps its own).

    Without ``sqlite_stat1`` every indexed equality looks selective, so a skewed column such
    as ``replies.status`` (nearly every row 'sent') wins over the right index: the item
    page's earlier-replies query walked every sent reply (bench/queue.py: 897 ms at
    1,000,000 mentions, 22 ms with statistics). ``analysis_limit`` samples each index, so
    this takes milliseconds at any size. It runs at every start; a long-running worker
    should also run it daily, as the data's shape changes.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
