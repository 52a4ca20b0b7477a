"""`listening-post spikes FILE|-`: spike detection over a CSV of counts per time bucket.

Input: CSV ``timestamp,value`` (a header line is optional), one bucket a row, in time order.
Output: CSV ``timestamp,value,expected,score,alert`` for every valid row, written as soon as the
row is read: a row's output depends only on the rows at or before it (causal).

A row that cannot be used (wrong number of fields, a timestamp or value that does not parse, a
negative value, a timestamp not after the previous one) is reported on stderr with its line
number and produces no output row; the rest of the file still runs, and the command then exits
with status 1 so scripts notice.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from pydantic import ValidationError

from listener.errors import UserError
from triage.spikes import SpikeConfig, SpikeDetector

HEADER = ("timestamp", "value", "expected", "score", "alert")


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    reason: str


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "spikes",
        help="Detect volume spikes in a CSV of counts per bucket",
        description="CSV 'timestamp,value' in; CSV 'timestamp,value,expected,score,alert' out, one row per "
        "input row, causal. Bad rows are reported on stderr and skipped (exit status 1).",
    )
    p.add_argument("file", help="CSV file, or - for standard input")
    p.add_argument("--bucket-seconds", type=int, help="bucket length (default: from the first two rows)")
    p.add_argument("--min-volume", type=float, help="least count that may alert")
    p.add_argument("--threshold", type=float, help="least evidence for an alert, in standard deviations")
    p.add_argument("--cooldown-seconds", type=int, help="quiet time after an alert")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.file == "-":
        return _process(sys.stdin, sys.stdout, config, live=True)
    try:
        with open(args.file, newline="", encoding="utf-8") as fh:
            return _process(fh, sys.stdout, config, live=False)
    except FileNotFoundError as exc:
        raise UserError(f"{args.file}: file not found") from exc
    except IsADirectoryError as exc:
        raise UserError(f"{args.file}: is a directory") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"{args.file}: not UTF-8 text") from exc


def _config(args: argparse.Namespace) -> SpikeConfig:
    options = {
        "bucket_seconds": args.bucket_seconds,
        "min_volume": args.min_volume,
        "threshold": args.threshold,
        "cooldown_seconds": args.cooldown_seconds,
    }
    try:
        return SpikeConfig(**{k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserError(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from exc


def _process(source: TextIO, out: TextIO, config: SpikeConfig, *, live: bool) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    errors = 0
    for item in detect_rows(source, config):
        if isinstance(item, RowError):
            errors += 1
            print(f"listening-post spikes: line {item.line}: {item.reason}; row skipped", file=sys.stderr)
            continue
        writer.writerow(item)
        if live:
            out.flush()
    if errors:
        print(f"listening-post spikes: {errors} row(s) skipped", file=sys.stderr)
    return 1 if errors else 0


def detect_rows(lines: Iterable[str], config: SpikeConfig | None = None) -> Iterator[list[str] | RowError]:
    """Run the detector over CSV lines; yield an output row or a ``RowError`` per input row."""
    detector = SpikeDetector(config)
    previous: datetime | None = None
    first = True
    reader = csv.reader(lines)
    for fields in reader:
        number = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        if first and fields[0].strip().lower() == "timestamp":
            first = False
            continue
        first = False
        parsed = _parse(fields)
        if isinstance(parsed, str):
            yield RowError(number, parsed)
            continue
        ts, value = parsed
        if previous is not None and ts <= previous:
            yield RowError(number, f"timestamp {fields[0].strip()!r} is not after the previous row's")
            continue
        previous = ts
        point = detector.update(ts, value)
        yield [
            fields[0].strip(),
            _number(value),
            f"{point.expected:.3f}",
            f"{point.score:.4f}",
            "1" if point.alert else "0",
        ]


def _parse(fields: list[str]) -> tuple[datetime, float] | str:
    if len(fields) != 2:
        return f"expected 2 fields (timestamp,value), found {len(fields)}"
    raw_ts, raw_value = fields[0].strip(), fields[1].strip()
    try:
        ts = datetime.fromisoformat(raw_ts)
    except ValueError:
        return f"timestamp {raw_ts!r} is not an ISO 8601 date and time"
    if ts.tzinfo is not None:
        # Compare every row on one clock; the time of day then reads as UTC.
        try:
            ts = ts.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # the first or last hours of year 1 or 9999 in a far offset
            return f"timestamp {raw_ts!r} is out of range in UTC"
    try:
        value = float(raw_value)
    except ValueError:
        return f"value {raw_value!r} is not a number"
    if not math.isfinite(value) or value < 0:
        return f"value {raw_value!r} is not a count (finite and not negative)"
    return ts, value


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
