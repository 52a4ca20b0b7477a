"""Bluesky (the AT Protocol): mentions, replies and quotes of our account, keyword searches, replies."""

from connectors.bluesky.connector import BlueskyConnector, parse_source
from connectors.bluesky.parse import parse_bluesky_response
from connectors.bluesky.session import MemorySessionStore, SessionStore

__all__ = ["BlueskyConnector", "MemorySessionStore", "SessionStore", "parse_bluesky_response", "parse_source"]
