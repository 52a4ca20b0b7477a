"""`listening-post score FILE|-`: score mentions, JSON lines in and out.

Each input line is a JSON object with ``id`` (any JSON value) and ``text`` (a string of
at most 100,000 characters). Optional: ``author`` (an object with ``handle`` and
``followers``, as in a replay stream, or a handle as a string), ``handle``,
``followers``, ``reposts``, ``url``, ``kind`` ("news" marks a news item) and
``platform``; other fields are ignored.

Each output line is ``id`` and then every field of the score (``label``, ``compound``,
``pos``, ``neg``, ``neu``, ``emotive``, ``legal_terms``, ``media``, ``personal_data``
as ``{kind, start, end}`` — never the data itself — ``is_question`` ... ``priority``,
``reasons``), in input order.

A line that is not a valid object (bad JSON, not UTF-8, a field missing or of the wrong
type) is reported on stderr with its line number and skipped; blank lines are ignored.
Exit status: 0 when every line was scored or the input was empty; 1 when some lines
were skipped; 2 when the file cannot be opened or the configuration is wrong.

With several processes (``--processes``, else the settings' ``[triage] scoring_processes``,
else one per spare core) lines are scored in batches of ``POOL_BATCH`` on all of them.

Media accounts and news sites are the worker's: the settings file's ``[media]``
(``--config``) and, unless it turns them off, the area's list in ``config/media.toml``;
``--media-handle`` / ``--media-domain`` add more.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import fields
from typing import IO, Any

from listener.errors import UserError
from listener.intake.pipeline import media_lists
from listener.intake.scoring_pool import ScoringPool, auto_processes
from listener.intake.triage_setup import load_resources
from listener.settings import load_settings
from listening_post.cli.common import add_config_option
from triage.model import MentionInput, Score
from triage.scoring import Scorer

MAX_TEXT = 100_000
POOL_BATCH = 2000  # lines scored together when several processes score
SCORE_FIELDS = tuple(f.name for f in fields(Score))


class LineError(ValueError):
    """One input line that cannot be scored; the message says why."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="Score mentions: JSON lines in ({id, text, ...}), JSON lines out (id + every score field)",
        description=(__doc__ or "").split("\n\n")[0],
    )
    p.add_argument("file", metavar="FILE", help="JSON lines file, or - for standard input")
    p.add_argument("--media-handle", action="append", default=[], metavar="HANDLE", help="a media account")
    p.add_argument("--media-domain", action="append", default=[], metavar="DOMAIN", help="a news site")
    p.add_argument("--processes", type=int, metavar="N", help="processes that score (default: the settings')")
    add_config_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    handles, domains = media_lists(settings)
    if args.processes is not None and args.processes < 1:
        raise UserError("--processes must be 1 or more")
    processes = args.processes or settings.triage.scoring_processes or auto_processes()
    resources = load_resources([*handles, *args.media_handle], [*domains, *args.media_domain])
    scorer = Scorer(resources)
    pool = ScoringPool(resources, processes, min_batch=1) if processes > 1 else None
    try:
        if args.file == "-":
            return score_stream(sys.stdin.buffer, sys.stdout, sys.stderr, scorer, pool)
        try:
            with open(args.file, "rb") as fh:
                return score_stream(fh, sys.stdout, sys.stderr, scorer, pool)
        except OSError as exc:
            raise UserError(f"{args.file}: {exc.strerror or exc}") from exc
    finally:
        if pool is not None:
            pool.close()


def score_stream(
    lines: Iterable[bytes], out: IO[str], err: IO[str], scorer: Scorer, pool: ScoringPool | None = None
) -> int:
    """Score each line of ``lines``; returns the exit status (see the module docstring)."""
    skipped = 0
    scored = _score_lines(lines, scorer) if pool is None else _score_batches(lines, pool)
    for number, mention_id, result in scored:
        if isinstance(result, LineError):
            skipped += 1
            print(f"line {number}: {result}", file=err)
            continue
        out.write(json.dumps({"id": mention_id, **score_json(result)}, ensure_ascii=False) + "\n")
    return 1 if skipped else 0


def _score_lines(lines: Iterable[bytes], scorer: Scorer) -> Iterator[tuple[int, Any, Score | LineError]]:
    for number, mention_id, m in _parsed_lines(lines):
        yield number, mention_id, scorer.score(m) if isinstance(m, MentionInput) else m


def _parsed_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, Any, MentionInput | LineError]]:
    for number, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None, LineError("not UTF-8")
            continue
        if not line.strip():
            continue
        try:
            mention_id, mention = parse_line(line)
        except LineError as exc:
            yield number, None, exc
            continue
        yield number, mention_id, mention


def _score_batches(lines: Iterable[bytes], pool: ScoringPool) -> Iterator[tuple[int, Any, Score | LineError]]:
    """As ``_score_lines``, ``POOL_BATCH`` lines at a time on the pool's processes."""
    batch: list[tuple[int, Any, MentionInput | LineError]] = []
    for entry in itertools.chain(_parsed_lines(lines), [None]):
        if entry is not None:
            batch.append(entry)
        if batch and (entry is None or len(batch) >= POOL_BATCH):
            scores = iter(pool.score_all([m for _, _, m in batch if isinstance(m, MentionInput)]))
            for number, mention_id, m in batch:
                yield number, mention_id, next(scores) if isinstance(m, MentionInput) else m
            batch = []


def parse_line(line: str) -> tuple[Any, MentionInput]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LineError(f"not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise LineError("not a JSON object")
    if "id" not in data:
        raise LineError("no id")
    text = data.get("text")
    if not isinstance(text, str):
        raise LineError("text missing or not a string")
    if len(text) > MAX_TEXT:
        raise LineError(f"text longer than {MAX_TEXT:,} characters")
    author = data.get("author")
    if author is not None and not isinstance(author, dict | str):
        raise LineError("author must be an object or a handle")
    author_fields = author if isinstance(author, dict) else {}
    handle = author if isinstance(author, str) else author_fields.get("handle", data.get("handle", ""))
    return data["id"], MentionInput(
        text=text,
        platform=_string(data, "platform", "x"),
        kind=_string(data, "kind", "mention"),
        author_handle=_checked_string(handle, "handle"),
        author_followers=_count(author_fields.get("followers", data.get("followers", 0)), "followers"),
        reposts=_count(data.get("reposts", 0), "reposts"),
        url=_string(data, "url", None),
    )


def _string(data: dict[str, Any], key: str, default: str | None) -> Any:
    value = data.get(key, default)
    return default if value is None else _checked_string(value, key)


def _checked_string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise LineError(f"{name} must be a string")
    return value


def _count(value: Any, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LineError(f"{name} must be a whole number, 0 or more")
    return value


def score_json(score: Score) -> dict[str, Any]:
    """Every score field; personal data as kind and position only, never the data itself."""
    # not dataclasses.asdict: its deep copy was a quarter of the command's time
    out = {name: getattr(score, name) for name in SCORE_FIELDS}
    out["personal_data"] = [{"kind": p.kind, "start": p.start, "end": p.end} for p in score.personal_data]
    return out
