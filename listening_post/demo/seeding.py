"""A week of ordinary history before the demo's day, so the detectors have a baseline to compare with.

Posts are made up in our own words from a cast of fictional locals: questions, thanks and
complaints spread over many subjects, more on weekdays and in the daytime. They go through
``listener.intake.ingest`` like anything a connector finds (scored, threaded, queued), and then the
team's answers are written in: most items were replied to within the SLA, a few thank-you
posts needed no reply. That gives the reports page a week to show.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.base import Author, Mention
from connectors.x.fake import snowflake
from listener.intake.ingest import TriageStage, ingest
from listener.store.db import write_transaction
from listener.store.models import QueueItem, Reply, User

DAYS = 7
SEED = 20240611  # the same history on every run


@dataclass(frozen=True)
class Local:
    platform: str
    handle: str
    followers: int


CAST: tuple[Local, ...] = (
    Local("x", "earlsdon_em", 340),
    Local("x", "rugby_rach", 120),
    Local("x", "foleshill_fi", 75),
    Local("x", "bulkington_ben", 410),
    Local("x", "warks_walker", 980),
    Local("x", "canley_carl", 55),
    Local("x", "atherstone_amy", 230),
    Local("x", "coundon_col", 160),
    Local("x", "southam_sue", 90),
    Local("x", "binley_bex", 610),
    Local("x", "alcester_al", 45),
    Local("x", "wyken_will", 300),
    Local("facebook", "Janet Brookes", 0),
    Local("facebook", "Imran Qureshi", 0),
    Local("facebook", "Paula Denning", 0),
    Local("facebook", "Gareth Lowe", 0),
    Local("facebook", "Olivia Marsh", 0),
    Local("facebook", "Hassan Malik", 0),
)

# What a normal week brings: mostly questions, some thanks, complaints on many different subjects.
QUESTIONS = (
    "how do I order a repeat prescription online?",
    "is the walk-in centre open on Sunday mornings?",
    "where can I get a blood test without an appointment?",
    "can my teenager get the HPV jab at the GP or only at school?",
    "who do I contact about patient transport for my dad's hospital appointment?",
    "is there a pharmacy open late in Nuneaton tonight?",
    "how long does a GP referral to physio usually take?",
    "can I get the flu jab at a pharmacy if I'm under 65?",
    "where do I find the phone number for the district nursing team?",
    "how do I change my GP surgery after moving house?",
    "do I need a referral for the sexual health clinic?",
    "is there a smoking cessation service in Rugby?",
    "what are the visiting times for the community hospital?",
    "can I book a covid booster for my mum who is housebound?",
    "how do I get a copy of my vaccination record?",
)
THANKS = (
    "Brilliant care from the community nurses this week, thank you all.",
    "Big thank you to the pharmacist who spotted a problem with my mum's tablets. Lifesaver.",
    "The new online booking for blood tests is so much easier. Well done.",
    "Health visitor was fantastic with our newborn, really reassuring.",
    "Thank you to the mental health crisis team for being there at 3am.",
    "Quick and friendly flu jab at the pharmacy today, thanks!",
    "Physio sessions have made a real difference to my knee, very grateful.",
    "Lovely receptionist at the surgery today, made a stressful day easier.",
    "My scan at Riverside Diagnostic Centre was on time and the staff were lovely.",
)
COMPLAINTS = (
    "Tried calling my GP surgery at 8am for 40 minutes and then all the appointments were gone.",
    "Waited two hours at the walk-in centre and was told to come back tomorrow. Not good enough.",
    "Car park at the hospital is a nightmare, missed my slot because I couldn't find a space.",
    "My prescription was sent to the wrong pharmacy again. Third time this year.",
    "Still waiting for my hearing aid appointment after four months.",
    "The 111 call back took six hours. Poor.",
    "Physio waiting list is ridiculous, 14 weeks for a first appointment.",
    "Why is it so hard to get a dentist round here? Nobody taking NHS patients.",
    "The online form for my GP keeps crashing and nobody answers the phone.",
    "Our surgery has stopped doing blood tests on Fridays and nobody told us.",
)
NEWS = (
    (
        "New evening GP appointments in Coventry",
        "NHS Coventry and Warwickshire ICB says extra evening appointments will be available at "
        "several practices from next month.",
    ),
    (
        "Winter vaccination clinics open across Warwickshire",
        "The Coventry and Warwickshire ICB has announced drop-in vaccination clinics in Rugby, "
        "Nuneaton and Leamington.",
    ),
)
REPLIES = {
    "question": "Thanks for asking. The details are on our website, or send us a message and we'll help.",
    "thanks": "Thank you for taking the time to tell us, we'll pass this on to the team.",
    "complaint": "We're sorry to hear this. Please send us a private message so we can look into it for you.",
}


@dataclass(frozen=True)
class HistoryPost:
    at: datetime
    kind: str  # question | thanks | complaint | news
    local: Local | None
    text: str
    title: str | None = None


def plan_week(now: datetime, *, timezone: str, x_handle: str, rng: random.Random) -> list[HistoryPost]:
    """The posts of the ``DAYS`` days before today (none today), oldest first."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    posts: list[HistoryPost] = []
    for back in range(DAYS, 0, -1):
        day = today - timedelta(days=back)
        weekend = day.weekday() >= 5
        for _ in range(rng.randint(5, 8) if weekend else rng.randint(14, 20)):
            # Most posts in the day, a few in the evening: hours 7..22, weighted to 9..17.
            hour = rng.choices(range(7, 23), weights=[1, 3, 4, 4, 4, 4, 4, 4, 4, 4, 3, 2, 2, 2, 1, 1])[0]
            at = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
            kind = rng.choices(("question", "thanks", "complaint"), weights=(5, 3, 3))[0]
            local = rng.choice(CAST)
            text = _text(kind, local, x_handle, rng)
            posts.append(HistoryPost(at.astimezone(ZoneInfo("UTC")), kind, local, text))
        if back in (5, 2):
            title, summary = NEWS[0 if back == 5 else 1]
            at = day.replace(hour=11, minute=rng.randrange(60))
            posts.append(HistoryPost(at.astimezone(ZoneInfo("UTC")), "news", None, summary, title=title))
    return sorted(posts, key=lambda p: p.at)


def _text(kind: str, local: Local, x_handle: str, rng: random.Random) -> str:
    if kind == "question":
        text = rng.choice(QUESTIONS)
        text = text[0].upper() + text[1:]
    else:
        text = rng.choice(THANKS if kind == "thanks" else COMPLAINTS)
    # On X people tag the account; on the page's own Facebook feed there is no need to.
    return f"@{x_handle} {text}" if local.platform == "x" else text


@dataclass(frozen=True)
class SeedSources:
    x: str  # x:mentions:@handle
    facebook: str  # facebook:page:<id>
    news: str  # rss:<feed url>
    news_outlet: str


def as_mentions(posts: Sequence[HistoryPost], sources: SeedSources) -> list[Mention]:
    mentions = []
    outlet = sources.news_outlet
    for number, post in enumerate(posts):
        if post.kind == "news":
            mentions.append(
                Mention(
                    platform="rss",
                    external_id=f"history-news-{number}",
                    source=sources.news,
                    kind="news",
                    author=Author(id=outlet, handle=outlet, name=outlet),
                    text=f"{post.title}\n\n{post.text}",  # as the news connector joins them
                    created_at=post.at,
                    url=f"https://www.coventry-chronicle.example/news/history-{number}",
                )
            )
            continue
        assert post.local is not None
        local = post.local
        if local.platform == "x":
            external_id = str(snowflake(post.at, number))
            author = Author(
                id=f"history-{local.handle}",
                handle=local.handle,
                name=local.handle,
                followers=local.followers,
            )
            source, kind = sources.x, "mention"
            url = f"https://x.com/{local.handle}/status/{external_id}"
        else:
            page_id = sources.facebook.rsplit(":", 1)[1]
            external_id = f"{page_id}_{700_000_000_000 + number}"
            author = Author(id=f"history-{CAST.index(local)}", handle="", name=local.handle)
            source, kind = sources.facebook, "post"
            url = f"https://www.facebook.com/{page_id}/posts/{external_id.split('_')[1]}"
        mentions.append(
            Mention(
                platform=local.platform,
                external_id=external_id,
                source=source,
                kind=kind,
                author=author,
                text=post.text,
                created_at=post.at,
                url=url,
                lang="en",
                raw={"demo_history": True},
            )
        )
    return mentions


def seed_history(
    engine: Engine,
    stage: TriageStage,
    *,
    now: datetime,
    timezone: str,
    x_handle: str,
    sources: SeedSources,
) -> int:
    """Store the week and the team's answers (by the agents and leads); returns how many posts were stored."""
    rng = random.Random(SEED)
    posts = plan_week(now, timezone=timezone, x_handle=x_handle, rng=rng)
    kinds: dict[int, str] = {}
    stored = 0
    with write_transaction(engine) as session:
        for post, mention in zip(posts, as_mentions(posts, sources), strict=True):
            # One at a time, received a minute after posting, as the worker would have seen them.
            result = ingest(session, [mention], stage, now=post.at + timedelta(minutes=1))
            for entry in result.new:
                stored += 1
                if entry.queue_item_id is not None:
                    kinds[entry.queue_item_id] = post.kind
        team = session.scalars(select(User).where(User.role.in_(("agent", "lead"))).order_by(User.id)).all()
        if not team:
            raise ValueError("add the demo's agent and lead before seeding: they answered last week's posts")
        items = session.scalars(select(QueueItem).where(QueueItem.id.in_(kinds)).order_by(QueueItem.id)).all()
        for item in items:
            _answer(session, item, kinds[item.id], rng.choice(team), rng)
    return stored


def _answer(session: Session, item: QueueItem, kind: str, agent: User, rng: random.Random) -> None:
    """What the team did with an item last week: replied (mostly well within the target) or closed."""
    mention = item.mention
    claimed = mention.created_at + timedelta(minutes=rng.randint(5, 90))
    item.assignee_id = agent.id
    item.claimed_at = claimed
    if kind == "thanks" and rng.random() < 0.4:
        item.status = "no_reply_needed"
        item.no_reply_reason = "A thank-you: passed on to the team, nothing to answer."
        item.closed_at = claimed
        return
    sent = claimed + timedelta(minutes=rng.randint(3, 40))
    session.add(
        Reply(
            queue_item_id=item.id,
            platform=mention.platform,
            source_key=mention.source_key,
            in_reply_to=mention.external_id,
            text=f"{REPLIES[kind]} ^{agent.initials}",  # signed, as policy 7.0 asks
            status="sent",
            author_id=agent.id,
            idempotency_key=f"demo-history-{item.id}",
            attempts=1,
            platform_reply_id=f"history-reply-{item.id}",
            created_at=claimed,
            sent_at=sent,
        )
    )
    item.status = "replied"
    item.first_response_at = sent
