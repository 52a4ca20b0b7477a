"""Thresholds and SLA targets an admin changes in the UI: stored in ``setting_overrides``, validated, audited.

The settings file stays the base; an override replaces one dotted key (``sla.urgent_minutes``).
Each change is validated by building the whole ``Settings`` model with it, so an override
can never hold a value the file could not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from listener.settings import Settings
from listener.store import audit
from listener.store.models import SettingOverride, User


@dataclass(frozen=True)
class Editable:
    key: str
    label: str
    hint: str


# What the admin page offers: numbers people tune, never paths, URLs or secrets.
EDITABLE: tuple[Editable, ...] = (
    Editable("sla.urgent_minutes", "First response target: urgent", "Business minutes, priority 1."),
    Editable("sla.high_minutes", "First response target: high", "Business minutes, priority 2."),
    Editable("sla.normal_minutes", "First response target: normal", "Business minutes, priority 3."),
    Editable("sla.low_minutes", "First response target: low", "Business minutes, priority 4."),
    Editable("sla.warn_before_minutes", "Warn before the target", "Minutes; 0 turns SLA warnings off."),
    Editable(
        "alerts.escalate_after_minutes",
        "Escalate unacknowledged incident alerts after",
        "Minutes without a lead acknowledging.",
    ),
    Editable("ui.max_failed_logins", "Wrong passwords before an account locks", "A whole number."),
    Editable("ui.lockout_minutes", "Account lockout", "Minutes an account stays locked."),
    Editable("retention.days", "Keep personal data for", "Days before posts are anonymised."),
)
EDITABLE_KEYS = {e.key: e for e in EDITABLE}


class OverrideError(ValueError):
    """An override that the settings model refuses; the message says why in plain words."""


def _get(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        node = node[part]
    return node


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    *path, last = key.split(".")
    node = data
    for part in path:
        node = node.setdefault(part, {})
    node[last] = value


def _apply(settings: Settings, overrides: dict[str, Any]) -> Settings:
    data = settings.model_dump(mode="json")
    for key, value in overrides.items():
        _set(data, key, value)
    result = Settings.model_validate(data)
    result.secrets = settings.secrets
    result.source_file = settings.source_file
    return result


def stored_overrides(session: Session) -> dict[str, Any]:
    return {
        row.key: row.value
        for row in session.scalars(select(SettingOverride).order_by(SettingOverride.key))
        if row.key in EDITABLE_KEYS
    }


def effective_settings(session: Session, settings: Settings) -> Settings:
    """``settings`` with the admin's overrides applied (the file's values when there are none)."""
    overrides = stored_overrides(session)
    return _apply(settings, overrides) if overrides else settings


def current_value(settings: Settings, key: str) -> Any:
    return _get(settings.model_dump(mode="json"), key)


def set_override(
    session: Session, *, settings: Settings, key: str, raw: str, actor: User, now: datetime
) -> Any:
    """Validate ``raw`` for ``key`` and store it; returns the stored value. Raises ``OverrideError``."""
    if key not in EDITABLE_KEYS:
        raise OverrideError(f"{key} cannot be changed here.")
    raw = raw.strip()
    try:
        value: Any = int(raw)
    except ValueError as exc:
        raise OverrideError(f"{EDITABLE_KEYS[key].label}: enter a whole number.") from exc
    current = effective_settings(session, settings)
    try:
        _apply(current, {key: value})
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Input should be ").rstrip(".")
        raise OverrideError(f"{EDITABLE_KEYS[key].label}: must be {reason}.") from exc
    before = current_value(current, key)
    row = session.get(SettingOverride, key)
    if row is None:
        row = SettingOverride(key=key, value=value, updated_at=now, updated_by_id=actor.id)
        session.add(row)
    else:
        row.value = value
        row.updated_at = now
        row.updated_by_id = actor.id
    audit.record(
        session,
        actor=actor,
        action="setting.override",
        object_type="setting",
        object_id=key,
        before={"value": before},
        after={"value": value},
    )
    return value


def clear_override(session: Session, *, settings: Settings, key: str, actor: User) -> None:
    """Go back to the settings file's value."""
    row = session.get(SettingOverride, key)
    if row is None:
        return
    before = row.value
    session.delete(row)
    audit.record(
        session,
        actor=actor,
        action="setting.override_cleared",
        object_type="setting",
        object_id=key,
        before={"value": before},
        after={"value": current_value(settings, key)},
    )
