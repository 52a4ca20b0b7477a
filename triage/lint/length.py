"""Rules ``length`` (the platform's limit) and ``line-length`` (policy 7.1: limit line length)."""

from __future__ import annotations

import re

import twitter_text
from twitter_text.config import config as _twitter_config

from triage.lint.bluesky import bluesky_length
from triage.lint.config import LintConfig
from triage.lint.findings import Finding
from triage.lint.reply import Reply

PLATFORMS = ("x", "facebook", "instagram", "linkedin", "bluesky")
_WHERE = {
    "facebook": "on Facebook",
    "instagram": "for an Instagram comment",
    "linkedin": "for a LinkedIn comment",
}


def _first_index_past(text: str, utf16_units: int) -> int:
    """The Python index of the character that starts after ``utf16_units`` UTF-16 code units."""
    # twitter-text reports positions in UTF-16 units (as JavaScript counts them).
    units = 0
    for i, ch in enumerate(text):
        if units >= utf16_units:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


def check_length(reply: Reply, rules: LintConfig, platform: str) -> list[Finding]:
    text = reply.text
    if not text.strip():
        return [
            Finding("length", "block", 0, len(text), "The reply is empty.", "Write a reply before sending.")
        ]
    if platform == "x":
        options = {**_twitter_config["defaults"], "max_weighted_tweet_length": rules.x_max_weighted_length}
        parsed = twitter_text.parse_tweet(text, options)
        limit, length = rules.x_max_weighted_length, parsed.weightedLength
        how = "as X counts it (every link counts as 23 characters and most emoji as 2)"
        over_at = _first_index_past(text, parsed.validRangeEnd + 1) if length > limit else len(text)
    elif platform == "bluesky":
        limit = rules.bluesky_max_graphemes
        length, over_at = bluesky_length(text, limit)
        how = "as Bluesky counts it (an emoji counts as 1, and each link as the app shortens it)"
    else:
        limit, length, how = rules.max_length(platform), len(text), _WHERE[platform]
        over_at = limit
    if length <= limit:
        return []
    return [
        Finding(
            "length",
            "block",
            min(over_at, len(text)),
            len(text),
            f"This reply is {length} characters long {how}; the limit is {limit}. "
            "Keep replies concise, and move long or complex answers to a direct message or email "
            "(policy 7.0).",
            f"Cut at least {length - limit} characters, or offer to continue by direct message.",
        )
    ]


def check_line_length(reply: Reply, rules: LintConfig) -> list[Finding]:
    findings = []
    for m in re.finditer(r"[^\n]+", reply.text):
        if len(m.group(0)) > rules.max_line_length:
            findings.append(
                Finding(
                    "line-length",
                    "tip",
                    m.start(),
                    m.end(),
                    f"This paragraph is {len(m.group(0))} characters long without a line break. Long lines "
                    "are harder to follow, especially with dyslexia or on a screen magnifier "
                    "(policy 7.1: limit line length).",
                    f"Break it into shorter paragraphs of under {rules.max_line_length} characters.",
                )
            )
    return findings
