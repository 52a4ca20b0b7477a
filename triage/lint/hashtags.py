"""Rules ``hashtag-case``, ``hashtag-position`` and ``mention-position`` (policy 7.1).

Screen readers read "#covwarks" as one made-up word and "#CovWarks" as two; a hashtag or
mention in the middle of a sentence interrupts it, so they go at the end. A reply may
still start with the @handles it answers.
"""

from __future__ import annotations

from triage.lint.config import LintConfig
from triage.lint.findings import Finding
from triage.lint.reply import Reply

# Splitting a hashtag is quadratic in its length; longer ones only get a generic hint.
_MAX_SEGMENTED = 60


def _split_words(body: str, words: frozenset[str]) -> list[str] | None:
    """Split lower-case ``body`` into the fewest known words and digit runs, or None."""
    n = len(body)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        done = best[i]
        if done is None:
            continue
        for j in range(i + 1, n + 1):
            piece = body[i:j]
            if piece in words or piece.isdigit():
                candidate = [*done, piece]
                current = best[j]
                if current is None or len(candidate) < len(current):
                    best[j] = candidate
    return best[n]


def camel_case(tag: str, rules: LintConfig) -> str | None:
    """#covwarks -> #CovWarks; acronyms stay in capitals (#nhsjobs -> #NHSJobs)."""
    body = tag[1:]
    if len(body) > _MAX_SEGMENTED:
        return None
    acronyms = {a.lower(): a for a in (*rules.acronyms_fine, *rules.acronyms_explain)}
    parts: list[str] = []
    for chunk in body.lower().split("_"):
        pieces = _split_words(chunk, rules.hashtag_words | frozenset(acronyms))
        if pieces is None:
            return None
        parts.append("".join(acronyms.get(p, p[:1].upper() + p[1:]) for p in pieces))
    return "#" + "_".join(parts)


def _case_problem(tag: str, rules: LintConfig) -> str | None:
    """Why this hashtag's letter case trips screen readers, or None when it is fine."""
    body = tag[1:]
    letters = [ch for ch in body if ch.isalpha()]
    if len(letters) < 2:
        return None
    if all(ch.islower() for ch in letters):
        return "is all in lower case"
    if all(ch.isupper() for ch in letters):
        known = {*rules.acronyms_fine, *rules.acronyms_explain}
        if body in known or len(letters) <= 4:
            return None
        return "is all in capitals, so screen readers may spell it out letter by letter"
    if letters[0].isupper() and all(ch.islower() for ch in letters[1:]):
        pieces = _split_words(body.lower(), rules.hashtag_words) if len(body) <= _MAX_SEGMENTED else None
        if pieces and sum(1 for p in pieces if len(p) > 1 and not p.isdigit()) >= 2:
            return "joins several words but only the first has a capital"
    return None


def check_hashtag_case(reply: Reply, rules: LintConfig) -> list[Finding]:
    findings = []
    for tag in reply.hashtags:
        problem = _case_problem(tag.text, rules)
        if problem is None:
            continue
        suggestion = camel_case(tag.text, rules)
        findings.append(
            Finding(
                "hashtag-case",
                "warn",
                tag.start,
                tag.end,
                f"{tag.text} {problem}. Start each word in a hashtag with a capital letter so screen "
                "readers read it correctly, e.g. #CovWarks not #covwarks (policy 7.1).",
                suggestion or "Start each word with a capital letter.",
            )
        )
    return findings


def check_hashtag_position(reply: Reply, rules: LintConfig) -> list[Finding]:
    return [
        Finding(
            "hashtag-position",
            "warn",
            tag.start,
            tag.end,
            f"{tag.text} is in the middle of the text. Put hashtags at the end so they don't "
            "interrupt the message for screen reader users (policy 7.1).",
            f"Write it as plain words here and add {camel_case(tag.text, rules) or tag.text} at the end.",
        )
        for tag in reply.hashtags
        if tag.start < reply.tail_start
    ]


def check_mention_position(reply: Reply, rules: LintConfig) -> list[Finding]:
    return [
        Finding(
            "mention-position",
            "warn",
            m.start,
            m.end,
            f"{m.text} is in the middle of the text. Put mentions at the end (or at the very start "
            "when replying to someone) so they don't interrupt screen reader users (policy 7.1).",
            f"Name them in words here and add {m.text} at the end.",
        )
        for m in reply.mentions
        if reply.head_end <= m.start < reply.tail_start
    ]
