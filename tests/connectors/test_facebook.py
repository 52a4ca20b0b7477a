"""The Facebook page connector through facebook-sdk's GraphAPI against the local Graph API fake."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import facebook
import pytest
import requests

from connectors.base import (
    Checkpoint,
    GoneError,
    LookupIncomplete,
    PayloadError,
    PermanentError,
    TemporaryError,
)
from connectors.facebook import FacebookConnector, PageGraphAPI
from connectors.facebook.fake import FakeGraphApi, graph_error
from connectors.fake_server import Failure
from tests.connectors.conftest import APP_SECRET, NOW, PAGE_ID, PAGE_TOKEN, make_facebook

SOURCE = f"facebook:page:{PAGE_ID}"
PROOF = hmac.new(APP_SECRET.encode(), PAGE_TOKEN.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def fb(graph_fake: FakeGraphApi) -> FacebookConnector:
    return make_facebook(graph_fake.base_url)


def test_fetch_reads_posts_comments_replies_and_tags(graph_fake: FakeGraphApi, fb: FacebookConnector) -> None:
    ours = graph_fake.add_post(text="Winter vaccine clinics open Monday", created_at=NOW - timedelta(hours=3))
    visitor = graph_fake.add_post(text="Thank you ward 7!", author_id="5551", author_name="Sam Patel")
    comment = graph_fake.add_comment(
        on=ours["id"], text="Which clinic?", author_id="5552", author_name="Alex Kim"
    )
    reply = graph_fake.add_comment(
        on=comment["id"], text="Same question", author_id="5553", author_name="Jo Bloggs"
    )
    tagged = graph_fake.add_tagged_post(
        text="Great care from the team", author_id="5554", author_name="Chris"
    )

    mentions, checkpoint = fb.fetch(SOURCE, Checkpoint())

    by_id = {m.external_id: m for m in mentions}
    assert set(by_id) == {ours["id"], visitor["id"], comment["id"], reply["id"], tagged["id"]}
    kinds = {i: (m.kind, m.is_own, m.in_reply_to, m.conversation_id) for i, m in by_id.items()}
    assert kinds == {
        ours["id"]: ("post", True, None, ours["id"]),
        visitor["id"]: ("post", False, None, visitor["id"]),
        comment["id"]: ("comment", False, ours["id"], ours["id"]),
        reply["id"]: ("reply", False, comment["id"], ours["id"]),
        tagged["id"]: ("mention", False, None, tagged["id"]),
    }
    c = by_id[comment["id"]]
    assert (c.platform, c.source, c.text, c.author.id, c.author.name) == (
        "facebook",
        SOURCE,
        "Which clinic?",
        "5552",
        "Alex Kim",
    )
    assert c.created_at == NOW and c.url == comment["permalink_url"]
    assert checkpoint.cursor["since"] == NOW.isoformat()


def test_every_call_carries_the_version_token_and_appsecret_proof(
    graph_fake: FakeGraphApi, fb: FacebookConnector
) -> None:
    graph_fake.add_post(text="hello", author_name="Sam")
    fb.fetch(SOURCE, Checkpoint())
    assert graph_fake.requests
    for request in graph_fake.requests:
        assert request.path.startswith("/v21.0/")
        assert request.query["access_token"] == [PAGE_TOKEN]
        assert request.query["appsecret_proof"] == [PROOF]


def test_a_current_version_is_used_without_patching_facebook_sdk(graph_fake: FakeGraphApi) -> None:
    fb = make_facebook(graph_fake.base_url, api_version="19.0")
    fb.fetch(SOURCE, Checkpoint())
    assert {r.path.split("/")[1] for r in graph_fake.requests} == {"v19.0"}
    assert facebook.FACEBOOK_GRAPH_URL == "https://graph.facebook.com/"
    assert facebook.VALID_API_VERSIONS[-1] == "3.1"
    with pytest.raises(ValueError):
        make_facebook(graph_fake.base_url, api_version="latest")


def test_graph_api_always_has_a_timeout() -> None:
    with pytest.raises(ValueError):
        PageGraphAPI(
            access_token="t", app_secret=None, version="v21.0", timeout=0, session=requests.Session()
        )


def test_paging_follows_next_links_without_repeating_credentials(graph_fake: FakeGraphApi) -> None:
    post = graph_fake.add_post(text="Clinic times", created_at=NOW - timedelta(hours=1))
    for n in range(230):
        graph_fake.add_comment(on=post["id"], text=f"comment {n}", author_name=f"Resident {n}")
    fb = make_facebook(graph_fake.base_url)

    mentions, _ = fb.fetch(SOURCE, Checkpoint())

    assert len([m for m in mentions if m.kind == "comment"]) == 230
    pages = graph_fake.requests_to(r"/comments$")
    assert len(pages) == 3
    assert all(len(p.query["access_token"]) == 1 and len(p.query["appsecret_proof"]) == 1 for p in pages)
    assert "after" in pages[1].query and pages[1].query["filter"] == ["stream"]


def test_next_fetch_starts_from_the_checkpoint(graph_fake: FakeGraphApi, fb: FacebookConnector) -> None:
    post = graph_fake.add_post(text="Clinic times", created_at=NOW - timedelta(hours=2))
    graph_fake.add_comment(on=post["id"], text="old", author_name="A", created_at=NOW - timedelta(hours=1))
    _, checkpoint = fb.fetch(SOURCE, Checkpoint())
    assert checkpoint.cursor["since"] == (NOW - timedelta(hours=1)).isoformat()

    new = graph_fake.add_comment(on=post["id"], text="new", author_name="B", created_at=NOW)
    mentions, checkpoint2 = fb.fetch(SOURCE, checkpoint)

    assert [m.external_id for m in mentions] == [new["id"]]
    assert checkpoint2.cursor == {"since": NOW.isoformat(), "recent": [new["id"]]}
    assert fb.fetch(SOURCE, checkpoint2)[0] == []
    comment_reads = graph_fake.requests_to(r"/comments$")
    assert comment_reads[-1].query["since"] == [str(int(NOW.timestamp()))]


def test_old_or_quiet_posts_are_not_scanned_for_comments(
    graph_fake: FakeGraphApi, fb: FacebookConnector
) -> None:
    old = graph_fake.add_post(text="Last month", created_at=NOW - timedelta(days=30))
    quiet = graph_fake.add_post(text="Quiet post", created_at=NOW - timedelta(days=3))
    graph_fake.add_comment(on=old["id"], text="late comment", author_name="A", created_at=NOW)

    fb.fetch(SOURCE, Checkpoint())

    scanned = {r.path.split("/")[2] for r in graph_fake.requests_to(r"/comments$")}
    assert old["id"] not in scanned  # outside the comment window
    assert quiet["id"] not in scanned  # nothing happened on it since the checkpoint


def test_a_post_deleted_while_reading_does_not_break_the_source(
    graph_fake: FakeGraphApi, fb: FacebookConnector
) -> None:
    gone = graph_fake.add_post(text="Deleted soon", author_name="A")
    kept = graph_fake.add_post(text="Stays", author_name="B")
    graph_fake.inject(graph_error(100, "does not exist", subcode=33), path=rf"/{gone['id']}/comments$")

    mentions, _ = fb.fetch(SOURCE, Checkpoint())

    assert {m.external_id for m in mentions} == {gone["id"], kept["id"]}


def test_a_failed_listing_leaves_the_checkpoint_alone(
    graph_fake: FakeGraphApi, fb: FacebookConnector
) -> None:
    graph_fake.add_post(text="hello", author_name="A")
    graph_fake.inject(graph_error(2, "Service temporarily unavailable", status=500), path=r"/tagged$")
    with pytest.raises(TemporaryError):
        fb.fetch(SOURCE, Checkpoint({"since": (NOW - timedelta(hours=1)).isoformat()}))
    mentions, _ = fb.fetch(SOURCE, Checkpoint({"since": (NOW - timedelta(hours=1)).isoformat()}))
    assert len(mentions) == 1


def test_expired_token_is_permanent_and_never_echoed(graph_fake: FakeGraphApi, fb: FacebookConnector) -> None:
    graph_fake.inject(graph_error(190, f"Malformed access token {PAGE_TOKEN}"), path=r"/feed$")
    with pytest.raises(PermanentError) as caught:
        fb.fetch(SOURCE, Checkpoint())
    assert "page token" in str(caught.value) and PAGE_TOKEN not in str(caught.value)


def test_wrong_app_secret_is_permanent(graph_fake: FakeGraphApi) -> None:
    fb = make_facebook(graph_fake.base_url, app_secret="not-the-app-secret-0000")
    with pytest.raises(PermanentError, match="appsecret_proof"):
        fb.fetch(SOURCE, Checkpoint())


def test_response_without_content_type_is_a_payload_error(
    graph_fake: FakeGraphApi, fb: FacebookConnector
) -> None:
    graph_fake.inject(Failure(status=200, body='{"data": []}', content_type=""), path=r"/feed$")
    with pytest.raises(PayloadError):
        fb.fetch(SOURCE, Checkpoint())


def test_reply_comments_as_the_page(graph_fake: FakeGraphApi, fb: FacebookConnector) -> None:
    post = graph_fake.add_post(text="Clinic times")
    comment = graph_fake.add_comment(on=post["id"], text="Open Sunday?", author_name="Sam")

    reply_id = fb.reply(
        source=SOURCE, in_reply_to=comment["id"], text="Yes, 10am to 4pm. AB", idempotency_key="r1"
    )

    assert graph_fake.replies == [
        {"id": reply_id, "message": "Yes, 10am to 4pm. AB", "parent_id": comment["id"]}
    ]
    sent = graph_fake.requests_to(r"/comments$", method="POST")[0]
    assert sent.form["appsecret_proof"] == [PROOF] and sent.form["access_token"] == [PAGE_TOKEN]


def test_reply_checks_length_and_emptiness_before_sending(
    graph_fake: FakeGraphApi, fb: FacebookConnector
) -> None:
    with pytest.raises(PermanentError, match="longer"):
        fb.reply(source=SOURCE, in_reply_to="1_2", text="a" * 8001, idempotency_key="k")
    with pytest.raises(PermanentError, match="empty"):
        fb.reply(source=SOURCE, in_reply_to="1_2", text="\n", idempotency_key="k")
    assert graph_fake.requests == []


def test_reply_to_a_deleted_comment_is_gone(graph_fake: FakeGraphApi, fb: FacebookConnector) -> None:
    with pytest.raises(GoneError):
        fb.reply(source=SOURCE, in_reply_to="123_456", text="Hello", idempotency_key="k")


def test_lost_answer_after_commenting_is_found_so_the_reply_is_not_doubled(
    graph_fake: FakeGraphApi, fb: FacebookConnector
) -> None:
    post = graph_fake.add_post(text="Clinic times")
    comment = graph_fake.add_comment(on=post["id"], text="Open Sunday?", author_name="Sam")
    graph_fake.inject(Failure(hang=True, after_apply=True), path=r"/comments$", method="POST")
    slow = make_facebook(graph_fake.base_url, timeout=0.3)

    with pytest.raises(TemporaryError):
        slow.reply(source=SOURCE, in_reply_to=comment["id"], text="Yes. AB", idempotency_key="r1")

    assert (
        fb.find_reply(source=SOURCE, in_reply_to=comment["id"], text="Yes. AB") == graph_fake.replies[0]["id"]
    )
    assert len(graph_fake.replies) == 1


def test_find_reply_ignores_the_same_words_from_someone_else(
    graph_fake: FakeGraphApi, fb: FacebookConnector
) -> None:
    post = graph_fake.add_post(text="Clinic times")
    comment = graph_fake.add_comment(on=post["id"], text="Open Sunday?", author_name="Sam")
    graph_fake.add_comment(on=comment["id"], text="Yes. AB", author_name="Impostor")
    assert fb.find_reply(source=SOURCE, in_reply_to=comment["id"], text="Yes. AB") is None


def test_hide_and_show_a_comment(graph_fake: FakeGraphApi, fb: FacebookConnector) -> None:
    post = graph_fake.add_post(text="Clinic times")
    rude = graph_fake.add_comment(on=post["id"], text="abuse", author_name="Troll")
    fb.hide(source=SOURCE, external_id=rude["id"])
    assert graph_fake.hidden == {rude["id"]: True}
    fb.hide(source=SOURCE, external_id=rude["id"], hidden=False)
    assert graph_fake.hidden == {rude["id"]: False}
    assert graph_fake.requests_to(rf"/{rude['id']}$", method="POST")[0].form["is_hidden"] == ["true"]


def test_repr_masks_credentials(fb: FacebookConnector) -> None:
    assert PAGE_TOKEN not in repr(fb) and APP_SECRET not in repr(fb)


@pytest.mark.parametrize("source", ["facebook:page:", "facebook:group:1", "facebook:page:abc", "x:page:1"])
def test_bad_sources_are_refused(fb: FacebookConnector, source: str) -> None:
    with pytest.raises(PermanentError):
        fb.fetch(source, Checkpoint())


def test_late_items_inside_the_overlap_are_caught_once(graph_fake: FakeGraphApi) -> None:
    fb = make_facebook(graph_fake.base_url, overlap=timedelta(minutes=5))
    post = graph_fake.add_post(text="Clinic times", created_at=NOW - timedelta(hours=2))
    graph_fake.add_comment(on=post["id"], text="first", author_name="A", created_at=NOW)
    _, checkpoint = fb.fetch(SOURCE, Checkpoint())

    # Graph shows this one only now, dated before the checkpoint
    late = graph_fake.add_comment(
        on=post["id"], text="late", author_name="B", created_at=NOW - timedelta(minutes=2)
    )
    mentions, checkpoint2 = fb.fetch(SOURCE, checkpoint)

    assert [m.external_id for m in mentions] == [late["id"]]
    assert fb.fetch(SOURCE, checkpoint2)[0] == []


def test_find_reply_reads_the_comments_since_the_attempt_however_many_and_says_when_it_cannot(
    graph_fake: FakeGraphApi,
) -> None:
    fb = make_facebook(graph_fake.base_url, max_pages=3)
    post = graph_fake.add_post(text="Clinic times")
    comment = graph_fake.add_comment(on=post["id"], text="Open Sunday?", author_name="Sam")
    graph_fake.add_comment(on=comment["id"], text="Yes. AB", created_at=NOW - timedelta(days=3))  # an old one
    ours = graph_fake.add_comment(on=comment["id"], text="Yes. AB", created_at=NOW - timedelta(minutes=5))
    for n in range(150):  # a busy thread after our reply: more than one page
        graph_fake.add_comment(on=comment["id"], text=f"me too {n}", author_name=f"P{n}", created_at=NOW)
    since = NOW - timedelta(minutes=10)
    assert fb.find_reply(source=SOURCE, in_reply_to=comment["id"], text="Yes. AB", since=since) == ours["id"]
    assert graph_fake.requests_to(r"/comments$")[-1].query["since"] == [str(int(since.timestamp()))]

    for n in range(300):  # more than the 3 pages this connector reads: it cannot say
        graph_fake.add_comment(on=comment["id"], text=f"again {n}", author_name=f"Q{n}", created_at=NOW)
    with pytest.raises(LookupIncomplete):
        fb.find_reply(source=SOURCE, in_reply_to=comment["id"], text="No. AB", since=since)
