"""Instagram @mentions of the account in other people's captions and comments, from Meta's webhooks.

Instagram cannot be polled for them: Meta sends a ``mentions`` webhook (the media id, and
the comment id for a comment) and the post is then read through the account's user node.
The web app only stores each webhook as a row (:func:`record_webhook`, no platform call in
the request); the worker's job (:func:`process_mention_events`) looks each post up and
ingests it, marking the row done in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.base import Mention, PermanentError, TemporaryError
from listener.intake.ingest import TriageStage, ingest_or_skip_refused
from listener.store.db import upsert_insert, write_transaction
from listener.store.models import InstagramMentionEvent

log = logging.getLogger(__name__)

BATCH = 50


@runtime_checkable
class MentionLookup(Protocol):
    def fetch_mention(
        self, source: str, *, media_id: str, comment_id: str | None = None
    ) -> list[Mention]: ...


def source_key(account_id: str) -> str:
    return f"instagram:account:{account_id}"


def mention_changes(body: Any) -> list[tuple[str, str, str]]:
    """``(account id, media id, comment id or "")`` of each ``mentions`` change in a webhook body.

    Other fields, and changes whose ids are not digit strings, are left out (and logged).
    """
    if not isinstance(body, dict) or body.get("object") != "instagram":
        return []
    found = []
    for entry in body.get("entry") or ():
        if not isinstance(entry, dict):
            continue
        account = str(entry.get("id") or "")
        for change in entry.get("changes") or ():
            if not isinstance(change, dict) or change.get("field") != "mentions":
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                value = {}
            media, comment = str(value.get("media_id") or ""), str(value.get("comment_id") or "")
            if account.isdigit() and media.isdigit() and (comment == "" or comment.isdigit()):
                found.append((account, media, comment))
            else:
                log.warning("Instagram mentions webhook with unusable ids left out: %.300r", change)
    return found


def record_webhook(session: Session, body: Any, *, now: datetime) -> int:
    """Store the ``mentions`` changes of one webhook body; returns how many were new.

    Meta delivers at least once: a repeat hits the unique (media, comment) pair and is skipped.
    """
    new = 0
    for account, media, comment in mention_changes(body):
        stmt = (
            upsert_insert(session, InstagramMentionEvent)
            .values(account_id=account, media_id=media, comment_id=comment, received_at=now)
            .on_conflict_do_nothing(index_elements=["media_id", "comment_id"])
            .returning(InstagramMentionEvent.id)
        )
        new += session.execute(stmt).scalar() is not None
    return new


def process_mention_events(
    engine: Engine,
    connectors: Mapping[str, MentionLookup],
    stage: TriageStage,
    *,
    now: datetime,
    limit: int = BATCH,
) -> int:
    """The worker's job: look up and ingest undone events; returns how many were done.

    ``connectors``: the Instagram sources' connectors by source key. An event of an account
    with no enabled source is not read: it waits until there is one. A TemporaryError leaves
    the event for the next run; a PermanentError (GoneError: the post was deleted or made
    private), or a post the database refuses, marks it done with the reason kept.
    """
    accounts = [key.rsplit(":", 1)[-1] for key in connectors if key.startswith("instagram:account:")]
    with write_transaction(engine) as session:
        due = session.execute(
            select(
                InstagramMentionEvent.id,
                InstagramMentionEvent.account_id,
                InstagramMentionEvent.media_id,
                InstagramMentionEvent.comment_id,
            )
            .where(InstagramMentionEvent.done_at.is_(None), InstagramMentionEvent.account_id.in_(accounts))
            .order_by(InstagramMentionEvent.id)
            .limit(limit)
        ).all()
    done = 0
    for event_id, account, media, comment in due:
        source = source_key(account)
        error, mentions = None, []
        try:
            mentions = connectors[source].fetch_mention(source, media_id=media, comment_id=comment or None)
        except TemporaryError as exc:
            log.warning("Instagram @mention %s/%s: %s; trying again next run", media, comment, exc)
            continue
        except PermanentError as exc:
            error = str(exc)[:2000]
        with write_transaction(engine) as session:
            # A post the database cannot hold is skipped with its reason, not retried for ever.
            _, refused = ingest_or_skip_refused(session, mentions, stage, now=now)
            error = error or ("; ".join(refused) or None)
            event = session.get_one(InstagramMentionEvent, event_id)
            event.done_at, event.error = now, error
        done += 1
    return done
