"""Facebook pages through the Graph API: visitor posts, comments and replies, tags; replies and hiding."""

from connectors.facebook.connector import FacebookConnector, parse_source
from connectors.facebook.graph import PageGraphAPI
from connectors.facebook.parse import parse_graph_response

__all__ = ["FacebookConnector", "PageGraphAPI", "parse_graph_response", "parse_source"]
