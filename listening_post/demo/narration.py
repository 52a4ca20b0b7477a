"""What the demo tells the viewer: the scripted posts as they go out, and what the product did with them.

The narrator only reads: the database (posts stored, queue, incidents, alerts sent) and the
mail server's folder. It says each change once, in plain words, with the page to look at.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from sqlalchemy import Engine, func, select

from listener.store.models import Alert, Incident, Mention, QueueItem
from listening_post.demo.mailbox import DemoMailbox
from listening_post.demo.script import Beat

OPEN_STATUSES = ("new", "claimed")


class Console:
    """Progress on the terminal, one whole line at a time, stamped with the time since the day began."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._lock = threading.Lock()
        self.day_started: float | None = None

    def say(self, text: str = "") -> None:
        with self._lock:
            if self.day_started is not None and text:
                elapsed = int(time.monotonic() - self.day_started)
                text = f"[{elapsed // 60}:{elapsed % 60:02d}] {text}"
            print(text, file=self.out, flush=True)


def scripted_clock(minute: float) -> str:
    """Minute 0 of the scripted day is 08:00."""
    total = 8 * 60 + int(minute)
    return f"{total // 60:02d}:{total % 60:02d}"


def describe_beat(beat: Beat) -> str:
    where = {
        "x": f"X @{beat.handle}",
        "facebook": f"Facebook, {beat.handle}",
        "instagram": f"Instagram @{beat.handle}",
        "bluesky": f"Bluesky @{beat.handle}",
        "rss": f"news, {beat.handle}",
    }
    text = beat.title or beat.text
    short = text if len(text) <= 90 else text[:89].rstrip() + "…"
    return f"{scripted_clock(beat.minute)} {where[beat.platform]}: {short}"


class Narrator:
    """``look()`` once says what changed since the last look; the demo calls it twice a second."""

    def __init__(self, engine: Engine, mailbox: DemoMailbox, console: Console, *, url: str) -> None:
        self.engine = engine
        self.mailbox = mailbox
        self.console = console
        self.url = url
        with engine.connect() as conn:
            # Last week's history is already there: only what arrives from now on is news.
            self.mentions = conn.execute(select(func.count()).select_from(Mention)).scalar_one()
        self.incidents: dict[int, tuple[str, tuple[str, ...]]] = {}  # id -> (level, criteria) last said
        self.alerts: set[int] = set()
        self.mails = 0

    def look(self) -> None:
        with self.engine.connect() as conn:
            mentions = conn.execute(select(func.count()).select_from(Mention)).scalar_one()
            open_items = conn.execute(
                select(func.count()).select_from(QueueItem).where(QueueItem.status.in_(OPEN_STATUSES))
            ).scalar_one()
            incidents = conn.execute(
                select(Incident.id, Incident.level, Incident.subject, Incident.criteria).order_by(Incident.id)
            ).all()
            sent = conn.execute(
                select(Alert.id, Alert.title, Alert.audience).where(Alert.status == "sent").order_by(Alert.id)
            ).all()
        if mentions > self.mentions:
            self.console.say(
                f"    The worker picked up {mentions - self.mentions} new post(s); "
                f"{open_items} item(s) wait in the queue: {self.url}/queue"
            )
            self.mentions = mentions
        for incident_id, level, subject, criteria in incidents:
            self._incident(incident_id, level, subject, tuple(criteria))
        for alert_id, title, audience in sent:
            if alert_id not in self.alerts:
                self.alerts.add(alert_id)
                self.console.say(f"!!! Alert sent to the {audience}: {title}")
        mails = self.mailbox.count()
        if mails > self.mails:
            self.mails = mails
            self.console.say(
                f"!!! The mail server has received {mails} email(s): read them at {self.url}/demo/mailbox"
            )

    def _incident(self, incident_id: int, level: str, subject: str, criteria: tuple[str, ...]) -> None:
        before = self.incidents.get(incident_id)
        if before == (level, criteria):
            return
        self.incidents[incident_id] = (level, criteria)
        met = f"(criteria met: {', '.join(criteria) or 'none yet'}) {self.url}/incidents/{incident_id}"
        if before is None:
            news = f"The crisis watch opened an incident at level {level.upper()}: {subject} {met}"
        elif before[0] != level:
            news = f"The incident rose to level {level.upper()}: {subject} {met}"
        else:
            news = f"The incident meets more criteria: {subject} {met}"
        self.console.say(f"!!! {news}")
