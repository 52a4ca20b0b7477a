"""The access log names the acknowledgement route, never its token."""

from __future__ import annotations

import logging

import uvicorn

from listener.settings import Settings
from queue_ui import access_log
from queue_ui.app import create_app
from tests.queue_ui.conftest import SECRET


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_ack_token_never_reaches_the_access_log(engine, clock):
    app = create_app(Settings(), engine, clock=clock, session_secret=SECRET)
    uvicorn.Config(app, log_level="info")  # sets up uvicorn's loggers, as `run` does
    access_log.install()
    access_log.install()  # twice is once
    logger = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, access_log.RedactTokens) for f in logger.filters) == 1
    lines = Lines()
    logger.addHandler(lines)
    try:
        token = "eyJpbmNpZGVudCI6MX0.ZXhwaXJlcw.c2lnbmF0dXJlLXNlY3JldA"
        for path in (f"/incidents/ack/{token}", f"/incidents/ack/{token}?from=email"):
            logger.info('%s - "%s %s HTTP/%s" %d', "192.0.2.1:5000", "GET", path, "1.1", 200)
        logger.info('%s - "%s %s HTTP/%s" %d', "192.0.2.1:5000", "GET", "/queue?tab=mine", "1.1", 200)
    finally:
        logger.removeHandler(lines)
    assert all(token not in line for line in lines.lines)
    assert lines.lines[0].endswith('"GET /incidents/ack/{token} HTTP/1.1" 200')
    assert "?from=email" in lines.lines[1]
    assert "/queue?tab=mine" in lines.lines[2]
