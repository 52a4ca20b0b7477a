"""The LinkedIn connector through requests (our one HTTP session) against the local LinkedIn fake."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import Checkpoint, GoneError, PermanentError, TemporaryError
from connectors.linkedin import LinkedInConnector, parse_linkedin_response
from connectors.linkedin.fake import LinkedInFake, li_error
from tests.connectors.conftest import LINKEDIN_ORG_ID, LINKEDIN_TOKEN, NOW, make_linkedin

SOURCE = f"linkedin:organization:{LINKEDIN_ORG_ID}"
ORG = f"urn:li:organization:{LINKEDIN_ORG_ID}"


@pytest.fixture
def li(li_fake: LinkedInFake) -> LinkedInConnector:
    return make_linkedin(li_fake.base_url)


def test_fetch_reads_posts_comments_nested_comments_and_mentions(
    li_fake: LinkedInFake, li: LinkedInConnector
) -> None:
    post = li_fake.add_post(text="Join our nursing open day", created_at=NOW - timedelta(hours=3))
    comment = li_fake.add_comment(on=post["id"], text="Is parking free? 🚗", member="Alex Kim")
    nested = li_fake.add_comment(on=comment["commentUrn"], text="Also wondering", member="Jo Bloggs")
    mention = li_fake.add_mention(text="Thanks to NHS Coventry and Warwickshire for the support")

    mentions, checkpoint = li.fetch(SOURCE, Checkpoint())

    by_id = {m.external_id: m for m in mentions}
    assert set(by_id) == {post["id"], comment["commentUrn"], nested["commentUrn"], mention["id"]}
    shape = {i: (m.kind, m.is_own, m.in_reply_to, m.conversation_id) for i, m in by_id.items()}
    assert shape == {
        post["id"]: ("post", True, None, post["id"]),
        comment["commentUrn"]: ("comment", False, post["id"], post["id"]),
        nested["commentUrn"]: ("reply", False, comment["commentUrn"], post["id"]),
        mention["id"]: ("mention", False, None, mention["id"]),
    }
    c = by_id[comment["commentUrn"]]
    assert (c.platform, c.text, c.author.id, c.created_at) == (
        "linkedin",
        "Is parking free? 🚗",
        comment["actor"],
        NOW,
    )
    assert c.url == f"https://www.linkedin.com/feed/update/{post['id']}/"
    assert checkpoint.cursor["since"] == NOW.isoformat()


def test_every_call_names_the_version_protocol_and_token(
    li_fake: LinkedInFake, li: LinkedInConnector
) -> None:
    li_fake.add_post(text="hello", created_at=NOW - timedelta(hours=1))
    li.fetch(SOURCE, Checkpoint())
    assert li_fake.requests
    for request in li_fake.requests:
        assert request.path.startswith("/rest/")
        assert request.headers["linkedin-version"] == "202610"
        assert request.headers["x-restli-protocol-version"] == "2.0.0"
        assert request.headers["authorization"] == f"Bearer {LINKEDIN_TOKEN}"
    [posts] = li_fake.requests_to(r"/rest/posts$")
    assert posts.query["author"] == [ORG] and posts.query["q"] == ["author"]
    [notes] = li_fake.requests_to(r"/organizationalEntityNotifications$")
    assert notes.query["actions"] == ["List(SHARE_MENTION)"]
    assert notes.query["timeRange"][0].startswith("(start:")
    assert posts.headers["x-restli-method"] == notes.headers["x-restli-method"] == "FINDER"


def test_comment_pages_are_all_read(li_fake: LinkedInFake, li: LinkedInConnector) -> None:
    post = li_fake.add_post(text="Clinic times", created_at=NOW - timedelta(hours=2))
    for n in range(230):
        li_fake.add_comment(on=post["id"], text=f"comment {n}", member=f"Resident {n}")
    mentions, _ = li.fetch(SOURCE, Checkpoint())
    assert len([m for m in mentions if m.kind == "comment"]) == 230
    pages = li_fake.requests_to(r"/comments$")
    assert [p.query["start"] for p in pages] == [["0"], ["100"], ["200"]]


def test_next_fetch_starts_from_the_checkpoint(li_fake: LinkedInFake, li: LinkedInConnector) -> None:
    post = li_fake.add_post(text="Clinic times", created_at=NOW - timedelta(hours=2))
    li_fake.add_comment(on=post["id"], text="old", created_at=NOW - timedelta(hours=1))
    _, checkpoint = li.fetch(SOURCE, Checkpoint())
    assert checkpoint.cursor["since"] == (NOW - timedelta(hours=1)).isoformat()

    new = li_fake.add_comment(on=post["id"], text="new", created_at=NOW)
    mentions, checkpoint2 = li.fetch(SOURCE, checkpoint)

    assert [m.external_id for m in mentions] == [new["commentUrn"]]
    assert checkpoint2.cursor == {"since": NOW.isoformat(), "recent": [new["commentUrn"]]}
    assert li.fetch(SOURCE, checkpoint2)[0] == []


def test_reply_as_the_organisation_to_a_comment_and_to_a_post(
    li_fake: LinkedInFake, li: LinkedInConnector
) -> None:
    post = li_fake.add_post(text="Open day")
    comment = li_fake.add_comment(on=post["id"], text="Is parking free?")

    urn = li.reply(
        source=SOURCE,
        in_reply_to=comment["commentUrn"],
        text="Yes, in the main car park. ^AB",
        idempotency_key="k",
    )
    top = li.reply(source=SOURCE, in_reply_to=post["id"], text="See you there ^AB", idempotency_key="k2")

    first, second = li_fake.replies
    assert first == {
        "actor": ORG,
        "object": comment["object"],
        "message": {"text": "Yes, in the main car park. ^AB"},
        "parentComment": comment["commentUrn"],
        "commentUrn": urn,
    }
    assert (second["object"], second["commentUrn"], "parentComment" in second) == (post["id"], top, False)
    assert (
        li.find_reply(
            source=SOURCE, in_reply_to=comment["commentUrn"], text="Yes, in the  main car park. ^AB"
        )
        == urn
    )
    assert li.find_reply(source=SOURCE, in_reply_to=comment["commentUrn"], text="No") is None


def test_reply_over_the_limit_or_empty_is_refused(li: LinkedInConnector) -> None:
    for text in ("  ", "x" * 1251):
        with pytest.raises(PermanentError):
            li.reply(source=SOURCE, in_reply_to="urn:li:share:1", text=text, idempotency_key="k")


def test_delete_a_comment_as_the_organisation(li_fake: LinkedInFake, li: LinkedInConnector) -> None:
    post = li_fake.add_post(text="Open day")
    comment = li_fake.add_comment(on=post["id"], text="spam")
    li.delete(source=SOURCE, external_id=comment["commentUrn"])
    assert li_fake.deleted == [comment["commentUrn"]]
    [request] = li_fake.requests_to(r"/comments/\d+$", method="DELETE")
    assert request.query["actor"] == [ORG]
    with pytest.raises(GoneError):
        li.delete(source=SOURCE, external_id=comment["commentUrn"])


def test_linkedin_cannot_hide(li: LinkedInConnector) -> None:
    with pytest.raises(PermanentError, match="delete"):
        li.hide(source=SOURCE, external_id="urn:li:comment:(urn:li:activity:1,2)")


def test_a_retired_version_needs_attention_with_a_plain_message(li_fake: LinkedInFake) -> None:
    li = make_linkedin(li_fake.base_url, api_version="202301")
    with pytest.raises(PermanentError) as caught:
        li.fetch(SOURCE, Checkpoint())
    assert type(caught.value) is PermanentError
    message = str(caught.value)
    assert "202301" in message and "[linkedin] api_version" in message and "NONEXISTENT_VERSION" in message


def test_a_missing_scope_needs_attention_and_names_it(li_fake: LinkedInFake, li: LinkedInConnector) -> None:
    li_fake.scopes = frozenset({"r_organization_social", "rw_organization_admin"})
    post = li_fake.add_post(text="Open day")
    with pytest.raises(PermanentError) as caught:
        li.reply(source=SOURCE, in_reply_to=post["id"], text="Hello ^AB", idempotency_key="k")
    assert "ACCESS_DENIED" in str(caught.value) and "w_organization_social" in str(caught.value)


def test_rate_limit_without_retry_after_waits_for_midnight_utc(
    li_fake: LinkedInFake, li: LinkedInConnector
) -> None:
    li_fake.inject(
        li_error(429, "TOO_MANY_REQUESTS", "Resource level throttle limit reached"), path=r"/rest/posts$"
    )
    with pytest.raises(TemporaryError) as caught:
        li.fetch(SOURCE, Checkpoint())
    assert caught.value.retry_at == (NOW + timedelta(days=1)).replace(hour=0, minute=0)


def test_a_bad_version_in_config_is_refused_at_once() -> None:
    with pytest.raises(ValueError):
        make_linkedin("http://127.0.0.1:1", api_version="2024-10")


def test_bad_sources_are_refused(li: LinkedInConnector) -> None:
    for source in ("linkedin:organization:nhs", "linkedin:page:1", "x:mentions:@a"):
        with pytest.raises(PermanentError):
            li.fetch(source, Checkpoint())


def test_the_token_never_shows_in_the_repr(li: LinkedInConnector) -> None:
    assert LINKEDIN_TOKEN not in repr(li) and LINKEDIN_TOKEN not in repr(li.client)


def test_import_parses_a_comments_body() -> None:
    body = {
        "elements": [
            {
                "actor": "urn:li:person:abc123",
                "commentUrn": "urn:li:comment:(urn:li:activity:7100000000000000002,7100000000000000003)",
                "created": {"actor": "urn:li:person:abc123", "time": 1741000000000},
                "message": {"text": "Great work 👏", "attributes": []},
                "object": "urn:li:activity:7100000000000000002",
            },
            {
                "actor": "urn:li:person:x",
                "commentUrn": "urn:li:comment:(urn:li:activity:1,2)",
                "object": "urn:li:activity:1",
            },
        ],
        "paging": {"start": 0, "count": 10, "links": []},
    }
    result = parse_linkedin_response(body, source="linkedin:import:f")
    [m] = result.mentions
    assert (m.kind, m.text, m.in_reply_to) == (
        "comment",
        "Great work 👏",
        "urn:li:activity:7100000000000000002",
    )
    assert len(result.rejected) == 1
