"""The explicit slug -> connector table."""

from __future__ import annotations

import inspect

import pytest

from connectors.base import Connector
from connectors.registry import CONNECTORS, connector_class, platform_of


@pytest.mark.parametrize(
    ("source", "slug"),
    [
        ("x:mentions:@NHSCovWarks", "x"),
        ("x:search:nhs lang:en", "x"),
        ("facebook:page:104729318865221", "facebook"),
        ("rss:https://www.coventrytelegraph.net/news/?service=rss", "rss"),
        ("replay:demo.jsonl", "replay"),
        ("instagram:account:17841400000000001", "instagram"),
        ("linkedin:organization:2414183", "linkedin"),
        ("bluesky:mentions:@nhscovwarks.bsky.social", "bluesky"),
        ("bluesky:search:NHS Coventry", "bluesky"),
    ],
)
def test_platform_of_source(source: str, slug: str) -> None:
    assert platform_of(source) == slug


@pytest.mark.parametrize("source", ["myspace:me", "x", "", "rss"])
def test_unknown_sources_are_refused(source: str) -> None:
    with pytest.raises(ValueError):
        platform_of(source)


def test_every_connector_keeps_the_contract() -> None:
    assert set(CONNECTORS) == {"x", "facebook", "rss", "instagram", "linkedin", "bluesky"}
    for slug, cls in CONNECTORS.items():
        assert connector_class(slug) is cls and cls.slug == slug
        assert isinstance(cls.max_reply_length, int)
        for name in ("fetch", "reply", "find_reply", "hide"):
            expected = inspect.signature(getattr(Connector, name))
            assert list(inspect.signature(getattr(cls, name)).parameters)[: len(expected.parameters)] == list(
                expected.parameters
            ), (slug, name)
    with pytest.raises(ValueError):
        connector_class("myspace")
