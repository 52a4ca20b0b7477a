"""The Freedom of Information export (policy 6.0): mentions with their replies, notes and decisions.

A request names a date range and/or search terms. The export holds every matching mention
with what the team did about it: the replies (drafts and sent), the internal notes, and the
decisions recorded in the audit log about the mention, its queue item, replies and notes.
Every export is itself audited: who exported what, and how many mentions it held.

Never in an export: raw platform payloads, credentials, password hashes, or any value under
an audit key that names a secret.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from listener.errors import UserError
from listener.reports.csv_out import csv_cells
from listener.store import audit
from listener.store.models import AuditEvent, Author, Mention, Note, QueueItem, Reply, User

FORMATS = ("json", "csv")
BATCH = 500
CSV_COLUMNS = ("mention_id", "entry", "entry_id", "at", "platform", "who", "text", "status", "detail")
# Audit keys whose values are never exported, whatever object they belong to.
SECRET_KEY = re.compile(r"token|secret|password|passwd|credential|api_?key|cookie|session", re.IGNORECASE)
MASKED = "[withheld]"


@dataclass(frozen=True)
class FoiQuery:
    """What a request asks for: local dates (inclusive) and/or terms that must all appear in the text."""

    date_from: date | None = None
    date_to: date | None = None
    search: str | None = None

    def terms(self) -> list[str]:
        """Words and "quoted phrases" of the search, each matched case-insensitively."""
        if not self.search or not self.search.strip():
            return []
        try:
            return [t for t in shlex.split(self.search) if t.strip()]
        except ValueError as exc:
            raise UserError(f"search {self.search!r}: {exc}") from exc

    def describe(self) -> dict[str, Any]:
        return {
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "search": self.search or None,
        }


def _where(stmt: Select, query: FoiQuery, timezone: str) -> Select:
    zone = ZoneInfo(timezone)
    if query.date_from is not None:
        stmt = stmt.where(
            Mention.created_at >= datetime.combine(query.date_from, time(0), zone).astimezone(UTC)
        )
    if query.date_to is not None:
        end = datetime.combine(query.date_to + timedelta(days=1), time(0), zone).astimezone(UTC)
        stmt = stmt.where(Mention.created_at < end)
    for term in query.terms():
        stmt = stmt.where(Mention.text.icontains(term, autoescape=True))
    return stmt


def count_matching(session: Session, query: FoiQuery, *, timezone: str) -> int:
    return int(session.scalar(_where(select(func.count()).select_from(Mention), query, timezone)) or 0)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def scrub(value: Any) -> Any:
    """A copy of audit data with every value under a secret-sounding key withheld."""
    if isinstance(value, dict):
        return {k: (MASKED if SECRET_KEY.search(str(k)) else scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


class _People:
    """Staff names by user id (the users table is small: read once)."""

    def __init__(self, session: Session) -> None:
        self.names = {
            uid: f"{name} ({initials})"
            for uid, name, initials in session.execute(select(User.id, User.name, User.initials))
        }

    def __call__(self, user_id: int | None) -> str | None:
        return None if user_id is None else self.names.get(user_id, f"user {user_id}")


def iter_records(session: Session, query: FoiQuery, *, timezone: str) -> Iterator[dict[str, Any]]:
    """Matching mentions, oldest first, each with its replies, notes and decisions (plain data)."""
    people = _People(session)
    after: tuple[datetime, int] | None = None
    while True:
        stmt = select(Mention, Author).join(Author, Author.id == Mention.author_id)
        stmt = _where(stmt, query, timezone).order_by(Mention.created_at, Mention.id).limit(BATCH)
        if after is not None:
            stmt = stmt.where(tuple_(Mention.created_at, Mention.id) > after)
        batch = session.execute(stmt).tuples().all()
        if not batch:
            return
        yield from _records(session, batch, people)
        last = batch[-1][0]
        after = (last.created_at, last.id)


def _records(
    session: Session, batch: Sequence[tuple[Mention, Author]], people: _People
) -> Iterator[dict[str, Any]]:
    mention_ids = [m.id for m, _ in batch]
    items = {
        i.mention_id: i
        for i in session.scalars(select(QueueItem).where(QueueItem.mention_id.in_(mention_ids)))
    }
    item_ids = [i.id for i in items.values()]
    replies: dict[int, list[Reply]] = defaultdict(list)
    notes: dict[int, list[Note]] = defaultdict(list)
    if item_ids:
        for reply in session.scalars(
            select(Reply).where(Reply.queue_item_id.in_(item_ids)).order_by(Reply.created_at, Reply.id)
        ):
            replies[reply.queue_item_id or 0].append(reply)
        for note in session.scalars(
            select(Note).where(Note.queue_item_id.in_(item_ids)).order_by(Note.created_at, Note.id)
        ):
            notes[note.queue_item_id or 0].append(note)
    decisions = _decisions(session, mention_ids, items, replies, notes)

    for mention, author in batch:
        item = items.get(mention.id)
        yield {
            "id": mention.id,
            "platform": mention.platform,
            "external_id": mention.external_id,
            "created_at": _iso(mention.created_at),
            "kind": mention.kind,
            "source": mention.source_key,
            "url": mention.url,
            "text": mention.text,
            "author": {"handle": author.handle, "name": author.name},
            "anonymised_at": _iso(mention.anonymised_at),
            "queue_item": None if item is None else _item(item, people),
            "replies": [_reply(r, people) for r in (replies[item.id] if item else [])],
            "notes": [_note(n, people) for n in (notes[item.id] if item else [])],
            "decisions": [_decision(e) for e in decisions[mention.id]],
        }


def _decisions(
    session: Session,
    mention_ids: Sequence[int],
    items: dict[int, QueueItem],
    replies: dict[int, list[Reply]],
    notes: dict[int, list[Note]],
) -> dict[int, list[AuditEvent]]:
    """The audit events about each mention, its queue item, replies and notes, oldest first."""
    # Which mention each audited object belongs to: decisions are events about any of them.
    owner: dict[tuple[str, str], int] = {("mention", str(mid)): mid for mid in mention_ids}
    for mention_id, queued in items.items():
        owner[("queue_item", str(queued.id))] = mention_id
        owner.update({("reply", str(r.id)): mention_id for r in replies[queued.id]})
        owner.update({("note", str(n.id)): mention_id for n in notes[queued.id]})
    by_type: dict[str, list[str]] = defaultdict(list)
    for object_type, object_id in owner:
        by_type[object_type].append(object_id)
    events = session.scalars(
        select(AuditEvent)
        .where(
            or_(
                *(
                    and_(AuditEvent.object_type == t, AuditEvent.object_id.in_(ids))
                    for t, ids in by_type.items()
                )
            )
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    decisions: dict[int, list[AuditEvent]] = defaultdict(list)
    for event in events:
        decisions[owner[(event.object_type, event.object_id or "")]].append(event)
    return decisions


def _item(item: QueueItem, people: _People) -> dict[str, Any]:
    return {
        "id": item.id,
        "status": item.status,
        "priority": item.priority,
        "assignee": people(item.assignee_id),
        "due_at": _iso(item.due_at),
        "first_response_at": _iso(item.first_response_at),
        "closed_at": _iso(item.closed_at),
        "no_reply_reason": item.no_reply_reason,
    }


def _reply(reply: Reply, people: _People) -> dict[str, Any]:
    return {
        "id": reply.id,
        "created_at": _iso(reply.created_at),
        "text": reply.text,
        "status": reply.status,
        "purpose": reply.purpose,
        "author": people(reply.author_id),
        "approved_by": people(reply.approved_by_id),
        "sent_at": _iso(reply.sent_at),
        "platform_reply_id": reply.platform_reply_id,
    }


def _note(note: Note, people: _People) -> dict[str, Any]:
    return {
        "id": note.id,
        "created_at": _iso(note.created_at),
        "text": note.text,
        "author": people(note.user_id),
    }


def _decision(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": _iso(event.at),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": scrub(event.before),
        "after": scrub(event.after),
    }


# --- writing -----------------------------------------------------------------------------


# The CSV has one row per entry (the mention, then each reply, note and decision), so a
# spreadsheet can filter by mention; the fields without a column of their own are kept as
# JSON in "detail". "who" and "status" repeat a field of detail for reading only.
_HEADLINE = {
    "mention": ("created_at", "text"),
    "reply": ("created_at", "text"),
    "note": ("created_at", "text"),
    "decision": ("at", "action"),
}


def csv_rows(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The CSV rows of one record."""
    detail = {
        k: v
        for k, v in record.items()
        if k not in {"id", "created_at", "text", "platform", "replies", "notes", "decisions"}
    }
    item = record["queue_item"]
    yield _row(
        record,
        "mention",
        record,
        detail,
        who=record["author"]["handle"] or record["author"]["name"],
        status=item["status"] if item else None,
    )
    for entry, key, who, status in (
        ("reply", "replies", "author", "status"),
        ("note", "notes", "author", None),
        ("decision", "decisions", "actor", None),
    ):
        at_key, text_key = _HEADLINE[entry]
        for sub in record[key]:
            rest = {k: v for k, v in sub.items() if k not in {"id", at_key, text_key}}
            yield _row(record, entry, sub, rest, who=sub.get(who), status=sub.get(status) if status else None)


def _row(
    record: dict[str, Any], entry: str, sub: dict[str, Any], detail: dict[str, Any], *, who: Any, status: Any
) -> dict[str, Any]:
    at_key, text_key = _HEADLINE[entry]
    return {
        "mention_id": record["id"],
        "entry": entry,
        "entry_id": sub["id"],
        "at": sub[at_key],
        "platform": record["platform"],
        "who": who,
        "text": sub[text_key],
        "status": status,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True),
    }


def record_export(
    session: Session, *, actor: User | str, query: FoiQuery, fmt: str, mentions: int
) -> AuditEvent:
    """The audit entry for an export: who, which request, which format, how many mentions."""
    return audit.record(
        session,
        actor=actor,
        action="foi.export",
        object_type="foi_export",
        after={**query.describe(), "format": fmt, "mentions": mentions},
    )


def export_chunks(session: Session, *, query: FoiQuery, fmt: str, timezone: str) -> Iterator[str]:
    """The export in ``fmt`` as text chunks, one mention at a time (a large export is streamed)."""
    if fmt not in FORMATS:
        raise UserError(f"format must be one of {', '.join(FORMATS)}")
    records = iter_records(session, query, timezone=timezone)
    if fmt == "json":
        for record in records:
            yield json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        writer.writerows(csv_cells(row, CSV_COLUMNS) for row in csv_rows(record))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def write_export(session: Session, out: IO[str], *, query: FoiQuery, fmt: str, timezone: str) -> None:
    for chunk in export_chunks(session, query=query, fmt=fmt, timezone=timezone):
        out.write(chunk)
