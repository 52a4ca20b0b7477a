"""X (Twitter) API v2: mentions of the board's accounts, keyword searches, replies, hidden replies."""

from connectors.x.connector import XConnector, parse_source
from connectors.x.parse import parse_tweets_response, snowflake_time

__all__ = ["XConnector", "parse_source", "parse_tweets_response", "snowflake_time"]
