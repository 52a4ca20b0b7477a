"""What the reply checker reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["block", "warn", "tip"]

# Rule ids, in the order the checker runs them. The queue UI and the CLI key on these.
RULE_IDS = (
    "length",
    "personal-data",
    "click-here",
    "hashtag-case",
    "hashtag-position",
    "mention-position",
    "all-caps",
    "acronym",
    "jargon",
    "slang",
    "readability",
    "special-characters",
    "line-length",
    "inclusive-language",
    "alt-text",
    "signature",
    "link",
    "platform-etiquette",
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in a reply.

    ``start``/``end`` are character (code point) offsets into the reply text; a finding
    about the reply as a whole (a missing signature or image description) has
    ``start == end``. ``message`` is written for comms staff and names the policy section.
    """

    rule: str
    severity: Severity
    start: int
    end: int
    message: str
    suggestion: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class LintResult:
    """``ok`` is False exactly when a finding blocks sending."""

    ok: bool
    findings: list[Finding] = field(default_factory=list)

    @classmethod
    def from_findings(cls, findings: list[Finding]) -> LintResult:
        ordered = sorted(findings, key=lambda f: (f.start, f.end, RULE_IDS.index(f.rule)))
        return cls(ok=not any(f.severity == "block" for f in ordered), findings=ordered)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "findings": [f.to_dict() for f in self.findings]}
