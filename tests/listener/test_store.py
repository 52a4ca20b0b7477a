from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from listener.queue.search import SEARCH_OBJECTS
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


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path):
    import stat

    path = tmp_path / "data" / "lp.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    with eng.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        for file in [path, *path.parent.glob("lp.db-*")]:
            assert stat.S_IMODE(file.stat().st_mode) & 0o077 == 0, (file, oct(file.stat().st_mode))
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    eng.dispose()


def test_the_database_refuses_a_second_live_reply_to_one_item(any_engine):
    from listener.store.models import Reply, User

    with write_transaction(any_engine) as session:
        user = User(email="a@example.nhs.uk", name="A", initials="A", role="agent", password_hash="x")
        mention = _mention(Author(platform="x", external_id="9"))
        session.add_all([user, mention])
        session.flush()
        item = QueueItem(mention_id=mention.id, due_at=datetime(2026, 3, 1, tzinfo=UTC))
        session.add(item)
        session.flush()
        ids = (user.id, item.id)

    def reply(key: str, status: str) -> Reply:
        return Reply(
            queue_item_id=ids[1],
            platform="x",
            source_key="x:mentions:@a",
            in_reply_to="1",
            text="t",
            status=status,
            author_id=ids[0],
            idempotency_key=key,
        )

    with write_transaction(any_engine) as session:
        session.add_all([reply("sent", "sent"), reply("failed", "failed"), reply("live", "approved")])
    for status in ("draft", "pending_approval", "approved", "sending", "held"):
        with pytest.raises(IntegrityError), write_transaction(any_engine) as session:
            session.add(reply(f"second-{status}", status))


def test_the_database_refuses_one_person_signing_one_text_twice(any_engine):
    from listener.store.models import Incident, Response, SignOff, User

    at = datetime(2026, 3, 1, tzinfo=UTC)
    with write_transaction(any_engine) as session:
        user = User(email="l@example.nhs.uk", name="L", initials="L", role="lead", password_hash="x")
        incident = Incident(episode_key="e", subject="s", level="crisis", opened_at=at, level_changed_at=at)
        session.add_all([user, incident])
        session.flush()
        response = Response(incident_id=incident.id, created_by_id=user.id, text="t")
        session.add(response)
        session.flush()
        session.add(SignOff(response_id=response.id, stakeholder="Head", user_id=user.id, text_version="v1"))
        ids = (response.id, user.id)
    with pytest.raises(IntegrityError), write_transaction(any_engine) as session:
        session.add(SignOff(response_id=ids[0], stakeholder="Director", user_id=ids[1], text_version="v1"))
    with write_transaction(any_engine) as session:  # another text (after an edit) is another sign-off
        session.add(SignOff(response_id=ids[0], stakeholder="Director", user_id=ids[1], text_version="v2"))


def _insert(conn, table: str, **values) -> None:
    """A row written as SQL literals: the schema of 0001, without today's models."""

    def literal(value) -> str:
        return (
            str(value).lower()
            if isinstance(value, bool)
            else str(value)
            if isinstance(value, int)
            else f"'{value}'"
        )

    columns = ", ".join(values)
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({columns}) VALUES ({', '.join(map(literal, values.values()))})"
    )


def test_the_upgrade_stops_replies_the_old_code_doubled_and_says_why(db_url):
    eng = make_engine(db_url)
    upgrade(eng, "0001")
    at = "2026-03-01 09:00:00"
    with eng.begin() as conn:
        _insert(
            conn,
            "users",
            id=1,
            email="a@x",
            name="A",
            initials="A",
            role="agent",
            password_hash="x",
            active=True,
            failed_logins=0,
            created_at=at,
        )
        _insert(
            conn,
            "authors",
            id=1,
            platform="x",
            external_id="1",
            handle="a",
            name="A",
            followers=0,
            verified=False,
            is_media=False,
        )
        _insert(
            conn,
            "mentions",
            id=1,
            platform="x",
            external_id="1",
            source_key="s",
            kind="mention",
            author_id=1,
            text="t",
            metrics="{}",
            is_own=False,
            is_repost=False,
            raw="{}",
            created_at=at,
            received_at=at,
        )
        _insert(
            conn,
            "queue_items",
            id=1,
            mention_id=1,
            status="claimed",
            priority=3,
            due_at=at,
            created_at=at,
            version=1,
        )
        for n in (1, 2):  # the double click the old code let through
            _insert(
                conn,
                "replies",
                id=n,
                queue_item_id=1,
                purpose="reply",
                platform="x",
                source_key="s",
                in_reply_to="1",
                text="t",
                status="approved",
                lint="[]",
                author_id=1,
                idempotency_key=f"k{n}",
                attempts=0,
                created_at=at,
            )
    upgrade(eng)
    with eng.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, status, last_error FROM replies ORDER BY id").all()
    eng.dispose()
    assert [(r[0], r[1]) for r in rows] == [(1, "approved"), (2, "failed")]
    assert "check the platform" in rows[1][2]
