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
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listener.intake.triage_setup import build_scorer  # noqa: E402
from listener.paths import load_config_toml  # noqa: E402
from triage.crisis import LEVELS, CrisisConfig, CrisisEvent, CrisisMonitor, ObservedMention  # noqa: E402
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


def read_stream(path: Path, scorer, cache: dict | None = None) -> Replay:
    return read_lines(path.read_text(encoding="utf-8").splitlines(), scorer, cache)


def read_lines(lines: list, scorer, cache: dict | None = None) -> Replay:
    """Lines (JSON text, or already parsed) as the replay reads them. ``cache`` keeps scores by
    what they depend on, for streams that repeat posts (the generated ones)."""
    replay = Replay()
    seen: set[tuple[str, str]] = set()
    cache = {} if cache is None else cache
    for line in lines:
        replay.lines += 1
        try:
            item = json.loads(line) if isinstance(line, str) else line
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
        mention_input = MentionInput(
            text=item["text"],
            platform=str(item.get("platform", "x")),
            kind=str(item.get("kind", "mention")),
            author_handle=handle,
            author_followers=followers,
            reposts=reposts,
            url=url,
        )
        score = cache.get(mention_input)
        if score is None:
            score = cache[mention_input] = scorer.score(replace(mention_input, created_at=created))
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


def run_monitor(
    replay: Replay, config: CrisisConfig | None = None
) -> tuple[list[CrisisEvent], dict[str, Incident]]:
    monitor = CrisisMonitor(config)
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
    parser.add_argument("--seeds", default="1,2", help="seeds of the generated streams ('' for none)")
    parser.add_argument(
        "--no-loso", action="store_true", help="skip the leave-one-stream-out sweep (minutes)"
    )
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

    cache: dict = {}
    dev: dict[str, tuple[Replay, dict]] = {}
    latencies: list[float] = []
    totals = {"crisis": 0, "detected": 0, "duplicates": 0, "false": 0, "tp": 0, "fp": 0, "fn": 0}
    for path in streams:
        truth = json.loads(path.with_suffix(".truth.json").read_text())
        replay = read_stream(path, scorer, cache)
        dev[path.stem] = (replay, truth)
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
    if not args.no_loso:
        print(f"\nleave-one-stream-out (each constant chosen on the other stream from {SWEEP_NOTE}):")
        leave_one_stream_out(dev)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    if seeds:
        print(f"\ngenerated streams (bench/crisis_streams.py, seeds {args.seeds}; default constants):")
        generated_figures(Path(root), scorer, cache, seeds)
    return 0


# --- held-out checks ---------------------------------------------------------------------------

TARGET = "target: median <= 5 min, max <= 15 min, no false incidents"
SWEEP_NOTE = "the default and a value either side of it"
# Every decision constant of CrisisConfig and TopicConfig, with the values tried beside the default.
SWEEP: dict[str, tuple] = {
    "bucket_minutes": (3, 10),
    "surge_minutes": (15, 60),
    "surge_sigmas": (2.0, 8.0),
    "min_negative_mentions": (4, 16),
    "sole_subject_share": (0.3, 0.9),
    "max_positive_share": (0.2, 0.8),
    "emotive_level": (0.25, 0.75),
    "emotive_share": (0.15, 0.6),
    "emotive_mentions": (2, 10),
    "viral_reposts": (500, 2000),
    "legal_mentions": (1, 6),
    "legal_share": (0.05, 0.2),
    "media_mentions": (2, 4),
    "quiet_minutes": (90, 360),
    "match_overlap": (0.15, 0.6),
    "same_overlap": (0.15, 0.6),
    "same_min_terms": (1, 4),
    "update_growth": (1.1, 2.0),
    "topics.window_minutes": (30, 120),
    "topics.min_mentions": (3, 10),
    "topics.min_lift": (2.0, 8.0),
    "topics.join_overlap": (0.25, 0.75),
    "topics.max_terms": (12, 50),
    "topics.background_half_life_days": (3.5, 14.0),
}


def config_with(name: str, value) -> CrisisConfig:
    if name.startswith("topics."):
        return CrisisConfig.model_validate({"topics": {name.split(".", 1)[1]: value}})
    return CrisisConfig.model_validate({name: value})


def default_of(name: str):
    config = CrisisConfig()
    if name.startswith("topics."):
        return getattr(config.topics, name.split(".", 1)[1])
    return getattr(config, name)


def outcome(replay: Replay, truth: dict, config: CrisisConfig | None = None) -> dict[str, Any]:
    _, incidents = run_monitor(replay, config)
    result = evaluate(truth, incidents, False)
    crisis = [r for r in result["episodes"] if r["kind"] == "crisis"]
    return {
        "crisis": len(crisis),
        "detected": sum(1 for r in crisis if r["detected"]),
        "latencies": [r["latency"] for r in crisis if r["latency"] is not None],
        "false": len(result["false"]),
        "duplicates": sum(max(0, r["incidents"] - 1) for r in crisis),
        "rows": crisis,
    }


def merged(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("crisis", "detected", "false", "duplicates")
    out: dict[str, Any] = {k: sum(o[k] for o in outcomes) for k in keys}
    out["latencies"] = [x for o in outcomes for x in o["latencies"]]
    out["rows"] = [r for o in outcomes for r in o["rows"]]
    return out


def words(o: dict[str, Any]) -> str:
    lat = o["latencies"]
    median = f"{statistics.median(lat):.1f}" if lat else "-"
    worst = f"{max(lat):.1f}" if lat else "-"
    return (
        f"at level {o['detected']}/{o['crisis']}, latency median {median} max {worst} min, "
        f"false incidents {o['false']}, duplicates {o['duplicates']}"
    )


def merit(o: dict[str, Any]) -> tuple:
    """Better is: more episodes at their level, fewer false incidents and duplicates, then faster."""
    lat = o["latencies"]
    return (
        o["detected"],
        -o["false"],
        -o["duplicates"],
        -(max(lat) if lat else 1e9),
        -(statistics.median(lat) if lat else 1e9),
    )


def leave_one_stream_out(dev: dict[str, tuple[Replay, dict]]) -> None:
    names = sorted(dev)
    runs: dict[tuple[str, str, Any], dict[str, Any]] = {}
    for stream in names:
        replay, truth = dev[stream]
        base = outcome(replay, truth)
        for name, values in SWEEP.items():
            runs[(stream, name, default_of(name))] = base
            for value in values:
                runs[(stream, name, value)] = outcome(replay, truth, config_with(name, value))
    held: list[dict[str, Any]] = []
    moved: list[str] = []
    for test in names:
        train = [s for s in names if s != test]
        chosen: dict[str, Any] = {}
        for name, values in SWEEP.items():
            default = default_of(name)
            candidates = [default, *values]  # ties keep the default
            chosen[name] = max(candidates, key=lambda v: merit(merged([runs[(s, name, v)] for s in train])))
            if chosen[name] != default:
                moved.append(f"{name}={chosen[name]} (trained on {', '.join(train)})")
        config = CrisisConfig.model_validate(
            {
                **{k: v for k, v in chosen.items() if not k.startswith("topics.")},
                "topics": {k.split(".", 1)[1]: v for k, v in chosen.items() if k.startswith("topics.")},
            }
        )
        result = outcome(*dev[test], config)
        held.append(result)
        print(f"  held out {test}: {words(result)}")
    print(f"  all held out: {words(merged(held))}   ({TARGET})")
    moved_words = "; ".join(moved) if moved else "none (every default is as good or better)"
    print(f"  constants the other stream would move: {moved_words}")
    # Which constants decide anything here: a value beside the default that changes a figure.
    for name, values in SWEEP.items():
        default = default_of(name)
        changes = []
        for value in values:
            o = merged([runs[(s, name, value)] for s in names])
            base = merged([runs[(s, name, default)] for s in names])
            if merit(o) != merit(base):
                changes.append(f"{value}: {words(o)}")
        print(
            f"    {name} = {default}: "
            + ("; ".join(changes) if changes else "no figure changes at " + ", ".join(map(str, values)))
        )


def generated_figures(root: Path, scorer, cache: dict, seeds: list[int]) -> None:
    from bench.crisis_streams import SHAPES, generate, load_dev

    dev = load_dev(root)
    outcomes = []
    for seed in seeds:
        for name, lines, truth in generate(dev, seed):
            result = outcome(read_lines(lines, scorer, cache), truth)
            outcomes.append(result)
            print(f"  {name}: {words(result)}")
    total = merged(outcomes)
    for shape in SHAPES:
        rows = [r for r in total["rows"] if r["id"].endswith("@" + shape)]
        lat = [r["latency"] for r in rows if r["latency"] is not None]
        print(
            f"    {shape:12} at level {sum(r['detected'] for r in rows)}/{len(rows)}, latency "
            + (f"median {statistics.median(lat):.1f} max {max(lat):.1f} min" if lat else "-")
            + (
                f", missed: {', '.join(r['id'] for r in rows if not r['detected'])}"
                if not all(r["detected"] for r in rows)
                else ""
            )
        )
    print(f"  all generated: {words(total)}   ({TARGET})")


if __name__ == "__main__":
    sys.exit(main())
