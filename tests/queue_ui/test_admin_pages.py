"""Admin pages: people and roles, sources and their health, templates, thresholds (validated and audited)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from listener.store.db import write_transaction
from listener.store.models import AuditEvent, Checkpoint, SettingOverride, Source, Template, User
from tests.queue_ui.conftest import NOW


def test_an_admin_adds_a_person_who_can_then_sign_in(client_as, app, engine):
    admin = client_as("admin")
    response = admin.form(
        "/admin/users",
        {
            "name": "New Agent",
            "email": "New.Agent@example.nhs.uk",
            "initials": "NA",
            "role": "agent",
            "password": "a long enough password",
        },
    )
    assert response.status_code == 303
    assert "Added New Agent as agent." in admin.get("/admin/users").text
    with write_transaction(engine) as session:
        user = session.scalars(select(User).where(User.email == "new.agent@example.nhs.uk")).one()
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.add")).all()[-1]
        assert event.actor == admin.user.email and "password" not in str(event.after)
    from tests.queue_ui.conftest import sign_in

    assert sign_in(app, user, password="a long enough password").get("/queue").status_code == 200


def test_adding_a_person_reports_every_problem(client_as):
    admin = client_as("admin")
    response = admin.form("/admin/users", {"name": "", "email": "", "initials": "", "password": "short"})
    assert response.status_code == 400
    for field in ("name", "email", "password"):
        assert f'href="#{field}"' in response.text
    dup = admin.form(
        "/admin/users",
        {
            "name": "Again",
            "email": admin.user.email,
            "initials": "AG",
            "role": "agent",
            "password": "a long enough password",
        },
    )
    assert dup.status_code == 400 and "already exists" in dup.text


def test_role_changes_and_disabling_are_audited_but_not_on_yourself(client_as, make_user, engine):
    admin = client_as("admin")
    person = make_user("agent")
    assert admin.form(f"/admin/users/{person.id}", {"role": "lead"}).status_code == 303
    assert admin.form(f"/admin/users/{person.id}", {"active": "false"}).status_code == 303
    own = admin.form(f"/admin/users/{admin.user.id}", {"role": "agent"})
    assert own.status_code == 400 and "cannot change your own role" in own.text
    with write_transaction(engine) as session:
        changed = session.get_one(User, person.id)
        assert (changed.role, changed.active) == ("lead", False)
        actions = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "user", AuditEvent.object_id == str(person.id)
            )
        ).all()
        assert "user.role" in actions and "user.disable" in actions


def test_sources_show_their_health_and_can_be_marked_fixed(client_as, engine):
    admin = client_as("admin")
    with write_transaction(engine) as session:
        source = Source(
            key="facebook:page:123",
            platform="facebook",
            needs_attention=True,
            attention_reason="The page token was revoked",
            errors=3,
        )
        session.add(source)
        session.flush()
        session.add(
            Checkpoint(
                source_id=source.id,
                cursor={},
                last_poll_at=NOW - timedelta(minutes=3),
                last_error="401 from the Graph API",
                last_error_at=NOW - timedelta(minutes=3),
                retry_at=NOW + timedelta(minutes=12),
            )
        )
    html = admin.get("/admin/sources").text
    assert (
        "Needs attention" in html
        and "The page token was revoked" in html
        and "401 from the Graph API" in html
    )
    assert "Rate limit resets" in html and "No worker has reported in." in html
    assert admin.form("/admin/sources/fixed", {"key": "facebook:page:123"}).status_code == 303
    with write_transaction(engine) as session:
        fixed = session.scalars(select(Source)).one()
        assert not fixed.needs_attention and fixed.errors == 0
    assert admin.form("/admin/sources/fixed", {"key": "nope"}).status_code == 404


def test_an_edited_template_is_offered_on_items_and_can_be_reset(client_as, seed, engine):
    admin = client_as("admin")
    listing = admin.get("/admin/templates").text
    assert "Thanks for getting in touch" in listing
    saved = admin.form(
        "/admin/templates/thanks-comment",
        {
            "title": "Thanks, edited",
            "body": "Thanks so much, {author_name}! ^{agent_initials}",
            "for_kinds": ["comment"],
        },
    )
    assert saved.status_code == 303
    item = seed("Just saying hello", label="neutral")
    page = admin.get(f"/items/{item.item_id}").text
    assert "Thanks, edited" in page and "Thanks so much, Pat! ^AB" in page
    assert admin.form("/admin/templates/thanks-comment/reset").status_code == 303
    with write_transaction(engine) as session:
        assert session.scalars(select(Template)).all() == []
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "template")).all()
        assert actions == ["template.save", "template.reset"]


def test_a_template_needs_a_title_text_and_kinds(client_as):
    response = client_as("admin").form("/admin/templates/thanks-comment", {"title": "", "body": ""})
    assert response.status_code == 400
    for field in ("title", "body", "for_kinds"):
        assert f'href="#{field}"' in response.text


def test_thresholds_are_validated_audited_and_take_effect(client_as, seed, engine):
    admin = client_as("admin")
    refused = admin.form("/admin/settings", {"key": "sla.warn_before_minutes", "value": "-3"})
    assert refused.status_code == 400 and "Warn before the target" in refused.text
    not_number = admin.form("/admin/settings", {"key": "sla.urgent_minutes", "value": "soon"})
    assert not_number.status_code == 400 and "whole number" in not_number.text
    unknown = admin.form("/admin/settings", {"key": "database.url", "value": "1"})
    assert unknown.status_code == 400

    seed(due_in=timedelta(minutes=50))
    assert "nhsuk-tag--orange lp-sla" not in admin.get("/queue").text
    assert admin.form("/admin/settings", {"key": "sla.warn_before_minutes", "value": "60"}).status_code == 303
    assert "nhsuk-tag--orange lp-sla" in admin.get("/queue").text, (
        "due in 50 min is now inside the warning window"
    )
    with write_transaction(engine) as session:
        assert session.get_one(SettingOverride, "sla.warn_before_minutes").value == 60
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "setting.override")).one()
        assert (event.before, event.after) == ({"value": 30}, {"value": 60})
    assert admin.form("/admin/settings/reset", {"key": "sla.warn_before_minutes"}).status_code == 303
    with write_transaction(engine) as session:
        assert session.get(SettingOverride, "sla.warn_before_minutes") is None


def test_the_audit_page_filters_events(client_as, seed):
    manager = client_as("manager")
    agent = client_as("agent")
    item = seed()
    agent.form(f"/items/{item.item_id}/claim")
    html = manager.get(f"/audit?action=item.claim&actor={agent.user.email}").text
    assert "item.claim" in html and f"Item {item.item_id}" in html and "user.sign_in" not in html
    assert "No audit events match." in manager.get("/audit?action=nothing.like.this").text
