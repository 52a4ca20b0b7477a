"""The Bluesky connector through the real atproto client against the loopback XRPC fake."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from connectors.base import Checkpoint, GoneError, PayloadError, PermanentError, TemporaryError
from connectors.bluesky import MemorySessionStore, parse_bluesky_response, parse_source
from connectors.bluesky.fake import FakeBluesky, xrpc_error
from connectors.bluesky.richtext import to_short_url
from connectors.fake_server import Failure
from tests.connectors.conftest import BLUESKY_HANDLE, NOW, make_bluesky

MENTIONS = f"bluesky:mentions:@{BLUESKY_HANDLE}"
PAT = "pat.bsky.social"


def _logins(fake: FakeBluesky) -> int:
    return len(fake.requests_to(r"createSession$"))


def test_mentions_replies_and_quotes_are_read_and_likes_left_out(bluesky_fake: FakeBluesky) -> None:
    ours = bluesky_fake.add_post(author=BLUESKY_HANDLE, text="Flu jabs are open at the walk-in centre")
    mention = bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} where do I book? 👋🏽")
    reply = bluesky_fake.add_post(
        author="sam.bsky.social", text="Is it open on Sunday?", reply_to=ours["uri"]
    )
    quote = bluesky_fake.add_post(author="jo.bsky.social", text="Good news", quote_of=ours["uri"])
    bluesky_fake.add_notification("like", author="kim.bsky.social", subject=ours["uri"])
    bluesky_fake.add_notification("follow", author="kim.bsky.social")

    mentions, checkpoint = make_bluesky(bluesky_fake.base_url).fetch(MENTIONS, Checkpoint())

    by_id = {m.external_id: m for m in mentions}
    assert set(by_id) == {mention["uri"], reply["uri"], quote["uri"]}
    assert by_id[mention["uri"]].text == f"@{BLUESKY_HANDLE} where do I book? 👋🏽"
    assert by_id[mention["uri"]].kind == "mention"
    assert by_id[mention["uri"]].author.handle == PAT
    assert (
        by_id[mention["uri"]].url == f"https://bsky.app/profile/{PAT}/post/{mention['uri'].rsplit('/', 1)[1]}"
    )
    assert by_id[reply["uri"]].kind == "reply"
    assert by_id[reply["uri"]].in_reply_to == ours["uri"]
    assert by_id[reply["uri"]].conversation_id == ours["uri"]
    assert by_id[quote["uri"]].kind == "mention"
    assert checkpoint.cursor["since"] == "2025-03-03T10:00:00.000Z"
    # the listing asks only for the reasons it keeps
    asked = bluesky_fake.requests_to(r"listNotifications$")[0].query["reasons"]
    assert sorted(asked) == ["mention", "quote", "reply"]


def test_a_second_fetch_returns_only_what_is_new(bluesky_fake: FakeBluesky) -> None:
    connector = make_bluesky(bluesky_fake.base_url)
    bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} first")
    first, checkpoint = connector.fetch(MENTIONS, Checkpoint())
    assert [m.text for m in first] == [f"@{BLUESKY_HANDLE} first"]
    again, checkpoint = connector.fetch(MENTIONS, checkpoint)
    assert again == []
    # a post at the very same instant as the checkpoint is still new: ties are kept by URI
    bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} second")
    later = bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} third", at=NOW + timedelta(minutes=1))
    new, checkpoint = connector.fetch(MENTIONS, checkpoint)
    assert sorted(m.text for m in new) == [f"@{BLUESKY_HANDLE} second", f"@{BLUESKY_HANDLE} third"]
    assert checkpoint.cursor == {"since": "2025-03-03T10:01:00.000Z", "since_uris": [later["uri"]]}


def test_a_fetch_stopped_by_max_pages_reads_the_rest_next_time(bluesky_fake: FakeBluesky) -> None:
    connector = make_bluesky(bluesky_fake.base_url, max_pages=2)
    for n in range(250):
        bluesky_fake.add_post(author=f"resident{n % 7}.bsky.social", text=f"@{BLUESKY_HANDLE} q{n}")
    first, checkpoint = connector.fetch(MENTIONS, Checkpoint())
    assert len(first) == 200
    assert "resume" in checkpoint.cursor
    bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} meanwhile", at=NOW + timedelta(minutes=1))
    rest, checkpoint = connector.fetch(MENTIONS, checkpoint)
    assert len(rest) == 50
    assert "resume" not in checkpoint.cursor
    newest, checkpoint = connector.fetch(MENTIONS, checkpoint)
    assert [m.text for m in newest] == [f"@{BLUESKY_HANDLE} meanwhile"]
    seen = {m.external_id for m in first + rest + newest}
    assert len(seen) == 251


def test_a_page_of_only_likes_does_not_stop_the_paging(bluesky_fake: FakeBluesky) -> None:
    ours = bluesky_fake.add_post(author=BLUESKY_HANDLE, text="Flu clinics are open")
    bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} is Rugby open?")
    for n in range(3):
        bluesky_fake.add_notification("like", author=f"fan{n}.bsky.social", subject=ours["uri"])
    # a service that ignores the reasons filter: the first page holds only likes
    connector = make_bluesky(bluesky_fake.base_url)
    connector.page_size = 3
    bluesky_fake.inject(
        Failure(status=200, body={"notifications": bluesky_fake.notifications[:3], "cursor": "c"}),
        path=r"listNotifications$",
    )
    bluesky_fake.inject(
        Failure(status=200, body={"notifications": bluesky_fake.notifications[3:]}),
        path=r"listNotifications$",
    )
    mentions, _ = connector.fetch(MENTIONS, Checkpoint())
    assert [m.text for m in mentions] == [f"@{BLUESKY_HANDLE} is Rugby open?"]


def test_the_first_fetch_reaches_back_only_the_initial_lookback(bluesky_fake: FakeBluesky) -> None:
    bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} old", at=NOW - timedelta(days=3))
    bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} recent", at=NOW - timedelta(hours=2))
    mentions, _ = make_bluesky(bluesky_fake.base_url).fetch(MENTIONS, Checkpoint())
    assert [m.text for m in mentions] == [f"@{BLUESKY_HANDLE} recent"]


def test_keyword_search_is_a_source(bluesky_fake: FakeBluesky) -> None:
    hit = bluesky_fake.add_post(
        author=PAT, text="Waiting ages at NHS Coventry walk-in", counts={"likeCount": 4}
    )
    bluesky_fake.add_post(author=PAT, text="Nothing to see")
    connector = make_bluesky(bluesky_fake.base_url)
    mentions, checkpoint = connector.fetch("bluesky:search:NHS Coventry", Checkpoint())
    assert [(m.external_id, m.kind, m.metrics["likes"]) for m in mentions] == [(hit["uri"], "post", 4)]
    search = bluesky_fake.requests_to(r"searchPosts$")[0].query
    assert search["q"] == ["NHS Coventry"] and search["sort"] == ["latest"]
    assert connector.fetch("bluesky:search:NHS Coventry", checkpoint)[0] == []


def test_our_own_posts_are_marked_own(bluesky_fake: FakeBluesky) -> None:
    bluesky_fake.add_post(author=BLUESKY_HANDLE, text="NHS Coventry: flu clinics this week")
    mentions, _ = make_bluesky(bluesky_fake.base_url).fetch("bluesky:search:flu clinics", Checkpoint())
    assert [m.is_own for m in mentions] == [True]


def test_notifications_of_another_account_are_refused(bluesky_fake: FakeBluesky) -> None:
    with pytest.raises(PermanentError, match="app password is for"):
        make_bluesky(bluesky_fake.base_url).fetch("bluesky:mentions:@someone.bsky.social", Checkpoint())


def test_reply_to_a_top_level_post_has_it_as_root_and_parent(bluesky_fake: FakeBluesky) -> None:
    post = bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} where do I book?")
    uri = make_bluesky(bluesky_fake.base_url).reply(
        source=MENTIONS, in_reply_to=post["uri"], text="You can book online.", idempotency_key="k1"
    )
    (created,) = bluesky_fake.created
    assert created["uri"] == uri
    ref = {"uri": post["uri"], "cid": post["cid"]}
    assert _ref(created["record"]["reply"]["root"]) == ref
    assert _ref(created["record"]["reply"]["parent"]) == ref


def test_reply_in_a_thread_keeps_the_threads_root(bluesky_fake: FakeBluesky) -> None:
    ours = bluesky_fake.add_post(author=BLUESKY_HANDLE, text="Flu clinics are open")
    question = bluesky_fake.add_post(author=PAT, text="Which ones?", reply_to=ours["uri"])
    make_bluesky(bluesky_fake.base_url).reply(
        source=MENTIONS, in_reply_to=question["uri"], text="All of them.", idempotency_key="k2"
    )
    reply = bluesky_fake.created[0]["record"]["reply"]
    assert _ref(reply["root"]) == {"uri": ours["uri"], "cid": ours["cid"]}
    assert _ref(reply["parent"]) == {"uri": question["uri"], "cid": question["cid"]}


def test_reply_facets_resolve_mentions_and_shorten_links_as_the_app_does(bluesky_fake: FakeBluesky) -> None:
    pat = bluesky_fake.add_account(PAT, name="Pat")
    post = bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} help")
    text = "Hi 👋🏽 @pat.bsky.social, see https://www.nhs.uk/conditions/flu-vaccine/ and @nobody.bsky.social"
    make_bluesky(bluesky_fake.base_url).reply(
        source=MENTIONS, in_reply_to=post["uri"], text=text, idempotency_key="k"
    )
    record = bluesky_fake.created[0]["record"]
    posted = record["text"]
    assert posted == "Hi 👋🏽 @pat.bsky.social, see www.nhs.uk/conditions/f... and @nobody.bsky.social"
    data = posted.encode("utf-8")
    spans = {
        data[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(): f["features"][0]
        for f in record["facets"]
    }
    # a handle that does not resolve gets no facet; the emoji before it shifts the byte offsets
    assert set(spans) == {"@pat.bsky.social", "www.nhs.uk/conditions/f..."}
    assert spans["@pat.bsky.social"]["did"] == pat["did"]
    assert spans["www.nhs.uk/conditions/f..."]["uri"] == "https://www.nhs.uk/conditions/flu-vaccine/"


def test_a_reply_over_300_graphemes_is_refused_before_sending(bluesky_fake: FakeBluesky) -> None:
    post = bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} help")
    connector = make_bluesky(bluesky_fake.base_url)
    family = "👨‍👩‍👧"  # one grapheme of five code points
    connector.reply(
        source=MENTIONS, in_reply_to=post["uri"], text=family * 150 + "a" * 150, idempotency_key="a"
    )
    for too_long in ("a" * 301, family * 300):  # 301 graphemes; 300 graphemes but 5,400 bytes
        with pytest.raises(PermanentError, match="longer than Bluesky allows"):
            connector.reply(source=MENTIONS, in_reply_to=post["uri"], text=too_long, idempotency_key="b")
    assert len(bluesky_fake.created) == 1


def test_reply_to_a_deleted_post_is_gone(bluesky_fake: FakeBluesky) -> None:
    gone = "at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3ljhow47e2299"
    with pytest.raises(GoneError):
        make_bluesky(bluesky_fake.base_url).reply(
            source=MENTIONS, in_reply_to=gone, text="Thanks", idempotency_key="k"
        )


def test_find_reply_finds_the_reply_under_the_parent_after_a_crash(bluesky_fake: FakeBluesky) -> None:
    post = bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} help")
    other = bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} also")
    connector = make_bluesky(bluesky_fake.base_url)
    text = "Please see https://www.nhs.uk/conditions/flu-vaccine/ for times."
    # the platform takes the reply, the client never learns so
    failure = dataclasses.replace(xrpc_error(502, "UpstreamFailure", "Bad Gateway"), after_apply=True)
    bluesky_fake.inject(failure, path=r"createRecord$")
    with pytest.raises(TemporaryError):
        connector.reply(source=MENTIONS, in_reply_to=post["uri"], text=text, idempotency_key="k")
    (created,) = bluesky_fake.created
    bluesky_fake.add_post(author=PAT, text="Same text from someone else", reply_to=post["uri"])
    assert connector.find_reply(source=MENTIONS, in_reply_to=post["uri"], text=text) == created["uri"]
    assert connector.find_reply(source=MENTIONS, in_reply_to=post["uri"], text="Something else") is None
    assert connector.find_reply(source=MENTIONS, in_reply_to=other["uri"], text=text) is None


def test_delete_removes_our_post_and_refuses_anyone_elses(bluesky_fake: FakeBluesky) -> None:
    post = bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} help")
    connector = make_bluesky(bluesky_fake.base_url)
    uri = connector.reply(
        source=MENTIONS, in_reply_to=post["uri"], text="Sorry, wrong thread.", idempotency_key="k"
    )
    connector.delete(source=MENTIONS, external_id=uri)
    assert bluesky_fake.deleted == [uri]
    assert bluesky_fake.post(uri) is None
    with pytest.raises(PermanentError, match="own account"):
        connector.delete(source=MENTIONS, external_id=post["uri"])


def test_a_second_poll_reuses_the_session(bluesky_fake: FakeBluesky) -> None:
    connector = make_bluesky(bluesky_fake.base_url)
    connector.fetch(MENTIONS, Checkpoint())
    connector.fetch("bluesky:search:NHS", Checkpoint())
    connector.fetch(MENTIONS, Checkpoint())
    assert _logins(bluesky_fake) == 1


def test_a_restarted_worker_resumes_the_stored_session(bluesky_fake: FakeBluesky) -> None:
    store = MemorySessionStore()
    make_bluesky(bluesky_fake.base_url, session_store=store).fetch(MENTIONS, Checkpoint())
    assert store.session is not None and "fake-appp" not in store.session
    make_bluesky(bluesky_fake.base_url, session_store=store).fetch(MENTIONS, Checkpoint())
    assert _logins(bluesky_fake) == 1


def test_a_stored_session_for_another_service_is_not_used(bluesky_fake: FakeBluesky) -> None:
    store = MemorySessionStore()
    make_bluesky(bluesky_fake.base_url, session_store=store).fetch(MENTIONS, Checkpoint())
    with FakeBluesky(handle=BLUESKY_HANDLE, app_password="fake-appp-assw-ord1", clock=lambda: NOW) as other:
        make_bluesky(other.base_url, session_store=store).fetch(MENTIONS, Checkpoint())
        assert _logins(other) == 1


@pytest.mark.parametrize(
    "stored",
    ["not json", '{"service": 1}', '{"session": 5}', "[]", '{"service": "SERVICE", "session": "a:::b"}'],
)
def test_an_unreadable_stored_session_means_one_login(bluesky_fake: FakeBluesky, stored: str) -> None:
    store = MemorySessionStore(stored.replace("SERVICE", bluesky_fake.base_url))
    mentions, _ = make_bluesky(bluesky_fake.base_url, session_store=store).fetch(MENTIONS, Checkpoint())
    assert mentions == [] and _logins(bluesky_fake) == 1


def test_an_expired_access_token_is_refreshed_not_logged_in_again(bluesky_fake: FakeBluesky) -> None:
    store = MemorySessionStore()
    connector = make_bluesky(bluesky_fake.base_url, session_store=store)
    connector.fetch(MENTIONS, Checkpoint())
    before = store.session
    bluesky_fake.expire_access_tokens()
    bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} still there?")
    mentions, _ = connector.fetch(MENTIONS, Checkpoint())
    assert [m.text for m in mentions] == [f"@{BLUESKY_HANDLE} still there?"]
    assert _logins(bluesky_fake) == 1
    assert len(bluesky_fake.requests_to(r"refreshSession$")) == 1
    assert store.session != before  # the rotated tokens are kept for the next start


def test_workers_sharing_a_store_take_up_each_others_refreshed_session(bluesky_fake: FakeBluesky) -> None:
    store = MemorySessionStore()
    first = make_bluesky(bluesky_fake.base_url, session_store=store)
    second = make_bluesky(bluesky_fake.base_url, session_store=store)
    first.fetch(MENTIONS, Checkpoint())
    second.fetch(MENTIONS, Checkpoint())
    bluesky_fake.expire_access_tokens()
    first.fetch(MENTIONS, Checkpoint())  # refreshes: the refresh token both held is used up
    second.fetch(MENTIONS, Checkpoint())  # takes up the refreshed session instead of logging in
    assert _logins(bluesky_fake) == 1
    assert len(bluesky_fake.requests_to(r"refreshSession$")) == 1


def test_the_session_is_refreshed_before_the_access_token_expires(bluesky_fake: FakeBluesky) -> None:
    later = [NOW]
    connector = make_bluesky(bluesky_fake.base_url, clock=lambda: later[0])
    connector.fetch(MENTIONS, Checkpoint())
    later[0] = NOW + timedelta(hours=1, minutes=50)  # the access token lives 2 hours
    connector.fetch(MENTIONS, Checkpoint())
    assert len(bluesky_fake.requests_to(r"refreshSession$")) == 1
    assert bluesky_fake.requests_to(r"refreshSession$")[0].path.endswith("refreshSession")
    assert _logins(bluesky_fake) == 1


def test_a_refused_refresh_token_leads_to_one_new_login(bluesky_fake: FakeBluesky) -> None:
    connector = make_bluesky(bluesky_fake.base_url)
    connector.fetch(MENTIONS, Checkpoint())
    bluesky_fake.expire_access_tokens()
    bluesky_fake.revoke_refresh_tokens()
    connector.fetch(MENTIONS, Checkpoint())
    assert _logins(bluesky_fake) == 2


def test_a_wrong_app_password_is_permanent_and_says_so(bluesky_fake: FakeBluesky) -> None:
    with pytest.raises(PermanentError, match="app password is wrong or revoked") as caught:
        make_bluesky(bluesky_fake.base_url, app_password="wrong-pass-word-0000").fetch(MENTIONS, Checkpoint())
    assert "wrong-pass-word-0000" not in str(caught.value)


def test_hide_is_refused_with_the_reason() -> None:
    with pytest.raises(PermanentError, match="Bluesky app"):
        make_bluesky("http://127.0.0.1:9").hide(source=MENTIONS, external_id="at://x", hidden=True)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("bluesky:mentions:@NHSCovWarks.bsky.social", ("mentions", "nhscovwarks.bsky.social")),
        ("bluesky:search:flu jab", ("search", "flu jab")),
    ],
)
def test_source_keys(source: str, expected: tuple[str, str]) -> None:
    assert parse_source(source) == expected


@pytest.mark.parametrize("source", ["bluesky:mentions:@not a handle", "bluesky:search: ", "x:search:flu"])
def test_bad_source_keys_are_refused(source: str) -> None:
    with pytest.raises(PermanentError):
        parse_source(source)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://www.nhs.uk/", "www.nhs.uk"),
        ("https://www.nhs.uk/flu", "www.nhs.uk/flu"),
        ("https://www.nhs.uk/conditions/flu-vaccine/", "www.nhs.uk/conditions/f..."),
        ("nhs.uk/a-long-path-here", "nhs.uk/a-long-path-here"),  # no scheme: the app keeps it as typed
    ],
)
def test_links_are_shortened_as_the_app_shows_them(url: str, shown: str) -> None:
    assert to_short_url(url) == shown


def test_import_reads_a_raw_notifications_or_search_body(bluesky_fake: FakeBluesky) -> None:
    bluesky_fake.add_post(author=PAT, text=f"@{BLUESKY_HANDLE} where do I book?")
    bluesky_fake.add_notification("follow", author="kim.bsky.social")
    listing = {"notifications": bluesky_fake.notifications}
    parsed = parse_bluesky_response(listing, source="bluesky:import:file.json")
    assert [m.text for m in parsed.mentions] == [f"@{BLUESKY_HANDLE} where do I book?"]
    search = {"posts": [bluesky_fake.post(parsed.mentions[0].external_id)], "cursor": "25"}
    assert len(parse_bluesky_response(search, source="bluesky:import:s.json").mentions) == 1
    with pytest.raises(PayloadError, match="neither"):
        parse_bluesky_response({"feed": []}, source="bluesky:import:f.json")


def _ref(ref: dict) -> dict:
    return {"uri": ref["uri"], "cid": ref["cid"]}
