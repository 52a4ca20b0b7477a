"""No credential in a connector's error: the message (admin page, audit log, worker log) and its traceback.

Each platform's real error shapes, served by its fake through the real client library, with the
credential repeated in the body the way X, Graph and feed hosts do.
"""

from __future__ import annotations

import traceback

import pytest

from connectors.base import Checkpoint, ConnectorError, PermanentError, scrub
from connectors.facebook import fake as graph
from connectors.fake_server import Failure
from connectors.x import fake as x
from tests.connectors.conftest import (
    APP_SECRET,
    BEARER,
    PAGE_ID,
    PAGE_TOKEN,
    X_USER_CONTEXT,
    make_facebook,
    make_rss,
    make_x,
)

SECRETS = [BEARER, PAGE_TOKEN, APP_SECRET, *X_USER_CONTEXT.values()]
FEED_KEY = "feedkey-5f1c9a77e2b04d"


def _leaks(exc: BaseException) -> list[str]:
    text = str(exc) + "".join(traceback.format_exception(exc))
    return [s[:10] for s in [*SECRETS, FEED_KEY] if s in text]


X_SHAPES = {
    # v2 problem+json that repeats the Authorization header
    "v2 401 bearer": x.http_error(401, f"Unauthorized: Authorization: Bearer {BEARER}"),
    # v1.1-style errors array that repeats OAuth 1.0a header parameters
    "v1.1 401 oauth": Failure(
        status=401,
        body={
            "errors": [
                {
                    "code": 32,
                    "message": (
                        f'Could not authenticate you: oauth_consumer_key="{X_USER_CONTEXT["consumer_key"]}", '
                        f'oauth_token="{X_USER_CONTEXT["access_token"]}"'
                    ),
                }
            ]
        },
    ),
    "v2 403 token in detail": x.http_error(
        403, f"Client {X_USER_CONTEXT['access_token']} is not permitted to use this endpoint"
    ),
    "v2 400 echoes the query string": x.http_error(
        400, f"Invalid request: https://api.twitter.com/2/users?access_token={BEARER}"
    ),
}


@pytest.mark.parametrize("shape", list(X_SHAPES))
def test_x_errors_carry_no_credential(x_fake, shape):
    x_fake.inject(X_SHAPES[shape], path=r"/mentions$")
    connector = make_x(x_fake.base_url, user_ids={"NHSCovWarks": x_fake.me["id"]})
    with pytest.raises(ConnectorError) as caught:
        connector.fetch("x:mentions:@NHSCovWarks", Checkpoint())
    assert not _leaks(caught.value), caught.value
    assert "X" in str(caught.value)


GRAPH_SHAPES = {
    "190 echoes the token": graph.graph_error(
        190, f"Error validating access token: the token {PAGE_TOKEN} has expired", subcode=463, status=401
    ),
    "100 echoes the request": graph.graph_error(
        100,
        f"Unsupported get request: /v21.0/{PAGE_ID}/feed"
        f"?access_token={PAGE_TOKEN}&appsecret_proof=abc123def456",
        kind="GraphMethodException",
    ),
    "200 echoes the app secret": graph.graph_error(
        200, f"App secret {APP_SECRET} lacks pages_read_engagement"
    ),
}


@pytest.mark.parametrize("shape", list(GRAPH_SHAPES))
def test_graph_errors_carry_no_credential(graph_fake, shape):
    graph_fake.inject(GRAPH_SHAPES[shape])
    connector = make_facebook(graph_fake.base_url)
    with pytest.raises(ConnectorError) as caught:
        connector.fetch(f"facebook:page:{PAGE_ID}", Checkpoint())
    assert not _leaks(caught.value), caught.value
    assert "abc123def456" not in str(caught.value)


@pytest.mark.parametrize("status", [401, 403, 404, 410, 500])
def test_feed_errors_name_the_feed_without_its_key(news_fake, status):
    news_fake.add_feed("private", title="Private", link="https://example.org")
    base = news_fake.feed_url("private")
    news_fake.inject(Failure(status=status))
    with pytest.raises(ConnectorError) as caught:
        make_rss().fetch(f"rss:{base}?apikey={FEED_KEY}", Checkpoint())
    assert not _leaks(caught.value), caught.value


def test_a_password_in_a_feed_address_is_masked(news_fake):
    news_fake.add_feed("private", title="Private", link="https://example.org")
    url = news_fake.feed_url("private").replace("http://", f"http://reader:{FEED_KEY}@")
    news_fake.inject(Failure(status=404))
    with pytest.raises(ConnectorError) as caught:
        make_rss().fetch(f"rss:{url}", Checkpoint())
    assert not _leaks(caught.value) and "reader:***@" in str(caught.value)


def test_scrubbing_keeps_the_words_a_person_needs():
    text = scrub(
        "X rejected the credentials while fetching (401): Bearer AAAAAAAAAAAAAAAAfake; key=abcdefgh1234"
    )
    assert text == "X rejected the credentials while fetching (401): Bearer ***; key=***"
    assert str(PermanentError(f"token {PAGE_TOKEN} revoked")).count("…") == 1
