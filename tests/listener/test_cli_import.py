"""`listening-post import`: raw X and Graph API bodies in, one JSON line of counts out, idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from listener.store.db import make_engine, write_transaction
from listener.store.models import Mention, QueueItem
from listening_post.cli.main import main

X_BODY = {
    "data": [
        {
            "id": "1897000000000000001",
            "text": "@NHSCovWarks my appointment was cancelled again, who do I call?",
            "edit_history_tweet_ids": ["1897000000000000001"],
            "author_id": "2001",
            "created_at": "2025-03-04T09:15:00.000Z",
            "conversation_id": "1897000000000000001",
            "public_metrics": {"retweet_count": 2, "reply_count": 0, "like_count": 1, "quote_count": 0},
            "lang": "en",
        },
        {
            "id": "1897000000000000002",
            "text": "Thanks for the reminder about flu jabs",
            "edit_history_tweet_ids": ["1897000000000000002"],
            "author_id": "2002",
            "created_at": "2025-03-04T09:20:00.000Z",
        },
        {"id": "1897000000000000003", "edit_history_tweet_ids": ["1897000000000000003"]},  # no text
    ],
    "includes": {
        "users": [
            {
                "id": "2001",
                "username": "patient_pat",
                "name": "Pat",
                "public_metrics": {"followers_count": 120},
            },
            {"id": "2002", "username": "sam_c", "name": "Sam"},
        ]
    },
    "meta": {"result_count": 3, "newest_id": "1897000000000000003", "oldest_id": "1897000000000000001"},
}

GRAPH_BODY = {
    "data": [
        {
            "id": "104729318865221_900001",
            "message": "Is the walk-in centre open on Sunday?",
            "created_time": "2025-03-04T10:00:00+0000",
            "from": {"id": "31001", "name": "Alex Visitor"},
            "comments": {
                "data": [
                    {
                        "id": "900001_7001",
                        "message": "Same question here",
                        "created_time": "2025-03-04T10:05:00+0000",
                        "from": {"id": "31002", "name": "Jo"},
                    }
                ]
            },
        }
    ],
    "paging": {"cursors": {"before": "a", "after": "b"}},
}

BSKY_POST = "at://did:plc:pat0000000000000000000000/app.bsky.feed.post/3ljhow47e2223"
BLUESKY_BODY = {
    "notifications": [
        {
            "uri": BSKY_POST,
            "cid": "bafyreij3oxqt7ll3rid3btm7zibtnnef4gzvzpadq6jpa3zc7noigodtsq",
            "author": {
                "did": "did:plc:pat0000000000000000000000",
                "handle": "pat.bsky.social",
                "displayName": "Pat",
            },
            "reason": "mention",
            "record": {
                "$type": "app.bsky.feed.post",
                "text": "@nhscovwarks.bsky.social my appointment was cancelled again, who do I call?",
                "createdAt": "2025-03-04T09:15:00.000Z",
                "langs": ["en"],
            },
            "isRead": False,
            "indexedAt": "2025-03-04T09:15:01.120Z",
        },
        {
            "uri": "at://did:plc:kim0000000000000000000000/app.bsky.feed.like/3ljhow47e2224",
            "cid": "bafyreilike",
            "author": {"did": "did:plc:kim0000000000000000000000", "handle": "kim.bsky.social"},
            "reason": "like",
            "record": {"$type": "app.bsky.feed.like", "createdAt": "2025-03-04T09:16:00.000Z"},
            "isRead": False,
            "indexedAt": "2025-03-04T09:16:00.000Z",
        },
    ],
    "cursor": "2025-03-04T09:16:00.000Z::bafyreilike",
}


@pytest.fixture
def cli(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'lp.db'}"

    def run(platform: str, body: object, capsys) -> tuple[int, dict | None, str]:
        path = tmp_path / f"{platform}.json"
        path.write_text(body if isinstance(body, str) else json.dumps(body))
        code = main(["import", "--platform", platform, str(path), "--db", db])
        out, err = capsys.readouterr()
        return code, (json.loads(out) if out.strip() else None), err

    run.db = db  # type: ignore[attr-defined]
    return run


def test_an_x_response_is_ingested_and_a_second_import_adds_nothing(cli, capsys):
    code, counts, err = cli("x", X_BODY, capsys)
    assert code == 0 and counts == {"new": 2, "duplicates": 0, "rejected": 1}
    assert "1897000000000000003" in err  # the rejected item is named, with why

    code, counts, _ = cli("x", X_BODY, capsys)
    assert code == 0 and counts == {"new": 0, "duplicates": 2, "rejected": 1}

    engine = make_engine(cli.db)
    with write_transaction(engine) as s:
        stored = {m.external_id: m for m in s.scalars(select(Mention))}
        assert set(stored) == {"1897000000000000001", "1897000000000000002"}
        assert stored["1897000000000000001"].source_key == "x:import:x.json"
        assert (
            s.scalar(select(QueueItem.priority).join(Mention).where(Mention.external_id.endswith("1"))) <= 3
        )
    engine.dispose()


def test_a_graph_feed_with_nested_comments_is_ingested_once(cli, capsys):
    assert cli("facebook", GRAPH_BODY, capsys)[:2] == (0, {"new": 2, "duplicates": 0, "rejected": 0})
    assert cli("facebook", GRAPH_BODY, capsys)[:2] == (0, {"new": 0, "duplicates": 2, "rejected": 0})


def test_a_bluesky_notifications_body_is_ingested_once_and_likes_are_left_out(cli, capsys):
    assert cli("bluesky", BLUESKY_BODY, capsys)[:2] == (0, {"new": 1, "duplicates": 0, "rejected": 0})
    assert cli("bluesky", BLUESKY_BODY, capsys)[:2] == (0, {"new": 0, "duplicates": 1, "rejected": 0})
    engine = make_engine(cli.db)
    with write_transaction(engine) as s:
        mention = s.scalars(select(Mention)).one()
        assert (mention.platform, mention.external_id, mention.source_key) == (
            "bluesky",
            BSKY_POST,
            "bluesky:import:bluesky.json",
        )
    engine.dispose()


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '{"error": {"message": "expired", "code": 190}}'])
def test_a_body_that_is_not_a_response_is_one_clear_error(cli, capsys, body):
    code, counts, err = cli("facebook", body, capsys)
    assert code == 2 and counts is None
    assert err.startswith("listening-post: ") and "facebook.json" in err and "Traceback" not in err


def test_a_missing_file_is_one_clear_error(tmp_path, capsys):
    code = main(
        ["import", "--platform", "x", str(tmp_path / "nope.json"), "--db", f"sqlite:///{tmp_path}/lp.db"]
    )
    assert code == 2 and "cannot read" in capsys.readouterr().err


FIXTURES = Path(__file__).resolve().parents[1] / "connectors" / "fixtures"


@pytest.mark.parametrize(
    ("platform", "fixture", "new", "rejected"),
    [
        ("instagram", "instagram_comments_response.json", 3, 1),
        ("linkedin", "linkedin_comments_response.json", 2, 0),
    ],
)
def test_instagram_and_linkedin_bodies_are_ingested_once(cli, capsys, platform, fixture, new, rejected):
    body = (FIXTURES / fixture).read_text()
    assert cli(platform, body, capsys)[:2] == (0, {"new": new, "duplicates": 0, "rejected": rejected})
    assert cli(platform, body, capsys)[:2] == (0, {"new": 0, "duplicates": new, "rejected": rejected})
    engine = make_engine(cli.db)
    with write_transaction(engine) as s:
        assert {m.platform for m in s.scalars(select(Mention))} == {platform}
    engine.dispose()


# A lone UTF-16 surrogate is valid JSON (json.dumps escapes it), a NUL too; neither database takes
# them as they are. The body is written with json.dumps, so the file holds the \u escapes.
POISON_BODY = {
    "data": [
        {
            "id": "1897000000000000011",
            "text": "lone \ud800 surrogate in a post",
            "edit_history_tweet_ids": ["1897000000000000011"],
            "author_id": "2011",
            "created_at": "2025-03-04T09:15:00.000Z",
        },
        {
            "id": "1897000000000000012",
            "text": "a NUL \u0000 in a post",
            "edit_history_tweet_ids": ["1897000000000000012"],
            "author_id": "2012",
            "created_at": "2025-03-04T09:16:00.000Z",
        },
        {
            "id": "1897000000000000013",
            "text": "an ordinary post about the walk-in centre",
            "edit_history_tweet_ids": ["1897000000000000013"],
            "author_id": "2013",
            "created_at": "2025-03-04T09:17:00.000Z",
        },
    ],
    "includes": {"users": [{"id": "2011", "username": "pat\udc00", "name": "Pat"}]},
    "meta": {"result_count": 3},
}


def test_an_import_with_unstorable_characters_stores_every_post_once(db_url, tmp_path, capsys):
    path = tmp_path / "poison.json"
    path.write_text(json.dumps(POISON_BODY))  # ensure_ascii: the file holds "\ud800" and "\u0000"

    def run() -> tuple[int, dict]:
        code = main(["import", "--platform", "x", str(path), "--db", db_url])
        return code, json.loads(capsys.readouterr().out)

    assert run() == (0, {"new": 3, "duplicates": 0, "rejected": 0})
    assert run() == (0, {"new": 0, "duplicates": 3, "rejected": 0})

    engine = make_engine(db_url)
    with write_transaction(engine) as s:
        stored = {m.external_id: m for m in s.scalars(select(Mention))}
    engine.dispose()
    surrogate, nul, ordinary = (stored[f"18970000000000000{n}"] for n in (11, 12, 13))
    assert ordinary.text == "an ordinary post about the walk-in centre" and ordinary.text_note is None
    assert surrogate.text == "lone \ufffd surrogate in a post"
    assert surrogate.text_note.startswith("1 character could not be shown and was replaced")
    assert nul.text == "a NUL  in a post" and nul.text_note.startswith("1 NUL character was removed")
    # The payload as received is kept, escaped, beside the repaired one.
    assert json.loads(surrogate.raw["original_json"])["data"]["text"] == "lone \ud800 surrogate in a post"
    assert json.loads(nul.raw["original_json"])["data"]["text"] == "a NUL \u0000 in a post"
