"""The item page: claiming (the loser is told who won), the composer and its live checks, decisions."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from listener.store.db import write_transaction
from listener.store.models import Alert, AuditEvent, Mention, ModerationRequest, QueueItem, Reply
from tests.queue_ui.conftest import NOW

GOOD = "Hi Pat, sorry to hear that. Please send us a direct message so we can look into it. ^AB"
BLOCKED = "Hi Pat, we have your NHS number 943 476 5919 on file. ^AB"


def test_the_item_page_shows_the_post_scores_guidance_and_suggestions(client_as, seed):
    client = client_as("agent")
    item = seed(score={"is_complaint": True, "reasons": ["complaint: cancelled"]})
    html = client.get(f"/items/{item.item_id}").text
    assert "Why was my appointment at the walk-in centre cancelled?" in html
    assert "complaint: cancelled" in html and "Complaint" in html
    assert "Guidance" in html and 'class="lp-guidance lp-guidance--' in html
    assert "Suggested replies" in html and "data-use-reply=" in html
    assert f'hx-post="/items/{item.item_id}/presence"' in html


def test_the_conversation_and_our_earlier_replies_are_shown(client_as, seed, engine):
    client = client_as("agent")
    first = seed("My first post about parking", handle="pat", created_at=NOW - timedelta(days=2))
    second = seed("And a second post", handle="pat")
    with write_transaction(engine) as session:
        one = session.get_one(Mention, first.mention_id)
        two = session.get_one(Mention, second.mention_id)
        two.author_id = one.author_id
        session.add(
            Reply(
                queue_item_id=first.item_id,
                platform="x",
                source_key="x:mentions:@NHSCovWarks",
                text="We answered you about parking ^AB",
                status="sent",
                author_id=client.user.id,
                idempotency_key="k-earlier",
                sent_at=NOW - timedelta(days=1),
            )
        )
    html = client.get(f"/items/{second.item_id}").text
    assert "My first post about parking" in html and "We answered you about parking" in html


def test_claim_then_the_second_person_is_told_who_has_it(client_as, seed):
    first = client_as("agent", name="Asha Khan")
    second = client_as("agent")
    item = seed()
    assert second.get(f"/items/{item.item_id}").status_code == 200  # the page loaded before the claim
    assert first.form(f"/items/{item.item_id}/claim").status_code == 303
    lost = second.form(f"/items/{item.item_id}/claim")
    assert lost.status_code == 409 and "Already claimed by Asha Khan" in lost.text


def test_live_lint_reports_findings_and_characters_left(client_as, seed):
    client = client_as("agent")
    item = seed()
    fragment = client.form(f"/items/{item.item_id}/lint", {"text": BLOCKED})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Stops sending" in fragment.text and "characters left" in fragment.text
    long = client.form(f"/items/{item.item_id}/lint", {"text": "word " * 70})
    assert "characters too many" in long.text


def test_a_blocked_reply_is_kept_with_its_findings_then_sent_when_fixed(client_as, seed, engine):
    client = client_as("agent")
    item = seed()
    blocked = client.form(f"/items/{item.item_id}/reply", {"text": BLOCKED, "action": "send"})
    assert blocked.status_code == 422
    assert 'class="nhsuk-error-summary"' in blocked.text and "Stops sending" in blocked.text
    assert "943 476 5919" in blocked.text, "the composer keeps what was typed"
    sent = client.form(f"/items/{item.item_id}/reply", {"text": GOOD, "action": "send"})
    assert sent.status_code == 303
    page = client.get(f"/items/{item.item_id}").text
    assert "Your reply is queued to send." in page and "Queued to send" in page
    assert 'id="composer"' not in page, "no second reply while one is queued"
    with write_transaction(engine) as session:
        reply = session.scalars(select(Reply)).one()
        assert (reply.status, reply.text) == ("approved", GOOD)


def test_a_lead_overrides_the_checker_from_the_composer(client_as, seed, engine):
    lead = client_as("lead")
    item = seed()
    page = lead.get(f"/items/{item.item_id}").text
    assert 'name="override"' in page
    sent = lead.form(f"/items/{item.item_id}/reply", {"text": BLOCKED, "action": "send", "override": "true"})
    assert sent.status_code == 303
    with write_transaction(engine) as session:
        assert (
            session.scalar(select(AuditEvent).where(AuditEvent.action == "reply.lint_override")) is not None
        )


def test_agents_get_no_override_box(client_as, seed):
    assert 'name="override"' not in client_as("agent").get(f"/items/{seed().item_id}").text


def test_a_crisis_item_waits_for_a_lead_who_approves_it(client_as, seed, open_incident, engine):
    agent, lead = client_as("agent"), client_as("lead")
    item = seed(incident_id=open_incident())
    page = agent.get(f"/items/{item.item_id}").text
    assert "Send for approval" in page and "Open incidents" in page
    agent.form(f"/items/{item.item_id}/reply", {"text": GOOD, "action": "send"})
    assert "waiting for a comms lead" in agent.get(f"/items/{item.item_id}").text
    with write_transaction(engine) as session:
        reply_id = session.scalars(select(Reply.id)).one()
    assert agent.form(f"/items/{item.item_id}/replies/{reply_id}/approve").status_code == 403
    lead_page = lead.get(f"/items/{item.item_id}").text
    assert "Approve and send" in lead_page
    version = re.search(r'name="text_version" value="(\w+)"', lead_page)[1]
    approve = lead.form(f"/items/{item.item_id}/replies/{reply_id}/approve", {"text_version": version})
    assert approve.status_code == 303
    with write_transaction(engine) as session:
        assert session.get_one(Reply, reply_id).status == "approved"


def test_save_draft_and_ask_for_approval(client_as, seed, engine):
    client = client_as("agent")
    item = seed()
    assert (
        client.form(f"/items/{item.item_id}/reply", {"text": "Draft text", "action": "draft"}).status_code
        == 303
    )
    assert "Draft text" in client.get(f"/items/{item.item_id}").text
    client.form(f"/items/{item.item_id}/reply", {"text": GOOD, "action": "approval"})
    with write_transaction(engine) as session:
        assert session.scalars(select(Reply.status)).all() == ["pending_approval"]


def test_no_reply_needed_needs_a_reason(client_as, seed, engine):
    client = client_as("agent")
    item = seed()
    missing = client.form(f"/items/{item.item_id}/no-reply", {"reason": ""})
    assert (
        missing.status_code == 400
        and "Give a reason" in missing.text
        and 'href="#no-reply-reason"' in missing.text
    )
    client.form(f"/items/{item.item_id}/no-reply", {"reason": "Spam"})
    with write_transaction(engine) as session:
        assert session.get_one(QueueItem, item.item_id).status == "no_reply_needed"


def test_escalation_and_hiding(client_as, seed, engine):
    client = client_as("agent")
    fb = seed(
        "The receptionist was rude, call me 07700 900123", platform="facebook", source="facebook:page:1"
    )
    html = client.get(f"/items/{fb.item_id}").text
    assert "Hide this comment on Facebook" in html and "Escalate to a manager" in html
    assert client.form(f"/items/{fb.item_id}/escalate", {"reason": "Staff conduct"}).status_code == 303
    assert client.form(f"/items/{fb.item_id}/hide", {"reason": "Shares a phone number"}).status_code == 303
    page = client.get(f"/items/{fb.item_id}").text
    assert "Waiting to be hidden" in page and "Staff conduct" in page
    with write_transaction(engine) as session:
        assert session.scalars(select(Alert.kind)).all() == ["escalation"]
        assert session.scalars(select(ModerationRequest.reason)).all() == ["Shares a phone number"]
    x_item = seed()
    assert "Hide this comment" not in client.get(f"/items/{x_item.item_id}").text


def test_the_reply_status_shows_sent_with_a_link_and_failed_with_the_reason(client_as, seed, engine):
    client = client_as("agent")
    sent, failed = seed(), seed()
    with write_transaction(engine) as session:
        for item, status, extra in (
            (sent, "sent", {"platform_reply_id": "1790000000000000001", "sent_at": NOW}),
            (failed, "failed", {"last_error": "The post was deleted"}),
        ):
            session.add(
                Reply(
                    queue_item_id=item.item_id,
                    platform="x",
                    source_key="x:mentions:@NHSCovWarks",
                    text="Thanks ^AB",
                    status=status,
                    author_id=client.user.id,
                    idempotency_key=f"k-{status}",
                    **extra,
                )
            )
    sent_html = client.get(f"/items/{sent.item_id}/replies").text
    assert "Sent" in sent_html and 'href="https://x.com/i/web/status/1790000000000000001"' in sent_html
    failed_html = client.get(f"/items/{failed.item_id}").text
    assert "Failed" in failed_html and "The post was deleted" in failed_html


def test_a_held_reply_asks_a_person_to_check_and_records_the_answer(client_as, seed, engine):
    client = client_as("agent")
    items = [seed(assignee=client.user, status="claimed") for _ in range(2)]
    with write_transaction(engine) as session:
        held = []
        for n, item in enumerate(items):
            reply = Reply(
                queue_item_id=item.item_id,
                platform="x",
                source_key="x:mentions:@NHSCovWarks",
                text="Thanks ^AB",
                status="held",
                last_error="May already be posted: check the platform before sending again. X shows ...",
                author_id=client.user.id,
                idempotency_key=f"held-{n}",
            )
            session.add(reply)
            session.flush()
            held.append(reply.id)
    page = client.get(f"/items/{items[0].item_id}").text
    assert "May already be posted" in page and "check the platform before sending again" in page
    assert "It is not posted: send it" in page and "It is posted: mark it sent" in page
    assert 'id="composer"' not in page, "no second reply while one may be on the platform"

    not_posted = client.form(f"/items/{items[0].item_id}/replies/{held[0]}/not-posted")
    posted = client.form(f"/items/{items[1].item_id}/replies/{held[1]}/posted", {"link": "https://x.com/i/1"})
    assert (not_posted.status_code, posted.status_code) == (303, 303)
    again = client.form(f"/items/{items[0].item_id}/replies/{held[0]}/not-posted")
    assert again.status_code == 409 and "no longer waiting for a check" in again.text
    with write_transaction(engine) as session:
        assert [session.get_one(Reply, r).status for r in held] == ["approved", "sent"]
        assert session.get_one(QueueItem, items[1].item_id).status == "replied"
        actions = set(session.scalars(select(AuditEvent.action)))
        assert {"reply.checked_not_posted", "reply.checked_posted"} <= actions


def test_a_lead_approving_a_text_changed_since_it_was_shown_is_told_why(
    client_as, seed, open_incident, engine
):
    agent, lead = client_as("agent"), client_as("lead")
    item = seed(incident_id=open_incident())
    agent.form(f"/items/{item.item_id}/reply", {"text": GOOD, "action": "send"})
    lead_page = lead.get(f"/items/{item.item_id}").text
    version = re.search(r'name="text_version" value="(\w+)"', lead_page)[1]
    changed = GOOD.replace("sorry to hear that", "sorry to hear about this")
    assert changed != GOOD
    agent.form(f"/items/{item.item_id}/reply", {"text": changed, "action": "approval"})
    with write_transaction(engine) as session:
        reply_id = session.scalars(select(Reply.id)).one()
    refused = lead.form(f"/items/{item.item_id}/replies/{reply_id}/approve", {"text_version": version})
    assert refused.status_code == 409 and "changed after you opened it" in refused.text
    assert changed in refused.text, "the page shows the new text to read"
    with write_transaction(engine) as session:
        assert session.get_one(Reply, reply_id).status == "pending_approval"


def test_presence_shows_who_else_is_viewing(client_as, seed):
    first, second = client_as("agent", name="First Viewer"), client_as("agent")
    item = seed()
    first.form(f"/items/{item.item_id}/presence")
    fragment = second.form(f"/items/{item.item_id}/presence").text
    assert "Also viewing: First Viewer" in fragment


def test_assign_and_release_from_the_page(client_as, seed, make_user, engine):
    lead = client_as("lead")
    other = make_user("agent", name="Given Person")
    item = seed()
    assert lead.form(f"/items/{item.item_id}/assign", {"assignee_id": str(other.id)}).status_code == 303
    assert "Given Person" in lead.get(f"/items/{item.item_id}").text
    assert lead.form(f"/items/{item.item_id}/release").status_code == 303
    with write_transaction(engine) as session:
        assert session.get_one(QueueItem, item.item_id).assignee_id is None


def test_a_template_link_fills_the_composer_without_javascript(client_as, seed):
    client = client_as("agent")
    item = seed(score={"is_complaint": True})
    page = client.get(f"/items/{item.item_id}").text
    template = re.search(r"\?template=([\w-]+)#reply-text", page).group(1)
    filled = client.get(f"/items/{item.item_id}?template={template}").text
    composer = re.search(r'<textarea[^>]*id="reply-text"[^>]*>(.*?)</textarea>', filled, re.S).group(1)
    assert composer.strip() and "^AB" in composer


def test_a_missing_item_is_a_404_page(client_as):
    response = client_as("agent").get("/items/999999")
    assert response.status_code == 404 and "Item not found" in response.text


def test_an_instagram_reply_to_a_reply_says_it_cannot_be_answered_here(client_as, seed, engine):
    client = client_as("agent")
    top = seed("Do I need to book?", platform="instagram", source="instagram:account:17841400000000001")
    nested = seed("Same question", platform="instagram", source="instagram:account:17841400000000001")
    with write_transaction(engine) as session:
        session.get_one(Mention, top.mention_id).kind = "comment"
        session.get_one(Mention, nested.mention_id).kind = "reply"
    page = client.get(f"/items/{nested.item_id}").text
    assert 'id="reply-not-possible"' in page and "only allows replies to top-level comments" in page
    assert 'id="composer"' not in page
    assert "Hide this comment on Instagram" in page
    top_page = client.get(f"/items/{top.item_id}").text
    assert 'id="composer"' in top_page and "Your reply on Instagram" in top_page
    assert 'id="reply-not-possible"' not in top_page


def test_a_linkedin_comment_offers_deleting_and_says_it_cannot_be_undone(client_as, seed, engine):
    client = client_as("agent")
    comment = seed("Spam spam spam", platform="linkedin", source="linkedin:organization:2414183")
    post = seed("Thanks to the team", platform="linkedin", source="linkedin:organization:2414183")
    with write_transaction(engine) as session:
        session.get_one(Mention, comment.mention_id).kind = "comment"
    page = client.get(f"/items/{comment.item_id}").text
    assert "Delete this comment on LinkedIn" in page and "cannot be brought back" in page
    assert "Your reply on LinkedIn" in page
    assert client.form(f"/items/{comment.item_id}/hide", {"reason": "Spam"}).status_code == 303
    assert "Waiting to be deleted" in client.get(f"/items/{comment.item_id}").text
    assert "Delete this comment" not in client.get(f"/items/{post.item_id}").text
def test_a_bluesky_item_has_the_composer_and_a_sent_reply_links_to_the_app(client_as, seed, engine):
    client = client_as("agent")
    item = seed("@nhscovwarks.bsky.social where do I book?", platform="bluesky", source="bluesky:search:NHS")
    html = client.get(f"/items/{item.item_id}").text
    assert "Your reply on Bluesky" in html
    with write_transaction(engine) as session:
        session.add(
            Reply(
                queue_item_id=item.item_id,
                platform="bluesky",
                source_key="bluesky:search:NHS",
                text="You can book online ^AB",
                status="sent",
                author_id=client.user.id,
                idempotency_key="k-bluesky",
                platform_reply_id="at://did:plc:abcdefghijklmnopqrstuvwx/app.bsky.feed.post/3ljhow47e2224",
                sent_at=NOW,
            )
        )
    html = client.get(f"/items/{item.item_id}").text
    assert 'href="https://bsky.app/profile/did:plc:abcdefghijklmnopqrstuvwx/post/3ljhow47e2224"' in html
    assert "see the reply on Bluesky" in html
