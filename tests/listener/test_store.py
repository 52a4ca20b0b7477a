from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from listener.search import SEARCH_OBJECTS
from listener.store.db import make_engine, write_transaction
from listener.store.migrate import current_revision, downgrade, upgrade
from listener.store.models import Author, Base, Mention, QueueItem


def test_migrations_build_every_table_from_empty(any_engine):
    assert current_revision(any_engine) is not None
    tables = set(inspect(any_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_migrations_match_the_models(any_engine):
    """A model change without a migration fails here."""
    with any_engine.connect() as conn:
        opts = {"compare_type": False, "include_name": lambda name, type_, parent: name not in SEARCH_OBJECTS}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == []


def test_downgrade_to_empty_and_back(sqlite_url):
    eng = make_engine(sqlite_url)
    upgrade(eng)
    downgrade(eng, "base")
    assert "mentions" not in inspect(eng).get_table_names()
    upgrade(eng)
    assert "mentions" in inspect(eng).get_table_names()


def _mention(author: Author, external_id: str = "1") -> Mention:
    return Mention(
        platform="x",
        external_id=external_id,
        source_key="x:mentions:@NHSCovWarks",
        kind="mention",
        author=author,
        text="hello",
        created_at=datetime(2026, 3, 1, 9, tzinfo=UTC),
    )


def test_a_mention_is_unique_per_platform_and_id(any_engine):
    with write_transaction(any_engine) as session:
        author = Author(platform="x", external_id="42", handle="someone")
        session.add(_mention(author))
    with pytest.raises(IntegrityError), write_transaction(any_engine) as session:
        author = session.scalar(select(Author))
        session.add(_mention(author))


def test_foreign_keys_are_enforced(any_engine):
    with pytest.raises(IntegrityError), write_transaction(any_engine) as session:
        session.add(QueueItem(mention_id=999, due_at=datetime(2026, 3, 1, tzinfo=UTC)))


def test_datetimes_come_back_as_utc(any_engine):
    with write_transaction(any_engine) as session:
        session.add(_mention(Author(platform="x", external_id="7")))
    with write_transaction(any_engine) as session:
        created = session.scalar(select(Mention.created_at))
    assert created == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert created.tzinfo is not None


def test_queue_sort_order_is_indexed(engine):
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("queue_items")}
    assert indexes["ix_queue_open_order"] == ["status", "priority", "due_at"]


def test_sqlite_planner_statistics_are_gathered_at_start(engine):
    # Without sqlite_stat1, SQLite takes replies.status = 'sent' for a selective index (bench/queue.py).
    with write_transaction(engine) as session:
        session.add(_mention(Author(platform="x", external_id="7")))
    upgrade(engine)  # what every start runs
    with engine.connect() as conn:
        analysed = {row[0] for row in conn.exec_driver_sql("SELECT tbl FROM sqlite_stat1")}
    assert {"mentions", "authors"} <= analysed
