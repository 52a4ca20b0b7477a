"""Policy 7.2 crisis criteria over a stream of scored mentions: each criterion, the level rule,
the decoys that must stay at watch, and one incident per episode."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import pytest

from triage.crisis import CrisisConfig, CrisisEvent, CrisisMonitor, ObservedMention, level_for
from triage.model import Score

T0 = datetime(2026, 3, 2, 0, 0)

EVERYDAY_NEGATIVE = [
    "Waited two hours for the ambulance, not good enough",
    "Pharmacy has run out of my prescription again",
    "Could not get through to 111, on hold for ages",
    "Receptionist at the surgery was rude to my mum",
    "Parking at the hospital costs a fortune",
    "Blood test clinic fully booked for weeks",
    "Still waiting for a dentist, no NHS places anywhere",
    "No update on my scan results after three weeks",
]
EVERYDAY_POSITIVE = [
    "The paramedics were brilliant, thank you",
    "Lovely nurse at the walk-in centre today",
    "Quick and kind service from the crew",
    "Thank you to the district nurses for looking after dad",
]
SUBJECT = [
    "Brambleford surgery sent my letter to the wrong address",
    "my GP srugery posted my test results to a stranger",
    "BRAMBLEFORD SURGERY SHARING EVERYONE'S RECORDS",
    "Our GP practtice sent letters to the wrong houses",
    "Got someone else's letter from the Brambleford practice today",
    "Wrong address again from brambleford surgery, who has my records?",
]
LABELS = {"negative": -0.6, "neutral": 0.0, "positive": 0.6}


class Stream:
    """Builds mentions with increasing ids; every mention's score is set explicitly."""

    def __init__(self) -> None:
        self.n = 0

    def make(
        self,
        at: datetime,
        text: str,
        label: str = "negative",
        *,
        emotive: float = 0.2,
        legal: Sequence[str] = (),
        media: bool = False,
        reposts: int = 0,
        handle: str = "someone",
    ) -> ObservedMention:
        self.n += 1
        score = Score(
            compound=LABELS[label],
            pos=0.0,
            neg=0.0,
            neu=1.0,
            label=label,
            emotive=emotive,
            legal_terms=list(legal),
            media=media,
        )
        return ObservedMention(
            id=f"m{self.n}", created_at=at, text=text, score=score, author_handle=handle, reposts=reposts
        )

    def everyday(self, start: datetime, hours: float, every_minutes: int = 10) -> list[ObservedMention]:
        """Ordinary traffic: four in ten negative, about many different things."""
        out = []
        for i in range(int(hours * 60 / every_minutes)):
            at = start + timedelta(minutes=every_minutes * i)
            if i % 5 < 2:
                out.append(self.make(at, EVERYDAY_NEGATIVE[i % len(EVERYDAY_NEGATIVE)]))
            else:
                out.append(self.make(at, EVERYDAY_POSITIVE[i % len(EVERYDAY_POSITIVE)], "positive"))
        return out

    def burst(
        self, start: datetime, count: int, texts: Sequence[str] = SUBJECT, every_seconds: int = 20, **kw
    ) -> list[ObservedMention]:
        return [
            self.make(start + timedelta(seconds=every_seconds * i), texts[i % len(texts)], **kw)
            for i in range(count)
        ]


def feed(monitor: CrisisMonitor, mentions: Iterable[ObservedMention]) -> list[CrisisEvent]:
    events: list[CrisisEvent] = []
    for m in sorted(mentions, key=lambda m: m.created_at):
        events.extend(monitor.observe(m))
    return events


def history(stream: Stream, days: int = 2) -> tuple[list[ObservedMention], datetime]:
    """A couple of ordinary days, so the monitor knows the usual volume and subjects."""
    return stream.everyday(T0, 24 * days), T0 + timedelta(days=days, hours=14)


def top_level(events: Sequence[CrisisEvent]) -> str | None:
    order = ["watch", "alert", "crisis"]
    levels = [e.level for e in events if e.kind != "quiet"]
    return max(levels, key=order.index) if levels else None


def keys(events: Sequence[CrisisEvent]) -> set[str]:
    return {e.incident_key for e in events}


@pytest.mark.parametrize(
    ("criteria", "level"),
    [
        ((), "watch"),
        (("emotive", "legal", "media"), "watch"),  # without sole_subject nothing goes above watch
        (("sole_subject",), "watch"),
        (("sole_subject", "emotive"), "alert"),
        (("sole_subject", "legal"), "alert"),
        (("sole_subject", "media"), "alert"),
        (("sole_subject", "emotive", "legal"), "crisis"),
        (("sole_subject", "legal", "media"), "crisis"),
        (("sole_subject", "emotive", "legal", "media"), "crisis"),
    ],
)
def test_level_rule(criteria: tuple[str, ...], level: str) -> None:
    assert level_for(criteria) == level


def run_burst(**kw) -> list[CrisisEvent]:
    stream = Stream()
    before, start = history(stream)
    crisis = stream.burst(start, 60, **kw)
    after = stream.everyday(start + timedelta(minutes=1), 2)
    return feed(CrisisMonitor(), [*before, *crisis, *after])


def test_a_surge_about_one_subject_meets_sole_subject_and_stays_at_watch() -> None:
    events = run_burst()
    assert events and events[0].kind == "open"
    assert len(keys(events)) == 1
    last = [e for e in events if e.kind != "quiet"][-1]
    assert last.criteria == ("sole_subject",)
    assert top_level(events) == "watch"
    assert "brambleford" in last.subject or "surgery" in last.subject
    assert len(last.evidence["sole_subject"]) >= 8
    assert "negative mentions" in last.details["sole_subject"]


def test_highly_emotive_mentions_make_it_an_alert() -> None:
    events = run_burst(emotive=0.8)
    alert = next(e for e in events if e.level == "alert")
    assert alert.criteria == ("sole_subject", "emotive")
    assert set(alert.evidence["emotive"]) <= set(alert.mention_ids)


def test_legal_language_and_the_media_make_it_a_crisis() -> None:
    stream = Stream()
    before, start = history(stream)
    crisis = stream.burst(start, 40)
    crisis += stream.burst(start + timedelta(seconds=10), 8, legal=["solicitor"], every_seconds=60)
    crisis += stream.burst(
        start + timedelta(minutes=5),
        3,
        texts=["GP letters sent to wrong addresses, Brambleford surgery"],
        label="neutral",
        media=True,
        handle="CovTelegraph",
        every_seconds=120,
    )
    events = feed(CrisisMonitor(), [*before, *crisis])
    assert top_level(events) == "crisis"
    final = [e for e in events if e.kind != "quiet"][-1]
    assert final.criteria == ("sole_subject", "legal", "media")
    assert len(final.evidence["media"]) == 3
    assert len(keys(events)) == 1


def test_one_widely_reposted_angry_mention_counts_as_reputational_risk() -> None:
    stream = Stream()
    before, start = history(stream)
    crisis = stream.burst(start, 30)
    crisis.append(stream.make(start + timedelta(minutes=2), SUBJECT[0], reposts=5000))
    events = feed(CrisisMonitor(), [*before, *crisis])
    final = [e for e in events if e.kind != "quiet"][-1]
    assert final.criteria == ("sole_subject", "emotive")
    assert "reposted 5000 times" in final.details["emotive"]


def test_the_level_rises_as_criteria_arrive() -> None:
    stream = Stream()
    before, start = history(stream)
    crisis = stream.burst(start, 20) + stream.burst(start + timedelta(minutes=7), 40, emotive=0.9)
    events = feed(CrisisMonitor(), [*before, *crisis])
    kinds = [(e.kind, e.level) for e in events]
    assert kinds[0] == ("open", "watch")
    assert ("rise", "alert") in kinds
    assert len(keys(events)) == 1


def test_decoy_a_wave_of_praise_with_friendly_press_stays_at_watch() -> None:
    stream = Stream()
    before, start = history(stream)
    praise = ["Brilliant vaccine clinic at the arena", "Thank you arena vaccination team, so quick"]
    wave = stream.burst(start, 80, texts=praise, label="positive", emotive=0.6, every_seconds=15)
    wave += stream.burst(start, 10, texts=["Arena vaccine clinic queue was far too long"], every_seconds=90)
    wave += stream.burst(
        start,
        3,
        texts=["Arena vaccination clinic praised by families"],
        label="positive",
        media=True,
        every_seconds=300,
    )
    events = feed(CrisisMonitor(), [*before, *wave])
    assert top_level(events) in (None, "watch")
    assert all("sole_subject" not in e.criteria for e in events)


def test_decoy_a_spread_out_rise_about_many_things_stays_at_watch() -> None:
    stream = Stream()
    before, start = history(stream)
    grumbles = stream.burst(start, 90, texts=EVERYDAY_NEGATIVE, every_seconds=120, emotive=0.7)
    events = feed(CrisisMonitor(), [*before, *grumbles])
    assert top_level(events) in (None, "watch")


def test_decoy_one_viral_angry_post_without_a_surge_opens_nothing() -> None:
    stream = Stream()
    before, start = history(stream)
    post = stream.make(
        start, "My nan waited 14 hours on a chair in A&E. Disgusting", emotive=0.9, reposts=6000
    )
    replies = stream.burst(
        start + timedelta(minutes=5), 4, texts=["That is awful about your nan"], every_seconds=600
    )
    events = feed(CrisisMonitor(), [*before, post, *replies])
    assert top_level(events) in (None, "watch")


def test_one_incident_per_episode_then_a_new_one_after_it_goes_quiet() -> None:
    stream = Stream()
    before, start = history(stream)
    # Three hours of the same story, told in waves with lulls between them.
    episode = []
    for wave in range(4):
        episode += stream.burst(start + timedelta(minutes=50 * wave), 25, emotive=0.8)
    later = start + timedelta(hours=12)
    second = stream.burst(later, 40, emotive=0.8)
    monitor = CrisisMonitor()
    first_events = feed(monitor, [*before, *episode, *stream.everyday(start + timedelta(hours=3), 8)])
    assert len(keys(first_events)) == 1
    assert any(e.kind == "quiet" for e in first_events)
    assert monitor.active_incidents() == []
    second_events = feed(monitor, second)
    assert len(keys(second_events)) == 1
    assert keys(second_events) != keys(first_events)


def test_tick_lets_an_incident_go_quiet() -> None:
    stream = Stream()
    before, start = history(stream)
    monitor = CrisisMonitor(CrisisConfig(quiet_minutes=60))
    events = feed(monitor, [*before, *stream.burst(start, 40)])
    assert monitor.active_incidents()
    assert monitor.tick(start + timedelta(minutes=30)) == []
    quiet = monitor.tick(start + timedelta(hours=3))
    assert [e.kind for e in quiet] == ["quiet"]
    assert quiet[0].incident_key == events[0].incident_key


def test_a_repeated_delivery_is_ignored() -> None:
    stream = Stream()
    before, start = history(stream)
    burst = stream.burst(start, 40)
    monitor = CrisisMonitor()
    events = feed(monitor, [*before, *burst])
    assert monitor.observe(burst[-1]) == []
    assert events[-1].mentions <= 40


def test_the_monitor_is_deterministic() -> None:
    def run() -> list[CrisisEvent]:
        stream = Stream()
        before, start = history(stream, days=1)
        return feed(CrisisMonitor(), [*before, *stream.burst(start, 40, emotive=0.8)])

    assert run() == run()


def test_config_defaults_are_documented_and_strict() -> None:
    for name, field in CrisisConfig.model_fields.items():
        if name not in ("topics", "negative_volume"):
            assert field.description, name
    with pytest.raises(ValueError):
        CrisisConfig(sole_subject_share=1.5)
    with pytest.raises(ValueError):
        CrisisConfig(no_such_threshold=1)
    assert CrisisConfig.model_validate({"topics": {"window_minutes": 30}}).topics.window_minutes == 30


# -- each decision constant, pinned: moved far enough to change a decision, one of these fails ----

FIRST_WAVE = [
    "Brambleford surgery sent my letter to the wrong address, records exposed",
    "Brambleford practice posted test results to a stranger",
    "brambleford surgery leaked my medical letter to the wrong house",
    "Got someone else's records from Brambleford, wrong address again",
    "Brambleford letters going to strangers, medical records everywhere",
]
# The same story told again after a lull, in other words: the regulator, not the surgery.
RETOLD = [
    "The ICO says medical records were sent to the wrong address",
    "ICO investigation: letters with test results went to strangers",
    "ICO told about medical letter sent to the wrong house",
    "Complained to the ICO, my records went to a stranger",
    "ICO looking at letters sent to strangers with records",
]
# The story moving on: a few posts tie the surgery to the inquiry, then the inquiry alone.
BRIDGE = [
    "Brambleford surgery letters: ICO investigation announced over the breach",
    "ICO investigation into Brambleford surgery letters breach",
]
INQUIRY = [
    "ICO investigation announced, watchdog demands answers over breach",
    "Watchdog investigation: breach inquiry demands answers",
    "ICO breach investigation, watchdog inquiry announced",
]


def test_a_story_retold_in_other_words_after_a_lull_stays_one_incident() -> None:
    """``same_overlap``: the retelling shares about a third of the story's terms but not its
    leading word, and none of its mentions (the first wave has left the window)."""
    stream = Stream()
    before, start = history(stream)
    first = stream.burst(start, 40, texts=FIRST_WAVE)
    again = stream.burst(start + timedelta(minutes=95), 40, texts=RETOLD)
    events = feed(CrisisMonitor(), [*before, *first, *again])
    assert len(keys(events)) == 1
    assert not any(e.kind == "quiet" for e in events)


def test_a_story_whose_words_move_on_stays_one_incident_by_its_mentions() -> None:
    """``match_overlap``: when the inquiry becomes the leading subject, only some of its
    negative mentions (the bridging posts) are the incident's already."""
    stream = Stream()
    before, start = history(stream)
    story = stream.burst(start, 30, texts=FIRST_WAVE)
    story += stream.burst(start + timedelta(minutes=10), 10, texts=BRIDGE)
    story += stream.burst(start + timedelta(minutes=20), 60, texts=INQUIRY)
    events = feed(CrisisMonitor(), [*before, *story])
    assert len(keys(events)) == 1


def test_the_leads_hear_when_an_episode_keeps_growing() -> None:
    """``update_growth``: once the evidence lists are full, growth alone brings an update."""
    stream = Stream()
    before, start = history(stream)
    events = feed(CrisisMonitor(), [*before, *stream.burst(start, 120)])
    told = [e for e in events if e.kind != "quiet"]
    assert told[-1].mentions >= 100  # of 120: told again as it grew, not only while evidence came in
    assert len(told[-1].evidence["sole_subject"]) == 25


def test_ten_angry_posts_at_night_about_one_subject_open_an_incident() -> None:
    """``min_negative_mentions``: a quiet hour makes a handful of posts a surge; ten of them in
    five minutes about one subject is enough to watch (fewer than eight never is)."""
    stream = Stream()
    before = [m for m in stream.everyday(T0, 48) if 7 <= m.created_at.hour < 22]
    night = stream.burst(T0 + timedelta(days=2, hours=3), 10, every_seconds=30)
    events = feed(CrisisMonitor(), [*before, *night])
    assert [e.kind for e in events] == ["open"]
    assert events[0].mentions == 10


def test_a_trickle_after_the_episode_lets_it_go_quiet() -> None:
    """``min_negative_mentions`` also says when the subject no longer stands out: four posts an
    hour about it after the episode do not keep the incident open."""
    stream = Stream()
    before, start = history(stream)
    episode = stream.burst(start, 40)
    trickle = stream.burst(start + timedelta(minutes=20), 24, every_seconds=900)
    everyday = stream.everyday(start + timedelta(minutes=1), 7)
    events = feed(CrisisMonitor(), [*before, *episode, *trickle, *everyday])
    quiet = [e for e in events if e.kind == "quiet"]
    assert len(keys(events)) == 1 and len(quiet) == 1
    # The subject last stood out about an hour in; quiet_minutes (3 h) later it is over, while
    # the trickle still goes on (it runs until 20:00).
    assert quiet[0].at < start + timedelta(hours=5)


def test_every_incident_says_why_in_a_sentence() -> None:
    stream = Stream()
    before, start = history(stream)
    burst = stream.burst(start, 40)
    burst.append(stream.make(start + timedelta(minutes=3), SUBJECT[0], reposts=400))
    events = feed(CrisisMonitor(), [*before, *burst])
    last = [e for e in events if e.kind != "quiet"][-1]
    assert last.why.startswith(f"{last.mentions} negative posts in the last 60 min about {last.subject}")
    assert "usual at this time" in last.why
    assert last.samples[0] == burst[-1].id  # the most reposted post is shown first
    assert len(last.samples) == 3 and set(last.samples) <= set(last.mention_ids)


def test_every_crisis_constant_is_listed_in_the_example_config() -> None:
    from pathlib import Path

    from triage.topics import TopicConfig

    example = (Path(__file__).resolve().parents[2] / "config" / "example.toml").read_text()
    names = [n for n in CrisisConfig.model_fields if n not in ("topics", "negative_volume")]
    assert [n for n in [*names, *TopicConfig.model_fields] if f"# {n} = " not in example] == []


def test_batches_find_the_same_episode_as_mention_by_mention() -> None:
    def mentions() -> list[ObservedMention]:
        stream = Stream()
        before, start = history(stream)
        crisis = stream.burst(start, 40, emotive=0.8, legal=["solicitor"])
        return sorted(
            [*before, *crisis, *stream.everyday(start + timedelta(minutes=1), 5)], key=lambda m: m.created_at
        )

    one_by_one = feed(CrisisMonitor(), mentions())
    monitor = CrisisMonitor()
    batched: list[CrisisEvent] = []
    everything = mentions()
    for i in range(0, len(everything), 25):  # what a crisis job reads per run
        batched.extend(monitor.observe_batch(everything[i : i + 25]))
    assert len(keys(batched)) == len(keys(one_by_one)) == 1
    assert top_level(batched) == top_level(one_by_one) == "crisis"
    assert len(batched) < len(one_by_one)  # judged once per batch, not once per mention


def test_one_long_batch_is_still_judged_as_it_happened() -> None:
    """A backlog read in one batch (a restart after an outage): judged every
    ``batch_judge_seconds`` of post time, so the episode opens when it did, not at the end."""
    stream = Stream()
    before, start = history(stream)
    crisis = stream.burst(start, 40)
    after = stream.everyday(start + timedelta(minutes=20), 6)
    events = CrisisMonitor().observe_batch(sorted([*before, *crisis, *after], key=lambda m: m.created_at))
    opened = [e for e in events if e.kind == "open"]
    assert len(opened) == 1 and opened[0].at < start + timedelta(minutes=10)
