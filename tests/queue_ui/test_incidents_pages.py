"""The incident pages: who sees and does what, acknowledgement by link, the response's sign-off gate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from listener.incidents import alerts
from listener.incidents import lifecycle as incidents
from listener.replies.considered_response import CHECKLIST, text_version
from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.models import Alert, Author, Incident, Mention, QueueItem, Reply, Response, Score
from tests.queue_ui.conftest import NOW, SECRET, csrf_of


@pytest.fixture
def ui_settings() -> Settings:
    """The acknowledgement link is signed with the session secret: give the settings one."""
    settings = Settings()
    settings.secrets.session_secret = SecretStr(SECRET)
    return settings


def make_incident(
    engine, settings, *, level="crisis", texts=("Letters sent to strangers!", "See you in court")
):
    with write_transaction(engine) as session:
        ids = []
        for n, text in enumerate(texts):
            mention = Mention(
                platform="x",
                external_id=f"m{n}",
                source_key="x:mentions:@NHSCovWarks",
                kind="mention",
                author=Author(platform="x", external_id=f"a{n}", handle=f"person{n}"),
                text=text,
                created_at=NOW - timedelta(minutes=30 - n),
            )
            session.add(mention)
            session.flush()
            session.add(
                Score(mention_id=mention.id, compound=-0.8, pos=0, neg=0.6, neu=0.4, label="negative")
            )
            session.add(QueueItem(mention_id=mention.id, due_at=NOW + timedelta(hours=1)))
            ids.append(mention.id)
        session.flush()
        change = incidents.apply_update(
            session,
            settings,
            incidents.EpisodeUpdate(
                episode_key="ep",
                at=NOW - timedelta(minutes=20),
                level=level,
                criteria=["sole_subject", "emotive", "legal"],
                evidence={"sole_subject": ids, "emotive": ids[:1], "legal": ids[1:]},
                subject="GP letters sent to the wrong addresses",
                mention_ids=ids,
            ),
        )
        return change.incident_id


def test_the_incident_page_shows_criteria_evidence_timeline_and_alerts(engine, ui_settings, client_as):
    incident_id = make_incident(engine, ui_settings)
    client = client_as("agent")
    page = client.get(f"/incidents/{incident_id}")
    assert page.status_code == 200
    html = page.text
    assert "GP letters sent to the wrong addresses" in html
    assert "Legal in nature, or with negative legal connotations" in html
    assert "See you in court" in html
    assert 'id="timeline-table"' in html
    assert 'id="alert-table"' in html
    # An agent reads; the actions are for leads.
    assert 'id="listening-form"' not in html and 'id="acknowledge"' not in html
    listing = client.get("/incidents")
    assert listing.status_code == 200 and f'href="/incidents/{incident_id}"' in listing.text


def test_an_agent_cannot_resolve(engine, ui_settings, client_as):
    incident_id = make_incident(engine, ui_settings)
    client = client_as("agent")
    assert client.form(f"/incidents/{incident_id}/resolve", {"note": "x"}).status_code == 403
    with write_transaction(engine) as session:
        assert session.get(Incident, incident_id).status == "listening"


def test_a_lead_acknowledges_in_the_ui(engine, ui_settings, client_as):
    incident_id = make_incident(engine, ui_settings)
    client = client_as("lead")
    assert 'id="acknowledge"' in client.get(f"/incidents/{incident_id}").text
    assert client.form(f"/incidents/{incident_id}/acknowledge").status_code == 303
    with write_transaction(engine) as session:
        incident = session.get(Incident, incident_id)
        assert incident.acknowledged_by_id == client.user.id
        assert all(a.acknowledged_at == NOW for a in session.scalars(select(Alert)))


def test_the_signed_link_acknowledges_without_sign_in_but_only_by_post(engine, ui_settings, anonymous):
    incident_id = make_incident(engine, ui_settings)
    with write_transaction(engine) as session:
        alert_id = session.scalars(select(Alert.id)).one()
    token = alerts.ack_token(ui_settings, incident_id=incident_id, alert_id=alert_id)
    page = anonymous.get(f"/incidents/ack/{token}")
    assert page.status_code == 200 and "Acknowledge the alert" in page.text
    with write_transaction(engine) as session:
        assert session.get(Incident, incident_id).acknowledged_at is None  # a GET changes nothing
    done = anonymous.post(f"/incidents/ack/{token}", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "Alert acknowledged" in done.text
    with write_transaction(engine) as session:
        assert session.get(Incident, incident_id).acknowledged_at == NOW

    assert anonymous.get(f"/incidents/ack/{token[:-3]}xyz").status_code == 400


def _raise_to_crisis(engine, settings, incident_id):
    with write_transaction(engine) as session:
        incident = session.get_one(Incident, incident_id)
        incidents.apply_update(
            session,
            settings,
            incidents.EpisodeUpdate(
                episode_key="ep",
                at=NOW - timedelta(minutes=5),
                level="crisis",
                criteria=list(incident.criteria),
                evidence=dict(incident.evidence),
                subject=incident.subject,
                mention_ids=[],
            ),
        )


def test_an_old_alerts_link_does_not_acknowledge_the_later_crisis_alert(engine, ui_settings, anonymous):
    incident_id = make_incident(engine, ui_settings, level="alert")
    with write_transaction(engine) as session:
        old_alert = session.scalars(select(Alert.id)).one()
    _raise_to_crisis(engine, ui_settings, incident_id)
    token = alerts.ack_token(ui_settings, incident_id=incident_id, alert_id=old_alert)

    page = anonymous.get(f"/incidents/ack/{token}")
    assert "this link does not acknowledge that" in page.text
    done = anonymous.post(f"/incidents/ack/{token}", data={"csrf_token": csrf_of(page.text)})

    assert done.status_code == 200 and "acknowledge that on the incident page" in done.text
    with write_transaction(engine) as session:
        acked = dict(session.execute(select(Alert.level, Alert.acknowledged_at)).tuples().all())
        assert acked == {"alert": NOW, "crisis": None}
        assert session.get(Incident, incident_id).acknowledged_at is None


def test_the_link_records_who_acknowledged_when_signed_in(engine, ui_settings, client_as):
    incident_id = make_incident(engine, ui_settings)
    with write_transaction(engine) as session:
        alert_id = session.scalars(select(Alert.id)).one()
    token = alerts.ack_token(ui_settings, incident_id=incident_id, alert_id=alert_id)
    lead = client_as("lead", name="Lee Lead")

    page = lead.get(f"/incidents/ack/{token}")
    assert "signed in as Lee Lead" in page.text
    assert lead.post(f"/incidents/ack/{token}", data={"csrf_token": csrf_of(page.text)}).status_code == 200

    with write_transaction(engine) as session:
        assert session.get_one(Alert, alert_id).acknowledged_by_id == lead.user.id
        assert session.get_one(Incident, incident_id).acknowledged_by_id == lead.user.id


def test_a_link_naming_an_alert_the_incident_does_not_have_is_refused(engine, ui_settings, anonymous):
    incident_id = make_incident(engine, ui_settings)
    with write_transaction(engine) as session:
        alert_id = session.scalars(select(Alert.id)).one()
    token = alerts.ack_token(ui_settings, incident_id=incident_id, alert_id=alert_id + 100)
    assert anonymous.get(f"/incidents/ack/{token}").status_code == 400
    page = anonymous.get(
        f"/incidents/ack/{alerts.ack_token(ui_settings, incident_id=incident_id, alert_id=alert_id)}"
    )
    refused = anonymous.post(f"/incidents/ack/{token}", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 400
    with write_transaction(engine) as session:
        assert session.get_one(Alert, alert_id).acknowledged_at is None


def test_the_listening_message_is_checked_then_posted_by_a_lead(engine, ui_settings, client_as):
    incident_id = make_incident(engine, ui_settings)
    client = client_as("lead", initials="JB")
    page = client.get(f"/incidents/{incident_id}").text
    assert "Thank you for bringing this to our attention" in page and "^JB" in page

    checked = client.form(
        f"/incidents/{incident_id}/listening", {"text": "We are listening ^JB", "action": "check"}
    )
    assert checked.status_code == 200 and 'id="listening-findings"' in checked.text
    posted = client.form(
        f"/incidents/{incident_id}/listening",
        {"text": "We are listening ^JB", "action": "post", "to_items": "1"},
    )
    assert posted.status_code == 303
    with write_transaction(engine) as session:
        replies = session.scalars(select(Reply)).all()
        assert len(replies) == 3  # the account, and the two items
        assert {r.purpose for r in replies} == {"listening"}


ALL_YES = {f"check-{key}": "yes" for key in CHECKLIST}


def test_the_response_page_refuses_to_post_with_a_sign_off_missing(engine, ui_settings, client_as):
    incident_id = make_incident(engine, ui_settings)
    head, director = ui_settings.incidents.stakeholders
    client, other = client_as("lead"), client_as("manager")
    text = "We are sorry: some letters went to the wrong homes. Here is what we are doing. ^AB"
    saved = client.form(f"/incidents/{incident_id}/response", {"format": "post", "text": text, **ALL_YES})
    assert saved.status_code == 303
    with write_transaction(engine) as session:
        response = session.scalars(select(Response)).one()
        version = text_version("post", response.text)
    signed = client.form(
        f"/incidents/{incident_id}/response/sign-off", {"stakeholder": head, "version": version}
    )
    assert signed.status_code == 303

    page = client.get(f"/incidents/{incident_id}").text
    assert f"It can be posted once {director} has signed off this text" in page
    refused = client.form(f"/incidents/{incident_id}/response/post")
    assert refused.status_code == 422 and f"sign-off missing from {director}" in refused.text
    with write_transaction(engine) as session:
        assert session.scalars(select(Reply)).all() == []

    signed = other.form(
        f"/incidents/{incident_id}/response/sign-off", {"stakeholder": director, "version": version}
    )
    assert signed.status_code == 303
    assert client.form(f"/incidents/{incident_id}/response/post").status_code == 303
    with write_transaction(engine) as session:
        [reply] = session.scalars(select(Reply)).all()
        assert reply.purpose == "response" and reply.status == "approved"


def test_a_sign_off_of_a_text_changed_since_the_page_loaded_is_refused(engine, ui_settings, client_as):
    incident_id = make_incident(engine, ui_settings)
    client = client_as("lead")
    client.form(f"/incidents/{incident_id}/response", {"format": "post", "text": "First text ^AB", **ALL_YES})
    stale = client.form(
        f"/incidents/{incident_id}/response/sign-off",
        {"stakeholder": ui_settings.incidents.stakeholders[0], "version": "0" * 64},
    )
    assert stale.status_code == 409 and "changed since you opened the page" in stale.text


def test_resolving_shows_the_summary(engine, ui_settings, client_as):
    incident_id = make_incident(engine, ui_settings)
    client = client_as("lead")
    done = client.form(f"/incidents/{incident_id}/resolve", {"note": "Letters recalled", "confirm": "yes"})
    assert done.status_code == 303
    page = client.get(f"/incidents/{incident_id}").text
    assert 'id="resolution"' in page and "Letters recalled" in page
    assert "Time to first alert" in page


def _status(engine, incident_id):
    with write_transaction(engine) as session:
        return session.get(Incident, incident_id).status


def test_resolving_needs_a_summary_and_a_confirmation_past_the_warnings(engine, ui_settings, client_as):
    incident_id = make_incident(engine, ui_settings)
    client = client_as("lead")
    empty = client.form(f"/incidents/{incident_id}/resolve", {"note": "   ", "confirm": "yes"})
    assert empty.status_code == 422 and "Write a summary" in empty.text
    assert _status(engine, incident_id) != "resolved"

    asked = client.form(f"/incidents/{incident_id}/resolve", {"note": "Letters recalled"})
    assert asked.status_code == 200 and 'id="confirm-resolve"' in asked.text
    assert "No considered response has been written." in asked.text
    assert "2 items are still open in the queue with no response." in asked.text
    assert _status(engine, incident_id) != "resolved"

    assert (
        client.form(
            f"/incidents/{incident_id}/resolve", {"note": "Letters recalled", "confirm": "yes"}
        ).status_code
        == 303
    )
    with write_transaction(engine) as session:
        resolution = session.get(Incident, incident_id).summary["resolution"]
    assert resolution["note"] == "Letters recalled" and len(resolution["warnings"]) == 2
    again = client.form(f"/incidents/{incident_id}/resolve", {"note": "Again", "confirm": "yes"})
    assert again.status_code == 409


def test_an_unsigned_response_is_warned_of(engine, ui_settings, client_as):
    incident_id = make_incident(engine, ui_settings)
    client = client_as("lead")
    form = {"format": "post", "text": "We are sorry. ^AB", **ALL_YES}
    assert client.form(f"/incidents/{incident_id}/response", form).status_code == 303
    asked = client.form(f"/incidents/{incident_id}/resolve", {"note": "Done"})
    stakeholder = ui_settings.incidents.stakeholders[0]
    assert "The considered response is not signed off by" in asked.text and stakeholder in asked.text


def test_a_lead_reopens_and_renames_an_incident_an_agent_cannot(engine, ui_settings, client_as):
    incident_id = make_incident(engine, ui_settings)
    lead, agent = client_as("lead"), client_as("agent")
    lead.form(f"/incidents/{incident_id}/resolve", {"note": "Letters recalled", "confirm": "yes"})
    assert agent.form(f"/incidents/{incident_id}/reopen", {"reason": "x"}).status_code == 403
    assert agent.form(f"/incidents/{incident_id}/rename", {"name": "x"}).status_code == 403
    page = lead.get(f"/incidents/{incident_id}").text
    assert 'id="reopen-button"' in page
    assert lead.form(f"/incidents/{incident_id}/reopen", {"reason": ""}).status_code == 422
    assert lead.form(f"/incidents/{incident_id}/reopen", {"reason": "More letters found"}).status_code == 303
    assert _status(engine, incident_id) == "listening"
    page = lead.get(f"/incidents/{incident_id}").text
    assert "More letters found" in page and 'id="resolve-button"' in page
    assert lead.form(f"/incidents/{incident_id}/reopen", {"reason": "again"}).status_code == 409

    assert lead.form(f"/incidents/{incident_id}/rename", {"name": " "}).status_code == 422
    assert (
        lead.form(f"/incidents/{incident_id}/rename", {"name": "Letters to wrong addresses"}).status_code
        == 303
    )
    assert (
        '<h1 class="nhsuk-heading-l">Letters to wrong addresses</h1>'
        in lead.get(f"/incidents/{incident_id}").text
    )


def test_a_failed_alert_can_be_retried_from_the_page(engine, ui_settings, client_as):
    incident_id = make_incident(engine, ui_settings)
    alerts.deliver_due_alerts(engine, ui_settings, now=NOW)  # no channels configured: fails
    client = client_as("lead")
    page = client.get(f"/incidents/{incident_id}").text
    assert "Failed" in page and "no alert channels are configured for leads" in page
    with write_transaction(engine) as session:
        alert_id = session.scalars(select(Alert.id)).one()
    assert client.form(f"/incidents/{incident_id}/alerts/{alert_id}/retry").status_code == 303
    with write_transaction(engine) as session:
        assert session.get(Alert, alert_id).status == "pending"


def test_a_held_post_shows_on_the_incident_page_and_a_lead_says_posted_or_not(engine, ui_settings, client_as):
    incident_id = make_incident(engine, ui_settings)
    lead = client_as("lead", initials="JB")
    lead.form(f"/incidents/{incident_id}/listening", {"text": "We are listening ^JB", "action": "post"})
    with write_transaction(engine) as session:
        post = session.scalars(select(Reply)).one()
        post.status, post.last_error = (
            "held",
            "May already be posted: check the platform before sending again.",
        )
        post_id = post.id
    page = lead.get(f"/incidents/{incident_id}").text
    assert 'id="held-posts"' in page and "It is not posted: send it" in page
    assert 'id="held-posts"' not in client_as("agent").get(f"/incidents/{incident_id}").text
    assert lead.form(f"/incidents/{incident_id}/replies/{post_id}/not-posted").status_code == 303
    assert lead.form(f"/incidents/{incident_id}/replies/{post_id}/posted").status_code == 409
    with write_transaction(engine) as session:
        assert session.get_one(Reply, post_id).status == "approved"
