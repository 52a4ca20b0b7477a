"""Incident timings for the reports page: clock time, because alerting runs day and night."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from listener.reports.filters import ReportFilters, utc_range
from listener.settings import Settings
from listener.store.models import Incident

# --- incidents ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentRow:
    id: int
    subject: str
    level: str
    status: str
    opened_at: datetime
    first_alert_at: datetime | None
    listening_message_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    mentions: int

    @staticmethod
    def _since_open(opened_at: datetime, moment: datetime | None) -> float | None:
        return None if moment is None else max(0.0, (moment - opened_at).total_seconds())

    @property
    def time_to_alert_seconds(self) -> float | None:
        """Wall-clock seconds: crisis alerting runs day and night, not in business hours."""
        return self._since_open(self.opened_at, self.first_alert_at)

    @property
    def time_to_listening_seconds(self) -> float | None:
        return self._since_open(self.opened_at, self.listening_message_at)

    @property
    def time_to_acknowledge_seconds(self) -> float | None:
        return self._since_open(self.opened_at, self.acknowledged_at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident": self.id,
            "subject": self.subject,
            "level": self.level,
            "status": self.status,
            "opened_at": self.opened_at.isoformat(),
            "mentions": self.mentions,
            "time_to_alert_seconds": self.time_to_alert_seconds,
            "time_to_acknowledge_seconds": self.time_to_acknowledge_seconds,
            "time_to_listening_seconds": self.time_to_listening_seconds,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }


INCIDENT_COLUMNS = (
    "incident",
    "subject",
    "level",
    "status",
    "opened_at",
    "mentions",
    "time_to_alert_seconds",
    "time_to_acknowledge_seconds",
    "time_to_listening_seconds",
    "resolved_at",
)


def incident_report(session: Session, settings: Settings, filters: ReportFilters) -> list[IncidentRow]:
    """Incidents opened in the date range, oldest first, with their times to alert and to listen."""
    start, end = utc_range(filters, settings.general.timezone)
    incidents = session.scalars(
        select(Incident)
        .where(Incident.opened_at >= start, Incident.opened_at < end)
        .order_by(Incident.opened_at, Incident.id)
    )
    return [
        IncidentRow(
            id=i.id,
            subject=i.subject,
            level=i.level,
            status=i.status,
            opened_at=i.opened_at,
            first_alert_at=i.first_alert_at,
            listening_message_at=i.listening_message_at,
            acknowledged_at=i.acknowledged_at,
            resolved_at=i.resolved_at,
            mentions=i.mentions_count,
        )
        for i in incidents
    ]
