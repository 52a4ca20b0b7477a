"""Full-text search over posts on SQLite (FTS5) and PostgreSQL (tsvector): stemmed, every word, in step."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, inspect, select, update

from listener.queue.search import FTS_TABLE, PG_INDEX, mention_matches, words
from listener.store.db import session_factory, write_transaction
from listener.store.models import Author, Mention

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
POSTS = {
    "scan": "My MRI scan at Riverside was cancelled again!",
    "letters": "GP letters went to the wrong address",
    "both": "They cancel everything: scans, letters, the lot",
    "accents": "Le café près de l'hôpital est fermé",
}


def _store(engine) -> dict[str, int]:
    ids = {}
    with write_transaction(engine) as session:
        for key, text in POSTS.items():
            mention = Mention(
                platform="x",
                external_id=key,
                source_key="x:search:riverside",
                kind="search",
                author=Author(platform="x", external_id=f"a-{key}", handle=key),
                text=text,
                created_at=NOW,
            )
            session.add(mention)
            session.flush()
            ids[key] = mention.id
    return ids


def _found(engine, query: str) -> set[int]:
    with session_factory(engine)() as session:
        return set(session.scalars(select(Mention.id).where(mention_matches(Mention.id, query))))


def test_search_finds_every_word_stemmed_and_stays_in_step(any_engine):
    engine = any_engine  # SQLite, and PostgreSQL when LISTENING_POST_TEST_PG is set
    ids = _store(engine)
    assert _found(engine, "cancelled") == {ids["scan"], ids["both"]}  # "cancel" stems alike
    assert _found(engine, "Scans letters") == {ids["both"]}  # every word
    assert _found(engine, "riverside") == {ids["scan"]}
    assert _found(engine, "nothing-like-this") == set()
    # Search syntax and punctuation are words or nothing, never an error.
    assert _found(engine, '"scan"* (-') == {ids["scan"], ids["both"]}
    assert _found(engine, "café hôpital") == {ids["accents"]}
    assert _found(engine, "!!! ...") == set()

    # Retention anonymises a post: its old words no longer find it. A deleted post is gone.
    with write_transaction(engine) as session:
        session.execute(update(Mention).where(Mention.id == ids["scan"]).values(text="[removed]"))
        session.execute(delete(Mention).where(Mention.id == ids["letters"]))
    assert _found(engine, "riverside") == set()
    assert _found(engine, "letters") == {ids["both"]}
    assert _found(engine, "removed") == {ids["scan"]}


def test_the_migration_makes_the_search_index(any_engine):
    found = inspect(any_engine)
    if any_engine.dialect.name == "postgresql":
        assert PG_INDEX in {i["name"] for i in found.get_indexes("mentions")}
    else:
        assert FTS_TABLE in found.get_table_names()


def test_the_words_of_a_query():
    assert words('Scan "at" Riverside; OR -x*') == ["scan", "at", "riverside", "or", "x"]
    assert words("x" * 500) == ["x" * 200]
