"""What mentions are about: normalised key terms per mention, and the subject that dominates a window.

People write about one subject in many ways: "Brambleford surgery", "my GP srugery", "our GP
practise", "#databreach", a link to the local paper. Two layers cope with that:

- :func:`terms` turns one mention into normalised terms, cheaply and without state: words
  lower-cased, possessives and plurals folded, stop words dropped, common typos folded (a word's
  key ignores doubled letters and the order of its inner letters, so "srugery", "surgery" and
  "suregry" share one key), adjacent word pairs, hashtags as words, and linked pages (domain and
  path, plus the words of the page's slug). Emoji, mentions of accounts and numbers are dropped.
- :class:`TopicTracker` keeps a sliding window of mentions and a slowly decaying background of
  what negative mentions are usually about. The dominant subject of the window's negative
  mentions grows from the term that is both frequent in the window and unusual against the
  background (so "waiting" on a health service's account does not count as news), then takes in
  the terms that mostly appear in the same mentions. So
  different phrasings join one subject through the words they share with the others, and a
  spread-out rise about many things has no dominant subject.

:func:`topic_of` gives one cheap key per mention for filing and display: the linked page, else
the first hashtag, else the first pair of content words.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

# Function words: grammar, not subjects. (Domain words such as "nhs" need no list: the tracker
# measures every term against the background, and a word that is always there never stands out.)
STOPWORDS = frozenset(
    """
    a about above after again against all almost along already also although always am among an and
    another any anybody anyone anything anyway are aren't around as at away back be became because become
    been before being below beside best better between both but by can can't cannot could couldn't did
    didn't do does doesn't doing don't done down during each either else enough even ever every
    everybody everyone everything far few for from further get gets getting go goes going gone got
    gotten had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
    himself his how how's however i i'd i'll i'm i've if im in into is isn't it it's its itself just
    let let's like lot lots made make makes many may maybe me might more most much must mustn't my
    myself near need needs neither never next no nobody none nor not nothing now of off often oh ok okay
    on once one only onto or other others otherwise our ours ourselves out over own per please quite
    rather really right said same say says see seem seems shall shan't she she'd she'll she's should
    shouldn't since so some somebody someone something sometimes soon still such sure take than that
    that's the their theirs them themselves then there there's these they they'd they'll they're
    they've thing things this those though through thru till to today too toward towards under until
    up upon us use used very via want was wasn't way we we'd we'll we're we've well went were weren't
    what what's whatever when when's where where's whether which while who who's whoever whole whom
    whose why why's will with within without won't would wouldn't yeah yes yet you you'd you'll you're
    you've your yours yourself yourselves
    """.split()
)
# Plurals the suffix rules get wrong.
_IRREGULAR = {"children": "child", "people": "person", "women": "woman", "men": "man", "feet": "foot"}
_KEPT_NUMBERS = frozenset({"111", "999"})  # NHS 111 and 999 are services, not quantities
_SOCIAL_HOSTS = frozenset({"t.co", "twitter.com", "x.com", "facebook.com", "fb.me", "bit.ly", "ow.ly"})

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_TOKEN = re.compile(r"[#@]?[^\W_][\w&'\u2019-]*")
_CLAUSE = re.compile(r"[.!?,;:()\[\]\"\n|/]+")
_REPEAT = re.compile(r"(.)\1+")
_SLUG_SPLIT = re.compile(r"[-_+.]+")


@lru_cache(maxsize=65_536)
def fold_word(word: str) -> str | None:
    """The key of one word: lower case, no possessive, singular, typo-folded; None for a stop word."""
    word = word.lower().replace("\u2019", "'").strip("'-")
    if word.endswith("'s"):
        word = word[:-2]
    if not word or word in STOPWORDS:
        return None
    if word.isdigit():
        return word if word in _KEPT_NUMBERS else None
    if any(ch.isdigit() for ch in word):
        return None  # "2pm", "14hrs": quantities, not subjects
    word = _singular(word)
    if len(word) < 2 or word in STOPWORDS:
        return None
    collapsed = _REPEAT.sub(r"\1", word)
    if collapsed in STOPWORDS:
        return None
    if len(collapsed) < 5:
        return collapsed
    # First letter kept, inner letters sorted: transpositions and doubled letters fold together.
    return collapsed[0] + "".join(sorted(collapsed[1:]))


def _singular(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("wives"):
        return word[:-3] + "fe"
    if word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    if len(word) == 3 and word.endswith("s") and word[:2] in {"gp", "op"}:
        return word[:2]  # "GPs", "ops"
    return word


@dataclass(frozen=True, slots=True)
class MentionTerms:
    """The normalised terms of one mention and a readable form of each."""

    terms: frozenset[str]
    surface: dict[str, str]
    hashtags: tuple[str, ...]
    link: str | None


@lru_cache(maxsize=8_192)
def analyse(text: str, url: str | None = None) -> MentionTerms:
    """Terms of a mention: word keys, adjacent pairs ("w1 w2"), hashtags as words, linked pages.

    Cached: ingest files each mention under :func:`topic_of` and the crisis job, moments later,
    reads its terms again. The result is shared, so callers must not change it."""
    text = unicodedata.normalize("NFKC", text or "")
    found: set[str] = set()
    surface: dict[str, str] = {}
    hashtags: list[str] = []
    links = [u for u in [url, *_URL.findall(text)] if u]
    link = None
    for candidate in links:
        key, words = _link_terms(candidate)
        if key is None:
            continue
        link = link or key
        found.add(key)
        surface.setdefault(key, key[len("link:") :])
        for w in words:
            folded = fold_word(w)
            if folded:
                found.add(folded)
                surface.setdefault(folded, w.lower())
    for clause in _CLAUSE.split(_URL.sub(" . ", text)):
        previous: tuple[str, str] | None = None
        for match in _TOKEN.finditer(clause):
            token = match.group(0).rstrip("&'\u2019-")
            if token.startswith("@"):
                previous = None
                continue
            if token.startswith("#"):
                token = token[1:]
                hashtags.append(token.lower())
            folded = fold_word(token)
            if folded is None:
                previous = None
                continue
            found.add(folded)
            surface.setdefault(folded, token.lower())
            if previous is not None:
                pair = f"{previous[0]} {folded}"
                found.add(pair)
                surface.setdefault(pair, f"{previous[1]} {token.lower()}")
            previous = (folded, token.lower())
    return MentionTerms(frozenset(found), surface, tuple(hashtags), link)


def terms(text: str, url: str | None = None) -> frozenset[str]:
    return analyse(text, url).terms


def topic_of(text: str, url: str | None = None) -> str | None:
    """One cheap topic key: the linked page, else the first hashtag, else the first word pair."""
    found = analyse(text, url)
    if found.link:
        return found.link
    if found.hashtags:
        return "#" + found.hashtags[0]
    pairs = [found.surface[t] for t in found.terms if " " in t]
    if pairs:
        # The first pair in reading order.
        lowered = (text or "").lower()
        return min(pairs, key=lambda p: (lowered.find(p.split(" ")[0]), p))
    return None


def _link_terms(url: str) -> tuple[str | None, list[str]]:
    try:
        parts = urlsplit(url if "://" in url else "https://" + url)
    except ValueError:
        return None, []
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host or host in _SOCIAL_HOSTS:
        return None, []
    path = parts.path.rstrip("/")
    words: list[str] = []
    for segment in path.split("/"):
        pieces = [p for p in _SLUG_SPLIT.split(segment) if p]
        if len(pieces) >= 2:  # a slug ("gp-letters-sent-to-wrong-homes"), not a section name
            words.extend(p for p in pieces if not p.isdigit())
    return f"link:{host}{path}", words


# --------------------------------------------------------------------------------------------


class TopicConfig(BaseModel):
    """How the tracker finds a window's dominant subject."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_minutes: int = Field(default=60, gt=0, description="Mentions this recent make up the window.")
    background_half_life_days: float = Field(
        default=7.0, gt=0, description="Memory of what negative mentions are usually about."
    )
    background_prior: float = Field(
        default=50.0,
        gt=0,
        description="Pseudo-mentions in the background, so a new tracker is not surprised.",
    )
    min_mentions: int = Field(
        default=5, ge=1, description="Fewest negative mentions carrying a term before it can lead a subject."
    )
    min_lift: float = Field(
        default=4.0, gt=1, description="A subject term is at least this many times more frequent than usual."
    )
    join_overlap: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="A term joins the subject when this share of its mentions are already on the subject.",
    )
    max_terms: int = Field(default=25, ge=1, description="Most terms a subject holds.")
    recluster_seconds: int = Field(
        default=30,
        ge=0,
        description=(
            "While a subject is known its terms are found again at most this often (a running story "
            "does not change its words by the second; its counts are always fresh)."
        ),
    )
    recluster_share: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description=(
            "... and only once this share of the window's negative mentions has come or gone since "
            "(finding the terms walks the window: in a burst this keeps its cost per mention flat)."
        ),
    )


@dataclass(frozen=True, slots=True)
class Subject:
    key: str  # the leading term (stable while the subject lasts)
    terms: frozenset[str]
    negatives: int  # negative mentions in the window about the subject
    negative_total: int  # negative mentions in the window
    mentions: int  # mentions of any sentiment in the window about the subject
    positive: int  # positive mentions in the window about the subject
    usual_share: float  # share of negative mentions usually carrying its terms (an upper bound)

    @property
    def share(self) -> float:
        """Share of the window's negative mentions that are about this subject."""
        return self.negatives / self.negative_total if self.negative_total else 0.0

    @property
    def positive_fraction(self) -> float:
        """Share of the subject's mentions that are positive."""
        return self.positive / self.mentions if self.mentions else 0.0


@dataclass(slots=True)
class _Item:
    id: str
    at: datetime
    terms: frozenset[str]
    negative: bool
    positive: bool
    tags: frozenset[str]


class Fifo:
    """Mention ids in window order: appended at the end, expired from the front. Each id has a
    position that never changes while the list lives, so a reader can resume where it stopped."""

    __slots__ = ("_ids", "_head", "_base")

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._head = 0  # ids before this index have left
        self._base = 0  # position of _ids[0]

    def __len__(self) -> int:
        return len(self._ids) - self._head

    def append(self, mention_id: str) -> None:
        self._ids.append(mention_id)

    def popleft(self) -> None:
        self._head += 1
        if self._head > 1024 and self._head * 2 > len(self._ids):
            del self._ids[: self._head]
            self._base += self._head
            self._head = 0

    @property
    def first(self) -> int:
        """Position of the oldest id still in."""
        return self._base + self._head

    @property
    def end(self) -> int:
        """Position the next id will take."""
        return self._base + len(self._ids)

    def since(self, position: int) -> Iterator[str]:
        """Ids in window order from ``position`` (or the oldest still in, if later)."""
        start = max(position, self.first) - self._base
        for index in range(start, len(self._ids)):
            yield self._ids[index]


class SubjectMentions:
    """Running counts of the window's mentions about one set of subject terms.

    Kept up to date as mentions enter and leave the window, so asking about the subject costs
    the same whatever the window holds. ``tagged`` counts the subject's negative mentions and
    its mentions that are not positive, per tag the caller gave them (emotive, legal, ...).
    """

    __slots__ = (
        "terms",
        "epoch",
        "negative",
        "mentions",
        "positive",
        "tagged_negative",
        "tagged_not_positive",
    )

    def __init__(self, terms: frozenset[str], epoch: int) -> None:
        self.terms = terms
        self.epoch = epoch  # changes whenever the subject's terms do
        self.negative = Fifo()
        self.mentions = 0
        self.positive = 0
        self.tagged_negative: dict[str, Fifo] = {}
        self.tagged_not_positive: dict[str, Fifo] = {}

    def tagged(self, tag: str, *, negative: bool) -> Fifo:
        table = self.tagged_negative if negative else self.tagged_not_positive
        found = table.get(tag)
        if found is None:
            found = table[tag] = Fifo()
        return found

    def enter(self, item: _Item) -> None:
        if not item.terms & self.terms:
            return
        self.mentions += 1
        if item.positive:
            self.positive += 1
        else:
            for tag in item.tags:
                self.tagged(tag, negative=False).append(item.id)
        if item.negative:
            self.negative.append(item.id)
            for tag in item.tags:
                self.tagged(tag, negative=True).append(item.id)

    def leave(self, item: _Item) -> None:
        """``item`` is the oldest mention in the window."""
        if not item.terms & self.terms:
            return
        self.mentions -= 1
        if item.positive:
            self.positive -= 1
        else:
            for tag in item.tags:
                self.tagged_not_positive[tag].popleft()
        if item.negative:
            self.negative.popleft()
            for tag in item.tags:
                self.tagged_negative[tag].popleft()


class TopicTracker:
    """Sliding window of mentions plus a decaying background; finds the dominant negative subject."""

    def __init__(self, config: TopicConfig | None = None) -> None:
        self.config = config or TopicConfig()
        self._window: deque[_Item] = deque()
        self._negative_count = 0  # negative mentions in the window
        self._negative_df: Counter[str] = Counter()  # negative window mentions carrying each term
        self._surface: dict[str, Counter[str]] = {}
        self._background: dict[str, float] = {}
        self._background_total = 0.0
        self._origin: datetime | None = None  # background weights grow from here (lazy decay)
        self._weight_now = 1.0  # weight of a mention moved to the background now
        self._episodic: set[str] = set()  # mentions of an episode: kept out of the background
        self._version = 0  # changes whenever the window's negative mentions do
        self._cluster: tuple[int, datetime, tuple[str, frozenset[str]] | None] | None = None
        self._recluster_after = timedelta(seconds=self.config.recluster_seconds)
        self._subject: SubjectMentions | None = None  # running counts for the current subject's terms
        self._epochs = 0

    def add(
        self,
        mention_id: str,
        at: datetime,
        found: MentionTerms | Iterable[str],
        negative: bool,
        *,
        positive: bool = False,
        tags: Iterable[str] = (),
    ) -> None:
        """Add a mention to the window (mentions come in time order). ``tags`` name what else
        the caller wants counted about the subject's mentions (see :meth:`subject_mentions`)."""
        if isinstance(found, MentionTerms):
            keys = found.terms
            for key, text in found.surface.items():
                self._surface.setdefault(key, Counter())[text] += 1
        else:
            keys = frozenset(found)
        self.expire(at)
        item = _Item(mention_id, at, keys, negative, positive and not negative, frozenset(tags))
        self._window.append(item)
        if negative:
            self._negative_count += 1
            self._negative_df.update(keys)
            self._version += 1
        if self._subject is not None:
            self._subject.enter(item)

    def keep_out_of_background(self, mention_ids: Iterable[str]) -> None:
        """Mentions of an episode (a crisis, say) must not teach what is usual, or the same story
        coming back next week would not stand out."""
        self._episodic.update(mention_ids)

    def expire(self, now: datetime) -> None:
        """Move negative mentions older than the window into the background."""
        horizon = now - timedelta(minutes=self.config.window_minutes)
        while self._window and self._window[0].at < horizon:
            item = self._window.popleft()
            if self._subject is not None:
                self._subject.leave(item)
            episodic = item.id in self._episodic
            self._episodic.discard(item.id)
            if item.negative:
                self._version += 1
                self._negative_count -= 1
                self._negative_df.subtract(item.terms)
                for key in item.terms:
                    if self._negative_df[key] <= 0:
                        del self._negative_df[key]
                # What negative mentions are usually about: comparing with all mentions would
                # make the vocabulary of complaint ("waiting", "hours") look like a subject.
                if not episodic:
                    self._learn_background(item)

    def negatives(self) -> list[str]:
        return [item.id for item in self._window if item.negative]

    def dominant(self, now: datetime) -> Subject | None:
        """The subject most of the window's negative mentions are about, if any stands out."""
        self.expire(now)
        total = self._negative_count
        if total < self.config.min_mentions:
            return None
        # The subject's terms depend only on the negative mentions: find them again when those
        # have changed, at most every ``recluster_seconds`` while a subject is known (counts
        # below are always fresh).
        if self._cluster is None or (
            self._cluster[0] != self._version
            and (
                self._cluster[2] is None
                or (
                    now - self._cluster[1] >= self._recluster_after
                    and self._version - self._cluster[0] >= self.config.recluster_share * total
                )
            )
        ):
            self._cluster = (self._version, now, self._find_cluster())
        found = self._cluster[2]
        if found is None:
            return None
        seed, members = found
        about = self._follow(members)
        return Subject(
            key=seed,
            terms=members,
            negatives=len(about.negative),
            negative_total=total,
            mentions=about.mentions,
            positive=about.positive,
            usual_share=min(1.0, sum(self._usual(key) for key in members)),
        )

    def subject_mentions(self) -> SubjectMentions | None:
        """Running counts for the subject :meth:`dominant` last returned (None before one)."""
        return self._subject

    def subject_ids(self) -> tuple[str, ...]:
        """The negative mentions about the subject :meth:`dominant` last returned."""
        return tuple(self._subject.negative.since(0)) if self._subject else ()

    def surface(self, key: str) -> str:
        forms = self._surface.get(key)
        return forms.most_common(1)[0][0] if forms else key

    # -- internals ---------------------------------------------------------------------------

    def _follow(self, members: frozenset[str]) -> SubjectMentions:
        """The running counts for ``members``, counted afresh over the window when they change."""
        if self._subject is None or self._subject.terms != members:
            self._epochs += 1
            subject = SubjectMentions(members, self._epochs)
            for item in self._window:
                subject.enter(item)
            self._subject = subject
        return self._subject

    def _find_cluster(self) -> tuple[str, frozenset[str]] | None:
        total = self._negative_count
        lifts = {
            key: lift
            for key, count in self._negative_df.items()
            if count >= 2 and (lift := self._lift(key, count, total)) >= self.config.min_lift
        }
        seeds = [k for k in lifts if self._negative_df[k] >= self.config.min_mentions]
        if not seeds:
            return None
        seed = max(seeds, key=lambda k: (self._negative_df[k] * math.log(lifts[k]), k))
        negatives = [item for item in self._window if item.negative]
        return seed, frozenset(self._grow(seed, lifts, negatives))

    def _grow(self, seed: str, lifts: dict[str, float], negatives: list[_Item]) -> set[str]:
        """Add terms whose negative mentions mostly already belong to the subject."""
        postings: dict[str, list[int]] = {key: [] for key in lifts}
        lifted: list[frozenset[str] | set[str]] = []  # per mention, its terms that may join
        may_join = postings.keys()
        for index, item in enumerate(negatives):
            keys = item.terms & may_join
            for key in keys:
                postings[key].append(index)
            lifted.append(keys)
        members = {seed}
        covered: set[int] = set()
        inside: Counter[str] = Counter()  # per term, its mentions already on the subject

        def cover(indexes: list[int]) -> None:
            for index in indexes:
                if index not in covered:
                    covered.add(index)
                    inside.update(lifted[index])

        cover(postings[seed])
        candidates = sorted(lifts, key=lambda k: (-self._negative_df[k], k))
        changed = True
        while changed and len(members) < self.config.max_terms:
            changed = False
            for key in candidates:
                if key in members or len(members) >= self.config.max_terms:
                    continue
                carrying = postings[key]
                if inside[key] >= 2 and inside[key] / len(carrying) >= self.config.join_overlap:
                    members.add(key)
                    cover(carrying)
                    changed = True
        return members

    def _usual(self, key: str) -> float:
        """Background share of negative mentions carrying ``key`` (smoothed)."""
        scale = self._weight_now or 1.0
        seen = self._background.get(key, 0.0) / scale
        return (seen + 0.5) / (self._background_total / scale + self.config.background_prior)

    def _lift(self, key: str, count: int, total: int) -> float:
        return (count / total) / self._usual(key)

    def label(self, members: frozenset[str]) -> str:
        """Readable subject: its most frequent terms now, e.g. "brambleford surgery, letters, data breach"."""
        ranked = sorted(members, key=lambda k: (-self._negative_df[k], -len(k.split(" ")), k))
        shown: list[str] = []
        for key in ranked:
            if key.startswith("link:"):
                continue
            text = self.surface(key)
            # A pair already says what its words say.
            if any(text in s.split(" ") or text == s for s in shown):
                continue
            shown = [s for s in shown if s not in text.split(" ")]
            shown.append(text)
            if len(shown) == 3:
                break
        return ", ".join(shown) if shown else self.surface(next(iter(members)))

    def _learn_background(self, item: _Item) -> None:
        if self._origin is None:
            self._origin = item.at
        half_life = self.config.background_half_life_days * 86_400
        weight = 2.0 ** ((item.at - self._origin).total_seconds() / half_life)
        if weight > 1e12:  # rescale so weights stay finite in a long-running worker
            self._background = {k: v / weight for k, v in self._background.items() if v / weight > 1e-6}
            self._background_total /= weight
            self._origin = item.at
            weight = 1.0
        self._weight_now = weight
        for key in item.terms:
            self._background[key] = self._background.get(key, 0.0) + weight
        self._background_total += weight
