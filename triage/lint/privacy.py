"""Rule ``personal-data`` (policy 5.2: never breach confidentiality)."""

from __future__ import annotations

from triage.lint.config import LintConfig, national_digits
from triage.lint.findings import Finding
from triage.lint.reply import Reply

_WHAT = {
    "nhs_number": "an NHS number",
    "phone": "a personal phone number",
    "email": "an email address",
    "postcode": "a full postcode",
    "date_of_birth": "a date of birth",
}


def check_personal_data(reply: Reply, rules: LintConfig) -> list[Finding]:
    findings = []
    for found in reply.personal_data:
        if found.kind == "phone" and national_digits(found.text) in rules.published_numbers:
            continue
        if found.kind == "email" and found.text.lower() in rules.published_emails:
            continue
        findings.append(
            Finding(
                "personal-data",
                "block",
                found.start,
                found.end,
                f"This looks like {_WHAT.get(found.kind, 'personal data')}. Never post personal or "
                "sensitive details in public, even ones the person shared themselves (policy 5.2).",
                "Remove it, and ask the person to send their details by direct message or email instead.",
            )
        )
    return findings
