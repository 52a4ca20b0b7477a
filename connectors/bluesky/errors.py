"""The one Bluesky-specific error: kept apart from the client so the connector can name it cheaply."""

from connectors.base import PermanentError


class SessionExpired(PermanentError):
    """The access or refresh token was refused as expired or invalid: the connector renews the session."""
