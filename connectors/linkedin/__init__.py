"""LinkedIn organisation pages through the Community Management API: comments and mentions in; replies out."""

from connectors.linkedin.connector import LinkedInConnector, parse_source
from connectors.linkedin.parse import parse_linkedin_response

__all__ = ["LinkedInConnector", "parse_linkedin_response", "parse_source"]
