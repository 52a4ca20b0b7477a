"""The reply checker: every rule, firing and not firing (policy 5.2, 7.0, 7.1)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.lint import RULE_IDS, Finding, LintConfig, LintConfigError, LintResult, check_reply

CONFIG = Path(__file__).resolve().parents[2] / "config" / "lint.toml"
RULES = LintConfig.from_dict(tomllib.loads(CONFIG.read_text(encoding="utf-8")))

LONG_SENTENCE_30 = " ".join(["we"] * 15 + ["will"] * 15) + "."
LONG_SENTENCE_40 = " ".join(["we"] * 20 + ["will"] * 20) + "."
HARD = (
    "Comprehensive multidisciplinary rehabilitation interventions necessitate considerable "
    "organisational coordination. Multiagency commissioning arrangements substantially "
    "complicate operational accountability frameworks. Transformational infrastructure "
    "investment prioritises sustainable organisational resilience and interoperability. ^JB"
)
LONG_URL = "https://www.happyhealthylives.uk/our-services/urgent-care/winter-vaccination-clinics-2025"

# (rule, text, keyword arguments, severity expected, or None when the rule must stay quiet)
CASES: list[tuple[str, str, dict[str, Any], str | None]] = [
    # length
    ("length", "a" * 281, {"platform": "x"}, "block"),
    ("length", "a" * 280, {"platform": "x"}, None),
    ("length", "😀" * 141, {"platform": "x"}, "block"),  # emoji weigh 2
    ("length", "😀" * 140, {"platform": "x"}, None),
    ("length", "a" * 250 + " " + LONG_URL + LONG_URL[8:], {"platform": "x"}, None),  # links weigh 23
    ("length", "a" * 281, {"platform": "facebook"}, None),
    ("length", "word " * 1601, {"platform": "facebook"}, "block"),
    ("length", "   ", {"platform": "x"}, "block"),
    ("length", "@sam " + "a" * 2195, {"platform": "instagram"}, None),
    ("length", "@sam " + "a" * 2196, {"platform": "instagram"}, "block"),
    ("length", "a" * 1250, {"platform": "linkedin"}, None),
    ("length", "a" * 1251, {"platform": "linkedin"}, "block"),
    # personal-data
    ("personal-data", "Your NHS number 943 476 5919 is on file ^JB", {}, "block"),
    ("personal-data", "We'll call you on 07911 123456 ^JB", {}, "block"),
    ("personal-data", "Email us at jo.bloggs@example.com ^JB", {}, "block"),
    ("personal-data", "We have your address as CV1 4FS ^JB", {}, "block"),
    ("personal-data", "Is your DOB 12/03/1980? ^JB", {}, "block"),
    ("personal-data", "Your reference is 9434765918 ^JB", {}, None),  # bad check digit
    ("personal-data", "Call NHS 111 or our team on 0300 123 4567 ^JB", {}, None),
    ("personal-data", "The clinic in CV1 is open on 12/03/2025 ^JB", {}, None),
    # click-here
    ("click-here", "Click here to book your jab https://www.nhs.uk ^JB", {}, "warn"),
    ("click-here", "Tap this link for more https://www.nhs.uk ^JB", {}, "warn"),
    ("click-here", "Book your jab at https://www.nhs.uk ^JB", {}, None),
    ("click-here", "Here is the list of clinics ^JB", {}, None),
    # hashtag-case
    ("hashtag-case", "Thanks for coming ^JB #covwarks", {}, "warn"),
    ("hashtag-case", "Thanks for coming ^JB #nhs", {}, "warn"),
    ("hashtag-case", "Thanks for coming ^JB #Stopsmoking", {}, "warn"),
    ("hashtag-case", "Thanks for coming ^JB #COVWARKS", {}, "warn"),
    ("hashtag-case", "Thanks for coming ^JB #CovWarks", {}, None),
    ("hashtag-case", "Thanks for coming ^JB #NHS #Covid19 #2025", {}, None),
    ("hashtag-case", "Thanks for coming ^JB #Winter", {}, None),
    # hashtag-position
    ("hashtag-position", "Get your #Flu jab today ^JB", {}, "warn"),
    ("hashtag-position", "#Flu jabs are open ^JB", {}, "warn"),
    ("hashtag-position", "Get your flu jab today ^JB #Flu", {}, None),
    ("hashtag-position", "Get your flu jab today. #Flu #CovWarks ^JB", {}, None),
    ("hashtag-position", "Read more https://example.com/page#section ^JB", {}, None),
    # mention-position
    ("mention-position", "Thanks @UHCW for your help ^JB", {}, "warn"),
    ("mention-position", "@jo Thanks for your message ^JB", {}, None),
    ("mention-position", "@jo @sam thanks for the kind words ^JB", {}, None),
    ("mention-position", "Thanks for your help ^JB @UHCW", {}, None),
    ("mention-position", "Write to jo@example.org ^JB", {}, None),
    # all-caps
    ("all-caps", "PLEASE do not come in if you feel unwell ^JB", {}, "warn"),
    ("all-caps", "This is VERY IMPORTANT news ^JB", {}, "warn"),
    ("all-caps", "Your GP, GPs or A&E can help. The NHS and ICB are here ^JB", {}, None),
    ("all-caps", "Thanks for your message.\nJB", {}, None),
    ("all-caps", "Contact PALS ^JB", {}, None),  # the acronym rule's job, not shouting
    # acronym
    ("acronym", "Contact PALS for help ^JB", {}, "warn"),
    ("acronym", "Ask at the UTC ^JB", {}, "warn"),
    ("acronym", "Contact the Patient Advice and Liaison Service (PALS) ^JB", {}, None),
    ("acronym", "Ask your GP or go to A&E, the ICB and ICS agree ^JB", {}, None),
    ("acronym", "Send it to your pals ^JB", {}, None),  # lower case is a word, not an acronym
    # jargon
    ("jargon", "We will signpost you to the right team ^JB", {}, "warn"),
    ("jargon", "Our service users have been consulted ^JB", {}, "warn"),
    ("jargon", "We will utilise this going forward ^JB", {}, "warn"),
    ("jargon", "We will point you to the right team ^JB", {}, None),
    # slang
    ("slang", "Thx for letting us know ^JB", {}, "warn"),
    ("slang", "We're gonna look into it ^JB", {}, "warn"),
    ("slang", "Let us know if u need anything ^JB", {}, "warn"),
    ("slang", "Thank you for letting us know ^JB", {}, None),
    ("slang", "Visit the Urgent Treatment Centre ^JB", {}, None),
    # readability
    ("readability", LONG_SENTENCE_30 + " ^JB", {}, "tip"),
    ("readability", LONG_SENTENCE_40 + " ^JB", {}, "warn"),
    ("readability", HARD, {}, "tip"),
    ("readability", "Thanks for your message. We will look into it. ^JB", {}, None),
    # special-characters
    ("special-characters", "𝐁𝐨𝐨𝐤 𝐧𝐨𝐰 for your jab ^JB", {}, "warn"),
    ("special-characters", "ｗｉｄｅ text ^JB", {}, "warn"),
    ("special-characters", "Ⓒⓘⓡⓒⓛⓔⓓ ^JB", {}, "warn"),
    ("special-characters", "z̷a̷l̷g̷o̷ text ^JB", {}, "warn"),
    ("special-characters", "Great news 😀😀😀😀 ^JB", {}, "warn"),
    ("special-characters", "Café opening hours ^JB", {}, None),
    ("special-characters", "Thanks 😀👍 ^JB", {}, None),
    ("special-characters", "नमस्ते, we can help ^JB", {}, None),
    # line-length
    ("line-length", "word " * 60 + "^JB", {"platform": "facebook"}, "tip"),
    ("line-length", ("word " * 30 + "\n") * 2 + "^JB", {"platform": "facebook"}, None),
    # inclusive-language
    ("inclusive-language", "Thanks guys ^JB", {}, "warn"),
    ("inclusive-language", "The chairman will reply ^JB", {}, "warn"),
    (
        "inclusive-language",
        "For people who suffer from diabetes and anyone suffering from asthma ^JB",
        {},
        "warn",
    ),
    ("inclusive-language", "Thanks everyone ^JB", {}, None),
    ("inclusive-language", "The chair will reply ^JB", {}, None),
    # alt-text
    ("alt-text", "New clinic open ^JB", {"has_image": True}, "block"),
    ("alt-text", "New clinic open ^JB", {"has_image": True, "image_alt": "  "}, "block"),
    ("alt-text", "New clinic open ^JB", {"has_image": True, "image_alt": "image"}, "warn"),
    ("alt-text", "New clinic open ^JB", {"has_image": True, "image_alt": "IMG_2041.jpg"}, "warn"),
    ("alt-text", "New clinic open ^JB", {"has_image": True, "image_alt": "A " + "long " * 250}, "block"),
    ("alt-text", "New clinic open ^JB", {"has_image": True, "image_alt": "Nurse giving a flu jab"}, None),
    ("alt-text", "New clinic open ^JB", {}, None),
    # signature
    ("signature", "Thanks for your message", {}, "warn"),
    ("signature", "Thanks for your message ^", {}, "warn"),
    ("signature", "Thanks for your message ^JB", {}, None),
    ("signature", "Thanks for your message - Jo", {}, None),
    ("signature", "Thanks for your message —Jo", {}, None),
    ("signature", "Thanks for your message.\nJB", {}, None),
    ("signature", "Thanks for your message. JB", {}, None),
    ("signature", "I'll find out for you. Thanks, Jo", {}, None),
    ("signature", "I'll find out for you.\nJo", {}, None),
    ("signature", "Please speak to your GP", {}, "warn"),
    ("signature", "We're here to help. Jo", {}, "warn"),
    ("signature", "Thanks for your message ^JB #CovWarks", {}, None),
    ("signature", "Thanks for your message", {"signs_replies": False}, None),
    # link
    ("link", "Read the leaflet at http://example.com/flu ^JB", {}, "warn"),
    ("link", f"Read the leaflet at {LONG_URL} ^JB", {}, "tip"),
    ("link", "Read the leaflet at https://example.com/flu ^JB", {}, None),
    ("link", "Visit www.nhs.uk ^JB", {}, None),
    ("mention-position", "@sam.patel Thanks for asking ^JB", {"platform": "instagram"}, None),
    # platform-etiquette
    ("platform-etiquette", "Walk-ins are fine at most pharmacies ^JB", {"platform": "instagram"}, "warn"),
    (
        "platform-etiquette",
        "@sam.p Read more at https://www.nhs.uk/flu ^JB",
        {"platform": "instagram"},
        "warn",
    ),
    (
        "platform-etiquette",
        "@sam.p Walk-ins are fine at most pharmacies ^JB",
        {"platform": "instagram"},
        None,
    ),
    ("platform-etiquette", "Walk-ins are fine at most pharmacies ^JB", {"platform": "x"}, None),
    ("platform-etiquette", "See you there ^JB #NHSJobs #Nursing #Careers", {"platform": "linkedin"}, "warn"),
    ("platform-etiquette", "Thanks @Alex for coming ^JB", {"platform": "linkedin"}, "tip"),
    ("platform-etiquette", "See you there ^JB #NHSJobs #Nursing", {"platform": "linkedin"}, None),
    ("platform-etiquette", "See you there ^JB #NHSJobs #Nursing #Careers", {"platform": "facebook"}, None),
]


def run(text: str, **kwargs: Any) -> LintResult:
    kwargs.setdefault("platform", "x")
    return check_reply(text, rules=RULES, **kwargs)


def test_every_rule_has_cases_both_ways() -> None:
    firing = {rule for rule, _, _, severity in CASES if severity}
    quiet = {rule for rule, _, _, severity in CASES if severity is None}
    assert firing == quiet == set(RULE_IDS)


@pytest.mark.parametrize(("rule", "text", "kwargs", "severity"), CASES, ids=lambda v: str(v)[:40])
def test_rule(rule: str, text: str, kwargs: dict[str, Any], severity: str | None) -> None:
    result = run(text, **kwargs)
    found = [f for f in result.findings if f.rule == rule]
    if severity is None:
        assert found == []
    else:
        assert found, f"{rule} did not fire"
        assert {f.severity for f in found} == {severity}
        assert all("policy" in f.message for f in found) or rule == "length"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanks for coming ^JB #covwarks", "#CovWarks"),
        ("Thanks for coming ^JB #nhs", "#NHS"),
        ("Thanks for coming ^JB #stopsmoking", "#StopSmoking"),
        ("Thanks for coming ^JB #nhsjobs", "#NHSJobs"),
        ("Thanks for coming ^JB #COVWARKS", "#CovWarks"),
        ("Thanks for coming ^JB #qwzx", "Start each word with a capital letter."),
    ],
)
def test_hashtag_case_suggests_camel_case(text: str, expected: str) -> None:
    (finding,) = [f for f in run(text).findings if f.rule == "hashtag-case"]
    assert finding.suggestion == expected


def test_suggestions_say_what_to_write() -> None:
    def suggestion(rule: str, text: str) -> str | None:
        return next(f.suggestion for f in run(text).findings if f.rule == rule)

    assert suggestion("acronym", "Contact PALS ^JB") == "Patient Advice and Liaison Service (PALS)"
    assert suggestion("inclusive-language", "Thanks guys ^JB") == "Try: everyone, all"
    assert suggestion("link", "See http://example.com/flu ^JB") == "https://example.com/flu"
    assert suggestion("special-characters", "𝐁𝐨𝐨𝐤 𝐧𝐨𝐰 ^JB") == "Book now"
    assert suggestion("all-caps", "This is VERY IMPORTANT news ^JB") == "very important"


def test_offsets_point_at_the_problem() -> None:
    text = "Hi 😀 guys, call 07911 123456 or click here ^JB"
    spans = {f.rule: text[f.start : f.end] for f in run(text).findings}
    assert spans == {
        "inclusive-language": "guys",
        "personal-data": "07911 123456",
        "click-here": "click here",
    }


def test_length_finding_starts_where_the_limit_is_passed() -> None:
    (finding,) = [f for f in run("😀" + "a" * 290).findings if f.rule == "length"]
    # The emoji weighs 2, so 278 letters fit after it.
    assert (finding.start, finding.end) == (279, 291)
    assert "292" in finding.message and "280" in finding.message


FAMILY = "👨‍👩‍👧"  # five code points, eight UTF-16 units, one grapheme
FLU = "https://www.nhs.uk/conditions/flu-vaccine/"  # shown as www.nhs.uk/conditions/f... (26)


@pytest.mark.parametrize(
    ("text", "blocked"),
    [
        (FAMILY * 300, False),  # 300 graphemes: what the app allows, though 1,500 code points
        ("a" * 301, True),
        (f"{FLU} " + "a" * 273, False),  # 26 + 1 + 273 = 300, though the link is 42 characters
        (f"{FLU} " + "a" * 274, True),
        ("nhs.uk/conditions/flu-vaccine " + "a" * 270, False),  # no scheme: kept as typed (30)
        ("nhs.uk/conditions/flu-vaccine " + "a" * 271, True),
    ],
)
def test_bluesky_counts_graphemes_and_links_as_the_app_shortens_them(text: str, blocked: bool) -> None:
    found = [f for f in run(text, platform="bluesky").findings if f.rule == "length"]
    assert bool(found) == blocked
    if found:
        assert "as Bluesky counts it" in found[0].message and "300" in found[0].message


def test_bluesky_length_finding_starts_at_the_first_grapheme_past_the_limit() -> None:
    text = FAMILY * 299 + "ab"
    (finding,) = [f for f in run(text, platform="bluesky").findings if f.rule == "length"]
    assert text[finding.start :] == "b"


def test_ok_is_false_exactly_when_something_blocks() -> None:
    assert run("Thanks for your message ^JB").ok
    warned = run("Thanks guys")  # warnings only
    assert warned.ok and {f.severity for f in warned.findings} == {"warn"}
    assert not run("Call 07911 123456 ^JB").ok


def test_findings_are_in_text_order_and_serialise_to_the_cli_shape() -> None:
    result = run("Thanks guys, PLEASE click here ^JB #covwarks")
    starts = [f.start for f in result.findings]
    assert starts == sorted(starts)
    data = result.to_dict()
    assert set(data) == {"ok", "findings"}
    assert all(
        set(f) == {"rule", "severity", "start", "end", "message", "suggestion"} for f in data["findings"]
    )


def test_published_contact_details_may_appear() -> None:
    rules = LintConfig.from_dict(
        {
            "personal_data": {
                "published_numbers": ["+44 24 7655 3344"],
                "published_emails": ["Team.Box@nhs.net"],
            }
        }
    )
    assert check_reply("Call the practice on 024 7655 3344 ^JB", platform="x", rules=rules).ok
    assert check_reply("Email team.box@nhs.net ^JB", platform="x", rules=rules).ok
    assert not check_reply("Call me on 024 7655 3345 ^JB", platform="x", rules=rules).ok
    assert not check_reply("Email jo.bloggs@nhs.net ^JB", platform="x", rules=rules).ok


def test_unknown_platform_is_refused() -> None:
    with pytest.raises(ValueError, match="platform"):
        run("Thanks ^JB", platform="myspace")


def test_empty_config_uses_defaults_and_checks_structure() -> None:
    rules = LintConfig.from_dict({})
    result = check_reply("Get your #flu jab " + "a" * 280, platform="x", rules=rules)
    assert {f.rule for f in result.findings} >= {"length", "hashtag-case", "hashtag-position", "signature"}


@pytest.mark.parametrize(
    "bad",
    [
        {"limits": {"max_emoji": "three"}},
        {"limits": {"max_emoji": -1}},
        {"limits": []},
        {"jargon": [{"terms": "utilise", "plain": "use"}]},
        {"jargon": [{"terms": ["utilise"]}]},
        {"acronyms": {"fine": "NHS"}},
        {"acronyms": {"explain": {"PALS": 1}}},
    ],
)
def test_bad_config_is_reported(bad: dict[str, Any]) -> None:
    with pytest.raises(LintConfigError):
        LintConfig.from_dict(bad)


@settings(max_examples=200)
@given(
    st.text(),
    st.sampled_from(["x", "facebook", "bluesky"]),
    st.booleans(),
    st.one_of(st.none(), st.text(max_size=30)),
    st.booleans(),
)
def test_never_raises_and_offsets_fit(
    text: str, platform: str, image: bool, alt: str | None, signs: bool
) -> None:
    result = check_reply(
        text, platform=platform, rules=RULES, has_image=image, image_alt=alt, signs_replies=signs
    )
    assert result.ok == (not any(f.severity == "block" for f in result.findings))
    for f in result.findings:
        assert isinstance(f, Finding)
        assert f.rule in RULE_IDS
        assert 0 <= f.start <= f.end <= len(text)


@settings(max_examples=200)
@given(st.text(alphabet="#@^-aAbBzZ 😀.\n:/htps0123456789_", max_size=120))
def test_never_raises_on_tag_and_link_heavy_text(text: str) -> None:
    run(text)
