"""CSV for every report table, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Sequence
from typing import IO, Any

# A spreadsheet runs a cell as a formula (CSV injection) when its first character, after the
# spaces, line breaks and invisible characters it trims, is one of these; full-width forms
# count too, as Excel and LibreOffice fold them to the ASCII ones. Such text cells get a
# leading apostrophe; text that already starts with one (or with a tab, CR or LF) gets one
# too, so reading back is always "drop one leading apostrophe".
_FORMULA_CHARS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
_GUARD_AS_IS = ("'", "\t", "\r", "\n")


def _first_visible(value: str) -> str:
    for ch in value:
        if not (ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf")):
            return ch
    return ""


def csv_text(value: Any) -> Any:
    if isinstance(value, str) and (value.startswith(_GUARD_AS_IS) or _first_visible(value) in _FORMULA_CHARS):
        return "'" + value
    return value


def csv_cells(row: dict[str, Any], columns: Sequence[str]) -> list[Any]:
    """One CSV row: None is an empty cell, text is guarded against formulas."""
    return ["" if row.get(c) is None else csv_text(row.get(c)) for c in columns]


def write_csv(out: IO[str], columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    """Rows (dicts) as CSV with a header."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(csv_cells(row, columns))
