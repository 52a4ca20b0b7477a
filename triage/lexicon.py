"""Checks for the parsed lexicon data (``config/lexicon/*.toml``) that triage is built from.

Triage never reads files: the caller parses the TOML and passes the dicts in. These
helpers turn those dicts into plain typed values and say exactly which key is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class LexiconError(ValueError):
    """A lexicon table is missing or holds a value of the wrong kind."""


def table(data: Mapping[str, Any], key: str, *, where: str) -> Mapping[str, Any]:
    """The sub-table ``key`` of ``data`` (an empty one when it is absent)."""
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise LexiconError(f"{where}: [{key}] must be a table")
    return value


def valences(data: Mapping[str, Any], *, where: str, nested: bool = False) -> dict[str, float]:
    """A table of ``"term" = number`` on VADER's scale (-4 .. +4).

    With ``nested``, one level of sub-tables is flattened, so a lexicon can group its
    entries under headings (``[phrases.waiting]``, ``[phrases.praise]``).
    """
    out: dict[str, float] = {}
    for term, value in data.items():
        if nested and isinstance(value, Mapping):
            out.update(valences(value, where=f"{where}.{term}"))
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise LexiconError(f"{where}: {term!r} must be a number, not {type(value).__name__}")
        if not -4.0 <= float(value) <= 4.0:
            raise LexiconError(f"{where}: {term!r} = {value} is outside VADER's scale -4 .. 4")
        if not term.strip():
            raise LexiconError(f"{where}: empty term")
        out[term.strip()] = float(value)
    return out


def terms(data: Mapping[str, Any], key: str, *, where: str) -> tuple[str, ...]:
    """A list of strings under ``key`` (lower-cased, stripped, empty ones refused)."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LexiconError(f"{where}: {key} must be a list of strings")
    out = tuple(v.strip().lower() for v in value)
    if any(not v for v in out):
        raise LexiconError(f"{where}: {key} holds an empty string")
    return out


def number(data: Mapping[str, Any], key: str, default: float, *, where: str) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LexiconError(f"{where}: {key} must be a number")
    return float(value)
