"""One action on a selection of queue items: in a crisis an agent faces twenty near-identical posts.

Each item is done on its own (a savepoint each) with the same rules as doing it by hand — the
claim rules, nothing in flight, an open incident — so one item someone else holds is refused
and the rest go ahead. Each done item is audited as the single action would be.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from listener.incidents import lifecycle
from listener.queue import notes_tags
from listener.queue.items import OPEN_STATUSES, QueueError, assign, get_item
from listener.replies.decisions import no_reply_needed
from listener.replies.drafts import ReplyError
from listener.store import audit
from listener.store.models import Incident, QueueItem, User

MAX_SELECTION = 200
ACTIONS = ("no_reply", "tag", "assign", "link")


@dataclass
class BulkOutcome:
    done: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # item id -> why, for the person


class BulkError(ValueError):
    """The selection or the action's input is wrong as a whole; nothing was done."""


def _each(session: Session, item_ids: Sequence[int], act: Callable[[QueueItem], None]) -> BulkOutcome:
    if not item_ids:
        raise BulkError("Select at least one item")
    if len(item_ids) > MAX_SELECTION:
        raise BulkError(f"Select at most {MAX_SELECTION} items at a time")
    outcome = BulkOutcome()
    for item_id in dict.fromkeys(item_ids):
        try:
            with session.begin_nested():
                act(get_item(session, item_id))
        except (QueueError, ReplyError, notes_tags.InvalidInput, lifecycle.IncidentClosed) as exc:
            outcome.refused[item_id] = str(exc)
        else:
            outcome.done.append(item_id)
    return outcome


def close_no_reply(
    session: Session, *, item_ids: Sequence[int], user: User, reason: str, now: datetime
) -> BulkOutcome:
    if not reason.strip():
        raise BulkError("Give a reason for closing without a reply")

    def close(item: QueueItem) -> None:
        no_reply_needed(session, item=item, user=user, reason=reason, now=now)

    return _each(session, item_ids, close)


def tag(session: Session, *, item_ids: Sequence[int], user: User, tag: str, now: datetime) -> BulkOutcome:
    try:
        tag = notes_tags.normalise_tag(tag)
    except notes_tags.InvalidInput as exc:
        raise BulkError(str(exc)) from exc

    def add(item: QueueItem) -> None:
        notes_tags.add_tag(session, item=item, user=user, tag=tag, now=now)

    return _each(session, item_ids, add)


def assign_to(
    session: Session, *, item_ids: Sequence[int], user: User, assignee: User | None, now: datetime
) -> BulkOutcome:
    if assignee is None:
        raise BulkError("Choose who to assign the items to")
    chosen = assignee

    def give(item: QueueItem) -> None:
        assign(session, item_id=item.id, assignee=chosen, actor=user, now=now)

    return _each(session, item_ids, give)


def link_to_incident(
    session: Session, *, item_ids: Sequence[int], user: User, incident: Incident | None
) -> BulkOutcome:
    """Put the items in an open incident: their replies then need a comms lead's approval."""
    if incident is None:
        raise BulkError("Choose the incident")
    if incident.status == "resolved":
        raise BulkError("That incident is resolved: open it again first")

    def link(item: QueueItem) -> None:
        if item.incident_id == incident.id:
            return
        if item.status not in OPEN_STATUSES:
            raise QueueError(f"This item is {item.status.replace('_', ' ')}.")
        if item.incident_id is not None:
            raise QueueError(f"This item is already in incident {item.incident_id}.")
        notes_tags.ensure_may_change(session, item, user)
        lifecycle.link_mentions(session, incident, [item.mention_id])
        audit.record(
            session,
            actor=user,
            action="item.linked_to_incident",
            object_type="queue_item",
            object_id=item.id,
            after={"incident_id": incident.id},
        )

    return _each(session, item_ids, link)
