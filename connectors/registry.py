"""The connectors by platform slug, and the raw-response parsers ``listening-post import`` uses.

An explicit table, not discovery: adding a platform means adding a line here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from connectors.base import ParseResult
from connectors.bluesky import BlueskyConnector, parse_bluesky_response
from connectors.facebook import FacebookConnector, parse_graph_response
from connectors.instagram import InstagramConnector, parse_instagram_response
from connectors.linkedin import LinkedInConnector, parse_linkedin_response
from connectors.rss import RssConnector
from connectors.x import XConnector, parse_tweets_response

CONNECTORS: Mapping[str, type] = MappingProxyType(
    {
        XConnector.slug: XConnector,
        FacebookConnector.slug: FacebookConnector,
        RssConnector.slug: RssConnector,
        InstagramConnector.slug: InstagramConnector,
        LinkedInConnector.slug: LinkedInConnector,
        BlueskyConnector.slug: BlueskyConnector,
    }
)

# body, *, source -> ParseResult; both accept further keyword options (see each function).
IMPORT_PARSERS: Mapping[str, Callable[..., ParseResult]] = MappingProxyType(
    {
        "x": parse_tweets_response,
        "facebook": parse_graph_response,
        "instagram": parse_instagram_response,
        "linkedin": parse_linkedin_response,
        "bluesky": parse_bluesky_response,
    }
)

SOURCE_PLATFORMS = (*CONNECTORS, "replay")


def platform_of(source: str) -> str:
    """``x:mentions:@h`` -> ``"x"``; ``rss:https://...`` -> ``"rss"``; ``replay:file`` -> ``"replay"``."""
    slug = source.partition(":")[0]
    if slug not in SOURCE_PLATFORMS or ":" not in source:
        raise ValueError(
            f"unknown source {source!r}: it must start with one of {', '.join(SOURCE_PLATFORMS)}"
        )
    return slug


def connector_class(slug: str) -> type[Any]:
    try:
        return CONNECTORS[slug]
    except KeyError:
        raise ValueError(f"no connector for platform {slug!r} (known: {', '.join(CONNECTORS)})") from None

# What people call each platform, for pages, reports and emails.
PLATFORM_NAMES = {
    "x": "X",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "linkedin": "LinkedIn",
    "bluesky": "Bluesky",
    "rss": "News",
}
