"""Incident pages (policy 7.2): the list, the incident page and its actions, acknowledgement by link.

Everyone signed in can read an incident; the actions — acknowledge, retry an alert, the
listening message, the considered response and its sign-offs, resolve (summary required,
confirmed past the warnings), reopen, rename — need a comms lead. The acknowledgement
link in an alert needs no sign-in: the signed token is the permission, and it only
acknowledges (a GET shows a button, so a mail scanner that follows links acknowledges nothing).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from listener.accounts.users import has_role
from listener.incidents import alerts as alert_store
from listener.incidents import lifecycle as incidents
from listener.replies import incident_posts as comms
from listener.replies import outbox
from listener.store import audit
from listener.store.models import Alert, Author, Incident, Mention, QueueItem, Reply, User
from queue_ui.charts import Series, line_chart
from queue_ui.deps import Agent, CsrfChecked, DbSession, Lead, Now, OptionalUser, RowId
from queue_ui.rendering import flash, render

router = APIRouter()


def _incident(db: Session, incident_id: int) -> Incident:
    incident = db.get(Incident, incident_id)
    if incident is None:
        raise HTTPException(status_code=404, detail="No such incident")
    return incident


def _back(incident_id: int, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/incidents/{incident_id}{'#' + anchor if anchor else ''}", status_code=303)


@router.get("/incidents")
def incident_list(request: Request, db: DbSession, user: Agent) -> Response:
    open_first = case((Incident.status == "resolved", 1), else_=0)
    rows = db.scalars(select(Incident).order_by(open_first, Incident.opened_at.desc()).limit(200)).all()
    return render(
        request,
        "incidents/list.html",
        title="Incidents",
        incidents=rows,
        words=incidents.CRITERIA_WORDS,
    )


# --- acknowledgement by link (no sign-in) ----------------------------------------------------


def _linked_alert(request: Request, db: Session, token: str) -> tuple[Incident, Alert]:
    """The incident and the alert an acknowledgement link was sent in; BadAckLink if it names neither."""
    incident_id, alert_id = alert_store.read_ack_token(request.app.state.settings, token)
    incident = _incident(db, incident_id)
    alert = db.get(Alert, alert_id)
    if alert is None or alert.incident_id != incident.id:
        raise alert_store.BadAckLink("this link is not valid")
    return incident, alert


@router.get("/incidents/ack/{token}")
def ack_link_page(request: Request, db: DbSession, user: OptionalUser, token: str) -> Response:
    try:
        incident, alert = _linked_alert(request, db, token)
    except alert_store.BadAckLink as exc:
        return render(request, "error.html", status_code=400, title="Link not valid", message=str(exc))
    return render(
        request,
        "incidents/ack.html",
        title="Acknowledge the alert",
        incident=incident,
        alert=alert,
        signed_in=user,
        token=token,
    )


@router.post("/incidents/ack/{token}")
def ack_link(
    request: Request, db: DbSession, now: Now, user: OptionalUser, _csrf: CsrfChecked, token: str
) -> Response:
    """Acknowledge the link's alert (and lower ones), in the name of whoever is signed in."""
    try:
        incident, alert = _linked_alert(request, db, token)
    except alert_store.BadAckLink as exc:
        return render(request, "error.html", status_code=400, title="Link not valid", message=str(exc))
    incidents.acknowledge(db, incident=incident, user=user, via="link", alert=alert, now=now)
    return render(
        request, "incidents/ack.html", title="Alert acknowledged", incident=incident, alert=alert, done=True
    )


# --- the incident page -----------------------------------------------------------------------


def _evidence(db: Session, incident: Incident) -> dict[str, list[dict[str, Any]]]:
    ids = {mid for values in incident.evidence.values() for mid in values}
    if not ids:
        return {}
    rows = db.execute(
        select(Mention, Author, QueueItem.id)
        .join(Author, Author.id == Mention.author_id)
        .outerjoin(QueueItem, QueueItem.mention_id == Mention.id)
        .where(Mention.id.in_(ids))
    ).all()
    by_id = {m.id: {"mention": m, "author": a, "item_id": item_id} for m, a, item_id in rows}
    return {
        criterion: [by_id[mid] for mid in incident.evidence.get(criterion, []) if mid in by_id]
        for criterion in incident.criteria
    }


def _timeline_chart(incident: Incident) -> str | None:
    buckets = incident.timeline or []
    if len(buckets) < 2:
        return None
    labels = [b["at"][11:16] for b in buckets]
    return line_chart(
        title="Mentions per ten minutes",
        description=(
            f"Mentions and negative mentions about this incident per ten minutes, "
            f"from {buckets[0]['at'][:16]} to {buckets[-1]['at'][:16]} UTC."
        ),
        categories=labels,
        series=[
            Series("All mentions", [b["mentions"] for b in buckets]),
            Series("Negative", [b["negative"] for b in buckets]),
        ],
        x_label="Time (UTC)",
        y_label="Mentions",
        chart_id=f"incident-{incident.id}-timeline",
    )


def _page(
    request: Request,
    db: Session,
    incident: Incident,
    user: User,
    *,
    status_code: int = 200,
    listening_text: str | None = None,
    listening_findings: dict[str, list[Any]] | None = None,
    response_form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    settings = request.app.state.settings
    alert_rows = db.scalars(
        select(Alert).where(Alert.incident_id == incident.id).order_by(Alert.created_at)
    ).all()
    replies = db.scalars(
        select(Reply).where(Reply.incident_id == incident.id).order_by(Reply.created_at, Reply.id)
    ).all()
    response = comms.current_response(db, incident)
    items = comms.incident_items(db, incident)
    open_items = [i for i in items if i.status in ("new", "claimed") and i.first_response_at is None]
    if response_form is None:
        response_form = {
            "format": response.format if response else "post",
            "text": response.text if response else "",
            "checklist": dict(response.checklist or {}) if response else {},
        }
    return render(
        request,
        "incidents/page.html",
        status_code=status_code,
        title=f"Incident: {incident.subject}",
        incident=incident,
        words=incidents.CRITERIA_WORDS,
        all_criteria=incidents.CRITERIA,
        details=incident.summary.get("details", {}),
        evidence=_evidence(db, incident),
        chart=_timeline_chart(incident),
        alerts=alert_rows,
        unacknowledged=[a for a in alert_rows if a.acknowledged_at is None],
        listening=[r for r in replies if r.purpose == "listening"],
        posted_responses=[r for r in replies if r.purpose == "response"],
        listening_text=listening_text
        if listening_text is not None
        else comms.suggested_listening_message(settings, user),
        listening_findings=listening_findings or {},
        targets=comms.listening_targets(db, incident, to_items=False),
        open_items=open_items,
        items=items,
        response=response,
        response_form=response_form,
        formats=comms.RESPONSE_FORMATS,
        checklist=comms.CHECKLIST,
        signoffs=comms.signoff_state(db, settings, response) if response else [],
        missing=comms.missing_signoffs(db, settings, response)
        if response
        else settings.incidents.stakeholders,
        unanswered=comms.unanswered_checklist(response) if response else list(comms.CHECKLIST.values()),
        stakeholders=settings.incidents.stakeholders,
        stakeholder_options=[
            (s, s) for s in (comms.missing_signoffs(db, settings, response) if response else [])
        ],
        response_version=comms.text_version(response.format, response.text) if response else "",
        resolution=incident.summary.get("resolution"),
        users={u.id: u for u in db.scalars(select(User)).all()},
        errors=errors or {},
        is_lead=has_role(user, "lead"),
    )


@router.get("/incidents/{incident_id:int}")
def incident_page(request: Request, db: DbSession, user: Agent, incident_id: RowId) -> Response:
    return _page(request, db, _incident(db, incident_id), user)


@router.post("/incidents/{incident_id:int}/acknowledge")
def acknowledge(db: DbSession, now: Now, user: Lead, _csrf: CsrfChecked, incident_id: RowId) -> Response:
    incidents.acknowledge(db, incident=_incident(db, incident_id), user=user, via="ui", now=now)
    return _back(incident_id)


@router.post("/incidents/{incident_id:int}/alerts/{alert_id:int}/retry")
def retry_alert(
    request: Request,
    db: DbSession,
    now: Now,
    user: Lead,
    _csrf: CsrfChecked,
    incident_id: RowId,
    alert_id: RowId,
) -> Response:
    alert = db.get(Alert, alert_id)
    if alert is None or alert.incident_id != incident_id:
        raise HTTPException(status_code=404, detail="No such alert")
    try:
        alert_store.retry_alert(db, alert=alert, now=now)
    except ValueError as exc:
        return _page(
            request, db, _incident(db, incident_id), user, status_code=409, errors={"alerts": str(exc)}
        )
    audit.record(db, actor=user, action="alert.retry", object_type="alert", object_id=alert.id)
    flash(request, "The alert will be sent again within a minute.")
    return _back(incident_id, "alerts")


def _held_post(db: Session, incident_id: int, reply_id: int) -> Reply:
    reply = db.get(Reply, reply_id)
    if reply is None or reply.incident_id != incident_id or reply.queue_item_id is not None:
        raise HTTPException(status_code=404, detail="No such post")
    return reply


@router.post("/incidents/{incident_id:int}/replies/{reply_id}/not-posted")
def send_held_post(
    request: Request,
    db: DbSession,
    now: Now,
    user: Lead,
    _csrf: CsrfChecked,
    incident_id: int,
    reply_id: RowId,
) -> Response:
    """A lead checked the account: the held post is not there, so post it."""
    try:
        outbox.send_after_check(db, reply=_held_post(db, incident_id, reply_id), user=user, now=now)
    except outbox.NotHeld as exc:
        return _page(
            request, db, _incident(db, incident_id), user, status_code=409, errors={"held": str(exc)}
        )
    flash(request, "You checked: it is not on the account. It will be posted now.")
    return _back(incident_id, "listening")


@router.post("/incidents/{incident_id:int}/replies/{reply_id}/posted")
def mark_held_post_posted(
    request: Request,
    db: DbSession,
    now: Now,
    user: Lead,
    _csrf: CsrfChecked,
    incident_id: int,
    reply_id: RowId,
) -> Response:
    """A lead found the held post on the account: record it as sent."""
    try:
        outbox.mark_posted(db, reply=_held_post(db, incident_id, reply_id), user=user, now=now)
    except outbox.NotHeld as exc:
        return _page(
            request, db, _incident(db, incident_id), user, status_code=409, errors={"held": str(exc)}
        )
    flash(request, "Recorded as posted.")
    return _back(incident_id, "listening")


@router.post("/incidents/{incident_id:int}/listening")
def listening_message(
    request: Request,
    db: DbSession,
    now: Now,
    user: Lead,
    _csrf: CsrfChecked,
    incident_id: RowId,
    text: Annotated[str, Form(max_length=5000)] = "",
    action: Annotated[str, Form()] = "check",
    to_items: Annotated[str | None, Form()] = None,
    override: Annotated[str | None, Form()] = None,
) -> Response:
    incident = _incident(db, incident_id)
    settings = request.app.state.settings
    targets = comms.listening_targets(db, incident, to_items=bool(to_items))
    findings = comms.check_message(settings, text, targets) if text.strip() else {}
    if action != "post":
        return _page(request, db, incident, user, listening_text=text, listening_findings=findings)
    try:
        made = comms.post_listening_message(
            db,
            settings,
            incident=incident,
            user=user,
            text=text,
            to_items=bool(to_items),
            override=bool(override),
            now=now,
        )
    except comms.Blocked:
        return _page(
            request,
            db,
            incident,
            user,
            status_code=422,
            listening_text=text,
            listening_findings=findings,
            errors={"listening-text": "The reply checker blocks this message: change it, or tick override."},
        )
    except (comms.NotReady, incidents.IncidentClosed) as exc:
        return _page(
            request,
            db,
            incident,
            user,
            status_code=422,
            listening_text=text,
            errors={"listening-text": str(exc)},
        )
    flash(
        request,
        f"Listening message approved: {len(made)} post{'s' if len(made) != 1 else ''} queued to send.",
    )
    return _back(incident_id, "listening")


def _checklist_from(form: Any) -> dict[str, str]:
    return {key: str(form.get(f"check-{key}", "")) for key in comms.CHECKLIST}


@router.post("/incidents/{incident_id:int}/response")
async def save_response(
    request: Request,
    db: DbSession,
    now: Now,
    user: Lead,
    _csrf: CsrfChecked,
    incident_id: RowId,
) -> Response:
    incident = _incident(db, incident_id)
    form = await request.form()
    fmt = str(form.get("format", "post"))
    text = str(form.get("text", ""))[:20000]
    checklist = _checklist_from(form)
    errors = {}
    if fmt not in comms.RESPONSE_FORMATS:
        errors["format-post"] = "Choose a format"
    if not text.strip():
        errors["response-text"] = "Write the response"
    if errors:
        form_state = {"format": fmt, "text": text, "checklist": checklist}
        return _page(request, db, incident, user, status_code=422, response_form=form_state, errors=errors)
    try:
        comms.save_response(
            db, incident=incident, user=user, fmt=fmt, text=text, checklist=checklist, now=now
        )
    except (comms.NotReady, incidents.IncidentClosed) as exc:
        form_state = {"format": fmt, "text": text, "checklist": checklist}
        return _page(
            request,
            db,
            incident,
            user,
            status_code=409,
            response_form=form_state,
            errors={"response-text": str(exc)},
        )
    flash(request, "Response saved. Any sign-off of an earlier text no longer counts.")
    return _back(incident_id, "response")


@router.post("/incidents/{incident_id:int}/response/sign-off")
def sign_off(
    request: Request,
    db: DbSession,
    now: Now,
    user: Lead,
    _csrf: CsrfChecked,
    incident_id: RowId,
    stakeholder: Annotated[str, Form(max_length=200)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
    version: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    incident = _incident(db, incident_id)
    response = comms.current_response(db, incident)
    if response is None or version != comms.text_version(response.format, response.text):
        # The text changed since this page was loaded: nobody signs a text they have not seen.
        message = "The response changed since you opened the page. Read it again, then sign off."
        return _page(request, db, incident, user, status_code=409, errors={"stakeholder": message})
    try:
        comms.sign_off(
            db,
            request.app.state.settings,
            response=response,
            user=user,
            stakeholder=stakeholder,
            comment=comment,
            now=now,
        )
    except (ValueError, comms.NotPermitted, comms.NotReady) as exc:
        return _page(request, db, incident, user, status_code=422, errors={"stakeholder": str(exc)})
    flash(request, f"Signed off for {stakeholder}.")
    return _back(incident_id, "response")


@router.post("/incidents/{incident_id:int}/response/post")
def post_response(
    request: Request,
    db: DbSession,
    now: Now,
    user: Lead,
    _csrf: CsrfChecked,
    incident_id: RowId,
    override: Annotated[str | None, Form()] = None,
) -> Response:
    incident = _incident(db, incident_id)
    response = comms.current_response(db, incident)
    if response is None:
        return _page(
            request,
            db,
            incident,
            user,
            status_code=409,
            errors={"post-response": "Write the response first."},
        )
    try:
        made = comms.post_response(
            db,
            request.app.state.settings,
            incident=incident,
            response=response,
            user=user,
            override=bool(override),
            now=now,
        )
    except comms.Blocked as exc:
        message = "The reply checker blocks this text: " + "; ".join(f.message for f in exc.findings)
        return _page(request, db, incident, user, status_code=422, errors={"post-response": message})
    except (comms.NotReady, incidents.IncidentClosed) as exc:
        return _page(request, db, incident, user, status_code=422, errors={"post-response": str(exc)})
    flash(request, f"Response approved: {len(made)} post{'s' if len(made) != 1 else ''} queued to send.")
    return _back(incident_id, "response")


def close_warnings(db: Session, settings: Any, incident: Incident) -> list[str]:
    """What a lead is warned of before resolving: the response not signed off, items still open."""
    warnings = []
    response = comms.current_response(db, incident)
    missing = comms.missing_signoffs(db, settings, response) if response else []
    if response is None:
        warnings.append("No considered response has been written.")
    elif response.status != "posted" and missing:
        warnings.append(f"The considered response is not signed off by {', '.join(missing)}.")
    open_items = [
        i
        for i in comms.incident_items(db, incident)
        if i.status in ("new", "claimed") and i.first_response_at is None
    ]
    if open_items:
        n = len(open_items)
        warnings.append(f"{n} item{'s are' if n != 1 else ' is'} still open in the queue with no response.")
    return warnings


@router.post("/incidents/{incident_id:int}/resolve")
def resolve(
    request: Request,
    db: DbSession,
    now: Now,
    user: Lead,
    _csrf: CsrfChecked,
    incident_id: RowId,
    note: Annotated[str, Form(max_length=5000)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Two steps: the summary is checked and the warnings shown; only ``confirm=yes`` resolves."""
    incident = _incident(db, incident_id)
    if incident.status == "resolved":
        return _page(
            request,
            db,
            incident,
            user,
            status_code=409,
            errors={"resolve-note": "This incident is resolved already"},
        )
    if not note.strip():
        return _page(
            request,
            db,
            incident,
            user,
            status_code=422,
            errors={"resolve-note": "Write a summary of what happened and what was done"},
        )
    warnings = close_warnings(db, request.app.state.settings, incident)
    if confirm != "yes":
        return render(
            request,
            "incidents/resolve.html",
            title=f"Resolve the incident: {incident.subject}",
            incident=incident,
            note=note,
            warnings=warnings,
        )
    incidents.resolve(db, incident=incident, user=user, note=note, warnings=warnings, now=now)
    flash(request, "Incident resolved: back to listening. The summary is on this page.")
    return _back(incident_id, "summary")


@router.post("/incidents/{incident_id:int}/reopen")
def reopen(
    request: Request,
    db: DbSession,
    now: Now,
    user: Lead,
    _csrf: CsrfChecked,
    incident_id: int,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    incident = _incident(db, incident_id)
    try:
        incidents.reopen(db, incident=incident, user=user, reason=reason, now=now)
    except incidents.WordsRequired as exc:
        return _page(request, db, incident, user, status_code=422, errors={"reopen-reason": str(exc)})
    except incidents.NotResolved as exc:
        return _page(request, db, incident, user, status_code=409, errors={"reopen-reason": str(exc)})
    flash(request, "Incident opened again. The earlier summary is kept in its history.")
    return _back(incident_id)


@router.post("/incidents/{incident_id:int}/rename")
def rename(
    request: Request,
    db: DbSession,
    user: Lead,
    _csrf: CsrfChecked,
    incident_id: int,
    name: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    incident = _incident(db, incident_id)
    try:
        incidents.rename(db, incident=incident, user=user, name=name)
    except incidents.WordsRequired as exc:
        return _page(request, db, incident, user, status_code=422, errors={"incident-name": str(exc)})
    flash(request, f"Incident renamed: {incident.subject}.")
    return _back(incident_id)
