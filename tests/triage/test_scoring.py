"""The Scorer: every signal on a Score, the priority rules and the reasons people see."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listener.paths import CONFIG_DIR
from triage.lexicon import LexiconError
from triage.model import MentionInput, Score
from triage.scoring import HIGH, LOW, NORMAL, URGENT, Scorer, Thresholds, TriageResources


def _toml(name: str) -> dict:
    with (CONFIG_DIR / "lexicon" / name).open("rb") as fh:
        return tomllib.load(fh)


LEXICONS = {name: _toml(f"{name}.toml") for name in ("nhs", "emoji", "legal", "signals")}


def make_scorer(**overrides: object) -> Scorer:
    signals = {**LEXICONS["signals"], **overrides}
    return Scorer(
        TriageResources.from_toml(
            nhs=LEXICONS["nhs"],
            emoji=LEXICONS["emoji"],
            legal=LEXICONS["legal"],
            signals=signals,
            media_handles=["CovTelegraph"],
            media_domains=["coventrytelegraph.net"],
        )
    )


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return make_scorer()


def test_a_score_carries_every_signal(scorer: Scorer) -> None:
    s = scorer.score(
        MentionInput(
            text="My MUM DIED waiting 6 hours, my solicitor is involved. Call 07911 123456!!",
            author_handle="someone",
            author_followers=120,
            reposts=3,
        )
    )
    assert s.label == "negative" and s.compound < -0.5
    assert s.legal_terms == ["solicitor"]
    assert s.emotive_terms == ["my mum", "died"]
    assert s.emotive >= 0.7
    assert [p.kind for p in s.personal_data] == ["phone"]
    assert s.reach == 123
    assert s.priority == URGENT
    assert s.topic is None  # the topics stage fills it


@pytest.mark.parametrize(
    ("mention", "priority", "why"),
    [
        (
            MentionInput(text="Here is my NHS number 943 476 5919, please check"),
            URGENT,
            "personal data shared",
        ),
        (MentionInput(text="Lovely staff. Email me at jo@example.com"), URGENT, "personal data shared"),
        (MentionInput(text="Speaking to a solicitor about this"), URGENT, "legal terms"),
        (
            MentionInput(text="Ambulance waits are getting worse", author_handle="covtelegraph"),
            URGENT,
            "negative, from the media",
        ),
        (
            MentionInput(text="Cancelled my appointment again, awful", author_followers=50_000),
            URGENT,
            "negative, high reach",
        ),
        (MentionInput(text="Awful wait, rude staff", reposts=75), URGENT, "negative, high reach"),
        (
            MentionInput(text="My dad died waiting for an ambulance, a disgrace"),
            URGENT,
            "negative, highly emotive",
        ),
        (MentionInput(text="I want to make a formal complaint"), HIGH, "complaint"),
        (MentionInput(text="The receptionist was rude and dismissive"), HIGH, "complaint"),
        (MentionInput(text="shut up you idiot"), HIGH, "abusive"),
        (MentionInput(text="When does the walk-in centre open?"), HIGH, "question"),
        (MentionInput(text="Thanks, when is the next clinic?"), HIGH, "question"),
        (MentionInput(text="New clinic opens in Nuneaton", kind="news"), HIGH, "from the media"),
        (MentionInput(text="New clinic opens in Nuneaton", author_followers=20_000), HIGH, "high reach"),
        (MentionInput(text="The café was a bit slow"), NORMAL, "negative"),
        (MentionInput(text="Clinic moved to Tuesday"), NORMAL, "neutral"),
        (MentionInput(text="Thank you NHS, brilliant care"), LOW, "compliment"),
        (MentionInput(text="Nice weather today"), LOW, "positive"),
    ],
)
def test_priority_rules(scorer: Scorer, mention: MentionInput, priority: int, why: str) -> None:
    s = scorer.score(mention)
    assert s.priority == priority
    assert s.reasons[0].split(": ", 1)[1] == why


def test_reasons_name_the_words_behind_the_score(scorer: Scorer) -> None:
    s = scorer.score_text("Cancelled my appointment and the receptionist was rude")
    assert "negative: 'Cancelled my appointment', 'rude'" in s.reasons or (
        "negative: 'rude', 'Cancelled my appointment'" in s.reasons
    )
    s = scorer.score_text("Speaking to my solicitor about the negligence")
    assert "legal: 'solicitor', 'negligence'" in s.reasons


def test_reasons_never_repeat_personal_data(scorer: Scorer) -> None:
    s = scorer.score_text("NHS number 943 476 5919, phone 07911 123456, email jo@example.com")
    assert {p.kind for p in s.personal_data} == {"nhs_number", "phone", "email"}
    assert "personal data: NHS number, phone number, email address" in s.reasons
    assert not any("943" in r or "07911" in r or "jo@" in r for r in s.reasons)


def test_complaint_and_compliment_flags(scorer: Scorer) -> None:
    assert scorer.score_text("Rude, useless and dismissive staff").is_complaint
    assert not scorer.score_text("The café was a bit slow").is_complaint  # mild: not a complaint
    assert scorer.score_text("Brilliant paramedics, thank you").is_compliment
    assert not scorer.score_text("Thanks for nothing").is_compliment
    assert scorer.score_text("Thanks for nothing").is_complaint


def test_abusive_terms_are_listed(scorer: Scorer) -> None:
    s = scorer.score_text("you absolute idiots")
    assert s.abusive and s.abusive_terms == ["idiots"]
    assert "abusive: 'idiots'" in s.reasons


def test_thresholds_come_from_config() -> None:
    strict = make_scorer(reach={"high_followers": 100, "high_reposts": 5})
    mention = MentionInput(text="Long wait again", author_followers=150)
    assert strict.score(mention).priority == URGENT
    assert make_scorer().score(mention).priority != URGENT


@pytest.mark.parametrize(
    ("signals", "message"),
    [
        ({"priority": {"high_emotive": 0.9, "urgent_emotive": 0.5}}, "high_emotive <= urgent_emotive"),
        ({"priority": {"complaint_compound": 0.5}}, "between -1 and 0"),
        ({"reach": {"high_followers": 0}}, "at least 1"),
        ({"reach": {"high_reposts": "many"}}, "must be a number"),
    ],
)
def test_bad_thresholds_are_refused(signals: dict, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        Thresholds.from_toml(signals)


def test_none_text_scores_as_empty_and_other_types_are_refused(scorer: Scorer) -> None:
    s = scorer.score(MentionInput(text=None))  # type: ignore[arg-type]
    assert s.label == "neutral" and s.priority == NORMAL
    with pytest.raises(TypeError):
        scorer.score(MentionInput(text=42))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        '<img src=x onerror="alert(1)"> rude staff',
        "javascript:alert('complaint')",
        "\u202eeman ym si siht\u202c solicitor",
        "s\u200bo\u200bl\u200bi\u200bc\u200bi\u200bt\u200bo\u200br",  # zero-width characters between letters
        "x" * 10_000,
        "died " * 2000,
        "?" * 5000,
    ],
)
def test_hostile_input_is_scored(scorer: Scorer, text: str) -> None:
    s = scorer.score_text(text)
    assert isinstance(s, Score)
    assert 1 <= s.priority <= 4
    assert 0.0 <= s.emotive <= 1.0


def test_zero_width_characters_do_not_hide_a_legal_term(scorer: Scorer) -> None:
    assert scorer.score_text("my s\u200bo\u200blicitor").legal_terms == ["solicitor"]


@settings(deadline=None, max_examples=300)
@given(text=st.text())
def test_score_text_never_raises(scorer: Scorer, text: str) -> None:
    s = scorer.score_text(text)
    assert s.label in {"positive", "neutral", "negative"}
    assert -1.0 <= s.compound <= 1.0
    assert 0.0 <= s.emotive <= 1.0
    assert 1 <= s.priority <= 4
    assert s.reasons


@settings(deadline=None, max_examples=150)
@given(
    text=st.text(max_size=300),
    handle=st.text(max_size=30),
    url=st.none() | st.text(max_size=60),
    kind=st.sampled_from(["mention", "news", "comment", ""]),
    followers=st.integers(min_value=-10, max_value=10**9),
    reposts=st.integers(min_value=-10, max_value=10**7),
)
def test_score_never_raises_on_any_mention(
    scorer: Scorer, text: str, handle: str, url: str | None, kind: str, followers: int, reposts: int
) -> None:
    s = scorer.score(
        MentionInput(
            text=text, kind=kind, author_handle=handle, author_followers=followers, reposts=reposts, url=url
        )
    )
    assert s.reach >= 0
