"""A reply's text as the Bluesky app would post it: links shortened, facets for links, mentions and tags.

The app shows a link as ``host/path`` cut to 13 characters of path and ``...``
(``toShortUrl`` in social-app's url-helpers) and keeps the full address in a link facet;
the 300-grapheme limit counts that shortened text. Facet offsets are UTF-8 byte offsets.
``triage.lint.length`` counts the same way (triage and connectors share no code).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from atproto import models
from atproto_client.models.app.bsky.richtext.facet import Main as Facet
from atproto_client.utils import facet_detection


def to_short_url(text: str) -> str:
    """``https://www.nhs.uk/conditions/flu/`` -> ``www.nhs.uk/conditions/...``, as the app shows it."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return text
    path = ("" if parts.path == "/" else parts.path) + (f"?{parts.query}" if parts.query else "")
    path += f"#{parts.fragment}" if parts.fragment else ""
    host = parts.netloc.rpartition("@")[2]
    return f"{host}{path[:13]}..." if len(path) > 15 else host + path


def shorten_links(text: str) -> tuple[str, list[Facet]]:
    """The text with each link shortened, and a link facet (full address) over each shortened link."""
    data = text.encode("utf-8")
    out = bytearray()
    facets: list[Facet] = []
    last = 0
    for facet in facet_detection.detect_facets(text):
        link = next((f for f in facet.features if isinstance(f, models.AppBskyRichtextFacet.Link)), None)
        if link is None:
            continue
        start, end = facet.index.byte_start, facet.index.byte_end
        out += data[last:start]
        short = to_short_url(data[start:end].decode("utf-8")).encode("utf-8")
        facets.append(_facet(len(out), len(out) + len(short), link))
        out += short
        last = end
    out += data[last:]
    return out.decode("utf-8"), facets


def _facet(start: int, end: int, feature: models.AppBskyRichtextFacet.Link) -> Facet:
    return Facet(
        features=[feature], index=models.AppBskyRichtextFacet.ByteSlice(byte_start=start, byte_end=end)
    )


def merge_facets(links: list[Facet], detected: list[Facet]) -> list[Facet]:
    """Our link facets plus the mentions and tags found in the shortened text, in text order.

    Links found again in the shortened text (``www.nhs.uk/conditions/...``) are dropped: the
    link facets made while shortening carry the full address.
    """
    others = [
        f for f in detected if not any(isinstance(x, models.AppBskyRichtextFacet.Link) for x in f.features)
    ]
    return sorted([*links, *others], key=lambda f: f.index.byte_start)
