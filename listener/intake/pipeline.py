"""The triage stage ingest runs every new mention through, built from the settings and config files.

Triage reads no files: this module reads the media list (settings + ``config/media.toml``)
and hands it, with the lexicons, to the scorer and the topic function.
"""

from __future__ import annotations

from listener.intake.ingest import TriageStage
from listener.intake.scoring_pool import ScoringPool, auto_processes
from listener.intake.triage_setup import load_resources
from listener.paths import load_config_toml
from listener.queue.business_hours import BusinessClock
from listener.settings import Settings
from triage.scoring import Scorer
from triage.topics import topic_of

MEDIA_FILE = "media.toml"


def media_lists(settings: Settings) -> tuple[frozenset[str], frozenset[str]]:
    """Media handles (lower case, without @) and news domains: the settings' own, plus the area's list."""
    handles = set(settings.media.handles)
    domains = set(settings.media.domains)
    if settings.media.include_default_list:
        default = load_config_toml(MEDIA_FILE)
        handles.update(default.get("handles", []))
        domains.update(default.get("domains", []))
    return (
        frozenset(h.strip().lstrip("@").lower() for h in handles if h.strip().lstrip("@")),
        frozenset(d.strip().lower() for d in domains if d.strip()),
    )


def build_stage(settings: Settings) -> TriageStage:
    """The real scorer and topic function, with the SLA rules that set each queue item's due time."""
    handles, domains = media_lists(settings)
    sla = settings.sla
    resources = load_resources(handles, domains)
    processes = settings.triage.scoring_processes or auto_processes()
    return TriageStage(
        scorer=Scorer(resources),
        pool=ScoringPool(resources, processes) if processes > 1 else None,
        topic_of=topic_of,
        sla=sla,
        clock=BusinessClock(sla.business_hours, settings.general.timezone),
        media_handles=handles,
    )
