"""Rule ``readability`` (policy 7.0 clear and concise, 7.1 plain language).

Grades come from textstat's character-based formulas (Automated Readability Index and
Coleman-Liau). Its syllable-based ones (Flesch and friends) load NLTK's CMU dictionary
and try to download it when missing, which the worker must never do.
"""

from __future__ import annotations

import re

import textstat

from triage.lint.config import LintConfig
from triage.lint.findings import Finding
from triage.lint.reply import WORD_RE, Reply

_SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]*")
# textstat reports a US school grade; a UK reading age is about five more.
_UK_READING_AGE_OFFSET = 5


def check_readability(reply: Reply, rules: LintConfig) -> list[Finding]:
    findings = []
    total_words = 0
    for m in _SENTENCE_RE.finditer(reply.masked):
        words = len(WORD_RE.findall(m.group(0)))
        total_words += words
        if words <= rules.long_sentence_words:
            continue
        very = words > rules.very_long_sentence_words
        start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
        findings.append(
            Finding(
                "readability",
                "warn" if very else "tip",
                start,
                m.start() + len(m.group(0).rstrip()),
                f"This sentence has {words} words. Sentences of under {rules.long_sentence_words} words "
                "are easier to read, especially for people with learning disabilities or reading "
                "in a second language (policy 7.1).",
                "Split it into two or more shorter sentences.",
            )
        )
    if total_words >= rules.min_words_for_grade:
        plain = " ".join(reply.masked.split())
        grade = (textstat.automated_readability_index(plain) + textstat.coleman_liau_index(plain)) / 2
        if grade > rules.max_reading_grade:
            age = round(grade + _UK_READING_AGE_OFFSET)
            findings.append(
                Finding(
                    "readability",
                    "tip",
                    0,
                    len(reply.text),
                    f"This reply needs a reading age of about {age}. Shorter words and sentences make it "
                    "clearer for everyone (policy 7.0, 7.1: plain language).",
                    "Use shorter, everyday words and shorter sentences.",
                )
            )
    return findings
