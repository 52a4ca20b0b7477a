"""Admin pages: users and roles, sources and their health, reply templates, thresholds and SLA targets."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from listener import overrides
from listener.accounts import sessions, users
from listener.errors import UserError
from listener.health import health_report
from listener.intake.sources import clear_attention
from listener.replies import drafts as replies
from listener.store import audit
from listener.store.models import ROLES, Checkpoint, Source, Template, User
from queue_ui.deps import MAX_ID, Admin, CsrfChecked, DbSession, Now, RowId
from queue_ui.rendering import flash, render
from triage.guidance import KINDS

router = APIRouter()

Text200 = Annotated[str, Form(max_length=200)]


@router.get("/admin")
def admin_home(request: Request, user: Admin) -> HTMLResponse:
    return render(request, "admin/index.html", title="Admin")


# --- users -----------------------------------------------------------------------------------


def _users_page(
    request: Request,
    db: DbSession,
    *,
    errors: dict[str, str] | None = None,
    form: dict | None = None,
    status: int = 200,
) -> HTMLResponse:
    people = list(db.scalars(select(User).order_by(User.active.desc(), User.name)))
    return render(
        request,
        "admin/users.html",
        status_code=status,
        title="Users",
        people=people,
        roles=ROLES,
        errors=errors or {},
        form=form or {},
    )


@router.get("/admin/users")
def users_page(request: Request, db: DbSession, user: Admin) -> HTMLResponse:
    return _users_page(request, db)


@router.post("/admin/users")
def add_user(
    request: Request,
    db: DbSession,
    user: Admin,
    _csrf: CsrfChecked,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Text200 = "",
    initials: Annotated[str, Form(max_length=20)] = "",
    role: Annotated[str, Form(max_length=20)] = "agent",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    form = {"email": email, "name": name, "initials": initials, "role": role}
    errors = {}
    if not name.strip():
        errors["name"] = "Enter the person's name"
    if not email.strip():
        errors["email"] = "Enter an email address"
    problem = users.password_problem(password, email=email, name=name)
    if problem:
        errors["password"] = problem
    if errors:
        return _users_page(request, db, errors=errors, form=form, status=400)
    try:
        with db.begin_nested():
            added = users.add_user(
                db, email=email, name=name, initials=initials, role=role, password=password, actor=user
            )
    except UserError as exc:
        message = str(exc)
        field = next((f for f in ("initials", "role", "name", "password") if f in message), "email")
        return _users_page(
            request, db, errors={field: message[0].upper() + message[1:]}, form=form, status=400
        )
    flash(request, f"Added {added.name} as {added.role}.")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}")
def change_user(
    request: Request,
    db: DbSession,
    user: Admin,
    _csrf: CsrfChecked,
    user_id: RowId,
    role: Annotated[str | None, Form(max_length=20)] = None,
    active: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    person = db.get(User, user_id)
    if person is None:
        return render(request, "error.html", status_code=404, title="User not found", message="No such user.")
    if person.id == user.id:
        return _users_page(
            request,
            db,
            errors={f"user-{user_id}": "You cannot change your own role or disable yourself."},
            status=400,
        )
    if role is not None:
        if role not in ROLES:
            return _users_page(
                request, db, errors={f"user-{user_id}": "Choose a role from the list."}, status=400
            )
        users.set_role(db, user=person, role=role, actor=user)
        flash(request, f"{person.name} is now {role}.")
    if active is not None:
        users.set_active(db, email=person.email, active=active == "true", actor=user)
        flash(request, f"{person.name} is {'enabled' if active == 'true' else 'disabled'}.")
    return RedirectResponse("/admin/users", status_code=303)


def _person_or_404(request: Request, db: DbSession, user_id: int) -> User | HTMLResponse:
    person = db.get(User, user_id)
    if person is None:
        return render(request, "error.html", status_code=404, title="User not found", message="No such user.")
    return person


@router.get("/admin/users/{user_id}/sessions")
def user_sessions(request: Request, db: DbSession, user: Admin, now: Now, user_id: RowId) -> HTMLResponse:
    person = _person_or_404(request, db, user_id)
    if not isinstance(person, User):
        return person
    lifetime = timedelta(hours=request.app.state.settings.ui.session_hours)
    return render(
        request,
        "admin/user_sessions.html",
        title=f"Signed-in sessions: {person.name}",
        person=person,
        sessions=sessions.active_sessions(db, user_id=person.id, now=now, lifetime=lifetime),
    )


@router.post("/admin/users/{user_id}/sessions/end")
def end_user_sessions(
    request: Request,
    db: DbSession,
    user: Admin,
    _csrf: CsrfChecked,
    user_id: RowId,
    session_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> Response:
    person = _person_or_404(request, db, user_id)
    if not isinstance(person, User):
        return person
    if session_id is None:
        ended = sessions.end_all_sessions(db, user_id=person.id)
    else:
        ended = sessions.end_session_by_id(db, user_id=person.id, session_id=session_id)
    audit.record(
        db,
        actor=user,
        action="user.sessions_ended",
        object_type="user",
        object_id=person.id,
        after={"sessions_ended": ended},
    )
    flash(request, f"Ended {ended} session{'s' if ended != 1 else ''} of {person.name}.")
    return RedirectResponse(f"/admin/users/{person.id}/sessions", status_code=303)


@router.post("/admin/users/{user_id}/reset-password")
def reset_user_password(
    request: Request, db: DbSession, user: Admin, now: Now, _csrf: CsrfChecked, user_id: RowId
) -> Response:
    person = _person_or_404(request, db, user_id)
    if not isinstance(person, User):
        return person
    if person.id == user.id:
        return _users_page(
            request,
            db,
            errors={f"user-{user_id}": "Change your own password from your account page."},
            status=400,
        )
    temporary = users.reset_password(db, user=person, actor=user, now=now)
    # Shown once, on this page only: never flashed into the cookie, logged or audited.
    return render(
        request, "admin/password_reset.html", title="One-time password", person=person, temporary=temporary
    )


# --- sources ---------------------------------------------------------------------------------


@router.get("/admin/sources")
def sources_page(request: Request, db: DbSession, user: Admin, now: Now) -> HTMLResponse:
    report = health_report(db, now=now)
    retry = dict(
        db.execute(
            select(Source.key, Checkpoint.retry_at).join(Checkpoint, Checkpoint.source_id == Source.id)
        ).all()
    )
    return render(request, "admin/sources.html", title="Sources", report=report, retry=retry)


@router.post("/admin/sources/fixed")
def source_fixed(
    request: Request,
    db: DbSession,
    user: Admin,
    _csrf: CsrfChecked,
    key: Annotated[str, Form(max_length=500)],
) -> Response:
    if db.scalar(select(Source.id).where(Source.key == key)) is None:
        return render(
            request, "error.html", status_code=404, title="Source not found", message="No such source."
        )
    clear_attention(db, key, actor=user)
    flash(request, f"{key} will be polled again now.")
    return RedirectResponse("/admin/sources", status_code=303)


# --- templates -------------------------------------------------------------------------------


@router.get("/admin/templates")
def templates_page(request: Request, db: DbSession, user: Admin) -> HTMLResponse:
    edited = {t.key for t in db.scalars(select(Template))}
    return render(
        request,
        "admin/templates.html",
        title="Reply templates",
        templates=replies.reply_templates(db),
        edited=edited,
        kinds=KINDS,
    )


def _template_form(
    request: Request,
    db: DbSession,
    key: str,
    *,
    errors: dict | None = None,
    form: dict | None = None,
    status: int = 200,
) -> HTMLResponse:
    current = next((t for t in replies.reply_templates(db) if t.id == key), None)
    if form is not None:
        values = form
    elif current is not None:
        values = {"title": current.title, "body": current.body, "for_kinds": list(current.for_kinds)}
    else:
        return render(
            request, "error.html", status_code=404, title="Template not found", message="No such template."
        )
    return render(
        request,
        "admin/template_edit.html",
        status_code=status,
        title=f"Edit template: {values['title']}",
        key=key,
        values=values,
        kinds=KINDS,
        errors=errors or {},
        is_default=any(t.id == key for t in replies.default_templates()),
        edited=db.scalar(select(Template).where(Template.key == key)) is not None,
    )


@router.get("/admin/templates/{key}")
def template_edit(request: Request, db: DbSession, user: Admin, key: str) -> HTMLResponse:
    return _template_form(request, db, key)


@router.post("/admin/templates/{key}")
async def template_save(
    request: Request,
    db: DbSession,
    user: Admin,
    now: Now,
    _csrf: CsrfChecked,
    key: str,
    title: Text200 = "",
    body: Annotated[str, Form(max_length=replies.MAX_REPLY_CHARS)] = "",
) -> Response:
    for_kinds = [k for k in (await request.form()).getlist("for_kinds") if isinstance(k, str) and k in KINDS]
    form = {"title": title, "body": body, "for_kinds": for_kinds}
    errors = {}
    if not title.strip():
        errors["title"] = "Enter a title"
    if not body.strip():
        errors["body"] = "Enter the reply text"
    if not for_kinds:
        errors["for_kinds"] = "Choose at least one kind of item"
    if len(key) > 100 or not key.replace("-", "").replace("_", "").isalnum():
        errors["title"] = "Template keys use letters, numbers, - and _ only"
    if errors:
        return _template_form(request, db, key, errors=errors, form=form, status=400)
    row = db.scalar(select(Template).where(Template.key == key))
    before = {"title": row.title, "body": row.body, "for_kinds": row.for_kinds} if row else None
    if row is None:
        row = Template(key=key, title=title.strip(), body=body.strip(), for_kinds=for_kinds)
        db.add(row)
    row.title, row.body, row.for_kinds = title.strip(), body.strip(), for_kinds
    row.updated_at, row.updated_by_id = now, user.id
    audit.record(
        db,
        actor=user,
        action="template.save",
        object_type="template",
        object_id=key,
        before=before,
        after=form,
    )
    flash(request, f"Saved the template {title.strip()!r}.")
    return RedirectResponse("/admin/templates", status_code=303)


@router.post("/admin/templates/{key}/reset")
def template_reset(request: Request, db: DbSession, user: Admin, _csrf: CsrfChecked, key: str) -> Response:
    row = db.scalar(select(Template).where(Template.key == key))
    if row is not None:
        audit.record(
            db,
            actor=user,
            action="template.reset",
            object_type="template",
            object_id=key,
            before={"title": row.title, "body": row.body, "for_kinds": row.for_kinds},
        )
        db.delete(row)
        flash(request, "The template is back to its default (or removed, if it had none).")
    return RedirectResponse("/admin/templates", status_code=303)


# --- thresholds and SLA targets --------------------------------------------------------------


def _settings_page(
    request: Request, db: DbSession, *, errors: dict | None = None, status: int = 200
) -> HTMLResponse:
    base = request.app.state.settings
    stored = overrides.stored_overrides(db)
    current = overrides.effective_settings(db, base)
    rows = [
        {
            "key": e.key,
            "field": e.key.replace(".", "-"),
            "label": e.label,
            "hint": e.hint,
            "value": overrides.current_value(current, e.key),
            "file_value": overrides.current_value(base, e.key),
            "overridden": e.key in stored,
        }
        for e in overrides.EDITABLE
    ]
    return render(
        request,
        "admin/settings.html",
        status_code=status,
        title="Thresholds and SLA targets",
        rows=rows,
        errors=errors or {},
    )


@router.get("/admin/settings")
def settings_page(request: Request, db: DbSession, user: Admin) -> HTMLResponse:
    return _settings_page(request, db)


@router.post("/admin/settings")
def settings_save(
    request: Request,
    db: DbSession,
    user: Admin,
    now: Now,
    _csrf: CsrfChecked,
    key: Annotated[str, Form(max_length=200)],
    value: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    try:
        overrides.set_override(
            db, settings=request.app.state.settings, key=key, raw=value, actor=user, now=now
        )
    except overrides.OverrideError as exc:
        return _settings_page(request, db, errors={key.replace(".", "-"): str(exc)}, status=400)
    flash(request, f"Saved {overrides.EDITABLE_KEYS[key].label.lower()}.")
    return RedirectResponse("/admin/settings", status_code=303)


@router.post("/admin/settings/reset")
def settings_reset(
    request: Request,
    db: DbSession,
    user: Admin,
    _csrf: CsrfChecked,
    key: Annotated[str, Form(max_length=200)],
) -> Response:
    overrides.clear_override(db, settings=request.app.state.settings, key=key, actor=user)
    flash(request, "Back to the value in the settings file.")
    return RedirectResponse("/admin/settings", status_code=303)
