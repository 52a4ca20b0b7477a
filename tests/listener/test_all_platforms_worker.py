"""Two workers poll all six source kinds at once and share the outbox: posts stored once, replies sent once.

The workers are threads with their own connectors (as two processes would have), against the
loopback fakes of X, the Graph API (Facebook), Instagram, LinkedIn, Bluesky and a news feed; the
database decides who polls and who sends (source leases, ``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from connectors.bluesky.fake import FakeBluesky
from connectors.facebook.fake import FakeGraphApi
from connectors.instagram.fake import InstagramFake
from connectors.linkedin.fake import LinkedInFake
from connectors.rss.fake import FakeNewsFeed
from connectors.x.fake import FakeXApi
from listener.intake.polling import poll_source
from listener.intake.sources import Connectors, build_connectors
from listener.replies.outbox import send_due_replies
from listener.settings import Secrets, Settings
from listener.store.db import write_transaction
from listener.store.models import Mention, Reply
from tests.listener.worker_support import add_user, approve_reply, stub_stage, sync

BEARER = "AAAAAAAAAAAAAAAAAAAAAallPlatformsBearer1"
PAGE_ID = "104729318865221"
PAGE_TOKEN = "EAAGallPlatformsPageToken000001"
APP_SECRET = "allplatformsappsecret0000000001"
IG_USER_ID = "17841400000000001"
LINKEDIN_ORG = "2414183"
LINKEDIN_TOKEN = "AQXallPlatformsLinkedInToken01"
BSKY_HANDLE = "nhscovwarks.bsky.social"
BSKY_PASSWORD = "allp-latf-orms-bsky"
TEXT = "@sam Thanks for asking, the clinic is open until 8pm today. ^TA"


@dataclass
class Fakes:
    x: FakeXApi
    graph: FakeGraphApi
    instagram: InstagramFake
    linkedin: LinkedInFake
    bluesky: FakeBluesky
    news: FakeNewsFeed
    feed_url: str


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    x = FakeXApi(me="NHSCovWarks", tokens={BEARER})
    graph = FakeGraphApi(page_id=PAGE_ID, page_token=PAGE_TOKEN, app_secret=APP_SECRET)
    instagram = InstagramFake(ig_user_id=IG_USER_ID, page_token=PAGE_TOKEN, app_secret=APP_SECRET)
    linkedin = LinkedInFake(org_id=LINKEDIN_ORG, token=LINKEDIN_TOKEN)
    bluesky = FakeBluesky(handle=BSKY_HANDLE, app_password=BSKY_PASSWORD)
    news = FakeNewsFeed()
    with x, graph, instagram, linkedin, bluesky, news:
        url = news.add_feed("telegraph", title="Coventry Telegraph", link="https://www.coventrytelegraph.net")
        yield Fakes(x, graph, instagram, linkedin, bluesky, news, url)


def settings_for(f: Fakes, data_dir: Path) -> Settings:
    sources = [
        {"key": "x:mentions:@NHSCovWarks", "api_base_url": f.x.base_url},
        {"key": f"facebook:page:{PAGE_ID}", "api_base_url": f.graph.base_url},
        {"key": f"instagram:account:{IG_USER_ID}", "api_base_url": f.instagram.base_url},
        {"key": f"linkedin:organization:{LINKEDIN_ORG}", "api_base_url": f.linkedin.base_url},
        {"key": f"bluesky:mentions:@{BSKY_HANDLE}", "api_base_url": f.bluesky.base_url},
        {"key": f"rss:{f.feed_url}"},
    ]
    settings = Settings.model_validate(
        {
            "general": {"data_dir": str(data_dir)},  # the Bluesky session file both workers share
            "accounts": [
                {"platform": "x", "handle": "NHSCovWarks"},
                {"platform": "facebook", "handle": PAGE_ID},
                {"platform": "instagram", "handle": "nhscovwarks", "user_id": IG_USER_ID},
                {"platform": "linkedin", "handle": LINKEDIN_ORG},
                {"platform": "bluesky", "handle": BSKY_HANDLE},
            ],
            "sources": [{**s, "interval_seconds": 60} for s in sources],
            "polling": {"jitter_seconds": 0},
        }
    )
    settings.secrets = Secrets(
        x_bearer_token=BEARER,
        facebook_page_token=PAGE_TOKEN,
        facebook_app_secret=APP_SECRET,
        linkedin_access_token=LINKEDIN_TOKEN,
        bluesky_app_password=BSKY_PASSWORD,
    )
    return settings


def publish(f: Fakes, round_: int) -> dict[str, str]:
    """One new post or comment per platform (and one news story); returns the ids to answer, by platform."""
    f.x.add_tweet(author=f"resident{round_}", text=f"@NHSCovWarks is the walk-in open? {round_}")
    tweet = f.x.add_tweet(
        author=f"patient{round_}", text=f"@NHSCovWarks my appointment was cancelled {round_}"
    )
    post = f.graph.add_post(text=f"Clinic times this week {round_}")
    comment = f.graph.add_comment(on=post["id"], text=f"Which clinic? {round_}", author_name=f"Sam {round_}")
    media = f.instagram.add_media(caption=f"Flu jabs at pharmacies {round_}")
    ig_comment = f.instagram.add_comment(on=media["id"], text=f"Do I need to book? {round_}", username="sam")
    f.instagram.add_comment(on=ig_comment["id"], text=f"Same question {round_}", username="jo")
    li_post = f.linkedin.add_post(text=f"Nursing open day {round_}")
    li_comment = f.linkedin.add_comment(on=li_post["id"], text=f"Is parking free? {round_}")
    f.linkedin.add_mention(text=f"Thanks NHS Coventry and Warwickshire {round_}")
    skeet = f.bluesky.add_post(author=f"pat{round_}.bsky.social", text=f"@{BSKY_HANDLE} is it open? {round_}")
    f.news.add_item("telegraph", title=f"NHS Coventry opens new clinic {round_}")
    return {
        "x": tweet["id"],
        "facebook": comment["id"],
        "instagram": ig_comment["id"],
        "linkedin": li_comment["commentUrn"],
        "bluesky": skeet["uri"],
    }


def at_once(*jobs: Callable[[], object]) -> None:
    """Run the jobs in threads released together; re-raise the first failure."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def poll_all(engine: Engine, settings: Settings, built: Connectors, worker: str, now: datetime) -> None:
    for source in settings.sources:
        poll_source(
            engine,
            settings,
            source.key,
            connector=built.by_source[source.key],
            stage=stub_stage(),
            now=now,
            worker_id=worker,
        )


def stored(engine: Engine) -> dict[str, int]:
    with write_transaction(engine) as session:
        rows = session.execute(select(Mention.platform, func.count()).group_by(Mention.platform)).all()
        return {platform: n for platform, n in rows}


def test_two_workers_poll_every_platform_at_once_and_send_each_reply_once(any_engine, fakes, tmp_path):
    settings = settings_for(fakes, tmp_path)
    sync(any_engine, settings)
    workers = {name: build_connectors(settings) for name in ("w1", "w2")}
    assert all(not built.unavailable for built in workers.values())
    agent = add_user(any_engine)
    now = datetime.now(UTC)

    targets = []
    for round_ in range(2):
        targets.append(publish(fakes, round_))
        poll_now = now + timedelta(minutes=2 * round_)
        at_once(*(lambda w=w, t=poll_now: poll_all(any_engine, settings, workers[w], w, t) for w in workers))

    # Per round: X 2 mentions; Facebook post + comment; Instagram media, comment, reply;
    # LinkedIn post, comment, mention; one Bluesky mention; one news story.
    assert stored(any_engine) == {
        "x": 4,
        "facebook": 4,
        "instagram": 6,
        "linkedin": 6,
        "bluesky": 2,
        "rss": 2,
    }
    with write_transaction(any_engine) as session:
        keys = session.execute(select(Mention.platform, Mention.external_id)).all()
    assert len(keys) == len(set(keys)) == 24

    sources = {s.key.split(":")[0]: s.key for s in settings.sources}
    for round_targets in targets:
        for platform, external_id in round_targets.items():
            approve_reply(
                any_engine,
                mention_external_id=external_id,
                text=TEXT,
                author=agent,
                approved_at=now,
                source_key=sources[platform],
            )
    send_at = now + timedelta(minutes=5)
    at_once(
        *(
            lambda w=w: send_due_replies(
                any_engine, settings, connectors=workers[w].by_platform, now=send_at, worker_id=w, limit=3
            )
            for w in workers
            for _ in range(2)
        )
    )

    with write_transaction(any_engine) as session:
        assert session.scalars(select(Reply.status)).all() == ["sent"] * 10
    answered = {
        "x": sorted(r["referenced_tweets"][0]["id"] for r in fakes.x.replies),
        "facebook": sorted(r["parent_id"] for r in fakes.graph.replies),
        "instagram": sorted(r["parent_id"] for r in fakes.instagram.replies),
        "linkedin": sorted(r["parentComment"] for r in fakes.linkedin.replies),
        "bluesky": sorted(c["record"]["reply"]["parent"]["uri"] for c in fakes.bluesky.created),
    }
    assert answered == {p: sorted(t[p] for t in targets) for p in answered}
