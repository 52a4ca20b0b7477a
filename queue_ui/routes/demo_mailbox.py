"""The demo's mailbox: the alert emails the demo's local mail server received (demo only).

``listening-post demo`` includes this router in the app it starts and puts its mailbox on
``app.state.demo_mailbox``; ``listening-post run`` never mounts it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from queue_ui.deps import Agent
from queue_ui.rendering import render

router = APIRouter()

_URL = re.compile(r"https?://[^\s<>\"]+")


@dataclass(frozen=True)
class Part:
    text: str
    link: bool


def paragraphs(text: str, *, site: str) -> list[list[list[Part]]]:
    """Paragraphs of lines of parts, with this site's addresses (``site``) marked to show as links.

    Other addresses stay text: an alert quotes public posts, and a link someone put in a post
    is not one the page should make clickable.
    """
    result = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = []
        for line in block.splitlines():
            parts, last = [], 0
            for match in _URL.finditer(line):
                if not match.group(0).startswith(site.rstrip("/") + "/"):
                    continue
                parts.append(Part(line[last : match.start()], False))
                parts.append(Part(match.group(0), True))
                last = match.end()
            parts.append(Part(line[last:], False))
            lines.append([p for p in parts if p.text])
        result.append(lines)
    return result


@router.get("/demo/mailbox", include_in_schema=False)
def mailbox_page(request: Request, user: Agent) -> HTMLResponse:
    mailbox = getattr(request.app.state, "demo_mailbox", None)
    if mailbox is None:
        raise HTTPException(status_code=404)
    messages = mailbox.messages()
    # htmx refreshes the list every few seconds, so a new alert shows up without a reload.
    template = "demo/_messages.html" if request.headers.get("HX-Request") == "true" else "demo/mailbox.html"
    site = request.app.state.settings.general.base_url
    shown = [(message, paragraphs(message.text, site=site)) for message in messages]
    return render(request, template, title="Demo mailbox", messages=shown)
