"""Topic keys per mention and the dominant subject of a window, across many phrasings."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from triage.topics import TopicConfig, TopicTracker, analyse, fold_word, terms, topic_of

T0 = datetime(2026, 3, 2, 9, 0)

# Everyday complaints about many different things: the background a subject must stand out from.
EVERYDAY_NEGATIVE = [
    "Waited two hours for the ambulance, not good enough",
    "Pharmacy has run out of my prescription again",
    "Could not get through to 111, on hold for ages",
    "Receptionist at the surgery was rude to my mum",
    "Parking at the hospital costs a fortune",
    "Blood test clinic fully booked for weeks",
    "Still waiting for a dentist, no NHS places anywhere",
    "The waiting time in the eye clinic was terrible",
    "Discharge took all day, waiting for medication",
    "No update on my scan results after three weeks",
]

SUBJECT_PHRASINGS = [
    "Brambleford surgery sent my letter to the wrong address",
    "my GP srugery posted my test results to a stranger 😡😡",
    "BRAMBLEFORD SURGERY SHARING EVERYONE'S RECORDS. GREAT JOB 🙄",
    "Our GP practtice sent letters to the wrong houses. Data breach!",
    "Nice of Brambleford surgery to send my records to the whole street",
    "#databreach at Brambleford surgery, letters sent to wrong addresses",
    "Got someone else's letter from the Brambleford practice today",
    "Wrong address AGAIN from brambleford surgery, who has my records?",
]


@pytest.mark.parametrize(
    ("variants"),
    [
        ["surgery", "Surgery", "SURGERIES", "srugery", "suregry", "surgery's"],
        ["practice", "practtice", "Practices"],
        ["letter", "letters", "LETTERS"],
        ["ambulance", "ambulances", "ambluance"],
        ["midwife", "midwives"],
        ["gp", "GPs", "GP"],
        ["records", "recodrs", "record"],
    ],
)
def test_phrasings_of_one_word_share_a_key(variants: list[str]) -> None:
    keys = {fold_word(v) for v in variants}
    assert len(keys) == 1 and None not in keys


@pytest.mark.parametrize("word", ["the", "and", "my", "wasn't", "14", "2pm", "", "'"])
def test_stop_words_and_quantities_have_no_key(word: str) -> None:
    assert fold_word(word) is None


def test_nhs_service_numbers_are_kept() -> None:
    assert fold_word("111") == "111" and fold_word("999") == "999"


def test_terms_hold_words_pairs_hashtags_and_links() -> None:
    found = analyse(
        "@NHSCovWarks My GP surgery sent my letter to the wrong address! #DataBreach 😡 https://t.co/abc",
        "https://www.coventrytelegraph.net/news/local-news/gp-letters-wrong-homes-12345",
    )
    assert fold_word("surgery") in found.terms
    assert f"gp {fold_word('surgery')}" in found.terms  # adjacent pair
    assert fold_word("databreach") in found.terms  # hashtag as a word
    assert found.link == "link:coventrytelegraph.net/news/local-news/gp-letters-wrong-homes-12345"
    assert fold_word("homes") in found.terms  # words of the page's slug
    assert not any("nhscovwarks" in t for t in found.terms)  # mentions of accounts are not subjects
    assert not any("t.co" in t for t in found.terms)  # shortened links say nothing
    assert found.surface[f"gp {fold_word('surgery')}"] == "gp surgery"


def test_pairs_do_not_cross_punctuation_or_stop_words() -> None:
    found = terms("Cancelled. Surgery was late")
    assert f"{fold_word('cancelled')} {fold_word('surgery')}" not in found
    assert not any(" " in t for t in found)


def test_topic_of_prefers_the_link_then_a_hashtag_then_a_word_pair() -> None:
    assert topic_of("see this", "https://www.bbc.co.uk/news/uk-england-coventry-123") == (
        "link:bbc.co.uk/news/uk-england-coventry-123"
    )
    assert topic_of("Awful wait again #AandE #Coventry") == "#aande"
    assert topic_of("The ambulance handover queue at UHCW is huge") == "ambulance handover"
    assert topic_of("Thanks!") is None
    assert topic_of("") is None


def feed_background(tracker: TopicTracker, days: int = 3) -> datetime:
    """Everyday negative mentions every 20 minutes for some days; returns the time after."""
    at = T0
    for i in range(days * 72):
        tracker.add(f"bg{i}", at, analyse(EVERYDAY_NEGATIVE[i % len(EVERYDAY_NEGATIVE)]), True)
        at += timedelta(minutes=20)
    return at


def test_many_phrasings_make_one_dominant_subject() -> None:
    tracker = TopicTracker()
    at = feed_background(tracker)
    for i in range(40):
        text = SUBJECT_PHRASINGS[i % len(SUBJECT_PHRASINGS)]
        tracker.add(f"s{i}", at + timedelta(seconds=30 * i), analyse(text), True)
    tracker.add("other", at + timedelta(minutes=19), analyse(EVERYDAY_NEGATIVE[0]), True)
    subject = tracker.dominant(at + timedelta(minutes=20))
    assert subject is not None
    assert subject.negatives == 40  # every phrasing, typos and capitals included
    assert "other" not in tracker.subject_ids() and len(tracker.subject_ids()) == 40
    assert subject.share > 0.9
    label = tracker.label(subject.terms)
    assert "brambleford" in label or "surgery" in label


def test_a_spread_of_everyday_complaints_has_no_dominant_subject() -> None:
    tracker = TopicTracker()
    at = feed_background(tracker)
    for i in range(40):  # twice the usual rate, about the usual things
        tracker.add(f"r{i}", at + timedelta(minutes=i), analyse(EVERYDAY_NEGATIVE[i % 10]), True)
    subject = tracker.dominant(at + timedelta(minutes=40))
    assert subject is None or subject.share < 0.3


def test_the_usual_vocabulary_of_complaint_is_not_a_subject() -> None:
    tracker = TopicTracker()
    at = T0
    for i in range(300):  # "waiting" is in every negative mention, day in day out
        tracker.add(f"w{i}", at, analyse(f"Waiting again {EVERYDAY_NEGATIVE[i % 10]}"), True)
        at += timedelta(minutes=15)
    subject = tracker.dominant(at)
    assert subject is None or fold_word("waiting") != subject.key


def test_positive_mentions_are_counted_apart() -> None:
    tracker = TopicTracker()
    at = feed_background(tracker)
    for i in range(30):
        tracker.add(
            f"p{i}", at, analyse("Brilliant vaccine clinic at the arena, thank you"), False, positive=True
        )
    for i in range(6):
        tracker.add(f"n{i}", at, analyse("Vaccine clinic at the arena ran out, queue for hours"), True)
    subject = tracker.dominant(at + timedelta(minutes=1))
    assert subject is not None
    assert {f"n{i}" for i in range(6)} <= set(tracker.subject_ids())
    assert subject.positive == 30 and subject.positive_fraction > 0.8


def test_old_mentions_leave_the_window() -> None:
    tracker = TopicTracker(TopicConfig(window_minutes=30))
    at = feed_background(tracker, days=1)
    for i in range(10):
        tracker.add(f"s{i}", at, analyse(SUBJECT_PHRASINGS[i % 8]), True)
    assert tracker.dominant(at) is not None
    assert tracker.dominant(at + timedelta(minutes=31)) is None
    assert tracker.negatives() == []


def test_running_counts_of_the_subject_match_a_recount_as_mentions_leave() -> None:
    # The subject's terms stay put (no re-clustering), so its counts follow mentions leaving.
    tracker = TopicTracker(TopicConfig(window_minutes=30, recluster_seconds=3600))
    at = feed_background(tracker, days=1)
    texts = {}
    for i in range(60):
        text = SUBJECT_PHRASINGS[i % 8] if i % 3 else EVERYDAY_NEGATIVE[i % 10]
        negative, positive = i % 5 != 0, i % 5 == 0
        tags = ["emotive"] if i % 2 else []
        texts[f"s{i}"] = (analyse(text).terms, negative, positive, bool(tags))
        tracker.add(f"s{i}", at + timedelta(minutes=i), analyse(text), negative, positive=positive, tags=tags)
    tracker.keep_out_of_background(texts)  # an episode: its mentions do not become usual
    for minutes in (60, 70, 75):
        now = at + timedelta(minutes=minutes)
        subject = tracker.dominant(now)
        assert subject is not None
        about = tracker.subject_mentions()
        inside = [
            k
            for k, (t, *_) in texts.items()
            if t & subject.terms and int(k[1:]) >= minutes - 30  # the last 30 minutes
        ]
        negative = [k for k in inside if texts[k][1]]
        assert list(tracker.subject_ids()) == negative
        assert (subject.negatives, subject.mentions) == (len(negative), len(inside))
        assert subject.positive == sum(1 for k in inside if texts[k][2])
        assert list(about.tagged("emotive", negative=True).since(0)) == [k for k in negative if texts[k][3]]
