"""Policy 7.2's crisis criteria, watched over a stream of scored mentions.

The policy calls it a social media crisis when:

1. ``sole_subject`` - the subject is the only thing people are talking about negatively: negative
   mentions are above their usual volume for the time of day and week, and one subject holds most
   of the negative mentions of the last hour (and most mentions of it are negative);
2. ``emotive`` - it is highly emotive or a high reputational risk: a good share of the subject's
   negative mentions are highly emotive, or one of them is spreading widely (reposts);
3. ``legal`` - it is legal in nature: several of the subject's mentions use legal language;
4. ``media`` - the wider media are reporting it negatively: mentions of the subject from the
   configured media accounts or linking to news sites that are not positive.

Level (from policy 7.2 and the product design): ``crisis`` when sole_subject and at least two of
emotive / legal / media are met; ``alert`` when sole_subject and exactly one; ``watch`` otherwise.

The monitor is causal and pure: feed it scored mentions in ``created_at`` order, and call
``tick(now)`` when time passes without mentions. An incident opens when negative volume surges
and one subject stands out among the negative mentions; a rise spread over many subjects opens
nothing. There is one incident per episode: while an incident is active, a subject sharing its
mentions or its terms feeds it rather than opening another (the leading words of a story drift as
it spreads), and it goes quiet only after ``quiet_minutes`` without its subject standing out. An
episode's mentions are kept out of what the monitor learns as usual, so the same story coming back
after a quiet spell opens a new incident.

Events: ``open``; ``rise`` when the level goes up (it never goes down within an episode);
``update`` when criteria or evidence are added or the episode has grown by a fifth; ``quiet``
when the incident ends.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from triage.model import Score
from triage.spikes import SpikeConfig, SpikeDetector
from triage.topics import Fifo, Subject, SubjectMentions, TopicConfig, TopicTracker, analyse

CRITERIA = ("sole_subject", "emotive", "legal", "media")
Level = Literal["watch", "alert", "crisis"]
LEVELS: tuple[Level, ...] = ("watch", "alert", "crisis")
EventKind = Literal["open", "rise", "update", "quiet"]


class CrisisConfig(BaseModel):
    """Crisis thresholds (the app's TOML config embeds these under ``[crisis]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket_minutes: int = Field(default=5, gt=0, description="Negative volume is counted per bucket.")
    surge_minutes: int = Field(
        default=30, gt=0, description="Recent negative volume compared with its usual level."
    )
    surge_sigmas: float = Field(
        default=4.0, gt=0, description="How far above the usual negative volume is a surge (std devs)."
    )
    min_negative_mentions: int = Field(
        default=8, ge=1, description="Fewest negative mentions of a subject in the window for sole_subject."
    )
    sole_subject_share: float = Field(
        default=0.6, gt=0, le=1, description="Share of the window's negative mentions about the subject."
    )
    max_positive_share: float = Field(
        default=0.4,
        ge=0,
        le=1,
        description="Largest share of the subject's own mentions that may be positive (praise is no crisis).",
    )
    emotive_level: float = Field(
        default=0.5, ge=0, le=1, description="A mention is highly emotive at this emotive intensity."
    )
    emotive_share: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description="Share of the subject's negative mentions that are highly emotive.",
    )
    emotive_mentions: int = Field(default=5, ge=1, description="Fewest highly emotive negative mentions.")
    viral_reposts: int = Field(
        default=1000,
        ge=1,
        description="One negative mention of the subject reposted this often is a reputational risk.",
    )
    legal_mentions: int = Field(default=3, ge=1, description="Fewest mentions of the subject in legal terms.")
    legal_share: float = Field(
        default=0.1, ge=0, le=1, description="Share of the subject's negative mentions in legal terms."
    )
    media_mentions: int = Field(
        default=1, ge=1, description="Fewest media mentions of the subject that are not positive."
    )
    quiet_minutes: int = Field(
        default=180, gt=0, description="An incident ends after this long without its subject standing out."
    )
    evidence_per_criterion: int = Field(
        default=25, ge=1, description="Mentions kept as evidence per criterion."
    )
    sample_posts: int = Field(
        default=3, ge=1, description="Posts shown with an incident's evidence (a ten-second read)."
    )
    match_overlap: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description=(
            "A dominant subject belongs to an active incident when this share of its negative "
            "mentions are already the incident's (the story goes on under new leading words)."
        ),
    )
    same_overlap: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description=(
            "Or when the two share this share of the smaller one's terms (a story's leading term "
            "drifts as phrasings come and go)."
        ),
    )
    same_min_terms: int = Field(
        default=2, ge=1, description="... and at least this many terms (one shared word is chance)."
    )
    batch_judge_seconds: int = Field(
        default=60,
        gt=0,
        description=(
            "observe_batch judges at the end of a batch and at least this often in stream time "
            "within it: less than a polling interval, so a batch never delays an alert."
        ),
    )
    update_growth: float = Field(
        default=1.2,
        gt=1,
        description="Tell again when the episode has grown by this factor since it was last told.",
    )
    topics: TopicConfig = Field(default_factory=TopicConfig)
    negative_volume: SpikeConfig = Field(
        default_factory=SpikeConfig, description="Baseline of negative mentions per bucket."
    )


@dataclass(frozen=True, slots=True)
class ObservedMention:
    """A stored, scored mention as the monitor sees it."""

    id: str
    created_at: datetime
    text: str
    score: Score
    url: str | None = None
    source: str = ""  # the account or source it came through, e.g. "x:mentions:@NHSCovWarks"
    author_handle: str = ""
    followers: int = 0
    reposts: int = 0


@dataclass(frozen=True, slots=True)
class CrisisEvent:
    kind: EventKind  # open | rise (level went up) | update (criteria, subject or evidence grew) | quiet
    incident_key: str
    level: Level
    criteria: tuple[str, ...]  # met, in policy order
    evidence: dict[str, tuple[str, ...]]  # criterion -> mention ids that show it
    details: dict[str, str]  # criterion -> the figure behind it, in words
    subject: str  # human readable
    topic: str | None  # the subject's leading term key
    mentions: int  # negative mentions of the episode so far
    mention_ids: tuple[str, ...]  # the episode's negative mentions so far
    at: datetime
    why: str = ""  # the evidence in words a comms lead reads in ten seconds
    samples: tuple[str, ...] = ()  # a few of its posts to show, the most reposted first


def level_for(criteria: Iterable[str]) -> Level:
    met = set(criteria)
    if "sole_subject" not in met:
        return "watch"
    others = len(met & {"emotive", "legal", "media"})
    return "crisis" if others >= 2 else "alert" if others == 1 else "watch"


@dataclass(slots=True)
class _Seen:
    """What the monitor keeps of a mention while it is in the window."""

    at: datetime
    reposts: int
    text: str


@dataclass(slots=True)
class _Incident:
    key: str
    last_active: datetime
    subject: Subject
    label: str = ""  # the subject in words, as last told
    why: str = ""  # the evidence in words, as last told
    samples: tuple[str, ...] = ()
    volume: tuple[int, float] = (0, 0.0)  # negative posts about it in the window, and the usual number
    level: Level = "watch"
    criteria: set[str] = field(default_factory=set)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    mention_ids: dict[str, None] = field(default_factory=dict)  # ordered set
    reported: tuple[Level, frozenset[str], tuple[int, ...]] | None = None  # what the last event said
    reported_mentions: int = 0
    # The subject's negative mentions before ``synced[1]`` (a position in the subject's running
    # list, for subject terms ``synced[0]``) are all in ``mention_ids``.
    synced: tuple[int, int] = (0, 0)
    # Otherwise: positions of the subject's mentions found in ``mention_ids`` by one pass over
    # the subject's mentions for terms ``known_epoch``.
    known_epoch: int = 0
    known_positions: deque[int] = field(default_factory=deque)


class CrisisMonitor:
    """Stateful, causal, pure: ``observe`` mentions in time order, ``tick`` as time passes."""

    def __init__(self, config: CrisisConfig | None = None) -> None:
        self.config = config or CrisisConfig()
        self._bucket = timedelta(minutes=self.config.bucket_minutes)
        negative_volume = self.config.negative_volume
        if negative_volume.bucket_seconds is None:
            negative_volume = negative_volume.model_copy(
                update={"bucket_seconds": int(self._bucket.total_seconds())}
            )
        self._baseline = SpikeDetector(negative_volume)
        self._bucket_start: datetime | None = None
        self._bucket_count = 0
        self._expected: dict[datetime, float] = {}  # the baseline's usual count per bucket, until it learns
        self._recent_negatives: deque[datetime] = deque()
        self._topics = TopicTracker(self.config.topics)
        self._seen: dict[str, _Seen] = {}
        self._order: deque[str] = deque()
        self._incidents: list[_Incident] = []
        self._now: datetime | None = None
        self._opened = 0

    # -- public -----------------------------------------------------------------------------

    def observe(self, m: ObservedMention) -> list[CrisisEvent]:
        """Take one scored mention (in created_at order); return what changed."""
        if not self._take(m):
            return []
        now = self._now or m.created_at
        if m.score.label != "negative" and not self._incidents:
            return self._expire(now)
        return self._evaluate(now)

    def observe_batch(self, mentions: Iterable[ObservedMention]) -> list[CrisisEvent]:
        """Take a batch of scored mentions (in created_at order) and judge once, at its end.

        What a job reading the store in batches wants: the running counts follow every mention,
        the evaluation runs once per batch, and at least every ``batch_judge_seconds`` of stream
        time inside it (a backlog read in one batch is still judged as it happened).
        """
        events: list[CrisisEvent] = []
        every = timedelta(seconds=self.config.batch_judge_seconds)
        judged: datetime | None = None
        pending = False
        for m in mentions:
            if not self._take(m):
                continue
            now = self._now or m.created_at
            judged = judged or now
            pending = True
            if now - judged >= every:
                events.extend(self._evaluate(now))
                judged, pending = now, False
        if pending and self._now is not None:
            events.extend(self._evaluate(self._now))
        return events

    def tick(self, now: datetime) -> list[CrisisEvent]:
        """Let time pass (no new mentions): closes buckets, lets quiet incidents end."""
        self._advance(now)
        return self._evaluate(self._now or now)

    def active_incidents(self) -> list[str]:
        return [incident.key for incident in self._incidents]

    def _take(self, m: ObservedMention) -> bool:
        """Count one mention in: the clock, the volume, the window. False for one already in."""
        self._advance(m.created_at)
        now = self._now or m.created_at
        if m.id in self._seen:
            return False
        found = analyse(m.text, m.url)
        score = m.score
        negative = score.label == "negative"
        reposts = max(m.reposts, 0)
        tags = []
        if score.emotive >= self.config.emotive_level:
            tags.append("emotive")
        if score.legal_terms:
            tags.append("legal")
        if score.media:
            tags.append("media")
        if reposts >= self.config.viral_reposts:
            tags.append("viral")
        self._seen[m.id] = _Seen(at=now, reposts=reposts, text=m.text)
        self._order.append(m.id)
        self._topics.add(m.id, now, found, negative, positive=score.label == "positive", tags=tags)
        if negative:
            self._bucket_count += 1
            self._recent_negatives.append(now)
        return True

    # -- time and volume -------------------------------------------------------------------

    def _advance(self, at: datetime) -> None:
        if self._now is not None and at < self._now:
            at = self._now  # a late delivery: count it now, never move the clock back
        if self._bucket_start is None:
            self._bucket_start = _floor(at, self._bucket)
        while at >= self._bucket_start + self._bucket:
            self._baseline.update(self._bucket_start, self._bucket_count)
            self._expected.clear()
            self._bucket_start += self._bucket
            self._bucket_count = 0
        self._now = at
        horizon = at - timedelta(minutes=self.config.surge_minutes)
        while self._recent_negatives and self._recent_negatives[0] < horizon:
            self._recent_negatives.popleft()

    def _expected_negatives(self, now: datetime, minutes: int) -> float:
        """Usual number of negative mentions in the ``minutes`` before ``now``."""
        start = now - timedelta(minutes=minutes)
        expected = 0.0
        cursor = _floor(start, self._bucket)
        while cursor < now:
            overlap = (min(cursor + self._bucket, now) - max(cursor, start)).total_seconds()
            usual = self._expected.get(cursor)
            if usual is None:
                usual = self._expected[cursor] = self._baseline.expected(cursor)
            expected += usual * overlap / self._bucket.total_seconds()
            cursor += self._bucket
        return expected

    def _surge(self, now: datetime) -> tuple[bool, str]:
        """Are negative mentions above their usual volume for this time of day and week?"""
        count = len(self._recent_negatives)
        expected = self._expected_negatives(now, self.config.surge_minutes)
        sigmas = self._baseline.sigmas(count, expected)
        surge = count >= self.config.min_negative_mentions and sigmas >= self.config.surge_sigmas
        words = f"{count} negative mentions in {self.config.surge_minutes} min, usually about {expected:.1f}"
        return surge, words

    # -- incidents -------------------------------------------------------------------------

    def _evaluate(self, now: datetime) -> list[CrisisEvent]:
        events = self._expire(now)
        surge, surge_words = self._surge(now)
        if not surge and not self._incidents:
            return events
        subject = self._topics.dominant(now)
        about = self._topics.subject_mentions()
        if subject is None or about is None:
            return events
        incident = self._match(subject, about)
        if incident is None:
            if not surge or subject.negatives < self.config.min_negative_mentions:
                return events
            incident = self._open(now, subject)
        incident.subject = subject
        if subject.negatives >= self.config.min_negative_mentions:
            incident.last_active = now
        self._judge(incident, subject, about, surge, surge_words)
        event = self._event_for(incident, now)
        if event is not None:
            events.append(event)
        return events

    def _match(self, subject: Subject, about: SubjectMentions) -> _Incident | None:
        """The active incident about this subject: sharing its mentions or its terms."""
        for incident in self._incidents:
            if self._known(incident, about) >= self.config.match_overlap * subject.negatives:
                return incident
            if self._same(incident.subject, subject):
                return incident
        return None

    def _known(self, incident: _Incident, about: SubjectMentions) -> int:
        """How many of the subject's negative mentions are already the incident's."""
        first = about.negative.first
        epoch, position = incident.synced
        if epoch == about.epoch:
            return max(0, position - first)  # mentions since then are new to every incident
        if incident.known_epoch != about.epoch:
            incident.known_epoch = about.epoch
            incident.known_positions = deque(
                at
                for at, mention_id in enumerate(about.negative.since(first), start=first)
                if mention_id in incident.mention_ids
            )
        positions = incident.known_positions
        while positions and positions[0] < first:
            positions.popleft()
        return len(positions)

    def _same(self, known: Subject, subject: Subject) -> bool:
        """Is ``subject`` the one already known? One's leading term is in the other, or they share
        a good part of their terms (the leading term drifts as phrasings come and go)."""
        if subject.key in known.terms or known.key in subject.terms:
            return True
        shared = len(subject.terms & known.terms)
        least = math.ceil(self.config.same_overlap * min(len(subject.terms), len(known.terms)))
        return shared >= max(self.config.same_min_terms, least)

    def _open(self, now: datetime, subject: Subject) -> _Incident:
        self._opened += 1
        key = f"{now:%Y%m%dT%H%M}-{self._opened}"
        incident = _Incident(key=key, last_active=now, subject=subject)
        self._incidents.append(incident)
        return incident

    def _judge(
        self, incident: _Incident, subject: Subject, about: SubjectMentions, surge: bool, surge_words: str
    ) -> None:
        """Check the four criteria on the subject's mentions in the window; met criteria stay met."""
        c = self.config
        negatives = about.negative
        epoch, position = incident.synced
        fresh = list(negatives.since(position if epoch == about.epoch else 0))
        for mention_id in fresh:
            incident.mention_ids.setdefault(mention_id, None)
        self._topics.keep_out_of_background(fresh)
        incident.synced = (about.epoch, negatives.end)
        count = len(negatives)

        # The subject's own negative volume against what its terms usually draw.
        usual = subject.usual_share * self._expected_negatives(
            self._now or incident.last_active, c.topics.window_minutes
        )
        subject_sigmas = self._baseline.sigmas(count, usual)
        incident.volume = (count, usual)
        if (
            surge
            and count >= c.min_negative_mentions
            and subject.share >= c.sole_subject_share
            and subject.positive_fraction <= c.max_positive_share
            and subject_sigmas >= c.surge_sigmas
        ):
            self._meet(
                incident,
                "sole_subject",
                negatives,
                f"{subject.share:.0%} of {subject.negative_total} negative mentions in the last "
                f"{c.topics.window_minutes} min are about it (usually about {usual:.1f}); {surge_words}",
            )
        emotive = about.tagged("emotive", negative=True)
        viral = about.tagged("viral", negative=True)
        if len(emotive) >= c.emotive_mentions and len(emotive) >= c.emotive_share * count:
            self._meet(
                incident, "emotive", emotive, f"{len(emotive)} of {count} negative mentions highly emotive"
            )
        elif len(viral):
            top = max(self._seen[i].reposts for i in viral.since(0))
            self._meet(incident, "emotive", viral, f"a negative mention reposted {top} times")
        legal = about.tagged("legal", negative=False)
        if len(legal) >= c.legal_mentions and len(legal) >= c.legal_share * count:
            self._meet(incident, "legal", legal, f"{len(legal)} mentions in legal terms")
        media = about.tagged("media", negative=False)
        if len(media) >= c.media_mentions:
            self._meet(incident, "media", media, f"{len(media)} media mentions or news links")

    def _meet(self, incident: _Incident, criterion: str, ids: Fifo, words: str) -> None:
        incident.criteria.add(criterion)
        kept = incident.evidence.setdefault(criterion, [])
        for mention_id in ids.since(0):
            if len(kept) >= self.config.evidence_per_criterion:
                break
            if mention_id not in kept:
                kept.append(mention_id)
        incident.details[criterion] = words

    def _event_for(self, incident: _Incident, now: datetime) -> CrisisEvent | None:
        level = level_for(incident.criteria)
        if LEVELS.index(level) < LEVELS.index(incident.level):
            level = incident.level  # a level never falls during an episode
        evidence = tuple(len(incident.evidence.get(c, ())) for c in CRITERIA)
        state = (level, frozenset(incident.criteria), evidence)
        if incident.reported is None:
            kind: EventKind = "open"
        elif LEVELS.index(level) > LEVELS.index(incident.reported[0]):
            kind = "rise"
        elif (
            state != incident.reported
            or len(incident.mention_ids) >= self.config.update_growth * incident.reported_mentions
        ):
            # New criteria or evidence, or the episode has grown (by a fifth) since it was last told.
            kind = "update"
        else:
            return None
        incident.level = level
        incident.reported = state
        incident.reported_mentions = len(incident.mention_ids)
        return self._describe(incident, kind, now)

    def _describe(self, incident: _Incident, kind: EventKind, now: datetime) -> CrisisEvent:
        if kind != "quiet":
            incident.label = self._topics.label(incident.subject.terms)
            incident.samples = self._samples(incident)
            incident.why = say_why(
                posts=incident.volume[0],
                usual=incident.volume[1],
                minutes=self.config.topics.window_minutes,
                words=incident.label,
                episode=len(incident.mention_ids),
            )
        criteria = tuple(c for c in CRITERIA if c in incident.criteria)
        return CrisisEvent(
            kind=kind,
            incident_key=incident.key,
            level=incident.level,
            criteria=criteria,
            evidence={c: tuple(incident.evidence.get(c, ())) for c in criteria},
            details={c: incident.details[c] for c in criteria if c in incident.details},
            subject=incident.label,
            topic=incident.subject.key,
            mentions=len(incident.mention_ids),
            mention_ids=tuple(incident.mention_ids),
            at=now,
            why=incident.why,
            samples=incident.samples,
        )

    def _samples(self, incident: _Incident) -> tuple[str, ...]:
        """Posts to show: the most reposted of the evidence still in the window."""
        kept = {i: None for ids in incident.evidence.values() for i in ids if i in self._seen}
        ranked = sorted(kept, key=lambda i: -self._seen[i].reposts)
        return tuple(ranked[: self.config.sample_posts])

    def _expire(self, now: datetime) -> list[CrisisEvent]:
        """Forget mentions older than the window; end incidents that have gone quiet."""
        horizon = now - timedelta(minutes=max(self.config.topics.window_minutes, self.config.surge_minutes))
        while self._order and self._seen[self._order[0]].at < horizon:
            del self._seen[self._order.popleft()]
        self._topics.expire(now)
        events: list[CrisisEvent] = []
        quiet_after = timedelta(minutes=self.config.quiet_minutes)
        for incident in list(self._incidents):
            if now - incident.last_active >= quiet_after:
                self._incidents.remove(incident)
                events.append(self._describe(incident, "quiet", now))
        return events


def say_why(*, posts: int, usual: float, minutes: int, words: str, episode: int) -> str:
    """The evidence in one sentence: how many posts against how many usual, and what about.

    >>> say_why(posts=64, usual=1.2, minutes=60, words="letters", episode=90)  # doctest: +ELLIPSIS
    '64 negative posts in the last 60 min about letters, where about 1 is usual at this time (90 in...'
    """
    usual_words = (
        f"about {usual:.0f} {'is' if round(usual) == 1 else 'are'} usual"
        if usual >= 0.5
        else "almost none are usual"
    )
    return (
        f"{posts} negative post{'s' if posts != 1 else ''} in the last {minutes} min about {words}, "
        f"where {usual_words} at this time ({episode} in the episode so far)."
    )


def _floor(at: datetime, step: timedelta) -> datetime:
    origin = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return origin + ((at - origin) // step) * step


__all__ = [
    "CRITERIA",
    "LEVELS",
    "CrisisConfig",
    "CrisisEvent",
    "CrisisMonitor",
    "ObservedMention",
    "level_for",
    "say_why",
]
