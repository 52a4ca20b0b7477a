"""Notes and tags on an item, and one action on a selection of queue items (bulk).

Everyone on the team may use them; the rules are the listener's (``listener.queue.notes_tags``,
``listener.queue.bulk``): claim rules, nothing in flight, open incidents only.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from listener.queue import bulk, notes_tags
from listener.queue.items import TABS, QueueError, get_item
from listener.replies.drafts import MAX_REASON_CHARS
from listener.store.models import Incident, User
from queue_ui.deps import MAX_ID, Agent, CsrfChecked, DbSession, Now, RowId
from queue_ui.rendering import flash
from queue_ui.routes.items import _page

router = APIRouter()

NoteText = Annotated[str, Form(max_length=notes_tags.MAX_NOTE_CHARS)]
TagText = Annotated[str, Form(max_length=200)]


def _back(item_id: int, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/items/{item_id}#{anchor}", status_code=303)


@router.post("/items/{item_id}/notes")
def add_note(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    item_id: RowId,
    text: NoteText = "",
) -> Response:
    try:
        notes_tags.add_note(db, item=get_item(db, item_id), user=user, text=text, now=now)
    except notes_tags.InvalidInput as exc:
        return _page(request, db, user, now, item_id, status_code=422, errors={"note-text": str(exc)})
    flash(request, "Note added. Notes are for the team: they are never sent.")
    return _back(item_id, "notes")


@router.post("/items/{item_id}/tags")
def add_tag(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    item_id: RowId,
    tag: TagText = "",
) -> Response:
    try:
        added = notes_tags.add_tag(db, item=get_item(db, item_id), user=user, tag=tag, now=now)
    except notes_tags.InvalidInput as exc:
        return _page(request, db, user, now, item_id, status_code=422, errors={"tag-text": str(exc)})
    except QueueError as exc:
        return _page(request, db, user, now, item_id, status_code=409, errors={"tag-text": str(exc)})
    flash(request, f"Tagged “{added}”.")
    return _back(item_id, "tags")


@router.post("/items/{item_id}/tags/remove")
def remove_tag(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    item_id: RowId,
    tag: TagText = "",
) -> Response:
    try:
        notes_tags.remove_tag(db, item=get_item(db, item_id), user=user, tag=tag)
    except notes_tags.InvalidInput as exc:
        return _page(request, db, user, now, item_id, status_code=422, errors={"tag-text": str(exc)})
    except QueueError as exc:
        return _page(request, db, user, now, item_id, status_code=409, errors={"tag-text": str(exc)})
    flash(request, f"Tag “{notes_tags.normalise_tag(tag)}” removed.")
    return _back(item_id, "tags")


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isascii() and v.isdigit() and 1 <= int(v) <= MAX_ID]


def _summary(verb: str, outcome: bulk.BulkOutcome) -> str:
    done = len(outcome.done)
    text = f"{verb} {done} item{'s' if done != 1 else ''}."
    if outcome.refused:
        reasons = "; ".join(f"item {item_id}: {why}" for item_id, why in sorted(outcome.refused.items()))
        text += f" Not done on {len(outcome.refused)}: {reasons}"
    return text


@router.post("/queue/bulk")
def bulk_action(
    request: Request,
    db: DbSession,
    user: Agent,
    now: Now,
    _csrf: CsrfChecked,
    item_ids: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI form default)
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=MAX_REASON_CHARS)] = "",
    tag: TagText = "",
    assignee_id: Annotated[str, Form(max_length=12)] = "",
    incident_id: Annotated[str, Form(max_length=12)] = "",
    tab: Annotated[str, Form(max_length=20)] = "new",
) -> Response:
    """Do one action on the selected items; the queue says how many were done and why any were not."""
    ids = _ids(item_ids)
    try:
        if action == "no_reply":
            outcome = bulk.close_no_reply(db, item_ids=ids, user=user, reason=reason, now=now)
            message = _summary("Closed as no reply needed:", outcome)
        elif action == "tag":
            outcome = bulk.tag(db, item_ids=ids, user=user, tag=tag, now=now)
            message = _summary(f"Tagged “{notes_tags.normalise_tag(tag)}”:", outcome)
        elif action == "assign":
            assignee = db.get(User, _ids([assignee_id])[0]) if _ids([assignee_id]) else None
            outcome = bulk.assign_to(db, item_ids=ids, user=user, assignee=assignee, now=now)
            message = _summary(f"Assigned to {assignee.name if assignee else ''}:", outcome)
        elif action == "link":
            incident = db.get(Incident, _ids([incident_id])[0]) if _ids([incident_id]) else None
            outcome = bulk.link_to_incident(db, item_ids=ids, user=user, incident=incident)
            message = _summary(f"Linked to incident {incident.id if incident else ''}:", outcome)
        else:
            raise bulk.BulkError("Choose an action")
    except bulk.BulkError as exc:
        message = f"Nothing was done: {exc}."
    flash(request, message)
    return RedirectResponse(f"/queue?{urlencode({'tab': tab if tab in TABS else 'new'})}", status_code=303)
