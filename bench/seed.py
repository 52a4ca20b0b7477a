"""Synthetic but realistic mentions for the performance benchmarks, and fast bulk seeding of a store.

The texts are made here from phrase parts written for these benchmarks (no shared data): the
posts an NHS Coventry and Warwickshire comms team sees on an ordinary day — complaints about
waits and appointments, questions, thanks, local news links, the odd legal threat, a phone
number or NHS number shared in public, long Facebook comments — with the lengths, emoji and
spelling of real posts. The phone numbers are from Ofcom's drama range and the NHS numbers
from the range that is never issued.

``synthetic_mentions`` yields ``connectors.base.Mention`` objects (the ingest and memory
benchmarks). ``seed_store`` writes N mentions with their authors, threads, scores, queue
items, replies and a few incidents straight into a migrated store with Core ``executemany``
(scoring a pool of distinct texts once with the real scorer, not every row), so the queue
and claim benchmarks can start from 1,000,000 mentions in a couple of minutes.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, text

from connectors.base import Author as AuthorData
from connectors.base import Mention
from listener.accounts.users import hash_password
from listener.intake.ingest import score_row
from listener.intake.pipeline import build_stage, media_lists
from listener.queue.business_hours import BusinessClock
from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.migrate import refresh_statistics, upgrade
from listener.store.models import Base, Incident, Source, User
from triage.model import MentionInput

# --- the words ------------------------------------------------------------------------------

TOWNS = (
    "Coventry", "Warwick", "Leamington", "Nuneaton", "Rugby", "Bedworth", "Kenilworth",
    "Stratford", "Atherstone", "Southam", "Alcester", "Shipston", "Binley", "Tile Hill", "Foleshill",
)  # fmt: skip
HOSPITALS = (
    "University Hospital Coventry", "UHCW", "Walsgrave", "George Eliot", "Warwick Hospital",
    "St Cross in Rugby", "Stratford Hospital", "the City of Coventry Health Centre",
)  # fmt: skip
SERVICES = (
    ("A&E", "a&e"), ("the GP surgery", "gp"), ("my GP", "gp"), ("the pharmacy", "pharmacy"),
    ("NHS 111", "111"), ("the walk-in centre", "walkin"), ("the urgent treatment centre", "utc"),
    ("the dentist", "dentist"), ("maternity", "maternity"), ("the mental health team", "mental"),
    ("physio", "physio"), ("the blood test clinic", "bloods"), ("the vaccination centre", "vaccine"),
    ("outpatients", "outpatients"), ("the eye clinic", "eyes"),
)  # fmt: skip
WAITS = (
    "2 hours",
    "3 hours",
    "four hours",
    "6 hrs",
    "9 hours",
    "11 hours",
    "40 minutes",
    "over an hour",
    "3 weeks",
)
PEOPLE = ("my mum", "my dad", "my son", "my daughter", "my nan", "my husband", "my wife", "me", "my partner")
STAFF = ("nurses", "doctors", "midwives", "paramedics", "receptionists", "staff", "team", "pharmacist")
EMOJI = ("", "", "", "", " 😡", " 😢", " 🙄", " ❤️", " 🙏", " 👏", " 😤", " 💙")
LINK_SITES = (
    "https://www.coventrytelegraph.net/news/coventry-news/",
    "https://www.bbc.co.uk/news/uk-england-coventry-warwickshire-",
    "https://www.leamingtonobserver.co.uk/news/",
    "https://www.rugbyadvertiser.co.uk/health/",
    "https://example-blog.co.uk/posts/",
)

COMPLAINTS = (
    "Waited {wait} in {service} at {hospital} with {person}. Nobody told us anything. Not good enough{emoji}",
    "Third time {service} in {town} has cancelled {person}'s appointment. Absolutely disgraceful{emoji}",
    "Can't get through to {service} in {town}, on hold for {wait} then cut off. This is ridiculous",
    "{Service} at {hospital} is a shambles. {Person} left in a corridor for {wait}{emoji}",
    "Why is it impossible to get a GP appointment in {town}?? 8am scramble every single day and nothing left",
    "Rude receptionist at {service} in {town} today, made {person} cry. Appalling way to treat people",
    "Prescription still not ready after {wait}. {Service} keep saying tomorrow. So frustrated",
    "Been waiting {wait} for a callback from {service}. Is anyone actually there? @NHSCovWarks",
    "Parking at {hospital} is a joke, £12 to visit {person} and no spaces. Disgusting",
    "Discharged {person} at 2am with no transport and no medication. Terrible care at {hospital}",
)
QUESTIONS = (
    "Does anyone know if {service} in {town} is open on the bank holiday?",
    "Hi, how do I get a repeat prescription if {service} in {town} isn't answering?",
    "Is the walk-in centre in {town} still open at weekends? Need to take {person}",
    "Where can I get a flu jab in {town} for {person}? Is it free for over 65s?",
    "@NHSCovWarks when will the new {service} in {town} open? Been waiting ages for news",
    "Can I self refer to {service} or do I need to see my GP first?",
    "What's the number for {service} at {hospital}? Website link is broken",
    "Who do I complain to about {service} in {town}? Is there a proper process?",
)
THANKS = (
    "Huge thank you to the {staff} at {hospital}, absolutely brilliant with {person}{emoji}",
    "Fantastic care from {service} in {town} today, quick, kind and so professional. Thank you!",
    "Just want to say the {staff} at {hospital} are amazing. Looked after {person} so well{emoji}",
    "Got {person}'s booster at {service} in {town}, in and out in 10 mins. Brilliant organisation",
    "Shout out to the {staff} on ward 12 at {hospital}. Heroes, every one of them{emoji}",
    "Really impressed with {service}, called back within the hour and sorted everything. Thanks",
)
NEUTRAL = (
    "Flu and covid vaccines now available at {service} in {town}, book online or walk in",
    "{Service} in {town} has moved to the new health centre on the high street from Monday",
    "Reminder: NHS 111 online is available 24/7 for urgent advice",
    "Anyone else notice {service} in {town} has new opening hours?",
    "Blood donation session at {town} leisure centre next Thursday",
    "RT if you've had your booster this winter",
)
NEWS = (
    "{Town} GP surgery to close its doors after staffing shortage",
    "Patients face long waits at {hospital} as A&E declares critical incident",
    "New urgent treatment centre for {town} given the go-ahead",
    "Health bosses apologise after {service} data breach in {town}",
    "Inquest hears of delays in ambulance response in {town}",
    "Record number of people waiting for treatment at {hospital}",
)
LEGAL = (
    "I've spoken to a solicitor about the negligence in {person}'s care at {hospital}. This isn't over",
    "Will be taking legal action against {service} in {town}. Clinical negligence, plain and simple",
    "Complaint going to the ombudsman. {Service} at {hospital} failed {person} completely",
    "My solicitor says we have a case. {Hospital} ignored {person}'s symptoms for {wait}",
)
PERSONAL = (
    "Please ring me back on 07700 900{n3}, been waiting {wait} about {person}'s referral",
    "My NHS number is 999 {n3} {n4} can someone check why my appointment was cancelled",
    "Email me at pat.{n3}@example.com, need to sort {person}'s prescription urgently",
    "We live at CV1 {n1}AB and the ambulance took {wait} to arrive for {person}",
)
ABUSIVE = (
    "Useless idiots at {service} in {town}, every single one of you",
    "Bunch of clowns running {hospital}. Pathetic",
)
FACEBOOK_EXTRA = (
    " We arrived at {hospital} just after lunch and were told the wait would be about an hour.",
    " {Person} has a long term condition and we have been back and forth between {service}"
    " and the hospital for months.",
    " The staff themselves were lovely, I don't blame them at all, they are clearly under huge pressure.",
    " Nobody seems to talk to each other and every time we ring we have to explain everything"
    " again from the start.",
    " I have written to PALS twice and heard nothing back.",
    " In the end we gave up and went private, which we really can't afford.",
    " Something has to change before someone gets seriously hurt.",
)
# Category, weight, templates, kind (None = a mention on X or a Facebook comment).
CATEGORIES: tuple[tuple[str, float, Sequence[str]], ...] = (
    ("complaint", 0.30, COMPLAINTS),
    ("question", 0.16, QUESTIONS),
    ("thanks", 0.20, THANKS),
    ("neutral", 0.17, NEUTRAL),
    ("news", 0.07, NEWS),
    ("legal", 0.03, LEGAL),
    ("personal", 0.03, PERSONAL),
    ("abusive", 0.04, ABUSIVE),
)
SUBJECT_CRISIS = (
    "Brambleford surgery cancelled every appointment today and nobody answers the phone. Disgraceful{emoji}",
    "Just turned away from Brambleford surgery, {person} needs their medication. Shambles",
    "Brambleford surgery closed with no warning?? Where are we supposed to go @NHSCovWarks{emoji}",
    "Speaking to a solicitor about Brambleford surgery. {Person} missed urgent treatment because of this",
    "Is Brambleford surgery shut for good? Hundreds of patients left with nothing. Absolutely furious",
    "BREAKING: Brambleford surgery closes suddenly leaving thousands of patients without a GP",
)

OWN_HANDLE = "NHSCovWarks"
X_SOURCE = f"x:mentions:@{OWN_HANDLE}"
FB_SOURCE = "facebook:page:101234567890"
RSS_SOURCE = "rss:https://www.coventrytelegraph.net/news/health/?service=rss"
SOURCES = (X_SOURCE, FB_SOURCE, RSS_SOURCE)
FIRST_NAMES = (
    "Sam",
    "Alex",
    "Jo",
    "Priya",
    "Tom",
    "Aisha",
    "Dave",
    "Kerry",
    "Mo",
    "Lucy",
    "Raj",
    "Bev",
    "Gaz",
    "Ellie",
)


@dataclass(frozen=True, slots=True)
class Post:
    category: str
    text: str
    url: str | None
    kind: str


class TextMaker:
    """Makes one realistic post at a time from the phrase parts above (deterministic per seed)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._weights = [w for _, w, _ in CATEGORIES]

    def _fill(self, template: str) -> str:
        r = self.rng
        service, _ = r.choice(SERVICES)
        person = r.choice(PEOPLE)
        values = {
            "town": r.choice(TOWNS),
            "hospital": r.choice(HOSPITALS),
            "service": service,
            "person": person,
            "wait": r.choice(WAITS),
            "staff": r.choice(STAFF),
            "emoji": r.choice(EMOJI),
            "n1": r.randint(1, 9),
            "n3": f"{r.randint(0, 999):03d}",
            "n4": f"{r.randint(0, 9999):04d}",
        }
        values.update({k.capitalize(): str(v)[:1].upper() + str(v)[1:] for k, v in list(values.items())})
        return template.format(**values)

    def post(self, platform: str) -> Post:
        r = self.rng
        category, _, templates = r.choices(CATEGORIES, weights=self._weights)[0]
        body = self._fill(r.choice(templates))
        if category == "news":
            slug = "-".join(body.lower().replace("&", "and").split()[:8])
            return Post(category, body, f"{r.choice(LINK_SITES)}{slug}-{r.randint(10**6, 10**7)}", "news")
        if platform == "facebook" and r.random() < 0.35:
            extra = r.sample(FACEBOOK_EXTRA, k=r.randint(1, 4))
            body = body.rstrip() + ("" if body.rstrip()[-1:] in ".!?" else ".")
            body += "".join(self._fill(e) for e in extra)
        elif r.random() < 0.08:
            body = body.upper() if r.random() < 0.3 else body + "!!!"
        url = None
        if category in ("complaint", "neutral") and r.random() < 0.05:
            url = f"{r.choice(LINK_SITES)}story-{r.randint(10**6, 10**7)}"
            body += f" {url}"
        kind = "comment" if platform == "facebook" else "mention"
        return Post(category, body, url, kind)

    def crisis_post(self) -> Post:
        return Post("crisis", self._fill(self.rng.choice(SUBJECT_CRISIS)), None, "mention")


# --- mentions for ingest ------------------------------------------------------------------------

BENCH_START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday


def _author(rng: random.Random, platform: str, news: bool) -> AuthorData:
    if news:
        handle = rng.choice(("CovTelegraph", "BBCCWR", "LeamObserver", "RugbyAdvertiser"))
        return AuthorData(id=f"media-{handle}", handle=handle, name=handle, followers=85_000)
    # A long tail: a few hundred regulars write a third of the posts, most people post once or twice.
    number = rng.randrange(300) if rng.random() < 0.33 else rng.randrange(400_000)
    followers = int(rng.lognormvariate(5, 1.6))
    name = f"{rng.choice(FIRST_NAMES)} {chr(65 + number % 26)}"
    return AuthorData(
        id=f"{platform}-{number}", handle=f"user{number}", name=name, followers=followers, verified=False
    )


def _raw(m_id: str, post: Post, author: AuthorData, created: datetime) -> dict[str, Any]:
    """A payload shaped like an X API v2 tweet: the store keeps what the platform sent."""
    return {
        "id": m_id,
        "text": post.text,
        "author_id": author.id,
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "edit_history_tweet_ids": [m_id],
        "lang": "en",
        "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 1, "quote_count": 0},
        "conversation_id": m_id,
    }


# Posts per hour through the day, relative to the mean (quiet at night, busiest around midday).
DAILY = (
    0.2, 0.15, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.2, 1.5, 1.6, 1.6,
    1.7, 1.6, 1.5, 1.5, 1.4, 1.4, 1.3, 1.2, 1.0, 0.8, 0.5, 0.3,
)  # fmt: skip


def _rhythm(at: datetime) -> float:
    fraction = at.minute / 60
    return DAILY[at.hour] * (1 - fraction) + DAILY[(at.hour + 1) % 24] * fraction


def synthetic_mentions(
    n: int,
    *,
    seed: int = 1,
    start: datetime = BENCH_START,
    per_hour: float = 400.0,
    duplicate_share: float = 0.01,
    crisis_every_days: int = 0,
) -> Iterator[Mention]:
    """``n`` mentions in ``created_at`` order, about ``per_hour`` an hour with a daily rhythm.

    ``duplicate_share`` of them are re-deliveries of an earlier mention (what a retried poll
    brings). With ``crisis_every_days``, a two-hour burst about one surgery (six times the usual
    volume, most of it angry) starts at 13:00 UTC on the last of every ``crisis_every_days`` days,
    so the detectors have seen days of ordinary traffic first.
    """
    rng = random.Random(seed)
    maker = TextMaker(rng)
    at = start
    recent: list[Mention] = []
    counter = itertools.count(1_000_000_000_000)
    for _ in range(n):
        if recent and rng.random() < duplicate_share:
            yield rng.choice(recent)
            continue
        hour = at.hour
        rhythm = _rhythm(at)
        day = (at - start).days
        crisis = (
            bool(crisis_every_days) and day % crisis_every_days == crisis_every_days - 1 and 13 <= hour < 15
        )
        rate = per_hour * rhythm * (6 if crisis else 1)
        at += timedelta(seconds=rng.expovariate(rate / 3600))
        platform = "facebook" if rng.random() < 0.3 else "x"
        post = maker.crisis_post() if crisis and rng.random() < 0.7 else maker.post(platform)
        if post.kind == "news":
            platform = "rss"
        author = _author(rng, platform, post.kind == "news")
        ext = str(next(counter))
        replying = rng.random() < 0.2 and recent and recent[-1].platform == platform
        parent = recent[-1] if replying else None
        mention = Mention(
            platform=platform,
            external_id=ext,
            source={"x": X_SOURCE, "facebook": FB_SOURCE, "rss": RSS_SOURCE}[platform],
            kind="reply" if parent is not None and platform == "x" else post.kind,
            author=author,
            text=post.text,
            created_at=at,
            url=post.url,
            in_reply_to=parent.external_id if parent is not None else None,
            conversation_id=(parent.conversation_id or parent.external_id) if parent is not None else ext,
            metrics={"reposts": int(rng.paretovariate(1.5)) - 1, "likes": rng.randint(0, 20)},
            lang="en",
            raw=_raw(ext, post, author, at),
        )
        recent.append(mention)
        if len(recent) > 200:
            del recent[:100]
        yield mention


# --- a seeded store for the queue and claim benchmarks ---------------------------------------------

BENCH_PASSWORD = "bench-password-not-secret"
POOL_SIZE = 3_000
CHUNK = 50_000
REPLY_TEXT = "Hi, we're sorry to hear this. Please DM us your details so we can look into it. ^AB"


@dataclass
class Seeded:
    """What the benchmarks need to know about a seeded store."""

    mentions: int
    queue_items: int
    open_items: int
    agents: list[tuple[int, str]]  # (user id, email); password BENCH_PASSWORD
    open_item_ids: list[int] = field(default_factory=list)  # a sample, for the item page
    seconds: float = 0.0


def prepare_schema(engine: Engine) -> None:
    """The migrated schema, plus any index the models declare that the migration does not have yet."""
    upgrade(engine)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            for index in table.indexes:
                index.create(conn, checkfirst=True)


def _score_pool(rng: random.Random, settings: Settings) -> list[tuple[Post, dict[str, Any]]]:
    """Distinct posts, each scored once with the real scorer and topic function."""
    stage = build_stage(settings)
    maker = TextMaker(rng)
    pool = []
    for i in range(POOL_SIZE):
        post = maker.post("facebook" if i % 3 == 0 else "x")
        score = stage.scorer.score(MentionInput(text=post.text, platform="x", kind=post.kind, url=post.url))
        score.topic = stage.topic_of(post.text, post.url)
        pool.append((post, score_row(0, score)))
    return pool


def _agents(engine: Engine, count: int) -> list[tuple[int, str]]:
    hashed = hash_password(BENCH_PASSWORD)  # one argon2 hash for all: hashing is slow by design
    rows = [
        {
            "email": f"agent{i}@bench.nhs.uk",
            "name": f"Agent {i}",
            "initials": f"A{i}",
            "role": "agent" if i else "lead",
            "password_hash": hashed,
            "active": True,
            "created_at": BENCH_START,
        }
        for i in range(count)
    ]
    with write_transaction(engine) as session:
        session.execute(insert(User), rows)
        found = session.execute(select(User.id, User.email).where(User.email.like("%@bench.nhs.uk"))).all()
    return sorted((uid, email) for uid, email in found)


class BulkWriter:
    """Rows straight to the driver: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

    SQLAlchemy's per-value bind processing (UTC datetimes, JSON) was 60% of the seeding time
    under pyinstrument; the rows here are made in the stored form once, so a million
    mentions seed in about a minute. Only the benchmarks write this way: the product's own
    writes go through the models.
    """

    def __init__(self, engine: Engine) -> None:
        self.postgres = engine.dialect.name == "postgresql"
        self.raw = engine.raw_connection()
        if not self.postgres:
            self.raw.driver_connection.execute("PRAGMA cache_size=-400000")  # type: ignore[union-attr]

    def stamp(self, at: datetime | None) -> Any:
        """A UTC datetime as the store keeps it (naive UTC; SQLite: SQLAlchemy's text format)."""
        if at is None:
            return None
        naive = at.replace(tzinfo=None)
        return naive if self.postgres else naive.isoformat(" ", "microseconds")

    def flag(self, value: bool) -> Any:
        return value if self.postgres else int(value)

    def write(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        cursor = self.raw.cursor()
        names = ", ".join(columns)
        if self.postgres:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
        else:
            if not self.raw.driver_connection.in_transaction:  # type: ignore[union-attr]
                # make_engine switches pysqlite's implicit transactions off: without this BEGIN
                # every row would be its own transaction.
                cursor.execute("BEGIN")
            marks = ", ".join("?" * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        cursor.close()

    def commit(self) -> None:
        self.raw.commit()

    def close(self) -> None:
        self.raw.commit()
        self.raw.close()


MENTION_COLUMNS = (
    "id", "platform", "external_id", "source_key", "kind", "author_id", "conversation_id", "text", "url",
    "lang", "metrics", "is_own", "is_repost", "raw", "created_at", "received_at",
)  # fmt: skip
SCORE_COLUMNS = (
    "mention_id", "compound", "pos", "neg", "neu", "label", "emotive", "legal_terms", "media",
    "personal_data", "is_question", "is_complaint", "is_compliment", "abusive", "topic", "reach",
    "priority", "reasons",
)  # fmt: skip
ITEM_COLUMNS = (
    "id", "mention_id", "status", "priority", "due_at", "assignee_id", "claimed_at", "first_response_at",
    "closed_at", "no_reply_reason", "incident_id", "created_at", "version",
)  # fmt: skip
REPLY_COLUMNS = (
    "id", "queue_item_id", "purpose", "platform", "source_key", "in_reply_to", "text", "status", "lint",
    "author_id", "idempotency_key", "attempts", "platform_reply_id", "created_at", "sent_at",
)  # fmt: skip
AUTHOR_COLUMNS = ("id", "platform", "external_id", "handle", "name", "followers", "verified", "is_media")
CONVERSATION_COLUMNS = ("id", "platform", "thread_key", "created_at", "last_activity_at")


def _item_row(
    *,
    item_id: int,
    mention_id: int,
    status: str,
    priority: int,
    due_at: Any,
    created_at: Any,
    assignee_id: int | None = None,
    claimed_at: Any = None,
    first_response_at: Any = None,
    closed_at: Any = None,
    no_reply_reason: str | None = None,
    incident_id: int | None = None,
) -> tuple[Any, ...]:
    return (
        item_id, mention_id, status, priority, due_at, assignee_id, claimed_at, first_response_at,
        closed_at, no_reply_reason, incident_id, created_at, 1,
    )  # fmt: skip


def _reply_row(
    *, reply_id: int, item_id: int, mention: tuple[Any, ...], status: str, author_id: int, at: Any, sent: bool
) -> tuple[Any, ...]:
    platform, external_id, source = mention[1], mention[2], mention[3]
    return (
        reply_id, item_id, "reply", platform, source, external_id, REPLY_TEXT, status, "[]", author_id,
        f"bench-{reply_id}", int(sent), f"bench-reply-{reply_id}" if sent else None, at, at if sent else None,
    )  # fmt: skip


class _Seeder:
    """Makes the rows of one store, a mention at a time, and writes them in chunks."""

    def __init__(
        self,
        writer: BulkWriter,
        rng: random.Random,
        pool: list[tuple[Post, dict[str, Any]]],
        *,
        agent_ids: list[int],
        incident_id: int | None,
        authors: list[str],
        clock: BusinessClock,
        sla: Any,
    ) -> None:
        self.writer = writer
        self.random = rng.random
        self.agent_ids = agent_ids
        self.incident_id = incident_id
        self.author_platforms = authors
        self.clock = clock
        self.targets = {p: timedelta(minutes=sla.target_minutes(p)) for p in (1, 2, 3, 4)}
        # What depends only on the post is made once per pooled post.
        self.pool = [(post, score["priority"], self._score_values(score)) for post, score in pool]
        self.metrics = json.dumps({"reposts": 0, "likes": 3})
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
        self.item_id = self.reply_id = self.thread_id = 0
        self.open_ids: list[int] = []

    def _score_values(self, score: dict[str, Any]) -> tuple[Any, ...]:
        values = [json.dumps(score[c]) if c in JSON_SCORE_COLUMNS else score[c] for c in SCORE_COLUMNS[1:]]
        return tuple(self.writer.flag(v) if isinstance(v, bool) else v for v in values)

    def _agent(self) -> int:
        return self.agent_ids[int(self.random() * len(self.agent_ids))]

    def mention(self, mention_id: int, created: datetime, *, open_item: bool, incident: bool) -> None:
        """One mention with its score, thread and (for most) a queue item."""
        random_, stamp = self.random, self.writer.stamp
        post, priority, score_values = self.pool[int(random_() * len(self.pool))]
        # A long tail of authors: 30% of posts come from the busiest 1% of people.
        authors = len(self.author_platforms)
        author = int(random_() * authors * (0.01 if random_() < 0.3 else 1))
        platform = "rss" if post.kind == "news" else self.author_platforms[author]
        kind = post.kind if platform == "rss" else "comment" if platform == "facebook" else "mention"
        at = stamp(created)
        if self.thread_id == 0 or random_() < 0.7:  # else it joins the previous thread
            self.thread_id += 1
            self.rows["conversations"].append(
                (self.thread_id, platform, f"bench-thread-{self.thread_id}", at, at)
            )
        external_id = f"bench-{mention_id}"
        raw = {
            "id": external_id,
            "text": post.text,
            "author_id": f"bench-author-{author}",
            "created_at": created.isoformat(),
            "edit_history_tweet_ids": [external_id],
            "lang": "en",
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 1},
        }
        no = self.writer.flag(False)
        mention = (
            mention_id, platform, external_id, SOURCE_OF[platform], kind, author + 1, self.thread_id,
            post.text, post.url, "en", self.metrics, no, no, json.dumps(raw), at, at,
        )  # fmt: skip
        self.rows["mentions"].append(mention)
        self.rows["scores"].append((mention_id, *score_values))
        if post.kind == "news" or not (open_item or random_() < 0.8):
            return
        self.item_id += 1
        if open_item:
            self._open_item(mention, created, priority, incident)
        else:
            self._closed_item(mention, created, priority)

    def _open_item(self, mention: tuple[Any, ...], created: datetime, priority: int, incident: bool) -> None:
        stamp = self.writer.stamp
        # The due times of open items are what the queue sorts on: business hours, exactly.
        due = stamp(self.clock.add(created, self.targets[priority].total_seconds() / 60))
        claimed = self.random() < 0.2
        agent = self._agent() if claimed else None
        self.rows["queue_items"].append(
            _item_row(
                item_id=self.item_id,
                mention_id=mention[0],
                status="claimed" if claimed else "new",
                priority=priority,
                due_at=due,
                created_at=mention[-1],
                assignee_id=agent,
                claimed_at=stamp(created + timedelta(minutes=5)) if claimed else None,
                incident_id=self.incident_id if incident and self.random() < 0.5 else None,
            )
        )
        self.open_ids.append(self.item_id)
        if agent is not None and self.random() < 0.4:
            # Work in progress: a draft, or a crisis reply waiting for a lead's approval.
            self.reply_id += 1
            status = "pending_approval" if self.random() < 0.3 else "draft"
            self.rows["replies"].append(
                _reply_row(
                    reply_id=self.reply_id,
                    item_id=self.item_id,
                    mention=mention,
                    status=status,
                    author_id=agent,
                    at=mention[-1],
                    sent=False,
                )  # fmt: skip
            )

    def _closed_item(self, mention: tuple[Any, ...], created: datetime, priority: int) -> None:
        stamp = self.writer.stamp
        status = CLOSED_FATES[int(self.random() * len(CLOSED_FATES))]
        answered = stamp(created + timedelta(minutes=10 + int(self.random() * 600)))
        agent = self._agent() if status == "replied" else None
        self.rows["queue_items"].append(
            _item_row(
                item_id=self.item_id,
                mention_id=mention[0],
                status=status,
                priority=priority,
                due_at=stamp(created + self.targets[priority]),  # long closed: wall time is close enough
                created_at=mention[-1],
                assignee_id=agent,
                claimed_at=mention[-1] if agent else None,
                first_response_at=answered if agent else None,
                closed_at=answered,
                no_reply_reason="thanks only" if status == "no_reply_needed" else None,
            )
        )
        if agent is not None:
            self.reply_id += 1
            self.rows["replies"].append(
                _reply_row(
                    reply_id=self.reply_id,
                    item_id=self.item_id,
                    mention=mention,
                    status="sent",
                    author_id=agent,
                    at=answered,
                    sent=True,
                )  # fmt: skip
            )

    def flush(self) -> None:
        for table, columns in TABLES.items():
            self.writer.write(table, columns, self.rows[table])
            self.rows[table].clear()
        self.writer.commit()


JSON_SCORE_COLUMNS = frozenset({"legal_terms", "personal_data", "reasons"})
TABLES = {  # in foreign-key order
    "conversations": CONVERSATION_COLUMNS,
    "mentions": MENTION_COLUMNS,
    "scores": SCORE_COLUMNS,
    "queue_items": ITEM_COLUMNS,
    "replies": REPLY_COLUMNS,
}
SOURCE_OF = {"x": X_SOURCE, "facebook": FB_SOURCE, "rss": RSS_SOURCE}
CLOSED_FATES = ("replied",) * 6 + ("closed",) * 2 + ("no_reply_needed",) * 2


def seed_store(
    engine: Engine,
    n: int,
    *,
    now: datetime,
    seed: int = 7,
    open_items: int | None = None,
    agents: int = 21,
    progress: bool = True,
) -> Seeded:
    """Write ``n`` mentions (over the year before ``now``) with everything the queue pages read.

    About 75% of mentions need a reply (a queue item; news never does). Of the items, the
    newest ``open_items`` (default 2%, at least 500) are open — new, a fifth of them claimed,
    some with a draft or a reply waiting for approval — and the rest were replied to (with a
    sent reply), closed, or marked no reply needed. Authors follow a long tail (a few people
    write many posts) and 30% of posts join the thread before them.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    settings = Settings()
    handles, _ = media_lists(settings)
    prepare_schema(engine)
    users = _agents(engine, agents)
    pool = _score_pool(rng, settings)
    with write_transaction(engine) as session:
        session.execute(
            insert(Source),
            [{"key": key, "platform": key.split(":")[0], "created_at": BENCH_START} for key in SOURCES],
        )
        incident_ids = _incidents(session, now)

    writer = BulkWriter(engine)
    authors = _write_authors(writer, rng, max(50, n // 6), sorted(handles))
    seeder = _Seeder(
        writer,
        rng,
        pool,
        agent_ids=[uid for uid, _ in users],
        incident_id=incident_ids[0] if incident_ids else None,
        authors=authors,
        clock=BusinessClock(settings.sla.business_hours, settings.general.timezone),
        sla=settings.sla,
    )
    open_target = open_items if open_items is not None else max(500, int(n * 0.75 * 0.02))
    open_from = n - int(open_target / 0.75) - 1  # the newest mentions hold the open items
    first, step = now - timedelta(days=365), timedelta(days=365) / max(n, 1)
    for mention_id in range(1, n + 1):
        seeder.mention(
            mention_id,
            first + step * mention_id,
            open_item=mention_id >= open_from and len(seeder.open_ids) < open_target,
            incident=n - mention_id < 300,
        )
        if mention_id % CHUNK == 0 or mention_id == n:
            seeder.flush()
            if progress and mention_id % 250_000 == 0:
                print(
                    f"    seeded {mention_id:,} mentions ({time.perf_counter() - started:.0f} s)", flush=True
                )
    writer.close()
    _finish(engine)
    return Seeded(
        mentions=n,
        queue_items=seeder.item_id,
        open_items=len(seeder.open_ids),
        agents=users,
        open_item_ids=rng.sample(seeder.open_ids, min(len(seeder.open_ids), 200)),
        seconds=time.perf_counter() - started,
    )


def _write_authors(writer: BulkWriter, rng: random.Random, count: int, media_handles: list[str]) -> list[str]:
    """``count`` authors (one in 500 a media account); returns each one's platform, by id - 1."""
    platforms = ["x" if i % 10 < 7 else "facebook" for i in range(count)]
    writer.write(
        "authors",
        AUTHOR_COLUMNS,
        [
            (
                i + 1,
                platforms[i],
                f"bench-author-{i}",
                media_handles[i // 500 % len(media_handles)] if i % 500 == 0 else f"user{i}",
                f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {chr(65 + i % 26)}",
                int(rng.lognormvariate(5, 1.6)),
                writer.flag(False),
                writer.flag(i % 500 == 0),
            )
            for i in range(count)
        ],
    )
    return platforms


def _incidents(session: Any, now: datetime) -> list[int]:
    """One open incident (the crisis tab has items) and two resolved ones."""
    rows: list[dict[str, Any]] = [
        {
            "episode_key": f"bench-{i}",
            "subject": subject,
            "topic": None,
            "level": level,
            "status": status,
            "criteria": [],
            "evidence": {},
            "accounts": [],
            "timeline": [],
            "mentions_count": 0,
            "opened_at": now - timedelta(days=days),
            "level_changed_at": now - timedelta(days=days),
            "summary": {},
        }
        for i, (subject, level, status, days) in enumerate(
            (
                ("Brambleford surgery closure", "alert", "listening", 0),
                ("A&E waits at the weekend", "watch", "resolved", 40),
                ("Pharmacy data breach", "crisis", "resolved", 200),
            )
        )
    ]
    session.execute(insert(Incident), rows)
    return list(
        session.scalars(select(Incident.id).where(Incident.status != "resolved").order_by(Incident.id))
    )


def _finish(engine: Engine) -> None:
    """Planner statistics, as a deployed store has them: SQLite's are gathered at every start
    (``refresh_statistics``), PostgreSQL's by autovacuum after a load. PostgreSQL's id
    sequences are also moved past the ids written here."""
    if engine.dialect.name != "postgresql":
        refresh_statistics(engine)
        return
    with engine.begin() as conn:
        for name in ("authors", "conversations", "mentions", "queue_items", "replies"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
                )
            )
        conn.execute(text("ANALYZE"))


__all__ = [
    "BENCH_PASSWORD",
    "BulkWriter",
    "Seeded",
    "TextMaker",
    "prepare_schema",
    "seed_store",
    "synthetic_mentions",
]
