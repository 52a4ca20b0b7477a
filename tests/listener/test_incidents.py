"""Incidents: opened once per episode, alerted per level, escalated, answered, signed off, resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from listener.incidents import lifecycle as incidents
from listener.incidents.alerts import deliver_due_alerts
from listener.replies import incident_posts as comms
from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.models import (
    Alert,
    AuditEvent,
    Author,
    Incident,
    IncidentMention,
    Mention,
    QueueItem,
    Reply,
    Score,
)

T0 = datetime(2026, 3, 3, 21, 4, tzinfo=UTC)
X = "x:mentions:@NHSCovWarks"
FB = "facebook:page:104729318865221"


def _mentions(engine, texts, *, source=X, start=T0, label="negative", legal=()) -> list[int]:
    ids = []
    with write_transaction(engine) as session:
        for n, text in enumerate(texts):
            platform = source.split(":")[0]
            author = Author(
                platform=platform, external_id=f"{source}-a{n}-{start.timestamp()}", handle=f"person{n}"
            )
            mention = Mention(
                platform=platform,
                external_id=f"{source}-{start.timestamp()}-{n}",
                source_key=source,
                kind="mention",
                author=author,
                text=text,
                created_at=start + timedelta(minutes=n),
            )
            session.add(mention)
            session.flush()
            session.add(
                Score(
                    mention_id=mention.id,
                    compound=-0.7 if label == "negative" else 0.5,
                    pos=0,
                    neg=0.5,
                    neu=0.5,
                    label=label,
                    legal_terms=list(legal),
                )
            )
            session.add(QueueItem(mention_id=mention.id, due_at=mention.created_at + timedelta(hours=2)))
            ids.append(mention.id)
    return ids


def _update(ids, *, level="alert", criteria=("sole_subject", "emotive"), at=T0, key="ep-1", **kw):
    return incidents.EpisodeUpdate(
        episode_key=key,
        at=at,
        level=level,
        criteria=list(criteria),
        evidence={c: ids[:3] for c in criteria},
        subject=kw.pop("subject", "GP letters sent to the wrong addresses"),
        topic="gp letters",
        mention_ids=ids,
        **kw,
    )


def _apply(engine, update, settings=None):
    with write_transaction(engine) as session:
        return incidents.apply_update(session, settings or Settings(), update)


def _count(engine, model, *where) -> int:
    with write_transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_an_episode_opens_one_incident_with_its_evidence_and_one_alert(any_engine):
    engine = any_engine  # SQLite, and PostgreSQL when the CI gives one
    ids = _mentions(
        engine, ["Letters sent to the wrong people!", "My records went to a stranger", "Disgraceful"]
    )
    change = _apply(engine, _update(ids, details={"sole_subject": "90% of negative posts"}))
    assert change.opened and change.level == "alert" and change.mentions == 3

    again = _apply(engine, _update(ids, at=T0 + timedelta(minutes=5)))
    assert not again.opened and not again.level_rose
    assert _count(engine, Incident) == 1
    assert _count(engine, Alert) == 1

    with write_transaction(engine) as session:
        incident = session.scalars(select(Incident)).one()
        assert incident.criteria == ["sole_subject", "emotive"]
        assert incident.evidence["emotive"] == ids
        assert incident.accounts == [X]
        assert sum(b["mentions"] for b in incident.timeline) == 3
        assert all(b["negative"] == b["mentions"] for b in incident.timeline)
        # The items of its mentions now need a lead's approval.
        linked = session.scalars(select(QueueItem.incident_id)).all()
        assert linked == [incident.id] * 3
        alert = session.scalars(select(Alert)).one()
        assert (alert.kind, alert.audience, alert.level) == ("incident", "leads", "alert")
        assert (
            "One subject is the only thing people are talking about negatively (90% of negative posts)"
            in (alert.body)
        )
        assert '@person0 on X: "Letters sent to the wrong people!"' in alert.body
        assert f"http://127.0.0.1:8000/incidents/{incident.id}" in alert.body


def test_a_level_rise_alerts_again_and_the_level_never_falls(engine):
    ids = _mentions(engine, ["a", "b", "c", "d"])
    _apply(engine, _update(ids[:2]))
    rise = _apply(
        engine,
        _update(
            ids, level="crisis", criteria=("sole_subject", "legal", "media"), at=T0 + timedelta(minutes=9)
        ),
    )
    assert rise.level_rose and rise.level == "crisis"
    assert rise.criteria == ("sole_subject", "emotive", "legal", "media")
    fall = _apply(engine, _update(ids, level="alert", at=T0 + timedelta(minutes=20)))
    assert fall.level == "crisis" and not fall.level_rose
    assert _count(engine, Alert) == 2
    assert _count(engine, IncidentMention) == 4


def test_watch_level_opens_an_incident_but_alerts_nobody(engine):
    ids = _mentions(engine, ["a", "b"])
    change = _apply(engine, _update(ids, level="watch", criteria=("emotive",)))
    assert change.opened and change.level == "watch"
    assert _count(engine, Alert) == 0


def test_a_resolved_incident_stays_resolved_unless_its_episode_gets_worse(engine, make_user):
    lead = make_user("lead")
    ids = _mentions(engine, ["a", "b"])
    _apply(engine, _update(ids))
    with write_transaction(engine) as session:
        incidents.resolve(
            session, incident=session.scalars(select(Incident)).one(), user=lead, note="Over", now=T0
        )
    assert _apply(engine, _update(ids, at=T0 + timedelta(minutes=30))) is None
    with write_transaction(engine) as session:
        assert session.scalars(select(Incident.status)).one() == "resolved"

    # Worse than when the lead resolved it: open again, and tell the leads.
    change = _apply(engine, _update(ids, level="crisis", at=T0 + timedelta(hours=1)))
    assert change.level_rose and change.level == "crisis"
    with write_transaction(engine) as session:
        incident = session.scalars(select(Incident)).one()
        assert (incident.status, incident.resolved_at) == ("listening", None)
        assert incident.summary["reopened"][0]["level"] == "alert"
        assert session.scalars(select(Alert.level).order_by(Alert.id)).all() == ["alert", "crisis"]


def test_a_quiet_watch_incident_closes_itself_but_an_alert_waits_for_a_lead(engine):
    watch = _incident(engine, _mentions(engine, ["a"]), level="watch", criteria=("emotive",), key="w")
    alert = _incident(engine, _mentions(engine, ["b"], start=T0 + timedelta(hours=1)), key="a")
    with write_transaction(engine) as session:
        assert incidents.close_quiet_watch(session, watch, T0 + timedelta(hours=4))
        assert not incidents.close_quiet_watch(session, alert, T0 + timedelta(hours=4))
        closed = session.get(Incident, watch)
        assert closed.status == "resolved" and "go quiet" in closed.summary["resolution"]["note"]
        assert session.get(Incident, alert).status == "listening"


def test_unacknowledged_alerts_escalate_once_after_the_configured_minutes(any_engine):
    engine = any_engine  # SQLite, and PostgreSQL when the CI gives one
    settings = Settings.model_validate({"alerts": {"escalate_after_minutes": 10}})
    ids = _mentions(engine, ["a", "b"])
    _apply(engine, _update(ids), settings)

    assert incidents.escalate_unacknowledged(engine, settings, now=T0 + timedelta(minutes=9)) == 0
    assert incidents.escalate_unacknowledged(engine, settings, now=T0 + timedelta(minutes=10)) == 1
    assert incidents.escalate_unacknowledged(engine, settings, now=T0 + timedelta(minutes=30)) == 0
    with write_transaction(engine) as session:
        escalation = session.scalars(select(Alert).where(Alert.kind == "escalation")).one()
        assert escalation.audience == "escalation"
        assert "Nobody has acknowledged this alert alert" in escalation.body
        assert session.scalars(select(Incident.escalated_at)).one() == T0 + timedelta(minutes=10)

    # A level rise is a new alert: escalated in its turn if nobody acknowledges it.
    _apply(engine, _update(ids, level="crisis", at=T0 + timedelta(minutes=40)), settings)
    assert incidents.escalate_unacknowledged(engine, settings, now=T0 + timedelta(minutes=55)) == 1


def test_an_acknowledged_alert_does_not_escalate(engine, make_user):
    settings = Settings()
    lead = make_user("lead")
    ids = _mentions(engine, ["a", "b"])
    _apply(engine, _update(ids), settings)
    with write_transaction(engine) as session:
        incident = session.scalars(select(Incident)).one()
        assert incidents.acknowledge(session, incident=incident, user=lead, via="ui", now=T0) == 1
    assert incidents.escalate_unacknowledged(engine, settings, now=T0 + timedelta(hours=1)) == 0
    with write_transaction(engine) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "incident.acknowledged")).one()
        assert event.actor == lead.email and event.after["via"] == "ui"


def test_an_alerts_link_covers_its_level_and_below_never_a_later_higher_alert(engine, make_user):
    settings = Settings.model_validate({"alerts": {"escalate_after_minutes": 10}})
    ids = _mentions(engine, ["a", "b"])
    _apply(engine, _update(ids), settings)
    incidents.escalate_unacknowledged(engine, settings, now=T0 + timedelta(minutes=10))
    _apply(engine, _update(ids, level="crisis", at=T0 + timedelta(minutes=20)), settings)
    with write_transaction(engine) as session:
        by_kind = {(a.kind, a.level): a.id for a in session.scalars(select(Alert))}
    assert set(by_kind) == {("incident", "alert"), ("escalation", "alert"), ("incident", "crisis")}

    with write_transaction(engine) as session:
        incident = session.scalars(select(Incident)).one()
        old = session.get_one(Alert, by_kind[("incident", "alert")])
        assert (
            incidents.acknowledge(session, incident=incident, user=None, via="link", alert=old, now=T0) == 2
        )

    with write_transaction(engine) as session:
        acked = {a.id: a.acknowledged_at for a in session.scalars(select(Alert))}
        assert acked[by_kind[("incident", "alert")]] == T0 and acked[by_kind[("escalation", "alert")]] == T0
        assert acked[by_kind[("incident", "crisis")]] is None
        # The incident is at crisis now: the old alert's link does not stand for it.
        assert session.scalars(select(Incident)).one().acknowledged_at is None
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "incident.acknowledged")).one()
        assert (
            event.actor == f"ack-link:alert:{by_kind[('incident', 'alert')]}"
            and event.after["level"] == "alert"
        )
    # The crisis alert nobody acknowledged still escalates.
    assert incidents.escalate_unacknowledged(engine, settings, now=T0 + timedelta(minutes=30)) == 1


def test_the_crisis_alerts_link_covers_the_earlier_alert_and_names_who_is_signed_in(engine, make_user):
    lead = make_user("lead")
    ids = _mentions(engine, ["a", "b"])
    _apply(engine, _update(ids))
    _apply(engine, _update(ids, level="crisis", at=T0 + timedelta(minutes=20)))
    with write_transaction(engine) as session:
        incident = session.scalars(select(Incident)).one()
        crisis = session.scalars(select(Alert).where(Alert.level == "crisis")).one()
        assert (
            incidents.acknowledge(session, incident=incident, user=lead, via="link", alert=crisis, now=T0)
            == 2
        )
    with write_transaction(engine) as session:
        assert set(session.scalars(select(Alert.acknowledged_by_id))) == {lead.id}
        assert session.scalars(select(Incident.acknowledged_by_id)).one() == lead.id


# --- listening message -------------------------------------------------------------------------


def _incident(engine, ids, **kw) -> int:
    return _apply(engine, _update(ids, **kw)).incident_id


def test_the_listening_message_goes_to_each_account_and_optionally_each_item(engine, make_user):
    lead = make_user("lead", initials="JB")
    ids = _mentions(engine, ["a", "b"]) + _mentions(engine, ["c"], source=FB)
    incident_id = _incident(engine, ids)
    settings = Settings()
    with write_transaction(engine) as session:
        incident = session.get(Incident, incident_id)
        text = comms.suggested_listening_message(settings, lead)
        assert text.startswith("Thank you for bringing this to our attention") and text.endswith("^JB")
        made = comms.post_listening_message(
            session, settings, incident=incident, user=lead, text=text, to_items=True, now=T0
        )
        assert len(made) == 2 + 3
        assert incident.listening_message_at == T0
    with write_transaction(engine) as session:
        replies = session.scalars(select(Reply).order_by(Reply.id)).all()
        posts = [r for r in replies if r.in_reply_to is None]
        assert sorted(r.source_key for r in posts) == sorted([X, FB])
        assert all(r.status == "approved" and r.purpose == "listening" for r in replies)
        assert all(r.approved_by_id == lead.id for r in replies)
        assert len({r.queue_item_id for r in replies if r.queue_item_id}) == 3
        # Approving again sends nothing twice.
        again = comms.post_listening_message(
            session,
            settings,
            incident=session.get(Incident, incident_id),
            user=lead,
            text=text,
            to_items=True,
        )
        assert again == []


def test_an_item_already_answered_gets_no_listening_reply(engine, make_user):
    lead, agent = make_user("lead"), make_user("agent")
    ids = _mentions(engine, ["a", "b"])
    incident_id = _incident(engine, ids)
    with write_transaction(engine) as session:
        answered = session.scalars(select(QueueItem).where(QueueItem.mention_id == ids[0])).one()
        session.add(
            Reply(
                queue_item_id=answered.id,
                platform="x",
                source_key=X,
                in_reply_to="m",
                text="Sorry to hear this, please DM us ^AB",
                status="pending_approval",
                author_id=agent.id,
                idempotency_key="agent-reply",
            )
        )
        session.flush()
        made = comms.post_listening_message(
            session,
            Settings(),
            incident=session.get(Incident, incident_id),
            user=lead,
            text="We are listening ^AB",
            to_items=True,
        )
        other = session.scalars(select(QueueItem.id).where(QueueItem.mention_id == ids[1])).one()
        assert sorted(r.queue_item_id or 0 for r in made) == [0, other]  # the account's post, the other item


def test_an_agent_cannot_post_the_listening_message(engine, make_user):
    agent = make_user("agent")
    incident_id = _incident(engine, _mentions(engine, ["a"]))
    with write_transaction(engine) as session, pytest.raises(comms.NotPermitted):
        comms.post_listening_message(
            session,
            Settings(),
            incident=session.get(Incident, incident_id),
            user=agent,
            text="We are listening ^AB",
        )


def test_a_blocking_finding_needs_a_lead_override(engine, make_user):
    lead = make_user("lead")
    incident_id = _incident(engine, _mentions(engine, ["a"]))
    text = "Thank you, we are looking into it. Your NHS number 943 476 5919 is on file ^AB"
    with write_transaction(engine) as session:
        incident = session.get(Incident, incident_id)
        with pytest.raises(comms.Blocked) as blocked:
            comms.post_listening_message(session, Settings(), incident=incident, user=lead, text=text)
        assert any(f.rule == "personal-data" for f in blocked.value.findings)
        [reply] = comms.post_listening_message(
            session, Settings(), incident=incident, user=lead, text=text, override=True
        )
        assert reply.override_by_id == lead.id
        assert any(f["rule"] == "personal-data" for f in reply.lint)


# --- considered response -----------------------------------------------------------------------

ALL_YES = dict.fromkeys(comms.CHECKLIST, "yes")
RESPONSE = (
    "We are sorry. Letters from Brambleford surgery went to the wrong homes. Here is what we are doing. ^JB"
)


def _draft(engine, lead, incident_id, text=RESPONSE, checklist=ALL_YES) -> int:
    with write_transaction(engine) as session:
        response = comms.save_response(
            session,
            incident=session.get(Incident, incident_id),
            user=lead,
            fmt="post",
            text=text,
            checklist=checklist,
            now=T0,
        )
        return response.id


def _sign(engine, settings, user, stakeholder, response_id):
    from listener.store.models import Response

    with write_transaction(engine) as session:
        comms.sign_off(
            session, settings, response=session.get(Response, response_id), user=user, stakeholder=stakeholder
        )


def _post(engine, settings, lead, incident_id, response_id):
    from listener.store.models import Response

    with write_transaction(engine) as session:
        return comms.post_response(
            session,
            settings,
            incident=session.get(Incident, incident_id),
            response=session.get(Response, response_id),
            user=lead,
        )


def test_the_response_cannot_be_posted_with_a_sign_off_missing(engine, make_user):
    settings = Settings()
    head, director = settings.incidents.stakeholders
    lead, other = make_user("lead", initials="JB"), make_user("manager", initials="KS")
    incident_id = _incident(engine, _mentions(engine, ["a"]))
    response_id = _draft(engine, lead, incident_id)
    _sign(engine, settings, lead, head, response_id)
    with pytest.raises(comms.NotReady, match=f"sign-off missing from {director}"):
        _post(engine, settings, lead, incident_id, response_id)
    assert _count(engine, Reply) == 0

    _sign(engine, settings, other, director, response_id)
    [reply] = _post(engine, settings, lead, incident_id, response_id)
    assert (reply.purpose, reply.source_key, reply.in_reply_to, reply.status) == (
        "response",
        X,
        None,
        "approved",
    )
    with write_transaction(engine) as session:
        assert session.get(Incident, incident_id).status == "responding"


def test_an_edit_voids_the_sign_offs_given_before_it(engine, make_user):
    settings = Settings()
    head, director = settings.incidents.stakeholders
    lead, other = make_user("lead"), make_user("lead")
    incident_id = _incident(engine, _mentions(engine, ["a"]))
    response_id = _draft(engine, lead, incident_id)
    _sign(engine, settings, lead, head, response_id)
    _sign(engine, settings, other, director, response_id)
    _draft(engine, lead, incident_id, text=RESPONSE + " Updated.")
    with pytest.raises(comms.NotReady, match="sign-off missing"):
        _post(engine, settings, lead, incident_id, response_id)
    with write_transaction(engine) as session:
        from listener.store.models import Response

        states = comms.signoff_state(session, settings, session.get(Response, response_id))
        assert [s["status"] for s in states] == ["void", "void"]
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "response.saved")).all()[-1]
        assert event.after["voided_signoffs"] == [head, director]


def test_one_person_cannot_sign_for_two_stakeholders(engine, make_user):
    settings = Settings()
    head, director = settings.incidents.stakeholders
    lead = make_user("lead")
    incident_id = _incident(engine, _mentions(engine, ["a"]))
    response_id = _draft(engine, lead, incident_id)
    _sign(engine, settings, lead, head, response_id)
    with pytest.raises(comms.NotPermitted):
        _sign(engine, settings, lead, director, response_id)


def test_the_checklist_must_be_answered_before_posting(engine, make_user):
    settings = Settings()
    head, director = settings.incidents.stakeholders
    lead, other = make_user("lead"), make_user("lead")
    incident_id = _incident(engine, _mentions(engine, ["a"]))
    response_id = _draft(engine, lead, incident_id, checklist={**ALL_YES, "faqs": ""})
    _sign(engine, settings, lead, head, response_id)
    _sign(engine, settings, other, director, response_id)
    with pytest.raises(comms.NotReady, match="Are FAQs published alongside it"):
        _post(engine, settings, lead, incident_id, response_id)


def test_a_thread_is_posted_part_by_part(engine, make_user):
    settings = Settings.model_validate({"incidents": {"stakeholders": ["Head of Communications"]}})
    lead = make_user("lead")
    incident_id = _incident(engine, _mentions(engine, ["a"]))
    with write_transaction(engine) as session:
        response = comms.save_response(
            session,
            incident=session.get(Incident, incident_id),
            user=lead,
            fmt="thread",
            text="We are sorry about the letters. ^AB\n---\nHere is what happens next. ^AB",
            checklist=ALL_YES,
        )
        response_id = response.id
    _sign(engine, settings, lead, "Head of Communications", response_id)
    made = _post(engine, settings, lead, incident_id, response_id)
    assert [r.text for r in made] == ["We are sorry about the letters. ^AB", "Here is what happens next. ^AB"]


# --- resolution ---------------------------------------------------------------------------------


def test_resolving_records_the_summary(engine, make_user, monkeypatch):
    settings = Settings()
    lead = make_user("lead")
    ids = _mentions(engine, ["a", "b", "c"])
    incident_id = _incident(engine, ids)

    class Taken:
        key, label = "k", "test channel"

        def send(self, *, title, body):
            pass

    deliver_due_alerts(
        engine, settings, now=T0 + timedelta(minutes=3), notifier_factory=lambda a, u: [Taken()]
    )
    with write_transaction(engine) as session:
        incident = session.get(Incident, incident_id)
        comms.post_listening_message(
            session,
            settings,
            incident=incident,
            user=lead,
            text="We are listening ^AB",
            now=T0 + timedelta(minutes=8),
        )
        summary = incidents.resolve(
            session, incident=incident, user=lead, note="Letters recalled", now=T0 + timedelta(hours=3)
        )
    assert summary["mentions"] == 3 and summary["negative"] == 3
    assert summary["minutes_to_first_alert"] == 3.0
    assert summary["minutes_to_listening_message"] == 8.0
    assert summary["posted"][0]["text"] == "We are listening ^AB"
    assert summary["note"] == "Letters recalled"
    with write_transaction(engine) as session:
        incident = session.get(Incident, incident_id)
        assert incident.status == "resolved" and incident.summary["resolution"]["minutes_open"] == 180.0
        with pytest.raises(incidents.IncidentClosed):
            incidents.resolve(session, incident=incident, user=lead, note="Again")


def test_a_lead_cannot_resolve_without_a_summary_and_the_warnings_are_kept(engine, make_user):
    lead = make_user("lead")
    incident_id = _incident(engine, _mentions(engine, ["a"]))
    with write_transaction(engine) as session:
        incident = session.get(Incident, incident_id)
        with pytest.raises(incidents.WordsRequired):
            incidents.resolve(session, incident=incident, user=lead, note="  \n ")
        assert incident.status != "resolved"
        summary = incidents.resolve(
            session, incident=incident, user=lead, note="Recalled", warnings=["Response unsigned"], now=T0
        )
    assert summary["warnings"] == ["Response unsigned"]


def test_a_lead_reopens_a_resolved_incident_with_a_reason_audited(engine, make_user):
    lead = make_user("lead")
    incident_id = _incident(engine, _mentions(engine, ["a"]))
    with write_transaction(engine) as session:
        incident = session.get(Incident, incident_id)
        with pytest.raises(incidents.NotResolved):
            incidents.reopen(session, incident=incident, user=lead, reason="Too soon")
        incidents.resolve(session, incident=incident, user=lead, note="Recalled", now=T0)
        with pytest.raises(incidents.WordsRequired):
            incidents.reopen(session, incident=incident, user=lead, reason=" ")
        incidents.reopen(session, incident=incident, user=lead, reason="More letters", now=T0)
        assert (incident.status, incident.resolved_at) == ("listening", None)
        entry = incident.summary["reopened"][-1]
        assert (entry["by"], entry["reason"], entry["resolution"]["note"]) == (
            lead.id,
            "More letters",
            "Recalled",
        )
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "incident.reopened")).one()
        assert event.actor == lead.email and event.after == {"reason": "More letters"}


def test_a_name_a_lead_gives_stays_when_the_monitor_updates_the_episode(engine, make_user):
    lead = make_user("lead")
    ids = _mentions(engine, ["a", "b"])
    incident_id = _incident(engine, ids)
    with write_transaction(engine) as session:
        incident = session.get(Incident, incident_id)
        with pytest.raises(incidents.WordsRequired):
            incidents.rename(session, incident=incident, user=lead, name="   ")
        incidents.rename(session, incident=incident, user=lead, name="  Riverside scans   cancelled ")
    _apply(engine, _update(ids, at=T0 + timedelta(minutes=5), subject="cancelled, riverside, scan"))
    with write_transaction(engine) as session:
        assert session.get(Incident, incident_id).subject == "Riverside scans cancelled"
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "incident.renamed")).one()
        assert event.before == {"subject": "GP letters sent to the wrong addresses"}
