"""Rule ``special-characters`` (policy 7.1: avoid special characters; emoji where appropriate).

"Fancy text" generators swap ordinary letters for look-alike symbols (𝐛𝐨𝐥𝐝, 𝘪𝘵𝘢𝘭𝘪𝘤, Ⓒⓘⓡⓒⓛⓔⓓ,
ｗｉｄｅ, ꜱᴍᴀʟʟ ᴄᴀᴘꜱ) or pile up combining marks (z̷a̷l̷g̷o̷, s̶t̶r̶i̶k̶e̶). Screen readers read
each symbol by its name, or skip it, and search can't find the words.
"""

from __future__ import annotations

import unicodedata

import twitter_text

from triage.lint.config import LintConfig
from triage.lint.findings import Finding
from triage.lint.reply import Reply

_DECORATIVE_NAME_PREFIXES = (
    "MATHEMATICAL ",
    "CIRCLED LATIN",
    "NEGATIVE CIRCLED LATIN",
    "PARENTHESIZED LATIN",
    "SQUARED LATIN",
    "NEGATIVE SQUARED LATIN",
    "FULLWIDTH LATIN",
    "FULLWIDTH DIGIT",
    "LATIN LETTER SMALL CAPITAL",
    "MODIFIER LETTER SMALL",
    "MODIFIER LETTER CAPITAL",
    "SUPERSCRIPT LATIN",
    "LATIN SUBSCRIPT",
    "DOUBLE-STRUCK",
    "SCRIPT CAPITAL",
    "SCRIPT SMALL",
    "BLACK-LETTER",
    "CIRCLED DIGIT",
    "CIRCLED NUMBER",
    "DINGBAT NEGATIVE CIRCLED",
    "DINGBAT CIRCLED",
)
# Combining marks used as strike-through, underline and overline "styles".
_STYLE_MARKS = frozenset("\u0305\u0332\u0333\u0334\u0335\u0336\u0337\u0338\u033f\u0347\u0353")
_MAX_STACKED_MARKS = 2  # some scripts stack two; three or more is "zalgo" text


def _is_combining(ch: str) -> bool:
    return unicodedata.category(ch) in ("Mn", "Me")


def _decorative_positions(text: str) -> list[int]:
    positions = []
    stacked = 0
    for i, ch in enumerate(text):
        if ch.isascii():
            stacked = 0
            continue
        if _is_combining(ch):
            stacked += 1
            if ch in _STYLE_MARKS or stacked > _MAX_STACKED_MARKS:
                positions.append(i)
            continue
        stacked = 0
        if unicodedata.name(ch, "").startswith(_DECORATIVE_NAME_PREFIXES):
            positions.append(i)
    return positions


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in unicodedata.normalize("NFD", folded) if not _is_combining(ch))


def check_special_characters(reply: Reply, rules: LintConfig) -> list[Finding]:
    text = reply.text
    findings = []
    runs: list[list[int]] = []
    for pos in _decorative_positions(text):
        if runs and pos < runs[-1][1]:
            continue
        # Widen to the whole word, so the base letters under combining marks come along.
        start, end = pos, pos + 1
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        while end < len(text) and not text[end].isspace():
            end += 1
        if runs and not text[runs[-1][1] : start].strip():
            runs[-1][1] = end  # the next word of the same styled phrase
        else:
            runs.append([start, end])
    for start, end in runs:
        findings.append(
            Finding(
                "special-characters",
                "warn",
                start,
                end,
                "This uses decorative characters instead of ordinary letters. Screen readers read them "
                "out symbol by symbol or skip them, and search can't find them (policy 7.1: avoid "
                "special characters).",
                _plain(text[start:end]),
            )
        )
    emoji = twitter_text.extract_emojis_with_indices(text)
    if len(emoji) > rules.max_emoji:
        first_extra = emoji[rules.max_emoji]["indices"][0]
        findings.append(
            Finding(
                "special-characters",
                "warn",
                first_extra,
                emoji[-1]["indices"][1],
                f"This reply has {len(emoji)} emoji. Screen readers read out each one's name, so use "
                f"no more than {rules.max_emoji} and never in place of words (policy 7.0, 7.1).",
                f"Keep up to {rules.max_emoji} emoji, ideally at the end.",
            )
        )
    return findings
