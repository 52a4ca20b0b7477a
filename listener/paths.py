"""Where the product's own data files live (lexicons, templates, example config).

The package is installed editable from the repository (``make``), so ``config/`` sits
beside the packages. ``LISTENING_POST_CONFIG_DIR`` points elsewhere for other layouts.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from listener.errors import UserError

CONFIG_DIR = Path(os.environ.get("LISTENING_POST_CONFIG_DIR", Path(__file__).resolve().parents[1] / "config"))


def load_config_toml(relative: str) -> dict[str, Any]:
    """Read a TOML data file under ``config/`` (lexicons, templates, lint word lists)."""
    path = CONFIG_DIR / relative
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise UserError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from exc
