"""Full-text search over posts: one condition, two databases.

SQLite: an FTS5 table over ``mentions.text`` (external content, kept in step by triggers, so a
post anonymised by retention is no longer found by its old words). PostgreSQL: a GIN index on
``to_tsvector('english', text)``. Both stem English words ("cancelled" finds "cancel") and
match every word of the query. Both are made by migration 0007; neither is in the models, so
the models-versus-migrations check leaves out the names in ``SEARCH_OBJECTS``.

Caution for later migrations: a batch ``ALTER`` of ``mentions`` on SQLite recreates the table
and drops its triggers; such a migration must run ``create_sqlite_search`` again.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Boolean, ColumnElement, false, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler

FTS_TABLE = "mentions_fts"
PG_INDEX = "ix_mentions_text_search"
_FTS_SHADOW_TABLES = ("data", "idx", "docsize", "config", "content")
SEARCH_OBJECTS = frozenset({FTS_TABLE, *(f"{FTS_TABLE}_{part}" for part in _FTS_SHADOW_TABLES), PG_INDEX})
MAX_QUERY_CHARS = 200
MentionId = ColumnElement[Any] | QueryableAttribute[Any]  # Mention.id or QueueItem.mention_id
_WORD = re.compile(r"\w+")

# The table, triggers and index themselves are made by migration 0007 (written out there).


def words(query: str) -> list[str]:
    """The words of a query; punctuation and search syntax are not words (so nothing can break the query)."""
    return _WORD.findall(query[:MAX_QUERY_CHARS].lower())


class _MentionMatches(ColumnElement[bool]):
    """``<mention id column> IN (the ids of the posts whose text has every word)``, per dialect."""

    type = Boolean()
    inherit_cache = False

    def __init__(self, mention_id: MentionId, terms: list[str]) -> None:
        self.mention_id: ColumnElement[Any] = (
            mention_id.expression if isinstance(mention_id, QueryableAttribute) else mention_id
        )
        self.terms = terms


@compiles(_MentionMatches, "sqlite")
def _sqlite(element: _MentionMatches, compiler: SQLCompiler, **kw: Any) -> str:
    # Each word a quoted FTS5 string: AND of the words, no operators from the person's input.
    fts_query = compiler.process(literal(" ".join(f'"{term}"' for term in element.terms)), **kw)
    return (
        f"{compiler.process(element.mention_id, **kw)} IN "
        f"(SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {fts_query})"
    )


@compiles(_MentionMatches, "postgresql")
def _postgresql(element: _MentionMatches, compiler: SQLCompiler, **kw: Any) -> str:
    # The same expression as the index (a literal regconfig), so the planner can use it.
    return (
        f"{compiler.process(element.mention_id, **kw)} IN (SELECT id FROM mentions WHERE "
        f"to_tsvector('english'::regconfig, text) @@ plainto_tsquery('english'::regconfig, "
        f"{compiler.process(literal(' '.join(element.terms)), **kw)}))"
    )


def mention_matches(mention_id: MentionId, query: str) -> ColumnElement[bool]:
    """A condition: the post ``mention_id`` points at contains every word of ``query`` (stemmed)."""
    terms = words(query)
    return _MentionMatches(mention_id, terms) if terms else false()
