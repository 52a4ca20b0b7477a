"""Build the triage Scorer from the lexicon files under ``config/lexicon/``.

Triage reads no files itself; this is where the worker and the CLI parse the TOML and
hand the dicts over.
"""

from __future__ import annotations

from collections.abc import Iterable

from listener.errors import UserError
from listener.paths import load_config_toml
from triage.lexicon import LexiconError
from triage.scoring import Scorer, TriageResources

LEXICON_FILES = ("nhs", "emoji", "legal", "signals")


def load_resources(media_handles: Iterable[str] = (), media_domains: Iterable[str] = ()) -> TriageResources:
    parsed = {name: load_config_toml(f"lexicon/{name}.toml") for name in LEXICON_FILES}
    try:
        return TriageResources.from_toml(
            nhs=parsed["nhs"],
            emoji=parsed["emoji"],
            legal=parsed["legal"],
            signals=parsed["signals"],
            media_handles=media_handles,
            media_domains=media_domains,
        )
    except LexiconError as exc:
        raise UserError(f"config/lexicon: {exc}") from exc


def build_scorer(media_handles: Iterable[str] = (), media_domains: Iterable[str] = ()) -> Scorer:
    """A ready Scorer; ``media_handles`` (without @) and ``media_domains`` mark media sources."""
    return Scorer(load_resources(media_handles, media_domains))
