"""Platform login sessions kept in files between worker restarts.

Bluesky caps logins (``createSession``) per account and day, so the worker keeps the
session the connector hands it and resumes it after a restart. The file holds live tokens:
it is written with owner-only permissions, atomically, next to the database.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


class SessionFile:
    """A connector's session store (``load``/``save``) backed by one file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_account(cls, data_dir: Path, platform: str, handle: str) -> SessionFile:
        name = re.sub(r"[^a-z0-9.-]", "_", handle.lower().removeprefix("@"))
        return cls(data_dir / "sessions" / f"{platform}-{name}.session")

    def load(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8") or None
        except OSError:
            return None

    def save(self, session: str) -> None:
        """Replace the file; a failure is logged, not raised: the session still lives in memory."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".session-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp makes it 0600
                    fh.write(session)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("could not keep the session in %s: %s", self.path, exc.strerror)
