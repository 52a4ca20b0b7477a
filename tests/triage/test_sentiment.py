"""Sentiment: the phrase matcher, the NHS lexicon on VADER, emoji, long and hostile text."""

from __future__ import annotations

import re
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from listener.paths import CONFIG_DIR
from triage.lexicon import LexiconError
from triage.phrases import PhraseLayers, PhraseMatcher, tokenize
from triage.sentiment import (
    CHUNK_CHARS,
    MAX_SCORED_CHARS,
    SentimentLexicon,
    SentimentScorer,
    label_for,
    normalise,
)
from triage.signals import SignalFinder, SignalLexicon
from triage.vader import FastVader


def _toml(name: str) -> dict:
    with (CONFIG_DIR / "lexicon" / name).open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def nhs() -> SentimentScorer:
    """The product's own lexicon (config/lexicon/nhs.toml and emoji.toml)."""
    return SentimentScorer(SentimentLexicon.from_toml(_toml("nhs.toml"), _toml("emoji.toml")))


def tiny(**nhs: dict) -> SentimentScorer:
    return SentimentScorer(SentimentLexicon.from_toml(nhs, {"emoji": {"😡": -2.8, "🔥": 1.5, "❤": 2.5}}))


# --- the phrase matcher ---------------------------------------------------------------


def found(phrases: dict[str, float], text: str) -> list[str]:
    return [m.text for m in PhraseMatcher(phrases).find(text)]


def test_phrases_match_whole_words_in_any_case() -> None:
    phrases = {"waiting list": -1.0}
    assert found(phrases, "On the WAITING LIST for a year") == ["WAITING LIST"]
    assert found(phrases, "awaiting listings") == []


def test_alternatives_brackets_and_optional_slots() -> None:
    phrases = {"(could not|couldn't) (have|) asked for more": 2.0, "waited|waiting long": -1.0}
    assert found(phrases, "I couldn't have asked for more") == ["couldn't have asked for more"]
    assert found(phrases, "we could not asked for more") == ["could not asked for more"]
    assert found(phrases, "Waiting long. Waited long") == ["Waiting long", "Waited long"]


def test_numbers_in_digits_and_words() -> None:
    phrases = {"{n} (hour|hours) wait": -2.0}
    assert found(phrases, "a 2.5 hours wait, then a two hour wait, an hour wait") == [
        "2.5 hours wait",
        "two hour wait",
        "an hour wait",
    ]
    assert found(phrases, "the hour wait") == []


def test_the_longest_phrase_wins_and_matches_do_not_overlap() -> None:
    phrases = {"long wait": -1.0, "long wait times": -2.0, "times were": 0.5}
    assert found(phrases, "long wait times were bad") == ["long wait times"]


def test_anchors_tie_answers_to_the_start_and_a_clause_end() -> None:
    phrases = {"^nothing$": 1.8}
    assert found(phrases, "Nothing.") == ["Nothing"]
    assert found(phrases, "Nothing, all good") == ["Nothing"]
    assert found(phrases, "Nothing - excellent service") == ["Nothing"]
    assert found(phrases, "@nhsuk nothing at all") == []  # "nothing" does not end a clause here
    assert found(phrases, "@nhsuk nothing!") == ["nothing"]  # the reply's handles come first
    assert found(phrases, "Nothing works") == []
    assert found(phrases, "There was nothing.") == []


def test_phrases_do_not_run_across_sentences() -> None:
    assert found({"no complaints": 2.0}, "No. Complaints about the wait") == []


def test_a_dash_inside_a_word_is_part_of_it() -> None:
    assert tokenize("short-staffed - again").words == ["short", "staffed", "-", "again"]


@pytest.mark.parametrize(
    ("phrases", "message"),
    [
        ({"single": 1.0}, "single word"),
        ({"(unclosed group": 1.0}, "unbalanced"),
        ({"a b": 1.0, "(a) b": 2.0}, "is also in"),
        ({"too | | many": 1.0}, "holds no word"),
    ],
)
def test_malformed_phrase_lexicons_are_refused(phrases: dict, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        PhraseMatcher(phrases)


def test_a_shared_phrase_is_reported_for_each_entry() -> None:
    matcher = PhraseMatcher([("data breach", "legal"), ("data breach", "emotive")], shared=True)
    assert [m.phrase.value for m in matcher.find("a data breach")] == ["legal", "emotive"]


# --- lexicon loading --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nhs", "message"),
    [
        ({"words": {"late": "bad"}}, "must be a number"),
        ({"words": {"late": 9}}, "outside VADER's scale"),
        ({"words": {"waiting list": -1}}, "put it in \\[phrases\\]"),
        ({"phrases": {"x": {"a b": True}}}, "must be a number"),
        ({"mixed": {"min_balance": 0}}, "min_balance"),
        ({"words": []}, "must be a table"),
        ({"service": {"dates": {"words": ["bank holiday"]}}}, "not one word"),
        ({"service": {"dates": {"words": "holiday"}}}, "list of strings"),
        ({"words": {"holiday": 1.0}, "service": {"dates": {"words": ["holiday"]}}}, "also has a valence"),
    ],
)
def test_bad_lexicon_values_name_the_key(nhs: dict, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        SentimentLexicon.from_toml(nhs, {})


# --- scores -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("compound", "label"),
    [(0.05, "positive"), (0.0499, "neutral"), (0.0, "neutral"), (-0.0499, "neutral"), (-0.05, "negative")],
)
def test_labels_use_vaders_bands(compound: float, label: str) -> None:
    assert label_for(compound) == label


def test_words_are_merged_into_vaders_lexicon() -> None:
    assert tiny().score("The receptionist was dismissive").label == "neutral"
    scored = tiny(words={"dismissive": -2.0}).score("The receptionist was dismissive")
    assert scored.label == "negative"
    assert scored.negative_terms == ("dismissive",)


def test_service_words_lose_vaders_valence() -> None:
    text = "Is the pharmacy open over the holidays?"
    assert tiny().score(text).label == "positive"  # VADER: "holidays" +1.6
    scorer = tiny(service={"dates": {"words": ["holidays"]}})
    assert scorer.score(text).label == "neutral"
    # only the word itself: the real sentiment words around it still count
    assert scorer.score("Rude staff over the holidays").label == "negative"
    assert scorer.score("Lovely staff over the holidays").positive_terms == ("lovely",)


def test_a_phrase_is_scored_as_one_word_with_vaders_rules() -> None:
    scorer = tiny(phrases={"waits": {"long wait": -2.0}})
    assert scorer.score("There was a long wait").label == "negative"
    assert scorer.score("There was a long wait").negative_terms == ("long wait",)
    # VADER's negation applies to the phrase as to a word.
    assert scorer.score("There was not a long wait").label == "positive"


def test_a_booster_word_can_carry_a_valence_of_its_own() -> None:
    # VADER scores "exceptional" 0 because it counts as a booster ("exceptional care").
    assert tiny().score("Everything was exceptional").label == "neutral"
    assert tiny(words={"exceptional": 2.6}).score("Everything was exceptional").label == "positive"


def test_mixed_praise_and_criticism_is_pulled_towards_neutral() -> None:
    text = "The crew were lovely and kind but the wait was awful"
    plain = tiny().score(text)
    mixed = tiny(mixed={"contrast": ["but"], "min_balance": 0.3}).score(text)
    assert abs(mixed.compound) < abs(plain.compound)
    assert mixed.label == "neutral"
    # Without a contrast word there is nothing to pull.
    one_sided = "The crew were lovely and kind"
    assert tiny(mixed={"contrast": ["but"]}).score(one_sided) == tiny().score(one_sided)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Cancelled my appointment for the third time", "negative"),
        ("Stuck on the waiting list for 18 months", "negative"),
        ("Waited 6 hours in A&E", "negative"),
        ("Kept waiting on hold for an hour", "negative"),
        ("The ambulance never turned up", "negative"),
        ("Could not get through to 111", "negative"),
        ("Staff could be more helpful", "negative"),
        ("Thank you NHS, the staff were wonderful", "positive"),
        ("Couldn't fault the care my dad received", "positive"),
        ("Nothing.", "positive"),
        ("Nothing, they were brilliant", "positive"),
        ("Nothing to improve, keep up the good work", "positive"),
        ("No improvement needed", "positive"),
        ("Can't think of anything", "positive"),
        ("Arrived within 10 minutes", "positive"),
        ("Nothing was done about my complaint", "negative"),
        ("Thanks for nothing", "negative"),
        ("What a joke", "negative"),
        ("Paramedics treated a suspected heart attack", "neutral"),
        ("Not sure", "neutral"),
        # questions and notices about the service: neutral unless a real sentiment word is there
        ("Where can I get my flu jab?", "neutral"),
        ("Can I book a flu jab at my GP or do I need to ask the pharmacy?", "neutral"),
        ("What are your opening hours over the bank holiday?", "neutral"),
        ("Is the walk-in centre open on the Easter bank holiday weekend?", "neutral"),
        ("Opening hours over the Christmas holidays: 9am to 1pm", "neutral"),
        ("Free flu jabs for over 65s, book an appointment with your GP", "neutral"),
        ("Can you help me please? When is my appointment?", "neutral"),
        ("Waited 5 hours in A&E on the bank holiday, disgraceful", "negative"),
        ("Cancelled my flu jab appointment twice, absolutely useless", "negative"),
        ("Rude receptionist when I asked about my flu jab", "negative"),
        ("Brilliant staff at the flu clinic over the holidays, thank you", "positive"),
    ],
)
def test_nhs_lexicon(nhs: SentimentScorer, text: str, label: str) -> None:
    assert nhs.score(text).label == label


def test_terms_explain_the_score(nhs: SentimentScorer) -> None:
    scored = nhs.score("Cancelled my appointment and the receptionist was rude")
    assert scored.label == "negative"
    assert set(scored.negative_terms) == {"Cancelled my appointment", "rude"}
    assert scored.positive_terms == ()


def test_negated_praise_is_shown_as_criticism(nhs: SentimentScorer) -> None:
    scored = nhs.score("The staff were not helpful at all")
    assert scored.label == "negative"
    assert "helpful" in scored.negative_terms


# --- emoji ------------------------------------------------------------------------------


def test_a_variation_selector_does_not_hide_an_emoji() -> None:
    vader = SentimentIntensityAnalyzer()
    assert (
        vader.polarity_scores("Thank you ❤\ufe0f")["compound"]
        == vader.polarity_scores("Thank you")["compound"]
    )
    assert tiny().score("❤\ufe0f").label == "positive"
    assert tiny().score("❤\ufe0f").positive_terms == ("❤",)


def test_emoji_glued_to_words_are_scored() -> None:
    assert tiny().score("appointment😡").label == "negative"
    assert tiny().score("😡😡😡").negative_terms == ("😡",)


def test_an_emoji_can_be_made_neutral() -> None:
    scorer = SentimentScorer(SentimentLexicon.from_toml({}, {"emoji": {"😭": 0.0}}))
    assert SentimentIntensityAnalyzer().polarity_scores("😭")["compound"] < 0  # "loudly crying face"
    assert scorer.score("Great news 😭").positive_terms == ("great",)


def test_fire_is_praise_not_a_fire(nhs: SentimentScorer) -> None:
    assert SentimentIntensityAnalyzer().polarity_scores("🔥")["compound"] < 0
    assert nhs.score("The new clinic 🔥🔥").label == "positive"


@pytest.mark.parametrize(
    ("glyph", "label"), [("😡", "negative"), ("🙄", "negative"), ("👍", "positive"), ("🙏", "positive")]
)
def test_common_emoji_have_a_valence(nhs: SentimentScorer, glyph: str, label: str) -> None:
    assert nhs.score(f"Appointment moved again {glyph}" if label == "negative" else glyph).label == label


def test_skin_tones_and_zero_width_characters_are_ignored(nhs: SentimentScorer) -> None:
    assert nhs.score("👍\U0001f3fd") == nhs.score("👍")
    assert nhs.score("ru\u200bde staff") == nhs.score("rude staff")
    assert nhs.score("couldn’t fault them") == nhs.score("couldn't fault them")


# --- long, empty and hostile text -------------------------------------------------------


def test_empty_and_none_are_neutral_without_calling_vader(
    monkeypatch: pytest.MonkeyPatch, nhs: SentimentScorer
) -> None:
    def refuse(self: FastVader, text: str) -> dict:
        raise AssertionError("VADER called")

    monkeypatch.setattr(FastVader, "polarity_scores", refuse)
    for text in (None, "", "   \n\t", "\u200b\u200b"):
        assert nhs.score(text).label == "neutral"


def test_long_text_is_scored_in_bounded_chunks(monkeypatch: pytest.MonkeyPatch, nhs: SentimentScorer) -> None:
    seen: list[int] = []
    original = FastVader.polarity_scores

    def spy(self: FastVader, text: str) -> dict:
        seen.append(len(text))
        return original(self, text)

    monkeypatch.setattr(FastVader, "polarity_scores", spy)
    text = "The ambulance took four hours and the staff were rude. " * 2000  # 110,000 characters
    scored = nhs.score(text)
    assert scored.label == "negative"
    assert max(seen) <= CHUNK_CHARS
    assert sum(seen) <= MAX_SCORED_CHARS
    assert len(seen) > 1


def test_one_long_sentence_is_cut_at_spaces(nhs: SentimentScorer) -> None:
    scored = nhs.score("brilliant " * 1500)
    assert scored.label == "positive"
    assert scored.compound > 0.9


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('rude')</script><b>great</b>",
        "\u202eetar ot ysae\u202c the staff were kind",  # right-to-left override
        "שלום the wait was awful مرحبا",
        "\x00\x01\x02 nothing \ufffd",
        "A" * 10_000,
        "😡" * 5000,
        "?" * 3000 + "!" * 3000,
        "@a " * 3000,
        "0" * 10_000,
    ],
)
def test_hostile_text_scores_without_error(nhs: SentimentScorer, text: str) -> None:
    scored = nhs.score(text)
    assert -1.0 <= scored.compound <= 1.0
    assert scored.label in {"positive", "neutral", "negative"}


def test_normalise_keeps_ascii_as_it_is() -> None:
    text = "Plain ASCII, unchanged!"
    assert normalise(text) is text


@settings(deadline=None, max_examples=300)
@given(text=st.text())
def test_sentiment_never_raises(nhs: SentimentScorer, text: str) -> None:
    scored = nhs.score(text)
    assert -1.0 <= scored.compound <= 1.0


# --- FastVader gives VADER's own scores -------------------------------------------------

_WORDS = [
    "good",
    "GOOD",
    "bad",
    "not",
    "no",
    "never",
    "so",
    "this",
    "very",
    "kind",
    "of",
    "but",
    "BUT",
    "least",
    "at",
    "without",
    "doubt",
    "the",
    "bomb",
    "shit",
    "isn't",
    "don't",
    "nor",
    "or",
    "hate",
    "love",
    "great!",
    "awful...",
    ":)",
    ":(",
    "sort",
    "extremely",
    "lol",
    "fine",
    "?",
    "!!",
    "kinda",
    "ok",
    "okay",
    "yes",
    "help",
    "cancelled",
    "ph_long_wait",
    "nothing",
    "none",
    "WAIT",
    "rude",
]
# Text that is not ASCII: emoji (alone, glued to words, with a variation selector), accents,
# capitals with accents, "£", curly quotes and dashes.
_NON_ASCII = ["😀", "😡", "good😀", "❤\ufe0f", "🙏🏽", "café", "CAFÉ", "naïve", "£12", "didn’t", "“great”"]
_NON_ASCII += ["—", "Ü", "ß"]


@settings(deadline=None, max_examples=400)
@given(st.lists(st.sampled_from(_WORDS), max_size=25))
def test_fast_vader_scores_as_vader_does(words: list[str]) -> None:
    text = " ".join(words)
    assert _FAST.polarity_scores(text) == _PLAIN.polarity_scores(text)


_FAST = FastVader()
_PLAIN = SentimentIntensityAnalyzer()


@settings(deadline=None, max_examples=400)
@given(st.lists(st.sampled_from(_WORDS + _NON_ASCII), max_size=25), st.sampled_from([" ", "", "  "]))
def test_fast_vader_scores_non_ascii_text_as_vader_does(words: list[str], sep: str) -> None:
    text = sep.join(words)
    assert _FAST.polarity_scores(text) == _PLAIN.polarity_scores(text)


def test_fast_vader_uses_vaders_emoji_pass_only_for_emoji(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = FastVader()
    text = "Brilliant service 😀 but a long wait 😡"
    assert fast.polarity_scores(text) == SentimentIntensityAnalyzer().polarity_scores(text)
    calls: list[str] = []
    monkeypatch.setattr(fast, "_describe_emoji", lambda t: calls.append(t) or t)
    fast.polarity_scores("The café charged £3 and didn’t care")
    assert calls == []


def test_the_scorer_keeps_no_state_between_texts(nhs: SentimentScorer) -> None:
    first = nhs.score("Rude staff, awful wait")
    nhs.score("Brilliant 😀 thank you")
    assert nhs.score("Rude staff, awful wait") == first


# --- one pass over the words for several lexicons --------------------------------------


def test_layers_find_what_each_matcher_finds_even_where_they_overlap() -> None:
    long = PhraseMatcher({"long wait": -2.0, "wait": -0.5, "^no$": 1.0}, single_words=True)
    entries = [("wait", "w"), ("long", "l"), ("no", "n"), ("no", "again")]
    other = PhraseMatcher(entries, single_words=True, shared=True)
    tokens = tokenize("No long wait, no wait")
    found = PhraseLayers([long, other]).find_spans(tokens)
    assert found == [long.find_spans(tokens), other.find_spans(tokens)]
    assert [p.key for _, _, p in found[0]] == ["long wait", "wait"]
    assert [p.value for _, _, p in found[1]] == ["n", "again", "l", "w", "n", "again", "w"]


def _lexicon_words() -> list[str]:
    signals = SignalLexicon.from_toml(_toml("legal.toml"), _toml("signals.toml"))
    nhs = SentimentLexicon.from_toml(_toml("nhs.toml"), _toml("emoji.toml"))
    keys = [*nhs.phrases, *nhs.words, *signals.legal, *signals.emotive, *signals.complaint]
    keys += signals.question_openers
    words = {w for key in keys for w in tokenize(re.sub(r"[|()]", " ", key)).words}
    return sorted(words | {"2", "10", "@nhs", ".", ",", "!", "-"})


_LAYER_WORDS = _lexicon_words()
_SENTIMENT_PHRASES = SentimentScorer(
    SentimentLexicon.from_toml(_toml("nhs.toml"), _toml("emoji.toml"))
).phrases
_SIGNAL_PHRASES = SignalFinder(SignalLexicon.from_toml(_toml("legal.toml"), _toml("signals.toml"))).phrases


@settings(deadline=None, max_examples=300)
@given(st.lists(st.sampled_from(_LAYER_WORDS), max_size=30))
def test_layers_of_the_real_lexicons_find_what_each_matcher_finds(words: list[str]) -> None:
    sentiment, signals = _SENTIMENT_PHRASES, _SIGNAL_PHRASES
    tokens = tokenize(" ".join(words))
    assert PhraseLayers([sentiment, signals]).find_spans(tokens) == [
        sentiment.find_spans(tokens),
        signals.find_spans(tokens),
    ]
