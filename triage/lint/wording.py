"""Rules about words: ``click-here``, ``all-caps``, ``acronym``, ``jargon``, ``slang`` and
``inclusive-language`` (policy 7.0: avoid jargon, abbreviations and slang; 7.1: plain
language, capitals, descriptive calls to action, inclusive terms).

They all read ``Reply.masked``, where links, hashtags, mentions, email addresses and
the sign-off are blanked out, so "#NHSJobs" or "^JB" are never taken for words.
"""

from __future__ import annotations

import re

from triage.lint.config import LintConfig, TermList
from triage.lint.findings import Finding
from triage.lint.reply import WORD_RE, Reply

_PLURAL_RE = re.compile(r"(?:['’]s|s)$")


def check_click_here(reply: Reply, rules: LintConfig) -> list[Finding]:
    return [
        Finding(
            "click-here",
            "warn",
            start,
            end,
            f"'{reply.text[start:end]}' doesn't say where the link goes, and screen reader users often "
            "jump from link to link (policy 7.1).",
            "Say what the link does instead, e.g. 'book your jab', 'read the leaflet', 'sign up'.",
        )
        for start, end, _ in rules.click_here.find(reply.masked)
    ]


def _term_findings(reply: Reply, terms: TermList, rule: str, why: str) -> list[Finding]:
    return [
        Finding(rule, "warn", start, end, f"'{reply.text[start:end]}' {why}", f"Try: {plain}")
        for start, end, plain in terms.find(reply.masked)
    ]


def check_jargon(reply: Reply, rules: LintConfig) -> list[Finding]:
    return _term_findings(
        reply,
        rules.jargon,
        "jargon",
        "is jargon that many people won't use themselves. Use plain English (policy 7.0, 7.2).",
    )


def check_slang(reply: Reply, rules: LintConfig) -> list[Finding]:
    return _term_findings(
        reply,
        rules.slang,
        "slang",
        "is slang or text-speak. Keep the tone friendly but clear, so everyone understands it, "
        "including people reading in a second language (policy 7.0).",
    )


def check_inclusive_language(reply: Reply, rules: LintConfig) -> list[Finding]:
    return _term_findings(
        reply,
        rules.inclusive,
        "inclusive-language",
        "can leave people out or cause offence. Use gender-neutral and respectful terms (policy 7.1).",
    )


def _known_caps(word: str, rules: LintConfig) -> bool:
    if word in rules.acronyms_fine or word in rules.acronyms_explain:
        return True
    base = _PLURAL_RE.sub("", word)
    return base in rules.acronyms_fine or base in rules.acronyms_explain


def check_acronyms(reply: Reply, rules: LintConfig) -> list[Finding]:
    if rules.acronym_pattern is None:
        return []
    lowered = reply.text.lower()
    seen: set[str] = set()
    findings = []
    for m in rules.acronym_pattern.finditer(reply.masked):
        acronym = m.group("acronym")
        expansion = rules.acronyms_explain[acronym]
        if acronym in seen or expansion.lower() in lowered:
            continue
        seen.add(acronym)
        findings.append(
            Finding(
                "acronym",
                "warn",
                m.start(),
                m.end(),
                f"Not everyone will know what '{acronym}' means. Spell it out, at least the first "
                "time (policy 7.0, 7.1: don't overuse acronyms).",
                f"{expansion} ({acronym})",
            )
        )
    return findings


def check_all_caps(reply: Reply, rules: LintConfig) -> list[Finding]:
    runs: list[list[re.Match[str]]] = []
    for m in WORD_RE.finditer(reply.masked):
        word = m.group(0)
        letters = [ch for ch in word if ch.isalpha()]
        if len(letters) < 2 or not all(ch.isupper() for ch in letters) or _known_caps(word, rules):
            continue
        gap = reply.masked[runs[-1][-1].end() : m.start()] if runs else None
        if gap is not None and not any(ch.isalnum() for ch in gap) and "\n" not in gap:
            runs[-1].append(m)
        else:
            runs.append([m])
    findings = []
    for run in runs:
        start, end = run[0].start(), run[-1].end()
        words = reply.text[start:end]
        findings.append(
            Finding(
                "all-caps",
                "warn",
                start,
                end,
                f"'{words}' is in capitals. Capitals are harder to read, some screen readers spell them "
                "out letter by letter, and they can read as shouting. If it is an acronym, spell it out "
                "(policy 7.1).",
                words.lower(),
            )
        )
    return findings
