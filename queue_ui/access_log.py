"""The server's access log names the route, never a token in the path.

The emailed acknowledgement link (``/incidents/ack/<token>``) is a credential for one incident:
a log line repeating it would let anyone who reads the logs acknowledge on a lead's behalf.
"""

from __future__ import annotations

import logging
import re

# Paths whose last part is a secret, and what the log shows instead.
_SECRET_PATHS = (re.compile(r"^(/incidents/ack/)[^/?#\s]+"),)
REDACTED = "{token}"


def redact_path(path: str) -> str:
    for pattern in _SECRET_PATHS:
        path = pattern.sub(rf"\g<1>{REDACTED}", path)
    return path


class RedactTokens(logging.Filter):
    """Rewrites uvicorn's access record, whose third argument is the path with its query."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger (once); call after uvicorn has set up logging."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())
