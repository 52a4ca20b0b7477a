"""Instagram professional accounts through the Graph API: comments, replies, tags in; replies, hiding out."""

from connectors.instagram.connector import InstagramConnector, ReplyToReplyError, parse_source
from connectors.instagram.parse import parse_instagram_response

__all__ = ["InstagramConnector", "ReplyToReplyError", "parse_instagram_response", "parse_source"]
