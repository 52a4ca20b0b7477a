"""Crisis detection on the replay streams, scored as ``streams-dev/README.md`` describes.

    BENCH_DATA=/work/shared/data .venv/bin/python bench/crisis_accuracy.py [-v]

For each ``$BENCH_DATA/streams-dev/*.jsonl``: parse the lines (invalid ones counted and
skipped, later deliveries of a platform + id skipped), score every mention with the product's
Scorer (lexicons from ``config/lexicon``, media list from ``config/media.toml`` only, never the
truth file's), feed ``triage.crisis.CrisisMonitor`` in delivery order, then compare its
incidents with ``*.truth.json``:

- an incident belongs to an episode when it opens between the episode's start and end + 60 min;
- a crisis episode is detected when a matching incident reaches the expected level by end + 60
  min; latency = start to the matching incident's first alert-or-crisis level (simulated time);
- more than one matching incident is a duplicate; an alert or crisis incident matching no
  crisis episode (decoys included) is a false incident;
- criteria named on matching incidents are compared with the episode's (recall, precision).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listener.intake.triage_setup import build_scorer  # noqa: E402
from listener.paths import load_config_toml  # noqa: E402
from triage.crisis import LEVELS, CrisisEvent, CrisisMonitor, ObservedMention  # noqa: E402
from triage.model import MentionInput  # noqa: E402

MATCH_AFTER = timedelta(minutes=60)
ALERTING = ("alert", "crisis")


@dataclass
class Replay:
    lines: int = 0
    new: int = 0
    duplicates: int = 0
    rejected: int = 0
    mentions: list[tuple[ObservedMention, str]] = field(default_factory=list)  # with author handle


@dataclass
class Incident:
    key: str
    opened: datetime
    subject: str = ""
    level: str = "watch"
    first_alert: datetime | None = None
    reached: dict[str, datetime] = field(default_factory=dict)
    criteria: set[str] = field(default_factory=set)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def read_stream(path: Path, scorer) -> Replay:
    replay = Replay()
    seen: set[tuple[str, str]] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        replay.lines += 1
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            replay.rejected += 1
            continue
        author = item.get("author") if isinstance(item, dict) else None
        created = parse_time(item.get("created_at")) if isinstance(item, dict) else None
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("text"), str)
            or not isinstance(item.get("id"), str | int)
            or created is None
            or not isinstance(author, dict)
        ):
            replay.rejected += 1
            continue
        key = (str(item.get("platform", "")), str(item["id"]))
        if key in seen:
            replay.duplicates += 1
            continue
        seen.add(key)
        replay.new += 1
        handle = str(author.get("handle") or "")
        followers = int(author.get("followers") or 0)
        reposts = int(item.get("reposts") or 0)
        url = item.get("url") if isinstance(item.get("url"), str) else None
        score = scorer.score(
            MentionInput(
                text=item["text"],
                platform=str(item.get("platform", "x")),
                kind=str(item.get("kind", "mention")),
                author_handle=handle,
                author_followers=followers,
                reposts=reposts,
                url=url,
                created_at=created,
            )
        )
        mention = ObservedMention(
            id=f"{key[0]}:{key[1]}",
            created_at=created,
            text=item["text"],
            score=score,
            url=url,
            source=str(item.get("source", "")),
            author_handle=handle,
            followers=followers,
            reposts=reposts,
        )
        replay.mentions.append((mention, handle))
    return replay


def run_monitor(replay: Replay) -> tuple[list[CrisisEvent], dict[str, Incident]]:
    monitor = CrisisMonitor()
    events: list[CrisisEvent] = []
    for mention, _ in replay.mentions:
        events.extend(monitor.observe(mention))
    if replay.mentions:
        events.extend(monitor.tick(replay.mentions[-1][0].created_at + timedelta(days=1)))
    incidents: dict[str, Incident] = {}
    for event in events:
        incident = incidents.setdefault(event.incident_key, Incident(event.incident_key, event.at))
        if event.kind == "quiet":
            continue
        incident.subject = event.subject
        incident.criteria.update(event.criteria)
        if LEVELS.index(event.level) > LEVELS.index(incident.level) or event.kind == "open":
            incident.level = event.level
        incident.reached.setdefault(event.level, event.at)
        if event.level in ALERTING and incident.first_alert is None:
            incident.first_alert = event.at
    return events, incidents


def evaluate(truth: dict, incidents: dict[str, Incident], verbose: bool) -> dict[str, Any]:
    episodes = truth["episodes"]
    crisis_keys: set[str] = set()
    result: dict[str, Any] = {"episodes": [], "false": [], "tp": 0, "fp": 0, "fn": 0}
    for episode in episodes:
        start, end = parse_time(episode["start"]), parse_time(episode["end"])
        assert start is not None and end is not None
        matching = [i for i in incidents.values() if start <= i.opened <= end + MATCH_AFTER]
        row: dict[str, Any] = {
            "id": episode["id"],
            "kind": episode["kind"],
            "expected": episode["expected_level"],
        }
        if episode["kind"] == "crisis":
            crisis_keys.update(i.key for i in matching)
            need = LEVELS.index(episode["expected_level"])
            detected = any(
                any(LEVELS.index(lv) >= need and at <= end + MATCH_AFTER for lv, at in i.reached.items())
                for i in matching
            )
            alerts = [i.first_alert for i in matching if i.first_alert is not None]
            latency = (min(alerts) - start).total_seconds() / 60 if alerts else None
            named = set().union(*(i.criteria for i in matching)) if matching else set()
            wanted = set(episode["criteria"])
            result["tp"] += len(named & wanted)
            result["fp"] += len(named - wanted)
            result["fn"] += len(wanted - named)
            row.update(
                detected=detected,
                latency=latency,
                incidents=len(matching),
                level=max((i.level for i in matching), key=LEVELS.index, default="-"),
                criteria=sorted(named, key=["sole_subject", "emotive", "legal", "media"].index),
                wanted=episode["criteria"],
            )
        else:
            row.update(
                incidents=len(matching),
                level=max((i.level for i in matching), key=LEVELS.index, default="-"),
            )
        if verbose:
            row["subjects"] = [i.subject for i in matching]
        result["episodes"].append(row)
    result["false"] = [i for i in incidents.values() if i.level in ALERTING and i.key not in crisis_keys]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every incident")
    args = parser.parse_args()
    root = os.environ.get("BENCH_DATA")
    if not root:
        print("skip: set BENCH_DATA to the shared data folder (e.g. BENCH_DATA=../shared/data)")
        return 0
    folder = Path(root) / "streams-dev"
    streams = sorted(folder.glob("*.jsonl"))
    if not streams:
        print(f"skip: no *.jsonl in {folder}")
        return 0
    media = load_config_toml("media.toml")
    handles = {h.lower() for h in media.get("handles", [])}
    scorer = build_scorer(media.get("handles", []), media.get("domains", []))

    latencies: list[float] = []
    totals = {"crisis": 0, "detected": 0, "duplicates": 0, "false": 0, "tp": 0, "fp": 0, "fn": 0}
    for path in streams:
        truth = json.loads(path.with_suffix(".truth.json").read_text())
        replay = read_stream(path, scorer)
        events, incidents = run_monitor(replay)
        result = evaluate(truth, incidents, args.verbose)
        counts_ok = (replay.lines, replay.new, replay.duplicates, replay.rejected) == (
            truth["mentions"],
            truth["unique"],
            truth["duplicates"],
            truth["invalid"],
        )
        covered = [h for h in truth.get("media_handles", []) if h.lower() in handles]
        media_posts = [h for _, h in replay.mentions if h in truth.get("media_handles", [])]
        media_known = [h for h in media_posts if h.lower() in handles]
        print(
            f"{path.name}: {replay.lines} lines, new {replay.new}, duplicates {replay.duplicates}, "
            f"rejected {replay.rejected} ({'= truth' if counts_ok else 'DIFFERS from truth'}); "
            f"{len(incidents)} incidents"
        )
        print(
            f"  media list covers {len(covered)}/{len(truth.get('media_handles', []))} of the stream's media "
            f"accounts ({len(media_known)}/{len(media_posts)} of their posts); news links by domain"
        )
        for row in result["episodes"]:
            if row["kind"] == "crisis":
                totals["crisis"] += 1
                totals["detected"] += int(row["detected"])
                totals["duplicates"] += max(0, row["incidents"] - 1)
                if row["latency"] is not None:
                    latencies.append(row["latency"])
                latency = "-" if row["latency"] is None else f"{row['latency']:.1f} min"
                print(
                    f"  {row['id']:8} crisis  expected {row['expected']:6} reached {row['level']:6} "
                    f"{'DETECTED' if row['detected'] else 'MISSED  '} latency {latency:>9}  "
                    f"incidents {row['incidents']}  criteria {row['criteria']} (truth {row['wanted']})"
                )
            else:
                ok = row["level"] in ("-", "watch")
                print(
                    f"  {row['id']:8} decoy   at most {row['expected']:6} reached {row['level']:6} "
                    f"{'ok' if ok else 'TOO HIGH'}  incidents {row['incidents']}"
                )
            if args.verbose and row.get("subjects"):
                print(f"           subjects: {row['subjects']}")
        for incident in result["false"]:
            print(
                f"  FALSE incident {incident.key} opened {incident.opened:%m-%d %H:%M} "
                f"level {incident.level}: {incident.subject}"
            )
        if args.verbose:
            for incident in incidents.values():
                print(
                    f"    incident {incident.key} {incident.opened:%m-%d %H:%M} {incident.level:6} "
                    f"{sorted(incident.criteria)} {incident.subject}"
                )
        totals["false"] += len(result["false"])
        for k in ("tp", "fp", "fn"):
            totals[k] += result[k]

    recall = totals["tp"] / (totals["tp"] + totals["fn"]) if totals["tp"] + totals["fn"] else 0.0
    precision = totals["tp"] / (totals["tp"] + totals["fp"]) if totals["tp"] + totals["fp"] else 0.0
    median = f"{statistics.median(latencies):.1f} min" if latencies else "-"
    print(
        f"all streams: detected {totals['detected']}/{totals['crisis']} at level, median latency {median}, "
        f"duplicates {totals['duplicates']}, false incidents {totals['false']}, "
        f"criteria recall {recall:.2f} precision {precision:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
