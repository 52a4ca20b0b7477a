"""Is a mention from the media (policy 7.2, crisis criterion 4: "the wider media have
picked up on it")? A news item, an author on the configured media list, or a link to a
configured news site."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from triage.model import MentionInput

# Hosts of links written in the text: "https://host/..." or "www.host/...".
_LINK_HOST_RE = re.compile(r"(?:https?://|(?<![\w@.])www\.)([a-z0-9.-]+)", re.IGNORECASE)


def _host(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


@dataclass(frozen=True, slots=True)
class MediaList:
    handles: frozenset[str]  # lower-case, without "@"
    domains: tuple[str, ...]  # lower-case, without "www."

    @classmethod
    def of(cls, handles: Iterable[str] = (), domains: Iterable[str] = ()) -> MediaList:
        return cls(
            handles=frozenset(h.strip().lstrip("@").lower() for h in handles if h.strip().lstrip("@")),
            domains=tuple(sorted({_host(d) for d in domains if _host(d)})),
        )

    def news_domain(self, host: str) -> str | None:
        """The configured domain ``host`` belongs to (itself or a subdomain), if any."""
        host = _host(host)
        for domain in self.domains:
            if host == domain or host.endswith("." + domain):
                return domain
        return None

    def source(self, mention: MentionInput) -> str | None:
        """Why the mention counts as media (shown to people), or None."""
        if mention.kind == "news":
            return "news item"
        handle = mention.author_handle.strip().lstrip("@").lower()
        if handle and handle in self.handles:
            return f"media account @{handle}"
        if not self.domains:
            return None
        links = [mention.url] if mention.url else []
        if "www." in mention.text or "://" in mention.text:
            links.extend(m.group(0) for m in _LINK_HOST_RE.finditer(mention.text))
        for link in links:
            match = _LINK_HOST_RE.match(link)
            domain = self.news_domain(match.group(1) if match else link.split("/", 1)[0])
            if domain:
                return f"links to {domain}"
        return None
