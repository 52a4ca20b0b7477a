"""Local fakes of the platforms (X API v2, Graph API, news feeds) as real HTTP servers on 127.0.0.1.

Used by the connector tests, the worker's crash tests and ``listening-post demo``: point a
connector's ``base_url`` (X, Facebook) or the feed URL (RSS) at ``fake.base_url``.
"""

from listener.fakes.graph_api import FakeGraphApi
from listener.fakes.news_feed import FakeNewsFeed
from listener.fakes.server import Failure, FakeServer, RecordedRequest
from listener.fakes.x_api import FakeXApi

__all__ = ["FakeGraphApi", "FakeNewsFeed", "FakeServer", "FakeXApi", "Failure", "RecordedRequest"]
