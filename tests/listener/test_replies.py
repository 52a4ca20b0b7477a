"""Replies from the queue: drafts, the checker's block and the lead's override, crisis approval, decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from connectors.base import PermanentError, TemporaryError
from listener.queue.items import ClaimConflict, NotOpen
from listener.replies import decisions, moderation
from listener.replies import drafts as replies
from listener.replies.drafts import LintBlocked, ReplyError
from listener.replies.moderation import ModerationError
from listener.settings import AccountSettings, Settings
from listener.store.db import write_transaction
from listener.store.models import Alert, AuditEvent, Incident, ModerationRequest, QueueItem, Reply, Template
from tests.listener.test_queue import NOW, add_item, add_user
from tests.queue_ui.conftest import cheap_password_hashing  # noqa: F401 (autouse: argon2 at test cost)

GOOD = "Hi, thanks for getting in touch. Please send us a direct message and we will look into it. ^TT"
BLOCKED = "Hi, we have your NHS number 943 476 5919 on file. ^TT"


@pytest.fixture
def settings() -> Settings:
    return Settings()


def send(engine, settings, item_id, user, text=GOOD, **kw):
    with write_transaction(engine) as session:
        item = session.get_one(QueueItem, item_id)
        return replies.send(session, item=item, user=user, text=text, settings=settings, now=NOW, **kw)


def test_send_queues_an_approved_reply_to_the_post(engine, settings):
    agent = add_user(engine)
    item_id = add_item(engine)
    outcome = send(engine, settings, item_id, agent)
    assert outcome.queued and not outcome.needs_approval
    with write_transaction(engine) as session:
        reply = session.get_one(Reply, outcome.reply.id)
        item = session.get_one(QueueItem, item_id)
        assert (reply.status, reply.approved_by_id, reply.next_attempt_at) == ("approved", agent.id, NOW)
        assert reply.in_reply_to == item.mention.external_id and reply.platform == "x"
        assert item.assignee_id == agent.id, "sending claims an unassigned item for the writer"
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["item.claim", "reply.approve"]


def test_a_blocking_finding_stops_sending_and_keeps_the_draft(engine, settings):
    agent = add_user(engine)
    item_id = add_item(engine)
    with pytest.raises(LintBlocked) as caught:
        send(engine, settings, item_id, agent, text=BLOCKED)
    assert any(f.rule == "personal-data" and f.severity == "block" for f in caught.value.result.findings)
    # The failed send rolled back with its transaction; saving the draft keeps the findings with it.
    with write_transaction(engine) as session:
        item = session.get_one(QueueItem, item_id)
        draft = replies.save_draft(session, item=item, user=agent, text=BLOCKED, settings=settings, now=NOW)
        assert draft.status == "draft" and any(f["severity"] == "block" for f in draft.lint)
    outcome = send(engine, settings, item_id, agent, text=GOOD)
    assert outcome.queued
    with write_transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Reply)) == 1, "the draft became the reply"


def test_an_agent_cannot_override_the_checker(engine, settings):
    agent = add_user(engine)
    item_id = add_item(engine)
    with pytest.raises(LintBlocked):
        send(engine, settings, item_id, agent, text=BLOCKED, override=True)


def test_a_lead_override_sends_and_is_audited(engine, settings):
    lead = add_user(engine, "lead")
    item_id = add_item(engine)
    outcome = send(engine, settings, item_id, lead, text=BLOCKED, override=True)
    assert outcome.queued
    with write_transaction(engine) as session:
        reply = session.get_one(Reply, outcome.reply.id)
        assert reply.override_by_id == lead.id
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "reply.lint_override")).one()
        assert event.after["rules"] == ["personal-data"] and event.actor == lead.email


def test_a_second_send_for_the_same_item_is_refused(engine, settings):
    agent = add_user(engine)
    item_id = add_item(engine)
    send(engine, settings, item_id, agent)
    with pytest.raises(ReplyError, match="already being sent"):
        send(engine, settings, item_id, agent)


def test_someone_elses_item_cannot_be_answered_by_an_agent(engine, settings):
    holder, agent = add_user(engine, name="Holder Person"), add_user(engine)
    item_id = add_item(engine, assignee=holder, status="claimed")
    with pytest.raises(ClaimConflict, match="Holder Person"):
        send(engine, settings, item_id, agent)


def shown(reply: Reply) -> str:
    """The version the item page puts in the lead's Approve form."""
    return replies.text_version(reply.text)


def test_items_in_an_open_crisis_wait_for_a_lead(engine, settings):
    agent, lead = add_user(engine), add_user(engine, "lead")
    with write_transaction(engine) as session:
        incident = Incident(
            episode_key="e",
            subject="s",
            level="crisis",
            status="responding",
            opened_at=NOW,
            level_changed_at=NOW,
        )
        session.add(incident)
        session.flush()
        incident_id = incident.id
    item_id = add_item(engine, incident_id=incident_id)
    outcome = send(engine, settings, item_id, agent)
    assert outcome.needs_approval and not outcome.queued
    with write_transaction(engine) as session:
        reply = session.get_one(Reply, outcome.reply.id)
        assert reply.status == "pending_approval" and reply.incident_id == incident_id
        with pytest.raises(ReplyError):
            replies.approve(session, reply=reply, user=agent, now=NOW, shown_version=shown(reply))
    with write_transaction(engine) as session:
        reply = session.get_one(Reply, outcome.reply.id)
        reply = replies.approve(session, reply=reply, user=lead, now=NOW, shown_version=shown(reply))
        assert (reply.status, reply.approved_by_id) == ("approved", lead.id)


def test_a_lead_can_send_a_reply_back_as_a_draft(engine, settings):
    agent, lead = add_user(engine), add_user(engine, "lead")
    item_id = add_item(engine)
    with write_transaction(engine) as session:
        item = session.get_one(QueueItem, item_id)
        reply = replies.request_approval(
            session, item=item, user=agent, text=GOOD, settings=settings, now=NOW
        )
    with write_transaction(engine) as session:
        reply = replies.return_to_draft(
            session, reply=session.get_one(Reply, reply.id), user=lead, note="Softer?"
        )
        assert reply.status == "draft"


def test_approving_a_blocked_reply_needs_the_override(engine, settings):
    agent, lead = add_user(engine), add_user(engine, "lead")
    item_id = add_item(engine)
    with write_transaction(engine) as session:
        item = session.get_one(QueueItem, item_id)
        reply = replies.request_approval(
            session, item=item, user=agent, text=BLOCKED, settings=settings, now=NOW
        )
    with write_transaction(engine) as session, pytest.raises(LintBlocked):
        replies.approve(
            session, reply=session.get_one(Reply, reply.id), user=lead, now=NOW, shown_version=shown(reply)
        )
    with write_transaction(engine) as session:
        approved = replies.approve(
            session,
            reply=session.get_one(Reply, reply.id),
            user=lead,
            now=NOW,
            override=True,
            shown_version=shown(reply),
        )
        assert approved.status == "approved" and approved.override_by_id == lead.id


def test_no_reply_needed_closes_with_the_reason(engine, settings):
    agent = add_user(engine)
    item_id = add_item(engine)
    with write_transaction(engine) as session:
        item = session.get_one(QueueItem, item_id)
        with pytest.raises(ReplyError, match="reason"):
            decisions.no_reply_needed(session, item=item, user=agent, reason="  ", now=NOW)
        decisions.no_reply_needed(session, item=item, user=agent, reason="A repost, nothing asked", now=NOW)
    with write_transaction(engine) as session:
        item = session.get_one(QueueItem, item_id)
        assert (item.status, item.no_reply_reason, item.closed_at) == (
            "no_reply_needed",
            "A repost, nothing asked",
            NOW,
        )
        with pytest.raises(NotOpen):
            replies.send(session, item=item, user=agent, text=GOOD, settings=settings, now=NOW)


def test_escalation_alerts_the_escalation_list_without_personal_data(engine, settings):
    agent = add_user(engine, name="Sam Agent")
    item_id = add_item(engine)
    with write_transaction(engine) as session:
        item = session.get_one(QueueItem, item_id)
        item.mention.text = "The nurse at ward 3 was rude to me, my number is 07700 900123"
        item.mention.score.personal_data = [{"kind": "phone", "start": 47, "end": 60}]
    with write_transaction(engine) as session:
        item = session.get_one(QueueItem, item_id)
        decisions.escalate(
            session, item=item, user=agent, reason="Staff conduct (5.1)", settings=settings, now=NOW
        )
        with pytest.raises(ReplyError, match="already"):
            decisions.escalate(session, item=item, user=agent, reason="again", settings=settings, now=NOW)
    with write_transaction(engine) as session:
        alert = session.scalars(select(Alert)).one()
        assert (alert.kind, alert.audience) == ("escalation", "escalation")
        assert "Sam Agent" in alert.title and "Staff conduct" in alert.body
        assert "07700 900123" not in alert.body
        assert session.get_one(QueueItem, item_id).escalation_reason == "Staff conduct (5.1)"


def test_hiding_is_recorded_for_facebook_comments_only(engine):
    agent = add_user(engine)
    fb = add_item(engine, platform="facebook", source="facebook:page:1")
    x = add_item(engine)
    with write_transaction(engine) as session:
        with pytest.raises(ModerationError, match="Only Facebook and Instagram"):
            moderation.request_hide(
                session, item=session.get_one(QueueItem, x), user=agent, reason="r", now=NOW
            )
        request = moderation.request_hide(
            session, item=session.get_one(QueueItem, fb), user=agent, reason="Shares a phone number", now=NOW
        )
        assert (request.status, request.platform, request.next_attempt_at) == ("pending", "facebook", NOW)
        with pytest.raises(ModerationError, match="already"):
            moderation.request_hide(
                session, item=session.get_one(QueueItem, fb), user=agent, reason="r", now=NOW
            )


class FakeConnector:
    def __init__(self, error=None):
        self.error = error
        self.hidden: list[str] = []
        self.deleted: list[str] = []

    def hide(self, *, source, external_id, hidden=True):
        if self.error:
            raise self.error
        self.hidden.append(external_id)

    def delete(self, *, source, external_id):
        if self.error:
            raise self.error
        self.deleted.append(external_id)


def test_the_worker_hides_pending_comments_and_retries_temporary_failures(engine):
    agent = add_user(engine)
    fb = add_item(engine, platform="facebook", source="facebook:page:1")
    with write_transaction(engine) as session:
        item = session.get_one(QueueItem, fb)
        moderation.request_hide(session, item=item, user=agent, reason="Abusive", now=NOW)
        external_id = item.mention.external_id
    flaky = FakeConnector(TemporaryError("rate limited"))
    assert moderation.perform_due_hides(engine, lambda key: flaky, now=NOW) == 0
    with write_transaction(engine) as session:
        request = session.scalars(select(ModerationRequest)).one()
        assert (
            request.status == "pending"
            and request.next_attempt_at > NOW
            and request.last_error == "rate limited"
        )
    working = FakeConnector()
    assert moderation.perform_due_hides(engine, lambda key: working, now=NOW) == 0, "not due yet"
    assert moderation.perform_due_hides(engine, lambda key: working, now=NOW + timedelta(hours=1)) == 1
    assert working.hidden == [external_id]
    with write_transaction(engine) as session:
        assert session.scalars(select(ModerationRequest)).one().status == "done"
    other = add_item(engine, platform="facebook", source="facebook:page:1")
    with write_transaction(engine) as session:
        moderation.request_hide(
            session, item=session.get_one(QueueItem, other), user=agent, reason="r", now=NOW
        )
    moderation.perform_due_hides(engine, lambda key: FakeConnector(PermanentError("token revoked")), now=NOW)
    with write_transaction(engine) as session:
        failed = session.scalars(
            select(ModerationRequest).where(ModerationRequest.queue_item_id == other)
        ).one()
        assert (failed.status, failed.last_error) == ("failed", "token revoked")


def test_admin_edits_override_the_default_templates(engine):
    with write_transaction(engine) as session:
        defaults = replies.reply_templates(session)
        assert defaults, "config/templates/replies.toml has defaults"
        first = defaults[0]
        session.add(
            Template(
                key=first.id, title="Edited", body="Edited body ^{agent_initials}", for_kinds=["comment"]
            )
        )
        session.add(Template(key="new-one", title="New", body="New body", for_kinds=["question"]))
    with write_transaction(engine) as session:
        merged = {t.id: t for t in replies.reply_templates(session)}
    assert merged[first.id].title == "Edited" and merged[first.id].platforms == first.platforms
    assert merged["new-one"].platforms == ("x", "facebook", "instagram", "linkedin", "bluesky")
    assert len(merged) == len(defaults) + 1


def test_length_counts_as_the_platform_does():
    assert replies.length_used("see https://example.org/a/very/long/path/indeed/yes", "x") == (27, 280)
    assert replies.length_used("abc", "facebook")[0] == 3
    # the link is shown as example.org/a/very/long/... (27); the hand with its skin tone is one
    bluesky = replies.length_used("👋🏽 see https://example.org/a/very/long/path/indeed/yes", "bluesky")
    assert bluesky == (33, 300)


def test_accounts_that_do_not_sign_are_not_asked_for_initials():
    signed = replies.lint("Thanks for getting in touch.", source_key="x", settings=Settings())
    unsigned = replies.lint(
        "Thanks for getting in touch.",
        source_key="x",
        settings=Settings(
            accounts=[AccountSettings(platform="x", handle="NHSCovWarks", signs_replies=False)]
        ),
    )
    assert "signature" in {f.rule for f in signed.findings}
    assert "signature" not in {f.rule for f in unsigned.findings}


def test_instagram_and_linkedin_lengths_are_their_comment_limits():
    assert replies.length_used("abc", "instagram") == (3, 2200)
    assert replies.length_used("abc", "linkedin") == (3, 1250)


def test_an_instagram_reply_to_a_reply_is_refused_with_the_reason(engine, settings):
    agent = add_user(engine)
    top = add_item(engine, platform="instagram", source="instagram:account:17841400000000001")
    nested = add_item(engine, platform="instagram", source="instagram:account:17841400000000001")
    with write_transaction(engine) as session:
        session.get_one(QueueItem, top).mention.kind = "comment"
        session.get_one(QueueItem, nested).mention.kind = "reply"
    with pytest.raises(ReplyError, match="top-level comments"):
        send(engine, settings, nested, agent, text="@someone " + GOOD)
    assert send(engine, settings, top, agent, text="@someone " + GOOD).queued


def test_an_instagram_mention_of_the_account_is_answered_in_instagram(engine, settings):
    agent = add_user(engine)
    tagged = add_item(engine, platform="instagram", source="instagram:account:17841400000000001")
    with write_transaction(engine) as session:
        session.get_one(QueueItem, tagged).mention.kind = "mention"
    with pytest.raises(ReplyError, match="Answer it in the Instagram app"):
        send(engine, settings, tagged, agent, text="@someone " + GOOD)


def test_a_linkedin_comment_is_deleted_not_hidden_and_only_comments_can_be(engine):
    agent = add_user(engine)
    comment = add_item(engine, platform="linkedin", source="linkedin:organization:2414183")
    mention = add_item(engine, platform="linkedin", source="linkedin:organization:2414183")
    with write_transaction(engine) as session:
        session.get_one(QueueItem, comment).mention.kind = "comment"
        with pytest.raises(ModerationError, match="Only comments"):
            moderation.request_hide(
                session, item=session.get_one(QueueItem, mention), user=agent, reason="r", now=NOW
            )
        item = session.get_one(QueueItem, comment)
        request = moderation.request_hide(session, item=item, user=agent, reason="Abusive", now=NOW)
        assert (request.action, request.platform) == ("delete", "linkedin")
        external_id = item.mention.external_id
    linkedin = FakeConnector()
    assert moderation.perform_due_hides(engine, lambda key: linkedin, now=NOW) == 1
    assert (linkedin.deleted, linkedin.hidden) == ([external_id], [])
    with write_transaction(engine) as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["item.delete_requested", "item.deleted"]


def test_an_approval_covers_only_the_text_the_lead_read(engine, settings):
    agent, lead = add_user(engine), add_user(engine, "lead")
    item_id = add_item(engine)
    with write_transaction(engine) as session:
        reply = replies.request_approval(
            session,
            item=session.get_one(QueueItem, item_id),
            user=agent,
            text=GOOD,
            settings=settings,
            now=NOW,
        )
        read_by_lead = replies.text_version(reply.text)  # the lead opens the item here
    changed = GOOD.replace("direct message", "email")
    with write_transaction(engine) as session:  # ... and the agent edits the waiting reply
        replies.request_approval(
            session,
            item=session.get_one(QueueItem, item_id),
            user=agent,
            text=changed,
            settings=settings,
            now=NOW,
        )
    with (
        write_transaction(engine) as session,
        pytest.raises(replies.TextChanged, match="changed after you opened"),
    ):
        replies.approve(
            session, reply=session.get_one(Reply, reply.id), user=lead, now=NOW, shown_version=read_by_lead
        )
    with write_transaction(engine) as session:
        waiting = session.get_one(Reply, reply.id)
        assert (waiting.status, waiting.text) == ("pending_approval", changed)
        assert (
            session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(reply.id))).all()[-1]
            == "reply.approval_refused"
        )
        approved = replies.approve(
            session, reply=waiting, user=lead, now=NOW, shown_version=replies.text_version(changed)
        )
        assert approved.status == "approved"


@pytest.mark.parametrize("act", ["escalate", "hide"])
def test_escalating_and_hiding_follow_the_claim_rule_of_replying(engine, settings, act):
    holder, other, lead = add_user(engine), add_user(engine), add_user(engine, "lead")
    held = add_item(engine, platform="facebook", source="facebook:page:1", status="claimed", assignee=holder)
    closed = add_item(engine, platform="facebook", source="facebook:page:1", status="closed")

    def do(item_id, user):
        with write_transaction(engine) as session:
            item = session.get_one(QueueItem, item_id)
            if act == "escalate":
                decisions.escalate(
                    session, item=item, user=user, reason="Staff conduct", settings=settings, now=NOW
                )
            else:
                moderation.request_hide(session, item=item, user=user, reason="Abusive", now=NOW)

    with pytest.raises(ClaimConflict):
        do(held, other)  # someone else's item (a crisis item held by a lead is the same case)
    with pytest.raises(NotOpen):
        do(closed, holder)
    do(held, lead)  # a lead may act on an item someone else holds, as with replies
    unassigned = add_item(engine, platform="facebook", source="facebook:page:1")
    do(unassigned, other)  # an unassigned item is claimed for the person acting
    with write_transaction(engine) as session:
        assert session.get_one(QueueItem, unassigned).assignee_id == other.id


def test_whether_replies_are_signed_is_one_rule_for_queue_replies_and_incident_posts():
    from listener.replies import incident_approval

    settings = Settings(
        accounts=[
            AccountSettings(platform="x", handle="NHSCovWarks", signs_replies=True),
            AccountSettings(platform="x", handle="NHSCovWarksNews", signs_replies=False),
        ]
    )
    unsigned = "Thanks for getting in touch."
    assert replies.signs_replies(settings, "x:mentions:@NHSCovWarks") is True
    assert replies.signs_replies(settings, "x:mentions:@nhscovwarksnews") is False
    assert replies.signs_replies(settings, "x:search:brambleford") is True  # the accounts differ: sign
    assert replies.signs_replies(Settings(), "facebook:page:1") is True  # nothing configured: sign
    for source in ("x:mentions:@NHSCovWarks", "x:mentions:@NHSCovWarksNews"):
        queue_rules = {f.rule for f in replies.lint(unsigned, source_key=source, settings=settings).findings}
        incident_rules = {f.rule for f in incident_approval.lint(settings, unsigned, source)}
        assert queue_rules == incident_rules, source
