"""The fetch window of a Bluesky source: where a fetch starts, from its checkpoint cursor, what
it has read so far, and the cursor it leaves for the next fetch.

Both listings run newest first. The cursor holds ``since`` (the newest ``indexedAt`` read) and
``since_uris`` (the posts at that instant). When a fetch stops early, it keeps ``since`` and
records ``resume`` (the listing's own cursor) and ``pending`` / ``pending_uris`` (the newest
time read, and the posts at it), so the next fetch reads the older remainder first.
``indexedAt`` is when Bluesky saw the post: ``createdAt`` is the writer's claim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def iso(at: datetime) -> str:
    """An AT Protocol datetime: UTC, milliseconds, ``Z``."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


@dataclass
class Window:
    """One fetch's window: the lower bound (``since``, ``since_uris``), the listing cursor to go
    on from (``resume``), the newest posts read, and whether the listing was read to the bound."""

    since: datetime
    since_uris: set[str]
    resume: str | None = None
    newest: datetime | None = None
    newest_uris: set[str] = field(default_factory=set)
    finished: bool = False

    @classmethod
    def open(cls, cursor: Mapping[str, Any], since: datetime) -> Window:
        """The window of a checkpoint ``cursor`` whose lower bound is ``since``."""
        resume = cursor.get("resume")
        return cls(
            since=since,
            since_uris=set(cursor.get("since_uris") or ()),
            resume=resume,
            newest=parse_time(cursor.get("pending")) if resume else None,
            newest_uris=set(cursor.get("pending_uris") or ()) if resume else set(),
        )

    def already_read(self, uri: str, at: datetime) -> bool:
        """Whether a post seen at ``at`` lies at or below the lower bound (an earlier fetch had it)."""
        return at < self.since or (at == self.since and uri in self.since_uris)

    def note(self, uri: str, at: datetime) -> None:
        if self.newest is None or at > self.newest:
            self.newest, self.newest_uris = at, {uri}
        elif at == self.newest:
            self.newest_uris.add(uri)

    def next_cursor(self) -> dict[str, Any]:
        since, since_uris, newest = self.since, self.since_uris, self.newest
        if not self.finished:
            # Stopped early: remember where, keep the old lower bound.
            cursor: dict[str, Any] = {
                "since": iso(since),
                "since_uris": sorted(since_uris),
                "resume": self.resume,
            }
            if newest is not None:
                cursor.update(pending=iso(newest), pending_uris=sorted(self.newest_uris))
            return cursor
        if newest is None:
            return {"since": iso(since), "since_uris": sorted(since_uris)}
        if newest == since:
            return {"since": iso(since), "since_uris": sorted(since_uris | self.newest_uris)}
        return {"since": iso(newest), "since_uris": sorted(self.newest_uris)}
