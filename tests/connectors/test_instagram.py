"""The Instagram connector through facebook-sdk's GraphAPI against the local Instagram fake."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest

from connectors.base import Checkpoint, GoneError, PermanentError, TemporaryError
from connectors.fake_server import Failure
from connectors.instagram import InstagramConnector, ReplyToReplyError, parse_instagram_response
from connectors.instagram.fake import InstagramFake, graph_error, rate_limited
from tests.connectors.conftest import APP_SECRET, IG_USER_ID, NOW, PAGE_TOKEN, make_instagram

SOURCE = f"instagram:account:{IG_USER_ID}"
PROOF = hmac.new(APP_SECRET.encode(), PAGE_TOKEN.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def ig(ig_fake: InstagramFake) -> InstagramConnector:
    return make_instagram(ig_fake.base_url)


def test_fetch_reads_media_comments_replies_and_tags(ig_fake: InstagramFake, ig: InstagramConnector) -> None:
    media = ig_fake.add_media(caption="Flu jabs at Coventry pharmacies", created_at=NOW - timedelta(hours=3))
    comment = ig_fake.add_comment(on=media["id"], text="Do I need to book? 💉", username="sam.patel")
    reply = ig_fake.add_comment(on=comment["id"], text="Same question", username="jo_bloggs")
    tagged = ig_fake.add_media(caption="Great care @nhscovwarks", username="chris.k")

    mentions, checkpoint = ig.fetch(SOURCE, Checkpoint())

    by_id = {m.external_id: m for m in mentions}
    assert set(by_id) == {media["id"], comment["id"], reply["id"], tagged["id"]}
    shape = {i: (m.kind, m.is_own, m.in_reply_to, m.conversation_id) for i, m in by_id.items()}
    assert shape == {
        media["id"]: ("post", True, None, media["id"]),
        comment["id"]: ("comment", False, media["id"], media["id"]),
        reply["id"]: ("reply", False, comment["id"], media["id"]),
        tagged["id"]: ("mention", False, None, tagged["id"]),
    }
    start = by_id[media["id"]]
    assert (start.text, start.url) == ("Flu jabs at Coventry pharmacies", media["permalink"])
    c = by_id[comment["id"]]
    assert (c.platform, c.text, c.author.handle, c.url) == (
        "instagram",
        "Do I need to book? 💉",
        "sam.patel",
        media["permalink"],
    )
    assert "replies" not in c.raw  # nested edges carry tokenised paging links: never stored
    assert checkpoint.cursor["since"] == NOW.isoformat()


def test_every_call_carries_the_version_token_and_appsecret_proof(
    ig_fake: InstagramFake, ig: InstagramConnector
) -> None:
    media = ig_fake.add_media(caption="hello", created_at=NOW - timedelta(hours=1))
    ig_fake.add_comment(on=media["id"], text="hi", username="sam")
    ig.fetch(SOURCE, Checkpoint())
    assert len(ig_fake.requests) == 3  # media, its comments, tags
    for request in ig_fake.requests:
        assert request.path.startswith("/v21.0/")
        assert request.query["access_token"] == [PAGE_TOKEN]
        assert request.query["appsecret_proof"] == [PROOF]


def test_media_without_comments_costs_no_comment_request(
    ig_fake: InstagramFake, ig: InstagramConnector
) -> None:
    ig_fake.add_media(caption="quiet post", created_at=NOW - timedelta(hours=1))
    ig.fetch(SOURCE, Checkpoint())
    assert ig_fake.requests_to(r"/comments$") == []


def test_comment_and_reply_pages_are_all_read(ig_fake: InstagramFake, ig: InstagramConnector) -> None:
    media = ig_fake.add_media(caption="Clinic times", created_at=NOW - timedelta(hours=2))
    first = ig_fake.add_comment(
        on=media["id"], text="first", username="a", created_at=NOW - timedelta(hours=1)
    )
    for n in range(120):
        ig_fake.add_comment(on=media["id"], text=f"comment {n}", username=f"resident{n}")
    for n in range(70):  # more than one nested page of replies: the rest come from /{comment}/replies
        ig_fake.add_comment(on=first["id"], text=f"reply {n}", username=f"neighbour{n}")

    mentions, _ = ig.fetch(SOURCE, Checkpoint())

    kinds = [m.kind for m in mentions]
    assert (kinds.count("comment"), kinds.count("reply")) == (121, 70)
    assert len({m.external_id for m in mentions}) == len(mentions)
    assert len(ig_fake.requests_to(r"/comments$")) == 3
    replies = ig_fake.requests_to(rf"/{first['id']}/replies$")
    assert len(replies) == 1 and "after" in replies[0].query
    assert all(len(r.query["access_token"]) == 1 for r in ig_fake.requests)


def test_next_fetch_starts_from_the_checkpoint(ig_fake: InstagramFake, ig: InstagramConnector) -> None:
    media = ig_fake.add_media(caption="Clinic times", created_at=NOW - timedelta(hours=2))
    ig_fake.add_comment(on=media["id"], text="old", username="a", created_at=NOW - timedelta(hours=1))
    _, checkpoint = ig.fetch(SOURCE, Checkpoint())
    assert checkpoint.cursor["since"] == (NOW - timedelta(hours=1)).isoformat()

    new = ig_fake.add_comment(on=media["id"], text="new", username="b", created_at=NOW)
    mentions, checkpoint2 = ig.fetch(SOURCE, checkpoint)

    assert [m.external_id for m in mentions] == [new["id"]]
    assert checkpoint2.cursor == {"since": NOW.isoformat(), "recent": [new["id"]]}
    assert ig.fetch(SOURCE, checkpoint2)[0] == []


def test_reply_answers_a_top_level_comment(ig_fake: InstagramFake, ig: InstagramConnector) -> None:
    media = ig_fake.add_media(caption="Clinic times")
    comment = ig_fake.add_comment(on=media["id"], text="Where?", username="sam")

    new_id = ig.reply(
        source=SOURCE, in_reply_to=comment["id"], text="@sam At the Coventry hub. ^AB", idempotency_key="k"
    )

    assert ig_fake.replies == [
        {"id": new_id, "message": "@sam At the Coventry hub. ^AB", "parent_id": comment["id"]}
    ]
    assert (
        ig.find_reply(source=SOURCE, in_reply_to=comment["id"], text="@sam  At the Coventry hub. ^AB")
        == new_id
    )
    assert ig.find_reply(source=SOURCE, in_reply_to=comment["id"], text="something else") is None


def test_reply_to_a_reply_is_refused_before_anything_is_posted(
    ig_fake: InstagramFake, ig: InstagramConnector
) -> None:
    media = ig_fake.add_media(caption="Clinic times")
    comment = ig_fake.add_comment(on=media["id"], text="Where?", username="sam")
    reply = ig_fake.add_comment(on=comment["id"], text="And when?", username="jo")

    with pytest.raises(ReplyToReplyError) as caught:
        ig.reply(source=SOURCE, in_reply_to=reply["id"], text="@jo Monday. ^AB", idempotency_key="k")

    assert isinstance(caught.value, PermanentError)
    assert "top-level" in str(caught.value) and comment["id"] in str(caught.value)
    assert ig_fake.replies == [] and ig_fake.requests_to(r"/replies$", method="POST") == []


def test_reply_over_the_limit_or_empty_is_refused(ig: InstagramConnector) -> None:
    for text in ("", "x" * 2201):
        with pytest.raises(PermanentError):
            ig.reply(source=SOURCE, in_reply_to="17900000000000001", text=text, idempotency_key="k")


def test_reply_to_a_deleted_comment_is_gone(ig: InstagramConnector) -> None:
    with pytest.raises(GoneError):
        ig.reply(source=SOURCE, in_reply_to="17999999999999999", text="Hello ^AB", idempotency_key="k")


def test_hide_and_unhide_a_comment(ig_fake: InstagramFake, ig: InstagramConnector) -> None:
    media = ig_fake.add_media(caption="Clinic times")
    comment = ig_fake.add_comment(on=media["id"], text="spam spam", username="spammer")
    ig.hide(source=SOURCE, external_id=comment["id"])
    assert ig_fake.hidden == {comment["id"]: True}
    ig.hide(source=SOURCE, external_id=comment["id"], hidden=False)
    assert ig_fake.hidden == {comment["id"]: False}
    assert ig_fake.requests_to(r"/\d+$", method="POST")[-1].form["hide"] == ["false"]


def test_rate_limit_waits_for_the_business_use_case_reset(
    ig_fake: InstagramFake, ig: InstagramConnector
) -> None:
    ig_fake.inject(rate_limited(regain_minutes=30, ig_user_id=IG_USER_ID), path=r"/media$")
    with pytest.raises(TemporaryError) as caught:
        ig.fetch(SOURCE, Checkpoint())
    assert caught.value.retry_at == NOW + timedelta(minutes=30)


def test_missing_instagram_permission_is_permanent(ig_fake: InstagramFake, ig: InstagramConnector) -> None:
    ig_fake.inject(
        graph_error(10, "(#10) Application does not have permission for this action"), path=r"/media$"
    )
    with pytest.raises(PermanentError, match="permission"):
        ig.fetch(SOURCE, Checkpoint())


def test_a_deleted_media_between_listing_and_comments_is_skipped(
    ig_fake: InstagramFake, ig: InstagramConnector
) -> None:
    media = ig_fake.add_media(caption="Clinic times", created_at=NOW - timedelta(hours=1))
    ig_fake.add_comment(on=media["id"], text="hi", username="sam")
    ig_fake.inject(
        Failure(
            status=400,
            body={
                "error": {"message": "gone", "type": "GraphMethodException", "code": 100, "error_subcode": 33}
            },
        ),
        path=r"/comments$",
    )
    mentions, _ = ig.fetch(SOURCE, Checkpoint())
    assert [m.external_id for m in mentions] == [media["id"]]


def test_bad_sources_are_refused(ig: InstagramConnector) -> None:
    for source in ("instagram:account:nhscovwarks", "facebook:page:1", "instagram:user:1"):
        with pytest.raises(PermanentError):
            ig.fetch(source, Checkpoint())


def test_the_token_never_shows_in_the_repr(ig: InstagramConnector) -> None:
    assert PAGE_TOKEN not in repr(ig) and APP_SECRET not in repr(ig)


def test_import_parses_a_comments_body_and_a_mentioned_comment_lookup() -> None:
    comments = {
        "data": [
            {
                "id": "17858893269000001",
                "text": "Is the walk-in open? 🙏",
                "timestamp": "2025-03-03T09:00:00+0000",
                "username": "sam.patel",
                "from": {"id": "17841000000000009", "username": "sam.patel"},
                "media": {"id": "17895695668000001"},
                "replies": {
                    "data": [
                        {
                            "id": "17858893269000002",
                            "text": "Yes until 8pm",
                            "timestamp": "2025-03-03T09:05:00+0000",
                            "username": "nhscovwarks",
                            "from": {"id": IG_USER_ID, "username": "nhscovwarks"},
                            "parent_id": "17858893269000001",
                        }
                    ]
                },
            },
            {"id": "17858893269000003", "text": "no time"},
        ],
        "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}},
    }
    result = parse_instagram_response(comments, source="instagram:import:x", own_ids=["nhscovwarks"])
    assert [(m.kind, m.in_reply_to, m.conversation_id, m.is_own) for m in result.mentions] == [
        ("comment", "17895695668000001", "17895695668000001", False),
        ("reply", "17858893269000001", "17895695668000001", True),
    ]
    assert len(result.rejected) == 1

    lookup = {
        "id": IG_USER_ID,
        "mentioned_comment": {
            "id": "17873440459000001",
            "text": "@nhscovwarks why is my GP closed?",
            "timestamp": "2025-03-03T08:00:00+0000",
            "media": {"id": "17895695668000009"},
        },
    }
    [mention] = parse_instagram_response(lookup, source="instagram:import:x").mentions
    assert (mention.kind, mention.external_id, mention.in_reply_to) == (
        "mention",
        "17873440459000001",
        "17895695668000009",
    )
