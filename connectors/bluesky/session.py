"""Where a Bluesky connector keeps its logged-in session between polls and restarts."""

from __future__ import annotations

from typing import Protocol


class SessionStore(Protocol):
    """Where the logged-in session (an opaque string holding its tokens) is kept between polls and restarts.

    ``createSession`` is capped per account (30 in 5 minutes, 300 a day), so the connector
    logs in once and then refreshes; the listener keeps the string so a restarted worker
    resumes the session instead of logging in again.
    """

    def load(self) -> str | None: ...

    def save(self, session: str) -> None: ...


class MemorySessionStore:
    """A session kept for the life of the process only."""

    def __init__(self, session: str | None = None) -> None:
        self.session = session

    def load(self) -> str | None:
        return self.session

    def save(self, session: str) -> None:
        self.session = session
