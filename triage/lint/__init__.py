"""The reply checker: catches problems before a reply goes out (policy 5.2, 7.0, 7.1).

``check_reply(text, platform=..., rules=LintConfig.from_dict(parsed_lint_toml))`` returns
a ``LintResult``; a ``block`` finding stops sending unless a comms lead overrides it.
One module per group of rules; ``reply.py`` takes the text apart once for all of them.
"""

from triage.lint.check import check_reply
from triage.lint.config import LintConfig, LintConfigError
from triage.lint.findings import RULE_IDS, Finding, LintResult, Severity

__all__ = ["RULE_IDS", "Finding", "LintConfig", "LintConfigError", "LintResult", "Severity", "check_reply"]
