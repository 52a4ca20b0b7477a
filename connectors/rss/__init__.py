"""Local news feeds (RSS/Atom): items naming the board, as news mentions."""

from connectors.rss.connector import RssConnector, parse_source, plain_text

__all__ = ["RssConnector", "parse_source", "plain_text"]
