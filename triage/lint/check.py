"""``check_reply``: run every rule over a reply before it is sent."""

from __future__ import annotations

from triage.lint.characters import check_special_characters
from triage.lint.config import LintConfig
from triage.lint.findings import Finding, LintResult
from triage.lint.hashtags import check_hashtag_case, check_hashtag_position, check_mention_position
from triage.lint.length import PLATFORMS, check_length, check_line_length
from triage.lint.links import check_links
from triage.lint.media import check_alt_text
from triage.lint.platforms import check_platform_etiquette
from triage.lint.privacy import check_personal_data
from triage.lint.readability import check_readability
from triage.lint.reply import analyse
from triage.lint.signature import check_signature
from triage.lint.wording import (
    check_acronyms,
    check_all_caps,
    check_click_here,
    check_inclusive_language,
    check_jargon,
    check_slang,
)

# Rules that need only the reply and the word lists.
_TEXT_RULES = (
    check_personal_data,
    check_click_here,
    check_hashtag_case,
    check_hashtag_position,
    check_mention_position,
    check_all_caps,
    check_acronyms,
    check_jargon,
    check_slang,
    check_readability,
    check_special_characters,
    check_line_length,
    check_inclusive_language,
    check_links,
)


def check_reply(
    text: str,
    *,
    platform: str,
    rules: LintConfig,
    has_image: bool = False,
    image_alt: str | None = None,
    signs_replies: bool = True,
) -> LintResult:
    """Check a reply against policy sections 5.2, 7.0 and 7.1.

    ``platform`` is one of ``PLATFORMS`` ("x", "facebook", "instagram", "linkedin", "bluesky"; anything else
    raises ``ValueError``).
    ``signs_replies`` is the account's setting: whether replies end with the writer's
    initials or first name. The result is not ok when any finding blocks sending.
    """
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}")
    reply = analyse(text)
    findings: list[Finding] = check_length(reply, rules, platform)
    for rule in _TEXT_RULES:
        findings.extend(rule(reply, rules))
    findings.extend(check_alt_text(reply, rules, platform=platform, has_image=has_image, image_alt=image_alt))
    findings.extend(check_signature(reply, rules, signs_replies=signs_replies))
    findings.extend(check_platform_etiquette(reply, rules, platform))
    return LintResult.from_findings(findings)
