"""Rule ``signature`` (policy 7.0: personalise messages with your first name or initials)."""

from __future__ import annotations

from triage.lint.config import LintConfig
from triage.lint.findings import Finding
from triage.lint.reply import Reply


def check_signature(reply: Reply, rules: LintConfig, *, signs_replies: bool) -> list[Finding]:
    if not signs_replies or reply.signature is not None:
        return []
    end = len(reply.text)
    return [
        Finding(
            "signature",
            "warn",
            end,
            end,
            "This account signs its replies: end with your first name or initials, e.g. '^JB' or "
            "'- Jo'. It shows there is a person listening (policy 7.0).",
            "Add ^ and your initials at the end, e.g. ^JB.",
        )
    ]
