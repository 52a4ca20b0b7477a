"""What one fetch of a Graph source (a Facebook page, an Instagram account) has read, and the
checkpoint it leaves: ``since`` (the newest item time read) and ``recent`` (the ids read within
``overlap`` of it, left out of the next fetch, which asks again from ``since - overlap``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.base import Checkpoint, Mention, ParseResult


@dataclass
class Harvest:
    """What one fetch has read: items from ``query_since`` on by id, rejected payloads, and the
    ``horizon`` up to which every listing was read completely (None: all of them were)."""

    since: datetime
    query_since: datetime
    found: dict[str, Mention] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    horizon: datetime | None = None

    def keep(self, result: ParseResult) -> None:
        self.rejected.extend(result.rejected)
        for mention in result.mentions:
            if mention.created_at >= self.query_since:
                self.found.setdefault(mention.external_id, mention)

    def stop_at(self, last_read: datetime) -> None:
        """A listing read oldest first was cut after ``last_read``."""
        self.horizon = last_read if self.horizon is None else min(self.horizon, last_read)

    def stop_at_since(self) -> None:
        """A listing was cut where nothing says how far it got: the cursor stays where it was."""
        self.horizon = self.since

    def outcome(self, *, recent: set[str], overlap: timedelta) -> tuple[list[Mention], Checkpoint]:
        """The new items, oldest first, less the ``recent`` ones the last fetch returned; the next cursor."""
        since, found = self.since, self.found
        newest = max([since, *(m.created_at for m in found.values())])
        if self.horizon is not None:
            newest = max(since, min(newest, self.horizon))
        still_recent = sorted(i for i, m in found.items() if m.created_at >= newest - overlap)
        fresh = [m for i, m in found.items() if i not in recent]
        mentions = sorted(fresh, key=lambda m: (m.created_at, m.external_id))
        cursor = {"since": newest.isoformat(), "recent": still_recent}
        return mentions, Checkpoint(cursor, tuple(self.rejected))
