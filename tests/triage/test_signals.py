"""Signals of a mention: legal terms, emotive words, insults, complaints, compliments,
questions, shouting, and whether it comes from the media."""

from __future__ import annotations

import tomllib

import pytest

from listener.paths import CONFIG_DIR
from triage.lexicon import LexiconError
from triage.media import MediaList
from triage.model import MentionInput
from triage.signals import SignalFinder, SignalLexicon, Signals, emotive_intensity


def _toml(name: str) -> dict:
    with (CONFIG_DIR / "lexicon" / name).open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def finder() -> SignalFinder:
    return SignalFinder(SignalLexicon.from_toml(_toml("legal.toml"), _toml("signals.toml")))


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("My solicitor will be in touch", ["solicitor"]),
        ("We are going to sue the trust", ["sue"]),
        ("I'm suing for medical negligence", ["suing", "medical negligence"]),
        ("Complaint has gone to the Ombudsman", ["ombudsman"]),
        ("The inquest into my father's death opens today", ["inquest"]),
        ("This is a data breach, my letter went to a neighbour", ["data breach"]),
        ("I will be seeking compensation", ["compensation"]),
        ("Speaking to a lawyer tomorrow", ["lawyer"]),
        ("We are taking legal action", ["taking legal action"]),
        ("I'll be reporting you to the CQC", ["reporting you to the cqc"]),
        ("The coroner has asked questions", ["coroner"]),
        ("I will take this further", ["take this further"]),
        # not legal
        ("Lovely staff in the children's ward", []),
        ("Sue the nurse was lovely", ["sue"]),  # a name: the term list cannot tell, and says so
        ("The suede sofa in reception", []),
        ("A lawn outside the clinic", []),
    ],
)
def test_legal_terms(finder: SignalFinder, text: str, terms: list[str]) -> None:
    assert list(finder.find(text).legal) == terms


@pytest.mark.parametrize(
    ("text", "emotive"),
    [
        ("My mum died waiting for an ambulance", ["my mum", "died"]),
        ("Patients are dying in corridors, a national scandal", ["dying", "scandal"]),
        ("The ward is unsafe and people are neglected", ["unsafe", "neglected"]),
        ("Left lying on the floor for five hours", ["lying on the floor"]),
        ("The appointment was moved to Tuesday", []),
        ("Died laughing at the panto 😂", ["died"]),  # word lists do not read jokes
    ],
)
def test_emotive_terms(finder: SignalFinder, text: str, emotive: list[str]) -> None:
    assert list(finder.find(text).emotive) == emotive


@pytest.mark.parametrize(
    ("text", "abusive"),
    [
        ("You useless idiots", ["idiots"]),
        ("f**k off", ["f**k"]),
        ("What a load of shite", ["shite"]),
        ("Scunthorpe General is closed", []),  # whole words only
        ("The assessment took an hour", []),
        ("Shitake mushrooms in the canteen", []),
    ],
)
def test_abusive_terms(finder: SignalFinder, text: str, abusive: list[str]) -> None:
    assert list(finder.find(text).abusive) == abusive


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("When will my appointment be rescheduled?", True),
        ("when will my appointment be rescheduled", True),  # no question mark
        ("@NHSCovWarks how do I get a booster", True),  # after the handles a reply opens with
        ("Is anyone else still waiting for a call back", True),
        ("Any update on the clinic", True),
        ("What a shambles", False),
        ("How rude the receptionist was", False),
        ("Read this https://example.org/page?id=3 now", False),  # a "?" inside a link
        ("The clinic opens at nine.", False),
    ],
)
def test_questions(finder: SignalFinder, text: str, question: bool) -> None:
    assert finder.find(text).question is question


def test_complaint_and_compliment_cues(finder: SignalFinder) -> None:
    assert finder.find("I want to make a formal complaint").complaint == ("formal complaint",)
    assert finder.find("I complained twice").complaint == ("complained",)
    assert finder.find("This is not good enough").complaint == ("not good enough",)
    assert finder.find("Thank you so much, brilliant staff").compliment == ("thank you", "brilliant")
    # "thanks for nothing" is a complaint, not thanks: the longer phrase wins.
    signals = finder.find("Thanks for nothing")
    assert signals.complaint == ("thanks for nothing",)
    assert signals.compliment == ()


def test_a_term_on_two_lists_counts_on_both(finder: SignalFinder) -> None:
    signals = finder.find("What a joke")
    assert signals.complaint == ("what a joke",)
    assert signals.emotive == ("what a joke",)


def test_shouting_needs_several_long_capital_words(finder: SignalFinder) -> None:
    assert finder.find("THIS IS A DISGRACE, ABSOLUTELY APPALLING").shouting
    assert not finder.find("Waited at A&E, the NHS and my GP were no help").shouting
    assert not finder.find("One WORD in capitals among many other ordinary words here").shouting


def test_exclamation_marks_are_counted(finder: SignalFinder) -> None:
    assert finder.find("Awful!!!").exclamations == 3


def test_emotive_intensity_combines_its_parts() -> None:
    calm = Signals()
    assert emotive_intensity(0.0, calm) == 0.0
    assert emotive_intensity(-0.8, calm) == pytest.approx(0.4)
    assert emotive_intensity(0.8, calm) == pytest.approx(0.16)  # praise counts less
    charged = Signals(emotive=("died",), emotive_weight=0.9, shouting=True, exclamations=5)
    assert emotive_intensity(-0.9, charged) == 1.0  # capped
    assert emotive_intensity(0.0, Signals(emotive_weight=2.0)) == pytest.approx(0.6)  # words capped


def test_real_mentions_are_scored_in_order(finder: SignalFinder) -> None:
    mild = finder.find("The wait was long")
    severe = finder.find("My dad DIED on a TROLLEY in the corridor, DISGRACE!!!")
    assert emotive_intensity(-0.3, mild) < emotive_intensity(-0.9, severe)
    assert emotive_intensity(-0.9, severe) >= 0.7


@pytest.mark.parametrize(
    ("legal", "signals", "message"),
    [
        ({"legal": {"terms": "solicitor"}}, {}, "list of strings"),
        ({"legal": {"terms": [""]}}, {}, "empty string"),
        ({}, {"emotive": {"died": 2}}, "above 0, at most 1"),
        ({}, {"abusive": {"terms": ["(idiot"]}}, "unbalanced"),
    ],
)
def test_bad_signal_lists_are_refused(legal: dict, signals: dict, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        SignalLexicon.from_toml(legal, signals)


# --- media --------------------------------------------------------------------------------

MEDIA = MediaList.of(handles=["@CovTelegraph", "bbccov"], domains=["www.coventrytelegraph.net", "bbc.co.uk"])


@pytest.mark.parametrize(
    ("mention", "reason"),
    [
        (MentionInput(text="Hospital story", kind="news"), "news item"),
        (MentionInput(text="Waits at A&E", author_handle="covtelegraph"), "media account @covtelegraph"),
        (MentionInput(text="Waits at A&E", author_handle="@BBCCov"), "media account @bbccov"),
        (
            MentionInput(text="Read this https://www.coventrytelegraph.net/news/a-and-e-123"),
            "links to coventrytelegraph.net",
        ),
        (MentionInput(text="see www.bbc.co.uk/news/uk-england-coventry"), "links to bbc.co.uk"),
        (MentionInput(text="Story", url="https://news.bbc.co.uk/x"), "links to bbc.co.uk"),
        (MentionInput(text="Story", url="bbc.co.uk/news/1"), "links to bbc.co.uk"),
        # not media
        (MentionInput(text="Waits at A&E", author_handle="concerned_parent"), None),
        (MentionInput(text="https://notbbc.co.uk.example.com/x"), None),
        (MentionInput(text="https://fakebbc.co.uk/x"), None),
        (MentionInput(text="email me at someone@www.bbc.co.uk.invalid"), None),
        (MentionInput(text="Ordinary post"), None),
    ],
)
def test_media_sources(mention: MentionInput, reason: str | None) -> None:
    assert MEDIA.source(mention) == reason


def test_an_empty_media_list_knows_only_news_items() -> None:
    empty = MediaList.of()
    assert empty.source(MentionInput(text="https://www.bbc.co.uk/news", author_handle="bbccov")) is None
    assert empty.source(MentionInput(text="x", kind="news")) == "news item"
