"""Jinja filters: local times, durations and SLA countdowns in words (never colour alone), source names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, pass_context

from listener.replies.drafts import text_version
from queue_ui import words
from triage.guidance import KINDS

LONDON = ZoneInfo("Europe/London")


def duration(delta: timedelta) -> str:
    """``1 h 5 min``, ``25 min``, ``2 d 3 h``; under a minute is ``less than 1 min``."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return "less than 1 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


@dataclass(frozen=True)
class Countdown:
    """How an SLA stands: ``state`` is ok | soon | overdue | met; ``text`` says it in words."""

    state: str
    text: str


def countdown(
    due_at: datetime, now: datetime, *, warn_minutes: int, answered_at: datetime | None = None
) -> Countdown:
    if answered_at is not None:
        met = answered_at <= due_at
        late = "" if met else f" ({duration(answered_at - due_at)} late)"
        return Countdown("met" if met else "missed", ("Answered in time" if met else "Answered late") + late)
    if due_at <= now:
        return Countdown("overdue", f"Overdue by {duration(now - due_at)}")
    state = "soon" if due_at - now <= timedelta(minutes=warn_minutes) else "ok"
    return Countdown(state, f"Due in {duration(due_at - now)}")


def local_time(value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(LONDON).strftime(fmt)


def iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def install(env: Environment) -> None:
    filters: dict[str, Any] = {
        "local_time": local_time,
        "duration": duration,
        "iso": iso,
        # Menu options as (value, text) pairs for the select macro.
        "lp_pair": lambda value: (value, value),
        "lp_pair_title": lambda value: (value, str(value).capitalize()),
        "lp_user_pair": lambda user: (user.id, f"{user.name} ({user.role})"),
        "lp_kind": lambda kind: KINDS.get(kind, kind),
        "text_version": text_version,  # what a lead's approval covers (sent with the form)
    }
    env.filters.update(filters)
    env.filters["source_name"] = pass_context(
        lambda context, key: words.source_name(key, context["settings"])
    )
    env.filters["lp_source_pair"] = pass_context(
        lambda context, key: (key, words.source_name(key, context["settings"]))
    )
    env.filters["platform_name"] = words.platform_name
    env.globals["countdown"] = countdown
