"""Internal notes and manual tags on queue items.

A note is for the team, never sent to anyone; it is kept, and the FOI export includes it
(policy 6.0: what the team wrote about a post is part of the record). Anyone on the team may
add a note to any item. A tag ("parking", "letters") is a short label reports can group by;
tags follow the claim rules: an open item held by someone else is theirs to tag (or a lead's).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from listener.accounts.users import has_role
from listener.queue.items import OPEN_STATUSES, ClaimConflict
from listener.store import audit
from listener.store.db import upsert_insert
from listener.store.models import ItemTag, Note, QueueItem, User

MAX_NOTE_CHARS = 5000
MAX_TAG_CHARS = 40
_TAG_CHARS = re.compile(r"[^a-z0-9 &'-]")


class InvalidInput(ValueError):
    """The note or tag cannot be stored as given; ``str(exc)`` says why, for the person."""


def add_note(session: Session, *, item: QueueItem, user: User, text: str, now: datetime) -> Note:
    text = text.strip()
    if not text:
        raise InvalidInput("Write the note")
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(f"A note can be at most {MAX_NOTE_CHARS:,} characters")
    note = Note(queue_item_id=item.id, user_id=user.id, text=text, created_at=now)
    session.add(note)
    session.flush()
    audit.record(
        session,
        actor=user,
        action="note.added",
        object_type="note",
        object_id=note.id,
        after={"queue_item_id": item.id},
    )
    return note


def notes_for(session: Session, item_id: int) -> list[tuple[Note, str]]:
    """The item's notes, oldest first, each with its writer's name."""
    rows = session.execute(
        select(Note, User.name)
        .join(User, User.id == Note.user_id)
        .where(Note.queue_item_id == item_id)
        .order_by(Note.created_at, Note.id)
    )
    return [(note, name) for note, name in rows]


def normalise_tag(tag: str) -> str:
    """Lower case, single spaces, letters, digits, a little punctuation: "Parking " is "parking"."""
    cleaned = " ".join(_TAG_CHARS.sub(" ", tag.lower()).split())
    if not cleaned:
        raise InvalidInput("Give a tag: letters, digits, spaces or hyphens")
    if len(cleaned) > MAX_TAG_CHARS:
        raise InvalidInput(f"A tag can be at most {MAX_TAG_CHARS} characters")
    return cleaned


def ensure_may_change(session: Session, item: QueueItem, user: User) -> None:
    """The claim rules: an open item someone else holds is theirs (or a lead's) to change."""
    if (
        item.status in OPEN_STATUSES
        and item.assignee_id not in (None, user.id)
        and not has_role(user, "lead")
    ):
        raise ClaimConflict(session.get(User, item.assignee_id))


def add_tag(session: Session, *, item: QueueItem, user: User, tag: str, now: datetime) -> str:
    """Tag the item; a tag it has already is left as it is (two people tagging at once is fine)."""
    tag = normalise_tag(tag)
    ensure_may_change(session, item, user)
    stmt = (
        upsert_insert(session, ItemTag)
        .values(queue_item_id=item.id, tag=tag, added_by_id=user.id, added_at=now)
        .on_conflict_do_nothing(index_elements=["queue_item_id", "tag"])
    )
    if session.execute(stmt).rowcount:  # type: ignore[attr-defined]
        audit.record(
            session,
            actor=user,
            action="item.tagged",
            object_type="queue_item",
            object_id=item.id,
            after={"tag": tag},
        )
    return tag


def remove_tag(session: Session, *, item: QueueItem, user: User, tag: str) -> None:
    tag = normalise_tag(tag)
    ensure_may_change(session, item, user)
    removed = session.execute(delete(ItemTag).where(ItemTag.queue_item_id == item.id, ItemTag.tag == tag))
    if removed.rowcount:  # type: ignore[attr-defined]
        audit.record(
            session,
            actor=user,
            action="item.untagged",
            object_type="queue_item",
            object_id=item.id,
            before={"tag": tag},
        )


def tags_for(session: Session, item_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each item's tags, in alphabetical order (one query for a page of items)."""
    ids = list(item_ids)
    out: dict[int, list[str]] = defaultdict(list)
    if ids:
        rows = session.execute(
            select(ItemTag.queue_item_id, ItemTag.tag)
            .where(ItemTag.queue_item_id.in_(ids))
            .order_by(ItemTag.tag)
        )
        for item_id, tag in rows:
            out[item_id].append(tag)
    return out


def tags_in_use(session: Session) -> list[str]:
    return list(session.scalars(select(ItemTag.tag).distinct().order_by(ItemTag.tag)))
