"""The plain data triage works on: what a mention looks like to triage, and what it says back.

Triage never imports the connectors or the store; the worker turns its rows into
``MentionInput`` and stores the ``Score`` it gets back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MentionInput:
    text: str
    platform: str = "x"
    kind: str = "mention"
    author_handle: str = ""
    author_followers: int = 0
    reposts: int = 0
    url: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PersonalDataFinding:
    kind: str  # nhs_number | phone | email | postcode | date_of_birth
    start: int
    end: int
    text: str


@dataclass(slots=True)
class Score:
    compound: float
    pos: float
    neg: float
    neu: float
    label: str  # positive | neutral | negative
    emotive: float = 0.0  # 0..1 intensity
    emotive_terms: list[str] = field(default_factory=list)
    legal_terms: list[str] = field(default_factory=list)
    media: bool = False
    media_reason: str | None = None
    personal_data: list[PersonalDataFinding] = field(default_factory=list)
    is_question: bool = False
    is_complaint: bool = False
    is_compliment: bool = False
    abusive: bool = False
    abusive_terms: list[str] = field(default_factory=list)
    topic: str | None = None  # topic key (see triage.topics)
    reach: int = 0
    priority: int = 3  # 1 urgent, 2 high, 3 normal, 4 low
    reasons: list[str] = field(default_factory=list)  # shown to people, e.g. "negative: 'cancelled', 'rude'"
