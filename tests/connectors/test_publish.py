"""New posts (an incident's listening message or response) through both connectors and the real libraries.

``post`` publishes; ``find_post`` is what the outbox asks before sending again after an
attempt whose outcome it never learnt, so a post is never published twice.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import Checkpoint, PermanentError, TemporaryError
from connectors.facebook import FacebookConnector
from connectors.facebook.fake import FakeGraphApi
from connectors.facebook.fake import rate_limited as graph_rate_limited
from connectors.fake_server import Failure
from connectors.x import XConnector
from connectors.x.fake import FakeXApi, http_error
from connectors.x.fake import rate_limited as x_rate_limited
from tests.connectors.conftest import NOW, PAGE_ID, make_facebook, make_x

X_ACCOUNT = "x:mentions:@NHSCovWarks"
PAGE = f"facebook:page:{PAGE_ID}"
STATEMENT = "We know about the problem with online booking & are working on it: https://www.nhs.uk/x AB"


@pytest.fixture
def x(x_fake: FakeXApi) -> XConnector:
    return make_x(x_fake.base_url)


@pytest.fixture
def fb(graph_fake: FakeGraphApi) -> FacebookConnector:
    return make_facebook(graph_fake.base_url)


# X ------------------------------------------------------------------------------------------


def test_x_post_publishes_a_new_post_not_a_reply(x_fake: FakeXApi, x: XConnector) -> None:
    post_id = x.post(source=X_ACCOUNT, text=STATEMENT, idempotency_key="k1")

    assert [(p["id"], p["text"]) for p in x_fake.posts_published] == [(post_id, STATEMENT)]
    assert x_fake.replies == []
    assert "referenced_tweets" not in x_fake.tweet(post_id)
    [sent] = x_fake.requests_to(r"/2/tweets$", method="POST")
    assert sent.json() == {"text": STATEMENT}
    assert sent.headers["authorization"].startswith("OAuth ")  # user context, as for replies


def test_x_post_refuses_empty_or_too_long_text_before_sending(x_fake: FakeXApi, x: XConnector) -> None:
    with pytest.raises(PermanentError, match="longer"):
        x.post(source=X_ACCOUNT, text="a" * 281, idempotency_key="k")
    with pytest.raises(PermanentError, match="empty"):
        x.post(source=X_ACCOUNT, text=" \n", idempotency_key="k")
    with pytest.raises(PermanentError, match="not an X source"):
        x.post(source=PAGE, text="Hello", idempotency_key="k")
    assert x_fake.requests == []


def test_x_post_whose_answer_was_lost_is_found_so_it_is_not_posted_twice(
    x_fake: FakeXApi, x: XConnector
) -> None:
    x_fake.inject(Failure(drop=True, after_apply=True), path=r"/2/tweets$", method="POST")

    with pytest.raises(TemporaryError):
        x.post(source=X_ACCOUNT, text=STATEMENT, idempotency_key="k1")

    [published] = x_fake.posts_published  # X has it, we were never told
    assert x.find_post(source=X_ACCOUNT, text=STATEMENT) == published["id"]
    assert len(x_fake.posts_published) == 1
    [looked] = x_fake.requests_to(r"/users/\d+/tweets$")
    assert looked.query["exclude"] == ["replies,retweets"]


def test_x_find_post_ignores_replies_other_accounts_and_old_posts(x_fake: FakeXApi, x: XConnector) -> None:
    question = x_fake.add_tweet(author="pat", text="@NHSCovWarks is booking down?")
    x_fake.add_tweet(author="NHSCovWarks", text=STATEMENT, in_reply_to=question["id"])
    x_fake.add_tweet(author="pat", text=STATEMENT)
    x_fake.add_tweet(author="NHSCovWarks", text=STATEMENT, created_at=NOW - timedelta(days=2))
    assert x.find_post(source=X_ACCOUNT, text=STATEMENT) is None

    # X rewrites links to t.co and escapes &: still the same post
    ours = x_fake.add_tweet(
        author="NHSCovWarks", text=STATEMENT.replace("https://www.nhs.uk/x", "https://t.co/Ab1")
    )
    assert x.find_post(source=X_ACCOUNT, text=STATEMENT) == ours["id"]


@pytest.mark.parametrize(
    "failure, retry_at",
    [
        pytest.param(
            x_rate_limited(reset_at=int((NOW + timedelta(minutes=7)).timestamp())),
            NOW + timedelta(minutes=7),
            id="429",
        ),
        pytest.param(http_error(500), None, id="500"),
    ],
)
def test_x_post_and_find_post_failures_are_temporary(
    x_fake: FakeXApi, x: XConnector, failure: Failure, retry_at: object
) -> None:
    x_fake.inject(failure, path=r"/2/tweets$", method="POST")
    with pytest.raises(TemporaryError) as posting:
        x.post(source=X_ACCOUNT, text=STATEMENT, idempotency_key="k1")
    x_fake.inject(failure, path=r"/users/\d+/tweets$")
    with pytest.raises(TemporaryError) as finding:
        x.find_post(source=X_ACCOUNT, text=STATEMENT)

    assert posting.value.retry_at == finding.value.retry_at == retry_at
    assert x_fake.posts_published == []


def test_x_post_refused_for_permission_is_permanent(x_fake: FakeXApi, x: XConnector) -> None:
    x_fake.inject(http_error(403, "You are not permitted to perform this action."), path=r"/2/tweets$")
    with pytest.raises(PermanentError, match="403"):
        x.post(source=X_ACCOUNT, text=STATEMENT, idempotency_key="k1")


# Facebook -----------------------------------------------------------------------------------


def test_facebook_post_publishes_on_the_page_feed_as_the_page(
    graph_fake: FakeGraphApi, fb: FacebookConnector
) -> None:
    post_id = fb.post(source=PAGE, text=STATEMENT, idempotency_key="k1")

    assert graph_fake.posts_published == [{"id": post_id, "message": STATEMENT}]
    assert post_id.startswith(f"{PAGE_ID}_") and graph_fake.replies == []
    [sent] = graph_fake.requests_to(rf"/v21\.0/{PAGE_ID}/feed$", method="POST")
    assert sent.form["message"] == [STATEMENT]
    mentions, _ = fb.fetch(PAGE, Checkpoint())
    assert [(m.external_id, m.text, m.is_own) for m in mentions] == [(post_id, STATEMENT, True)]


def test_facebook_post_refuses_empty_or_too_long_text_before_sending(
    graph_fake: FakeGraphApi, fb: FacebookConnector
) -> None:
    with pytest.raises(PermanentError, match="longer"):
        fb.post(source=PAGE, text="a" * (fb.max_post_length + 1), idempotency_key="k")
    with pytest.raises(PermanentError, match="empty"):
        fb.post(source=PAGE, text="\t", idempotency_key="k")
    with pytest.raises(PermanentError, match="not a Facebook page source"):
        fb.post(source=X_ACCOUNT, text="Hello", idempotency_key="k")
    assert graph_fake.requests == []


def test_facebook_post_whose_answer_was_lost_is_found_so_it_is_not_posted_twice(
    graph_fake: FakeGraphApi, fb: FacebookConnector
) -> None:
    graph_fake.inject(Failure(drop=True, after_apply=True), path=r"/feed$", method="POST")

    with pytest.raises(TemporaryError):
        fb.post(source=PAGE, text=STATEMENT, idempotency_key="k1")

    [published] = graph_fake.posts_published
    assert fb.find_post(source=PAGE, text=STATEMENT) == published["id"]
    assert len(graph_fake.posts_published) == 1


def test_facebook_find_post_ignores_visitors_comments_and_old_posts(
    graph_fake: FakeGraphApi, fb: FacebookConnector
) -> None:
    graph_fake.add_post(text=STATEMENT, author_name="Someone copying us")
    ours_earlier = graph_fake.add_post(text="Clinic times")
    graph_fake.add_comment(on=ours_earlier["id"], text=STATEMENT)  # the page, but a comment
    graph_fake.add_post(text=STATEMENT, created_at=NOW - timedelta(days=2))
    assert fb.find_post(source=PAGE, text=STATEMENT) is None

    ours = graph_fake.add_post(text=STATEMENT.replace("&", "&amp;"))
    assert fb.find_post(source=PAGE, text=STATEMENT) == ours["id"]


@pytest.mark.parametrize(
    "failure, retry_at",
    [
        pytest.param(graph_rate_limited(regain_minutes=12), NOW + timedelta(minutes=12), id="rate-limit"),
        pytest.param(Failure(status=500, body="<html>oops</html>", content_type="text/html"), None, id="500"),
    ],
)
def test_facebook_post_and_find_post_failures_are_temporary(
    graph_fake: FakeGraphApi, fb: FacebookConnector, failure: Failure, retry_at: object
) -> None:
    graph_fake.inject(failure, path=r"/feed$", method="POST")
    with pytest.raises(TemporaryError) as posting:
        fb.post(source=PAGE, text=STATEMENT, idempotency_key="k1")
    graph_fake.inject(failure, path=r"/posts$")
    with pytest.raises(TemporaryError) as finding:
        fb.find_post(source=PAGE, text=STATEMENT)

    assert posting.value.retry_at == finding.value.retry_at == retry_at
    assert graph_fake.posts_published == []
