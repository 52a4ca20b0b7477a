"""The Instagram connector looks up the post behind a ``mentions`` webhook."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import GoneError, PermanentError, TemporaryError
from connectors.fake_server import Failure
from connectors.instagram import InstagramConnector
from connectors.instagram.fake import InstagramFake, rate_limited
from tests.connectors.conftest import IG_USER_ID, NOW, make_instagram

SOURCE = f"instagram:account:{IG_USER_ID}"


@pytest.fixture
def ig(ig_fake: InstagramFake) -> InstagramConnector:
    return make_instagram(ig_fake.base_url)


def test_a_comment_mention_is_read_through_the_user_node(
    ig_fake: InstagramFake, ig: InstagramConnector
) -> None:
    media = ig_fake.add_media(caption="Our day out", username="chris.k", created_at=NOW - timedelta(hours=2))
    comment = ig_fake.add_comment(on=media["id"], text="@nhscovwarks is the walk-in open?", username="sam.p")

    [mention] = ig.fetch_mention(SOURCE, media_id=media["id"], comment_id=comment["id"])

    assert (mention.external_id, mention.kind, mention.platform) == (comment["id"], "mention", "instagram")
    assert mention.text == "@nhscovwarks is the walk-in open?"
    assert mention.author.handle == "sam.p" and not mention.is_own
    assert mention.in_reply_to == media["id"] and mention.conversation_id == media["id"]
    assert mention.url == media["permalink"]
    [request] = ig_fake.requests
    assert request.path.endswith(f"/{IG_USER_ID}")
    assert f"mentioned_comment.comment_id({comment['id']})" in request.query["fields"][0]


def test_a_caption_mention_is_read_through_the_user_node(
    ig_fake: InstagramFake, ig: InstagramConnector
) -> None:
    media = ig_fake.add_media(caption="Thanks @nhscovwarks for the jab", username="chris.k")

    [mention] = ig.fetch_mention(SOURCE, media_id=media["id"])

    assert (mention.external_id, mention.kind, mention.text) == (media["id"], "mention", media["caption"])
    assert mention.url == media["permalink"] and mention.author.handle == "chris.k"
    assert f"mentioned_media.media_id({media['id']})" in ig_fake.requests[0].query["fields"][0]


def test_a_mention_instagram_no_longer_shows_is_gone(ig: InstagramConnector) -> None:
    with pytest.raises(GoneError):
        ig.fetch_mention(SOURCE, media_id="17900000000000999", comment_id="17900000000000998")


def test_ids_from_the_webhook_must_be_digits(ig_fake: InstagramFake, ig: InstagramConnector) -> None:
    with pytest.raises(PermanentError):
        ig.fetch_mention(SOURCE, media_id="1){id}", comment_id=None)
    assert ig_fake.requests == []


def test_a_rate_limit_is_temporary(ig_fake: InstagramFake, ig: InstagramConnector) -> None:
    media = ig_fake.add_media(caption="Thanks @nhscovwarks", username="chris.k")
    ig_fake.inject(rate_limited(regain_minutes=5, ig_user_id=IG_USER_ID))
    with pytest.raises(TemporaryError):
        ig.fetch_mention(SOURCE, media_id=media["id"])


def test_an_unreadable_mention_is_permanent_not_retried_for_ever(
    ig_fake: InstagramFake, ig: InstagramConnector
) -> None:
    ig_fake.inject(
        Failure(status=200, body={"id": IG_USER_ID, "mentioned_media": {"id": "17900000000000031"}})
    )
    with pytest.raises(PermanentError, match="unreadable") as raised:
        ig.fetch_mention(SOURCE, media_id="17900000000000031")
    assert not isinstance(raised.value, TemporaryError)
