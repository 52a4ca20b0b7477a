"""Suggested replies: templates from ``config/templates/*.toml`` filled for one item.

Pure: the worker loads the TOML (or the admin-edited copies from the database) and
passes the parsed data in. Filling never fails: an unknown or empty placeholder is left
out, and the spaces and punctuation around it are tidied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PLACEHOLDERS",
    "ReplyTemplate",
    "SuggestedReply",
    "TemplateError",
    "fill",
    "parse_templates",
    "suggest_replies",
]

PLACEHOLDERS = ("author_name", "agent_initials", "agent_first_name", "service_link")
_PLATFORMS = ("x", "facebook", "instagram", "linkedin", "bluesky")

_PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"[ \t]+([,.!?;:])")
_COMMA_BEFORE_STOP_RE = re.compile(r",([.!?])")
_EMPTY_SIGN_OFF_RE = re.compile(r"(?:^|[ \t])(?:\^|[-–—])[ \t]*$", re.MULTILINE)
_SPACES_RE = re.compile(r"[ \t]{2,}")


class TemplateError(ValueError):
    """A template entry is missing a field or has one of the wrong type."""


@dataclass(frozen=True, slots=True)
class ReplyTemplate:
    id: str
    title: str
    for_kinds: tuple[str, ...]
    body: str
    platforms: tuple[str, ...] = _PLATFORMS

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReplyTemplate:
        def text(key: str) -> str:
            value = d.get(key)
            if not isinstance(value, str) or not value.strip():
                raise TemplateError(f"template {d.get('id', '?')!r}: '{key}' must be non-empty text")
            return value

        def names(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            value = d.get(key, list(default))
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TemplateError(f"template {d.get('id', '?')!r}: '{key}' must be a list of names")
            return tuple(value)

        return cls(
            id=text("id"),
            title=text("title"),
            for_kinds=names("for_kinds", ()),
            body=text("body"),
            platforms=names("platforms", _PLATFORMS),
        )


@dataclass(frozen=True, slots=True)
class SuggestedReply:
    template_id: str
    title: str
    text: str


def parse_templates(data: Mapping[str, Any]) -> list[ReplyTemplate]:
    """Templates from a parsed ``config/templates/replies.toml`` (``[[template]]`` entries)."""
    entries = data.get("template", [])
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise TemplateError("[[template]] must be an array of tables")
    templates = [ReplyTemplate.from_dict(e) for e in entries]
    ids = [t.id for t in templates]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise TemplateError(f"template ids must be unique: {', '.join(duplicates)}")
    return templates


def fill(body: str, values: Mapping[str, str]) -> str:
    """Replace ``{placeholder}`` with its value; unknown or empty ones disappear tidily."""
    text = _PLACEHOLDER_RE.sub(lambda m: str(values.get(m.group(1)) or ""), body)
    text = _EMPTY_SIGN_OFF_RE.sub("", text)  # "^" or "-" left without initials or a name
    text = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", text)  # "Hi , thanks" -> "Hi, thanks"
    text = _COMMA_BEFORE_STOP_RE.sub(r"\1", text)  # "in touch, ." -> "in touch."
    text = _SPACES_RE.sub(" ", text)
    return "\n".join(line.strip() for line in text.splitlines()).strip()


def suggest_replies(
    templates: Iterable[ReplyTemplate] | Mapping[str, Any],
    *,
    kind: str,
    author_name: str,
    agent_initials: str,
    agent_first_name: str,
    platform: str,
    service_link: str = "",
) -> list[SuggestedReply]:
    """The templates that suit this kind of item on this platform, filled in, in file order.

    ``templates`` is a list of ``ReplyTemplate`` or the parsed TOML (see ``parse_templates``).
    """
    if isinstance(templates, Mapping):
        templates = parse_templates(templates)
    values = {
        "author_name": author_name,
        "agent_initials": agent_initials,
        "agent_first_name": agent_first_name,
        "service_link": service_link,
    }
    return [
        SuggestedReply(template_id=t.id, title=t.title, text=fill(t.body, values))
        for t in templates
        if kind in t.for_kinds and platform in t.platforms
    ]
