"""A small in-process sliding-window limiter: sign-in attempts per client address."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from threading import Lock


class Throttle:
    def __init__(self, *, limit: int, window_seconds: int) -> None:
        self.limit = limit
        self.window = timedelta(seconds=window_seconds)
        self._hits: dict[str, deque[datetime]] = {}
        self._lock = Lock()

    def _prune(self, key: str, now: datetime) -> deque[datetime]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def blocked(self, key: str, now: datetime) -> bool:
        """True when ``key`` has used its attempts in the window (does not count this call)."""
        with self._lock:
            return len(self._prune(key, now)) >= self.limit

    def hit(self, key: str, now: datetime) -> None:
        with self._lock:
            self._prune(key, now).append(now)
            if len(self._hits) > 10_000:  # forget idle clients so memory stays bounded
                for stale in [k for k, v in self._hits.items() if not v]:
                    del self._hits[stale]

    def retry_after(self, key: str, now: datetime) -> int:
        with self._lock:
            hits = self._prune(key, now)
            return int((hits[0] + self.window - now).total_seconds()) + 1 if hits else 0
