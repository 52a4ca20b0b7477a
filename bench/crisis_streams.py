"""Replay streams the crisis thresholds never saw, made from the dev streams with other seeds and shapes.

    BENCH_DATA=/work/shared/data .venv/bin/python -m bench.crisis_streams --out DIR [--seeds 1,2]

Reads ``$BENCH_DATA/streams-dev/*.jsonl`` and their truth. Each dev stream's everyday traffic
(its crisis episodes' posts taken out, its decoys kept) is the background of new streams; the
crisis episodes of both dev streams (their posts: lines in the episode's span carrying one of
its subject keywords; the span itself leaves the background) are placed into it again at
other times, in other shapes:

- ``moved``: as it happened, on another day and hour;
- ``slow_burn``: the same posts spread over a day, so the story builds slowly;
- ``two_at_once``: two stories starting within the same half hour;
- ``quiet_night``: on a weekend night, between 01:00 and 04:00 on a Saturday or Sunday;
- ``media_first``: the story's media posts and news links come first, the public's anger 45
  minutes later (the episode starts at the first media post).

Each new stream gets a truth file in the format of ``streams-dev/README.md`` (start and end
are its first and last episode post; the level and criteria are the source episode's).
``bench/crisis_accuracy.py`` builds the same streams in memory; ``--out`` writes them out.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

SHAPES = ("moved", "slow_burn", "two_at_once", "quiet_night", "media_first")
MARGIN = timedelta(hours=6)  # between a placed episode and anything else


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Episode:
    """A crisis episode's posts, as offsets from its start."""

    truth: dict[str, Any]
    posts: list[tuple[timedelta, dict[str, Any]]]
    media: set[int] = field(default_factory=set)  # indexes of posts by media accounts or with links


@dataclass
class DevStream:
    name: str
    lines: list[dict[str, Any]]  # valid lines, in delivery order
    truth: dict[str, Any]
    episodes: list[Episode]
    background: list[dict[str, Any]]  # everything outside the crisis episodes' spans


def _valid(line: str) -> dict[str, Any] | None:
    try:
        item = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return None
    if parse_time(item.get("created_at")) is None or not isinstance(item.get("author"), dict):
        return None
    return item if isinstance(item.get("id"), str | int) else None


def load_dev(root: Path) -> list[DevStream]:
    streams = []
    for path in sorted((root / "streams-dev").glob("*.jsonl")):
        truth = json.loads(path.with_suffix(".truth.json").read_text())
        lines = [i for i in map(_valid, path.read_text(encoding="utf-8").splitlines()) if i is not None]
        media_handles = set(truth.get("media_handles", []))
        taken: set[int] = set()
        episodes = []
        for ep in truth["episodes"]:
            if ep["kind"] != "crisis":
                continue
            start, end = parse_time(ep["start"]), parse_time(ep["end"])
            words = [w.lower() for w in ep["subject_keywords"]]
            posts, media = [], set()
            for index, item in enumerate(lines):
                at = parse_time(item["created_at"])
                if not start <= at <= end:
                    continue
                # The whole span leaves the background: the story's posts without its keywords
                # ("the practice posted my results") would otherwise be a crisis nobody labelled.
                taken.add(index)
                if any(w in item["text"].lower() for w in words):
                    if item["author"].get("handle") in media_handles or item.get("url"):
                        media.add(len(posts))
                    posts.append((at - start, item))
            episodes.append(Episode(ep, posts, media))
        background = [item for index, item in enumerate(lines) if index not in taken]
        streams.append(DevStream(path.stem, lines, truth, episodes, background))
    return streams


def _shaped(episode: Episode, shape: str) -> list[tuple[timedelta, dict[str, Any]]]:
    posts = episode.posts
    if shape == "slow_burn":
        span = max(offset for offset, _ in posts) or timedelta(minutes=1)
        return [(offset * (timedelta(days=1) / span), item) for offset, item in posts]
    if shape == "media_first":
        media = [(i, p) for i, p in enumerate(posts) if i in episode.media]
        public = [p for i, p in enumerate(posts) if i not in episode.media]
        if not media:
            return list(posts)
        early = [(timedelta(minutes=40) * k / len(media), item) for k, (_, (_, item)) in enumerate(media)]
        return early + [(offset + timedelta(minutes=45), item) for offset, item in public]
    return list(posts)


def _slot(
    rng: random.Random, background: DevStream, shape: str, taken: list[tuple[datetime, datetime]]
) -> datetime:
    """A start time inside the background's span, clear of its decoys and of placed episodes."""
    first = parse_time(background.lines[0]["created_at"]) + timedelta(days=4)
    last = parse_time(background.lines[-1]["created_at"]) - timedelta(days=2)
    busy = list(taken) + [
        (parse_time(e["start"]) - MARGIN, parse_time(e["end"]) + MARGIN) for e in background.truth["episodes"]
    ]
    for _ in range(1000):
        at = first + timedelta(seconds=rng.uniform(0, (last - first).total_seconds()))
        if shape == "quiet_night":
            at = at.replace(hour=rng.randint(1, 3), minute=rng.randint(0, 59))
            if at.weekday() < 5:
                continue
        if all(not (lo <= at <= hi) for lo, hi in busy):
            return at
    raise RuntimeError("no free slot for an episode")


def generate(dev: list[DevStream], seed: int) -> list[tuple[str, list[dict[str, Any]], dict[str, Any]]]:
    """One stream per dev background: every shape once, with episodes drawn from all dev streams."""
    rng = random.Random(seed)
    pool = [ep for stream in dev for ep in stream.episodes]
    out = []
    for background in dev:
        lines = [dict(item) for item in background.background]
        truth_episodes = [e for e in background.truth["episodes"] if e["kind"] == "decoy"]
        taken: list[tuple[datetime, datetime]] = []
        serial = 0
        for shape in SHAPES:
            chosen = rng.sample(pool, 2 if shape == "two_at_once" else 1)
            start = _slot(rng, background, shape, taken)
            for k, episode in enumerate(chosen):
                begin = start + timedelta(minutes=rng.uniform(5, 30)) * k
                placed = []
                for offset, item in _shaped(episode, shape):
                    serial += 1
                    new = dict(item)
                    new["id"] = f"gen{seed}{background.name}{serial:06d}"
                    new["created_at"] = stamp(begin + offset)
                    placed.append(new)
                times = sorted(parse_time(p["created_at"]) for p in placed)
                taken.append((times[0] - MARGIN, times[-1] + MARGIN))
                lines.extend(placed)
                source = episode.truth
                truth_episodes.append(
                    {
                        **source,
                        "id": f"{source['id']}@{shape}",
                        "start": stamp(times[0]),
                        "end": stamp(times[-1]),
                        "mentions": len(placed),
                        "placement": f"generated:{shape}",
                    }
                )
        lines.sort(key=lambda item: parse_time(item["created_at"]))
        truth = {
            "series": f"{background.name}-seed{seed}",
            "media_handles": background.truth.get("media_handles", []),
            "mentions": len(lines),
            "unique": len(lines),
            "duplicates": 0,
            "invalid": 0,
            "episodes": sorted(truth_episodes, key=lambda e: e["start"]),
        }
        out.append((f"{background.name}-seed{seed}", lines, truth))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder to write the streams to")
    parser.add_argument("--seeds", default="1,2")
    args = parser.parse_args()
    root = os.environ.get("BENCH_DATA")
    if not root:
        print("skip: set BENCH_DATA to the shared data folder (e.g. BENCH_DATA=../shared/data)")
        return 0
    dev = load_dev(Path(root))
    args.out.mkdir(parents=True, exist_ok=True)
    for seed in (int(s) for s in args.seeds.split(",")):
        for name, lines, truth in generate(dev, seed):
            (args.out / f"{name}.jsonl").write_text(
                "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
            )
            (args.out / f"{name}.truth.json").write_text(json.dumps(truth, indent=1))
            print(f"{name}: {len(lines)} lines, {len(truth['episodes'])} episodes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
