"""The fetch window of an X source: which ids and times a fetch asks for, from its checkpoint
cursor, and the cursor it leaves for the next fetch.

The cursor holds ``since_id`` (the newest id seen). It moves only when every page was read.
When a fetch stops early, the cursor keeps the old ``since_id`` and records ``until_id`` (the
oldest id read) and ``newest_id``, so the next fetch reads the older remainder first and then
jumps to ``newest_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.x.parse import snowflake_time

# Recent search reaches back 7 days; a little less, so a request is never refused at the edge.
SEARCH_REACH = timedelta(days=7) - timedelta(minutes=10)


def x_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_window(
    kind: str, cursor: Mapping[str, Any], *, now: datetime, initial_lookback: timedelta
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the cursor this fetch works from, the id/time request parameters it sends)."""
    cursor = dict(cursor)
    params: dict[str, Any] = {}
    since_id = cursor.get("since_id")
    if since_id and kind == "search" and snowflake_time(since_id) < now - SEARCH_REACH:
        # Recent search refuses a since_id older than its 7-day reach (a quiet query can get
        # there); nothing older can be read anyway, so start at the edge of the reach instead.
        since_id = None
        cursor = {"start_time": x_time(now - SEARCH_REACH)}
    if since_id:
        params["since_id"] = since_id
    else:
        lookback = min(initial_lookback, SEARCH_REACH) if kind == "search" else initial_lookback
        cursor.setdefault("start_time", x_time(now - lookback))
        params["start_time"] = cursor["start_time"]
    if cursor.get("until_id"):
        params["until_id"] = cursor["until_id"]
    return cursor, params


@dataclass
class Progress:
    """The ids a fetch has read so far, and the token of the next page (None: every page read)."""

    newest: int = 0
    oldest: int | None = None
    token: str | None = None

    def note(self, ids: list[int], token: str | None) -> None:
        if ids:
            self.newest = max(self.newest, *ids)
            self.oldest = min(ids) if self.oldest is None else min(self.oldest, *ids)
        self.token = token


def next_cursor(cursor: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
    """The cursor after a fetch that got as far as ``progress``."""
    if progress.token and progress.oldest is not None:
        # Stopped early: remember where, keep the old lower bound.
        kept = {k: v for k, v in cursor.items() if k in ("since_id", "start_time")}
        return {**kept, "until_id": str(progress.oldest), "newest_id": str(progress.newest)}
    if progress.newest:
        return {"since_id": str(progress.newest)}
    # Nothing yet: keep the since_id if any. A first-run start_time is not kept, so the
    # next poll looks back from its own time and the window never slides out of reach.
    return {k: v for k, v in cursor.items() if k == "since_id"}
