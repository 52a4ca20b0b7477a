"""Replay a JSON-lines mention stream through the whole pipeline on a simulated clock.

Each line goes the way a polled mention goes — parsed (``connectors.replay``), stored, scored
and queued in batches (``listener.intake.ingest``), fed to the crisis monitor
(``listener.incidents.crisis_watch``),
turned into incidents and alerts (``listener.incidents.lifecycle``), and the alerts handed to a channel
(``listener.incidents.alerts``) — with the clock set to the stream's ``created_at`` instead of waiting
for it. Escalations and alert retries fall due on the same simulated clock.

Output (DESIGN.md): one JSON line when an incident opens and each time its level rises, one
per alert handed to a channel, and a summary line last. Lines that are not valid are counted
as rejected and reported on stderr; the rest still runs.

Replaying into a database that has seen the stream adds nothing: stored mentions are
duplicates, and the monitor, fed the stored copies, finds the same episodes, whose incidents
and alerts exist already. So a replay killed midway and run again ends with everything once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import Engine, tuple_

from connectors.base import Mention
from connectors.replay import InvalidLine, parse_line
from listener.incidents import alerts
from listener.incidents import lifecycle as incidents
from listener.incidents.crisis_watch import Applied, CrisisWatch, load_observed, observed_from_ingest
from listener.intake.ingest import TriageStage, ingest
from listener.settings import Settings
from listener.store.db import write_transaction
from listener.store.models import Mention as MentionRow
from triage.crisis import CrisisEvent, ObservedMention

BATCH = 500


@dataclass
class Summary:
    mentions: int = 0  # lines read
    new: int = 0
    duplicates: int = 0
    rejected: int = 0
    queue_items: int = 0
    incidents: int = 0  # opened by this run
    alerts: int = 0  # handed to a channel by this run

    def line(self) -> dict[str, Any]:
        return {"type": "summary", **asdict(self)}


class ReplayChannel:
    """The replay's own channel: taking the alert is printing its line (done by the caller)."""

    def __init__(self, audience: str) -> None:
        self.key = f"replay:{audience}"
        self.label = audience

    def send(self, *, title: str, body: str) -> None:
        return None


def replay_channels(audience: str, urls: Sequence[str]) -> list[alerts.Channel]:
    return [ReplayChannel(audience)]


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Replay:
    """One run over one stream. ``emit`` gets each output line as a dict; ``warn`` each rejected line."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        stage: TriageStage,
        *,
        emit: Callable[[dict[str, Any]], None],
        warn: Callable[[str], None],
        send_alerts: bool = False,
        batch: int = BATCH,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.stage = stage
        self.emit = emit
        self.warn = warn
        self.batch = batch
        self.channels: alerts.ChannelFactory = alerts.apprise_channels if send_alerts else replay_channels
        self.watch = CrisisWatch(engine, settings)
        self.summary = Summary()
        self._seen: set[tuple[str, str]] = set()
        self._due: datetime | None = None
        self._due_known = False
        self._clock: datetime | None = None

    def run(self, lines: Iterable[str | bytes]) -> Summary:
        pending: list[Mention] = []
        for number, line in enumerate(lines, start=1):
            self.summary.mentions += 1
            try:
                pending.append(parse_line(line))
            except InvalidLine as exc:
                self.summary.rejected += 1
                self.warn(f"line {number}: {exc.reason}")
                continue
            if len(pending) >= self.batch:
                self._run_batch(pending)
                pending = []
        if pending:
            self._run_batch(pending)
        if self._clock is not None:
            self._apply(self.watch.monitor.tick(self._clock), self._clock)
            self._run_due(self._clock)
        self.emit(self.summary.line())
        return self.summary

    # -- one batch: store, then feed the monitor mention by mention --------------------------

    def _run_batch(self, batch: list[Mention]) -> None:
        received = max(m.created_at for m in batch)
        with write_transaction(self.engine) as session:
            result = ingest(session, batch, self.stage, now=received)
            self.summary.new += len(result.new)
            self.summary.duplicates += result.duplicates
            self.summary.queue_items += sum(1 for entry in result.new if entry.queue_item_id is not None)
            fresh = {(e.mention.platform, e.mention.external_id): observed_from_ingest(e) for e in result.new}
            first_seen = []
            for m in batch:
                key = (m.platform, m.external_id)
                if key not in self._seen:
                    self._seen.add(key)
                    first_seen.append(key)
            # Stored by an earlier run: the monitor still needs them, as stored.
            earlier = [key for key in first_seen if key not in fresh]
            if earlier:
                for o, key in _with_keys(session, earlier):
                    fresh[key] = o
            observed = sorted(
                (fresh[key] for key in first_seen if key in fresh), key=lambda o: (o.created_at, int(o.id))
            )
            if observed:
                self.watch.mark_fed(session, max(int(o.id) for o in observed), received)
        for o in observed:
            self._observe(o)

    def _observe(self, o: ObservedMention) -> None:
        if self._clock is None or o.created_at > self._clock:
            self._clock = o.created_at
        self._run_due(self._clock)
        events = self.watch.monitor.observe(o)
        if events:
            self._apply(events, self._clock)

    # -- incidents and alerts on the simulated clock -----------------------------------------

    def _apply(self, events: Sequence[CrisisEvent], now: datetime) -> None:
        if not events:
            return
        with write_transaction(self.engine) as session:
            applied = self.watch.apply(session, events)
        for item in applied:
            self._incident_line(item)
        self._due_known = False
        self._run_due(now)

    def _incident_line(self, item: Applied) -> None:
        change = item.change
        if change is None or not (change.opened or change.level_rose):
            return
        self.summary.incidents += int(change.opened)
        self.emit(
            {
                "type": "incident",
                "id": change.incident_id,
                "at": iso(change.at),
                "level": change.level,
                "criteria": list(change.criteria),
                "subject": change.subject,
                "mentions": change.mentions,
            }
        )

    def _run_due(self, now: datetime) -> None:
        """Run the escalation and delivery jobs for every moment they fell due up to ``now``."""
        while True:
            if not self._due_known:
                with write_transaction(self.engine) as session:
                    due = [
                        alerts.next_due_at(session, self.settings),
                        incidents.next_escalation_at(session, self.settings),
                    ]
                self._due = min((d for d in due if d is not None), default=None)
                self._due_known = True
            if self._due is None or self._due > now:
                return
            at = self._due
            incidents.escalate_unacknowledged(self.engine, self.settings, now=at)
            alerts.deliver_due_alerts(
                self.engine,
                self.settings,
                now=at,
                notifier_factory=self.channels,
                on_delivery=self._alert_line,
            )
            self._due_known = False

    def _alert_line(self, delivered: alerts.Delivered) -> None:
        if delivered.status != "sent":
            return
        self.summary.alerts += 1
        self.emit(
            {
                "type": "alert",
                "incident": delivered.incident_id,
                "at": iso(delivered.at),
                "level": delivered.level,
                "to": delivered.audience,
            }
        )


def _with_keys(session: Any, keys: list[tuple[str, str]]) -> list[tuple[ObservedMention, tuple[str, str]]]:
    rows = session.execute(
        MentionRow.__table__.select()
        .with_only_columns(MentionRow.id, MentionRow.platform, MentionRow.external_id)
        .where(tuple_(MentionRow.platform, MentionRow.external_id).in_(keys))
    ).all()
    key_of = {row.id: (row.platform, row.external_id) for row in rows}
    if not key_of:
        return []
    observed = load_observed(session, MentionRow.id.in_(list(key_of)))
    return [(o, key_of[int(o.id)]) for o in observed]


def write_line(out: TextIO) -> Callable[[dict[str, Any]], None]:
    def _emit(line: dict[str, Any]) -> None:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        out.flush()

    return _emit
