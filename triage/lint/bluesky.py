"""How the Bluesky app counts a post: user-perceived characters, with each link as the app shows it.

The app counts extended grapheme clusters (one emoji with skin tone or a family is one)
and, before counting, shortens every ``http(s)://`` link to ``host/path`` with the path
cut at 13 characters and ``...`` (social-app ``shortenLinks``/``toShortUrl``). A link typed
without its scheme (``nhs.uk/flu``) stays as typed. The connector posts the same shortened
text with a link facet holding the full address (connectors.bluesky.richtext).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import regex

# As the app's link detection: after a space, an opening bracket or the start, up to the next space.
_LINK = re.compile(r"(?:^|(?<=[\s(]))https?://\S+")
_GRAPHEME = regex.compile(r"\X")


def _short_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.netloc:
        return url
    path = ("" if parts.path == "/" else parts.path) + (f"?{parts.query}" if parts.query else "")
    path += f"#{parts.fragment}" if parts.fragment else ""
    host = parts.netloc.rpartition("@")[2]
    return f"{host}{path[:13]}..." if len(path) > 15 else host + path


def _links(text: str) -> list[tuple[int, int, str]]:
    """(start, end, shown text) of each link, trailing punctuation left out as the app does."""
    found = []
    for m in _LINK.finditer(text):
        url = m.group(0)
        if url[-1] in ".,;:!?":
            url = url[:-1]
        if url.endswith(")") and "(" not in url:
            url = url[:-1]
        found.append((m.start(), m.start() + len(url), _short_url(url)))
    return found


def bluesky_length(text: str, limit: int) -> tuple[int, int]:
    """(graphemes as the app counts them, index in ``text`` of the first character past ``limit``)."""
    count, over_at = 0, len(text)
    links = iter(_links(text))
    link = next(links, None)
    pos = 0
    while pos < len(text):
        if link is not None and pos == link[0]:
            step, end = len(_GRAPHEME.findall(link[2])), link[1]
            link = next(links, None)
        else:
            end = _GRAPHEME.match(text, pos).end()  # type: ignore[union-attr]
            step = 1
        if count + step > limit and over_at == len(text):
            over_at = pos
        count += step
        pos = end
    return count, over_at
