"""The X connector through tweepy.Client against the local X API v2 fake."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import Checkpoint, GoneError, LookupIncomplete, PermanentError, TemporaryError
from connectors.fake_server import Failure
from connectors.x import XConnector, parse_source, snowflake_time
from connectors.x.fake import FakeXApi, http_error, snowflake
from tests.connectors.conftest import BEARER, NOW, X_USER_CONTEXT, make_x

MENTIONS = "x:mentions:@NHSCovWarks"


@pytest.fixture
def x(x_fake: FakeXApi) -> XConnector:
    return make_x(x_fake.base_url)


def test_mentions_carry_author_thread_metrics_and_time(x_fake: FakeXApi, x: XConnector) -> None:
    x_fake.add_user("patient_pat", name="Pat Jones", followers=321, verified=True)
    ours = x_fake.add_tweet(
        author="NHSCovWarks", text="Flu clinics open today", created_at=NOW - timedelta(hours=1)
    )
    reply = x_fake.add_tweet(
        author="patient_pat",
        text="@NHSCovWarks which ones?",
        in_reply_to=ours["id"],
        lang="en",
        metrics={"like_count": 4, "retweet_count": 2},
    )

    mentions, checkpoint = x.fetch(MENTIONS, Checkpoint())

    assert [m.external_id for m in mentions] == [reply["id"]]
    m = mentions[0]
    assert (m.platform, m.source, m.kind) == ("x", MENTIONS, "reply")
    assert (m.author.id, m.author.handle, m.author.name, m.author.followers, m.author.verified) == (
        x_fake.add_user("patient_pat")["id"],
        "patient_pat",
        "Pat Jones",
        321,
        True,
    )
    assert m.in_reply_to == ours["id"] and m.conversation_id == ours["id"]
    assert m.metrics == {"reposts": 2, "replies": 0, "likes": 4, "quotes": 0}
    assert m.created_at == NOW and m.created_at.tzinfo is not None
    assert m.url == f"https://x.com/patient_pat/status/{reply['id']}"
    assert m.lang == "en" and not m.is_own and not m.is_repost
    assert m.raw["data"]["id"] == reply["id"] and m.raw["includes"]["users"][0]["username"] == "patient_pat"
    assert checkpoint.cursor == {"since_id": reply["id"]}


def test_requests_ask_for_expansions_and_fields_and_read_with_the_bearer_token(
    x_fake: FakeXApi, x: XConnector
) -> None:
    x.fetch(MENTIONS, Checkpoint())
    request = x_fake.requests_to(r"/mentions$")[0]
    assert request.query["expansions"][0].split(",") == [
        "author_id",
        "referenced_tweets.id",
        "in_reply_to_user_id",
    ]
    assert {"created_at", "conversation_id", "public_metrics", "author_id"} <= set(
        request.query["tweet.fields"][0].split(",")
    )
    assert request.query["max_results"] == ["100"]
    assert request.headers["authorization"] == f"Bearer {BEARER}"


def test_own_posts_and_plain_reposts_are_marked_but_quotes_are_not(x_fake: FakeXApi, x: XConnector) -> None:
    original = x_fake.add_tweet(author="patient_pat", text="@NHSCovWarks thank you to the ward 7 team")
    own = x_fake.add_tweet(author="NHSCovWarks", text="Reminder from @NHSCovWarks: pharmacies are open")
    repost = x_fake.add_tweet(
        author="fan", text="RT @patient_pat: @NHSCovWarks thank you", retweet_of=original["id"]
    )
    quote = x_fake.add_tweet(author="critic", text="@NHSCovWarks not my experience", quote_of=original["id"])

    by_id = {m.external_id: m for m in x.fetch(MENTIONS, Checkpoint())[0]}

    assert by_id[own["id"]].is_own and not by_id[original["id"]].is_own
    assert by_id[repost["id"]].is_repost
    assert not by_id[quote["id"]].is_repost and not by_id[original["id"]].is_repost


def test_second_fetch_returns_only_new_posts(x_fake: FakeXApi, x: XConnector) -> None:
    x_fake.add_tweet(author="a", text="@NHSCovWarks one")
    first, checkpoint = x.fetch(MENTIONS, Checkpoint())
    newer = x_fake.add_tweet(author="b", text="@NHSCovWarks two")

    second, checkpoint2 = x.fetch(MENTIONS, checkpoint)

    assert [m.external_id for m in second] == [newer["id"]]
    assert x_fake.requests_to(r"/mentions$")[-1].query["since_id"] == [checkpoint.cursor["since_id"]]
    assert checkpoint2.cursor == {"since_id": newer["id"]}
    assert x.fetch(MENTIONS, checkpoint2)[0] == []


def test_a_failed_later_page_loses_nothing(x_fake: FakeXApi, x: XConnector) -> None:
    for n in range(150):
        x_fake.add_tweet(author="a", text=f"@NHSCovWarks {n}")
    x_fake.inject(http_error(503), path=r"/mentions$", after=1)  # the first page answers, the second fails

    with pytest.raises(TemporaryError):
        x.fetch(MENTIONS, Checkpoint())
    assert len(x_fake.requests_to(r"/mentions$")) == 2

    mentions, checkpoint = x.fetch(MENTIONS, Checkpoint())  # the worker retries from the old checkpoint
    assert len(mentions) == 150
    assert checkpoint.cursor["since_id"] == max(m.external_id for m in mentions)


def test_page_limit_reads_the_rest_on_later_fetches_without_gaps(x_fake: FakeXApi) -> None:
    x = make_x(x_fake.base_url, max_pages=1)
    ids = [x_fake.add_tweet(author="a", text=f"@NHSCovWarks {n}")["id"] for n in range(250)]

    seen: list[str] = []
    checkpoint = Checkpoint()
    for _ in range(3):
        mentions, checkpoint = x.fetch(MENTIONS, checkpoint)
        seen += [m.external_id for m in mentions]
    assert sorted(seen) == sorted(ids)
    assert checkpoint.cursor == {"since_id": ids[-1]}

    later = x_fake.add_tweet(author="a", text="@NHSCovWarks later")
    assert [m.external_id for m in x.fetch(MENTIONS, checkpoint)[0]] == [later["id"]]


def test_first_fetch_looks_back_only_the_initial_window(x_fake: FakeXApi) -> None:
    x_fake.add_tweet(author="a", text="@NHSCovWarks last week", created_at=NOW - timedelta(days=6))
    recent = x_fake.add_tweet(author="a", text="@NHSCovWarks just now")
    x = make_x(x_fake.base_url, initial_lookback=timedelta(days=1))

    mentions, _ = x.fetch(MENTIONS, Checkpoint())

    assert [m.external_id for m in mentions] == [recent["id"]]
    assert x_fake.requests_to(r"/mentions$")[0].query["start_time"] == ["2025-03-02T10:00:00Z"]


def test_search_source_reads_recent_search_as_posts(x_fake: FakeXApi, x: XConnector) -> None:
    hit = x_fake.add_tweet(author="resident", text="Coventry walk-in centre wait was 5 hours")
    x_fake.add_tweet(author="resident", text="Lovely weather in Warwick")
    own = x_fake.add_tweet(author="NHSCovWarks", text="Coventry walk-in centre opening hours")
    x = make_x(x_fake.base_url, own_handles=["@NHSCovWarks"])

    mentions, checkpoint = x.fetch('x:search:coventry "walk-in centre" -is:retweet', Checkpoint())

    assert {m.external_id for m in mentions} == {hit["id"], own["id"]}
    assert {m.kind for m in mentions} == {"post"}
    assert [m.external_id for m in mentions if m.is_own] == [own["id"]]
    assert x_fake.requests_to(r"/search/recent$")[0].query["query"] == [
        'coventry "walk-in centre" -is:retweet'
    ]
    assert checkpoint.cursor == {"since_id": own["id"]}


def test_unknown_account_is_permanent(x_fake: FakeXApi, x: XConnector) -> None:
    with pytest.raises(PermanentError, match="not found"):
        x.fetch("x:mentions:@nobody_here", Checkpoint())


def test_rate_limit_without_reset_header_waits_a_window_and_does_not_retry(
    x_fake: FakeXApi, x: XConnector
) -> None:
    x_fake.inject(Failure(status=429, body={"title": "Too Many Requests"}), path=r"/mentions$", times=5)
    with pytest.raises(TemporaryError) as caught:
        x.fetch(MENTIONS, Checkpoint())
    assert caught.value.retry_at == NOW + timedelta(minutes=15)
    assert len(x_fake.requests_to(r"/mentions$")) == 1


@pytest.mark.parametrize(
    "source", ["x:mentions:", "x:search:", "x:likes:@a", "facebook:page:1", "x:mentions:@bad handle"]
)
def test_bad_sources_are_refused(source: str) -> None:
    with pytest.raises(PermanentError):
        parse_source(source)


def test_reply_posts_once_with_user_context(x_fake: FakeXApi, x: XConnector) -> None:
    question = x_fake.add_tweet(author="pat", text="@NHSCovWarks where do I get a flu jab?")

    reply_id = x.reply(
        source=MENTIONS, in_reply_to=question["id"], text="Any pharmacy can help. AB", idempotency_key="r1"
    )

    assert [(r["id"], r["text"]) for r in x_fake.replies] == [(reply_id, "Any pharmacy can help. AB")]
    assert x_fake.tweet(reply_id)["referenced_tweets"] == [{"type": "replied_to", "id": question["id"]}]
    post = x_fake.requests_to(r"/2/tweets$", method="POST")[0]
    assert post.headers["authorization"].startswith("OAuth ")
    assert post.json() == {
        "text": "Any pharmacy can help. AB",
        "reply": {"in_reply_to_tweet_id": question["id"]},
    }


def test_reply_with_only_an_oauth2_user_token_uses_it(x_fake: FakeXApi) -> None:
    question = x_fake.add_tweet(author="pat", text="@NHSCovWarks hello")
    x = XConnector(bearer_token=BEARER, base_url=x_fake.base_url, timeout=5)
    x.reply(source=MENTIONS, in_reply_to=question["id"], text="Hello", idempotency_key="r1")
    assert x_fake.requests_to(r"/2/tweets$", method="POST")[0].headers["authorization"] == f"Bearer {BEARER}"


def test_reply_too_long_or_empty_is_refused_before_sending(x_fake: FakeXApi, x: XConnector) -> None:
    with pytest.raises(PermanentError, match="longer"):
        x.reply(source=MENTIONS, in_reply_to="1", text="a" * 281, idempotency_key="k")
    with pytest.raises(PermanentError, match="empty"):
        x.reply(source=MENTIONS, in_reply_to="1", text="  ", idempotency_key="k")
    assert x_fake.requests == []


def test_reply_to_a_deleted_post_is_permanent(x_fake: FakeXApi, x: XConnector) -> None:
    with pytest.raises(PermanentError, match="403"):
        x.reply(source=MENTIONS, in_reply_to="1897000000000000099", text="Hello", idempotency_key="k")


def test_lost_answer_after_posting_is_found_again_so_the_reply_is_not_doubled(
    x_fake: FakeXApi, x: XConnector
) -> None:
    question = x_fake.add_tweet(author="pat", text="@NHSCovWarks is the clinic open?")
    text = "Yes & until 8pm: https://www.nhs.uk/service-search AB"
    x_fake.inject(Failure(drop=True, after_apply=True), path=r"/2/tweets$", method="POST")

    with pytest.raises(TemporaryError):
        x.reply(source=MENTIONS, in_reply_to=question["id"], text=text, idempotency_key="r1")

    # what the outbox does before resending: look for it
    found = x.find_reply(source=MENTIONS, in_reply_to=question["id"], text=text)
    assert found == x_fake.replies[0]["id"]
    assert len(x_fake.replies) == 1


def test_find_reply_matches_our_reply_to_that_post_only(x_fake: FakeXApi, x: XConnector) -> None:
    question = x_fake.add_tweet(author="pat", text="@NHSCovWarks a question")
    other = x_fake.add_tweet(author="sam", text="@NHSCovWarks another")
    x_fake.add_tweet(author="NHSCovWarks", text="Thanks, see https://t.co/AbC123 AB", in_reply_to=other["id"])
    x_fake.add_tweet(author="pat", text="Thanks, see https://nhs.uk AB", in_reply_to=question["id"])
    assert (
        x.find_reply(source=MENTIONS, in_reply_to=question["id"], text="Thanks, see https://nhs.uk AB")
        is None
    )

    ours = x_fake.add_tweet(
        author="NHSCovWarks", text="Thanks,  see https://t.co/XyZ789 AB", in_reply_to=question["id"]
    )
    found = x.find_reply(source=MENTIONS, in_reply_to=question["id"], text="Thanks, see https://nhs.uk AB")
    assert found == ours["id"]


def test_hide_and_unhide_a_reply(x_fake: FakeXApi, x: XConnector) -> None:
    rude = x_fake.add_tweet(author="troll", text="@NHSCovWarks rude words")
    x.hide(source=MENTIONS, external_id=rude["id"])
    assert x_fake.hidden == {rude["id"]: True}
    x.hide(source=MENTIONS, external_id=rude["id"], hidden=False)
    assert x_fake.hidden == {rude["id"]: False}
    with pytest.raises(GoneError):
        x.hide(source=MENTIONS, external_id="1897000000000000099")


def test_repr_and_errors_never_show_credentials(x_fake: FakeXApi, x: XConnector) -> None:
    shown = repr(x)
    assert BEARER not in shown and not [v for v in X_USER_CONTEXT.values() if v in shown]
    bad = make_x(x_fake.base_url, bearer_token="wrong-token-123456789")
    with pytest.raises(PermanentError) as caught:
        bad.fetch("x:search:nhs", Checkpoint())
    assert "wrong-token" not in str(caught.value)


def test_needs_some_credentials() -> None:
    with pytest.raises(ValueError):
        XConnector(bearer_token=None)


def test_snowflake_time_recovers_the_creation_time() -> None:
    # 1445078208190291968 >> 22 is 344533493087 ms after X's epoch (2010-11-04T01:42:54.657Z)
    assert snowflake_time("1445078208190291968").isoformat() == "2021-10-04T17:27:47.744000+00:00"
    assert snowflake_time(str(snowflake(NOW))) == NOW


def test_a_quiet_search_never_asks_beyond_the_seven_day_reach(x_fake: FakeXApi, x: XConnector) -> None:
    old_since = str(snowflake(NOW - timedelta(days=9)))
    hit = x_fake.add_tweet(author="resident", text="walk-in centre queue again")

    mentions, checkpoint = x.fetch("x:search:walk-in", Checkpoint({"since_id": old_since}))

    query = x_fake.requests_to(r"/search/recent$")[-1].query
    assert "since_id" not in query and query["start_time"] == ["2025-02-24T10:10:00Z"]
    assert [m.external_id for m in mentions] == [hit["id"]]
    assert checkpoint.cursor == {"since_id": hit["id"]}


def test_an_empty_first_fetch_does_not_pin_the_start_time(x_fake: FakeXApi, x: XConnector) -> None:
    _, checkpoint = x.fetch("x:search:nothing-matches-this", Checkpoint())
    assert checkpoint.cursor == {}


def test_find_reply_pages_through_every_post_since_the_attempt_up_to_what_x_shows(
    x_fake: FakeXApi, x: XConnector
) -> None:
    question = x_fake.add_tweet(
        author="pat", text="@NHSCovWarks a question", created_at=NOW - timedelta(hours=1)
    )
    ours = x_fake.add_tweet(
        author="NHSCovWarks", text="On it. AB", in_reply_to=question["id"], created_at=NOW
    )
    for n in range(450):  # busy since: more than the 300 the old look-up read
        x_fake.add_tweet(author="NHSCovWarks", text=f"Update {n}", created_at=NOW)
    since = NOW - timedelta(minutes=10)
    assert (
        x.find_reply(source=MENTIONS, in_reply_to=question["id"], text="On it. AB", since=since) == ours["id"]
    )
    assert x_fake.requests_to(r"/users/\d+/tweets$")[-1].query["start_time"] == [
        (since).strftime("%Y-%m-%dT%H:%M:%SZ")
    ]

    for n in range(3200):  # now past X's 3,200-post timeline: it cannot tell either way
        x_fake.add_tweet(author="NHSCovWarks", text=f"More {n}", created_at=NOW)
    with pytest.raises(LookupIncomplete, match="3,200"):
        x.find_reply(source=MENTIONS, in_reply_to=question["id"], text="On it. AB", since=since)
