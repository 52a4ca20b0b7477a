"""A reply taken apart once, so each rule can look at the pieces it cares about.

The layout follows how replies are written on X and Facebook: optional ``@handles`` the
reply starts with, the message, then a tail of hashtags, mentions, links, emoji and the
writer's sign-off (``^JB``, ``- Jo``). Policy 7.1 asks for hashtags and mentions in that
tail, so screen readers don't read them out in the middle of a sentence.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import twitter_text

from triage.model import PersonalDataFinding
from triage.personal_data import find_personal_data

__all__ = ["Reply", "Span", "analyse", "WORD_RE"]

_HASHTAG_RE = re.compile(r"(?<![\w&#@/])#(?=\w*[^\W\d_])\w+")
# Instagram usernames may hold full stops inside (@sam.patel); a full stop after one ends the sentence.
_MENTION_RE = re.compile(r"(?<![\w@#/.])@\w+(?:\.\w+)*")
# A word: letters, optionally joined by &, apostrophes or hyphens (A&E, GP's, co-op).
WORD_RE = re.compile(r"[^\W\d_](?:[^\W\d_]|[&'’\-](?=[^\W\d_]))*")

_EDGE_PUNCT = ".,!?;:()[]\"'’“”"
_DASHES = frozenset({"-", "–", "—", "~", "^", "/"})
_TAG_UNIT_RE = re.compile(r"#\w+|@\w+(?:\.\w+)*")
_SIGN_UNIT_RE = re.compile(r"\^[A-Za-z]{1,3}|[-–—~/][A-Z][\w'’-]{0,19}")
_NAME_RE = re.compile(r"[A-Z][A-Za-z'’-]{0,19}")
_BARE_INITIALS_RE = re.compile(r"[A-Z]{2,3}")
_CLOSING_RE = re.compile(r"(?:thanks|thank\s?you|you|regards|wishes|best|cheers),", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    urls: tuple[Span, ...]
    hashtags: tuple[Span, ...]
    mentions: tuple[Span, ...]
    personal_data: tuple[PersonalDataFinding, ...]
    signature: Span | None
    head_end: int  # end of the @handles the reply starts with (0 when none)
    tail_start: int  # start of the trailing hashtags, mentions, links, emoji and sign-off
    masked: str  # the text with links, tags, emails and sign-off blanked out (same length)


def _overlaps(start: int, end: int, spans: tuple[Span, ...]) -> bool:
    """Whether [start, end) overlaps one of ``spans`` (sorted, not overlapping each other)."""
    # Bisect rather than scan: a long text can hold thousands of links.
    i = bisect.bisect_left(spans, end, key=lambda s: s.start) - 1
    return i >= 0 and spans[i].end > start


def _units(text: str) -> list[tuple[int, int, str]]:
    """Whitespace-separated pieces, with the punctuation around them trimmed off."""
    units = []
    for m in re.finditer(r"\S+", text):
        core = m.group(0).strip(_EDGE_PUNCT)
        units.append((m.start(), m.end(), core or m.group(0)))
    return units


def _layout(
    text: str, units: list[tuple[int, int, str]], urls: tuple[Span, ...]
) -> tuple[int, int, Span | None]:
    head = 0
    for _start, end, core in units:
        if not core.startswith("@") or not _TAG_UNIT_RE.fullmatch(core):
            break
        head = end

    signature: Span | None = None
    i = len(units) - 1
    while i >= 0:
        start, end, core = units[i]
        if _NAME_RE.fullmatch(core) and i > 0 and units[i - 1][2] in _DASHES:
            # "- Jo", "^ JB": the dash is its own piece.
            if signature is None:
                sig_start = units[i - 1][0]
                signature = Span(sig_start, end, text[sig_start:end])
            i -= 2
            continue
        if _SIGN_UNIT_RE.fullmatch(core) or (i == len(units) - 1 and _closing_name(text, units, i)):
            if signature is None:
                signature = Span(start, end, text[start:end])
            i -= 1
            continue
        if (
            _TAG_UNIT_RE.fullmatch(core)
            or _overlaps(start, end, urls)
            or not any(ch.isalnum() for ch in core)
        ):
            i -= 1
            continue
        break
    tail = units[i + 1][0] if i + 1 < len(units) else len(text)
    return head, max(tail, head), signature


def _closing_name(text: str, units: list[tuple[int, int, str]], i: int) -> bool:
    """A name or initials closing the reply without a dash: "Thanks, Jo", "...\nJB", "Thanks. JB"."""
    start, _, core = units[i]
    if not _NAME_RE.fullmatch(core):
        return False
    before = text[:start].rstrip(" \t")
    if before == "" or before.endswith("\n"):
        return True
    if _BARE_INITIALS_RE.fullmatch(core) and before.endswith((".", "!", "?")):
        return True
    return i > 0 and _CLOSING_RE.fullmatch(text[units[i - 1][0] : units[i - 1][1]]) is not None


def analyse(text: str) -> Reply:
    urls = tuple(
        Span(u["indices"][0], u["indices"][1], u["url"]) for u in twitter_text.extract_urls_with_indices(text)
    )
    hashtags = tuple(
        Span(m.start(), m.end(), m.group(0))
        for m in _HASHTAG_RE.finditer(text)
        if not _overlaps(m.start(), m.end(), urls)
    )
    personal = tuple(find_personal_data(text))
    emails = tuple(Span(p.start, p.end, p.text) for p in personal if p.kind == "email")
    mentions = tuple(
        Span(m.start(), m.end(), m.group(0))
        for m in _MENTION_RE.finditer(text)
        if not _overlaps(m.start(), m.end(), urls) and not _overlaps(m.start(), m.end(), emails)
    )
    head, tail, signature = _layout(text, _units(text), urls)
    blank = list(text)
    for span in (*urls, *hashtags, *mentions, *emails, *((signature,) if signature else ())):
        blank[span.start : span.end] = " " * (span.end - span.start)
    return Reply(
        text=text,
        urls=urls,
        hashtags=hashtags,
        mentions=mentions,
        personal_data=personal,
        signature=signature,
        head_end=head,
        tail_start=tail,
        masked="".join(blank),
    )
