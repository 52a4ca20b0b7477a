"""CSV for every report table, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import IO, Any

# --- CSV ---------------------------------------------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
# Such text cells get a leading apostrophe; text that already starts with one gets another,
# so reading back is always "drop one leading apostrophe".
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
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
