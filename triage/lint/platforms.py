"""Rule ``platform-etiquette`` (policy 7.0: content appropriate to each platform, its etiquette).

Instagram: a reply notifies the commenter only through an @mention of them at the start (the
app adds one when you tap Reply), and links in comments are plain text, not clickable.
LinkedIn: a comment full of hashtags reads as spam, and an @name typed in a reply does not
tag anyone (the API posts it as plain text).
"""

from __future__ import annotations

import re

from triage.lint.config import LintConfig
from triage.lint.findings import Finding
from triage.lint.reply import Reply

RULE = "platform-etiquette"
# Instagram usernames: letters, digits, full stops and underscores, up to 30.
_INSTAGRAM_HEAD_RE = re.compile(r"\s*@[A-Za-z0-9._]{1,30}(?![A-Za-z0-9._])")


def check_platform_etiquette(reply: Reply, rules: LintConfig, platform: str) -> list[Finding]:
    if platform == "instagram":
        return _instagram(reply)
    if platform == "linkedin":
        return _linkedin(reply, rules)
    return []


def _instagram(reply: Reply) -> list[Finding]:
    findings = []
    if reply.text.strip() and not _INSTAGRAM_HEAD_RE.match(reply.text):
        findings.append(
            Finding(
                RULE,
                "warn",
                0,
                0,
                "On Instagram, start a reply with the commenter's @username: that is how they are notified, "
                "as when you tap Reply in the app (policy 7.0: follow each platform's etiquette).",
                "Start with @ and their username.",
            )
        )
    findings.extend(
        Finding(
            RULE,
            "warn",
            url.start,
            url.end,
            "Links in Instagram comments are not clickable, so people would have to copy it by hand "
            "(policy 7.0: include useful links people can use).",
            "Say in words where to find it (for example 'search NHS 111 online'), or 'link in our bio'.",
        )
        for url in reply.urls
    )
    return findings


def _linkedin(reply: Reply, rules: LintConfig) -> list[Finding]:
    findings = []
    if len(reply.hashtags) > rules.linkedin_max_hashtags:
        extra = reply.hashtags[rules.linkedin_max_hashtags]
        findings.append(
            Finding(
                RULE,
                "warn",
                extra.start,
                reply.hashtags[-1].end,
                f"This LinkedIn comment has {len(reply.hashtags)} hashtags. On LinkedIn a comment with "
                "many hashtags reads as spam; keep to the campaign's one or two "
                "(policy 7.0: use hashtags appropriately).",
                f"Keep at most {rules.linkedin_max_hashtags} hashtags.",
            )
        )
    findings.extend(
        Finding(
            RULE,
            "tip",
            m.start,
            m.end,
            f"{m.text} will not tag anyone on LinkedIn: replies are posted as plain text "
            "(policy 7.0: follow each platform's etiquette).",
            "Use the person's name instead.",
        )
        for m in reply.mentions
    )
    return findings
