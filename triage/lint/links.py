"""Rule ``link`` (policy 7.0: include useful links; 7.1: make them accessible)."""

from __future__ import annotations

from triage.lint.config import LintConfig
from triage.lint.findings import Finding
from triage.lint.reply import Reply


def check_links(reply: Reply, rules: LintConfig) -> list[Finding]:
    findings = []
    for url in reply.urls:
        if url.text[:7].lower() == "http://":
            findings.append(
                Finding(
                    "link",
                    "warn",
                    url.start,
                    url.end,
                    "This link starts with http://, which is not secure; browsers may warn people away "
                    "from it. Link to the https:// address (policy 7.0: be accurate and credible).",
                    "https://" + url.text[7:],
                )
            )
        elif len(url.text) > rules.long_url_length:
            findings.append(
                Finding(
                    "link",
                    "tip",
                    url.start,
                    url.end,
                    f"This link is {len(url.text)} characters long. Screen readers read long links out "
                    "character by character; link to a shorter page address and say in words what it "
                    "is (policy 7.1).",
                    "Use a shorter address (e.g. the page's short link) after a few words saying what it is.",
                )
            )
    return findings
