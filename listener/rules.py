"""The product's rule files under ``config/``, read once and checked: the reply checker's word
lists (``lint.toml``) and the guidance cards (``guidance.toml``).

One home for loading them, so the queue, the incident posts and ``listening-post lint``
can never read them differently; a broken file is one clear line naming the file.
"""

from __future__ import annotations

from functools import lru_cache

from listener.errors import UserError
from listener.paths import load_config_toml
from triage.guidance import GuidanceBook, GuidanceConfigError
from triage.lint import LintConfig, LintConfigError


@lru_cache(maxsize=1)
def lint_rules() -> LintConfig:
    try:
        return LintConfig.from_dict(load_config_toml("lint.toml"))
    except LintConfigError as exc:
        raise UserError(f"lint.toml: {exc}") from exc


@lru_cache(maxsize=1)
def guidance_book() -> GuidanceBook:
    try:
        return GuidanceBook.from_dict(load_config_toml("guidance.toml"))
    except (GuidanceConfigError, KeyError, TypeError) as exc:
        raise UserError(f"guidance.toml: {exc}") from exc
