"""`listening-post replay` on the dev streams, its output scored as ``streams-dev/README.md`` says.

    BENCH_DATA=/work/shared/data .venv/bin/python -m bench.replay_score [-v] [STREAM ...]

For each ``$BENCH_DATA/streams-dev/*.jsonl`` (or the streams named): run the real command
(``listening-post replay FILE --db`` a temporary SQLite database, default settings), read its
JSON lines, and compare them with ``*.truth.json``:

- an incident belongs to an episode when it opens (its first line's ``at``) between the
  episode's start and end + 60 minutes;
- a crisis episode is detected when a matching incident reaches ``expected_level`` by end + 60
  minutes; latency = minutes from start to the first ``alert`` line of a matching incident;
- more than one matching incident is a duplicate;
- an incident that reaches alert or crisis without matching a crisis episode is a false
  incident (decoys included);
- criteria named on the incidents matching crisis episodes against the episodes' ``criteria``
  (recall, precision): as the lines name them (at opening and each rise), and as the incidents
  hold them in the database at the end (a criterion met later at the same level is only there);
- the summary line's counts against the truth (mentions = lines, new = unique, duplicates,
  rejected = invalid).

Also prints the replay's throughput, the whole pipeline: lines per second of wall time, and per
CPU second (the fairer figure on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

LEVELS = ("watch", "alert", "crisis")
MATCH_AFTER = timedelta(minutes=60)
TARGET_LATENCY_MINUTES = 15.0
ROOT = Path(__file__).resolve().parents[1]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Incident:
    id: int
    opened: datetime
    subject: str
    reached: dict[str, datetime] = field(default_factory=dict)  # level -> first time
    criteria: set[str] = field(default_factory=set)
    first_alert: datetime | None = None

    def level_by(self, deadline: datetime) -> str | None:
        levels = [lvl for lvl, at in self.reached.items() if at <= deadline]
        return max(levels, key=LEVELS.index) if levels else None

    @property
    def top(self) -> str:
        return max(self.reached, key=LEVELS.index)


@dataclass
class Output:
    incidents: dict[int, Incident]
    summary: dict[str, Any]
    seconds: float
    stderr_lines: int
    cpu_seconds: float = 0.0
    # The criteria each incident holds in the database at the end: lines are printed only when an
    # incident opens or rises, so a criterion met later at the same level shows only here.
    stored_criteria: dict[int, set[str]] = field(default_factory=dict)


def run_replay(stream: Path, db: Path) -> Output:
    started = time.perf_counter()
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-m", "listening_post", "replay", str(stream), "--db", f"sqlite:///{db}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"replay of {stream} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    output = read_output(done.stdout.splitlines(), seconds, len(done.stderr.splitlines()))
    output.cpu_seconds = cpu_seconds
    with sqlite3.connect(db) as conn:
        output.stored_criteria = {
            incident_id: set(json.loads(criteria))
            for incident_id, criteria in conn.execute("SELECT id, criteria FROM incidents")
        }
    return output


def read_output(lines: list[str], seconds: float, stderr_lines: int) -> Output:
    incidents: dict[int, Incident] = {}
    summary: dict[str, Any] = {}
    for raw in lines:
        line = json.loads(raw)
        if line["type"] == "incident":
            at = parse_time(line["at"])
            incident = incidents.setdefault(line["id"], Incident(line["id"], at, line["subject"]))
            incident.reached.setdefault(line["level"], at)
            incident.criteria.update(line["criteria"])
        elif line["type"] == "alert" and line["incident"] is not None:
            alerted = incidents.get(line["incident"])
            if alerted is None:
                raise SystemExit(f"alert line for incident {line['incident']} before its incident line")
            at = parse_time(line["at"])
            if alerted.first_alert is None or at < alerted.first_alert:
                alerted.first_alert = at
        elif line["type"] == "summary":
            summary = line
    if not summary:
        raise SystemExit("the replay printed no summary line")
    return Output(incidents, summary, seconds, stderr_lines)


@dataclass
class Score:
    detected: int = 0
    crisis_episodes: int = 0
    latencies: list[float] = field(default_factory=list)
    missed_alerts: int = 0
    duplicates: int = 0
    false_incidents: list[str] = field(default_factory=list)
    criteria_tp: int = 0
    criteria_named: int = 0
    criteria_truth: int = 0
    stored_tp: int = 0
    stored_named: int = 0
    counts_equal: bool = True
    count_diffs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def score(output: Output, truth: dict[str, Any]) -> Score:
    s = Score()
    episodes = truth["episodes"]
    matched: set[int] = set()
    for episode in episodes:
        start, end = parse_time(episode["start"]), parse_time(episode["end"])
        deadline = end + MATCH_AFTER
        mine = [i for i in output.incidents.values() if start <= i.opened <= deadline]
        if episode["kind"] != "crisis":
            reached = [i for i in mine if i.top != "watch"]
            note = f"{episode['id']} decoy ({episode.get('decoy')}): " + (
                ", ".join(f"#{i.id} {i.top}" for i in mine) or "no incident"
            )
            s.notes.append(note + (" <- FALSE" if reached else ""))
            continue
        s.crisis_episodes += 1
        matched.update(i.id for i in mine)
        if len(mine) > 1:
            s.duplicates += len(mine) - 1
        want = LEVELS.index(episode["expected_level"])
        best = max(
            (i.level_by(deadline) for i in mine if i.level_by(deadline)), key=LEVELS.index, default=None
        )
        hit = best is not None and LEVELS.index(best) >= want
        s.detected += int(hit)
        alerts = [i.first_alert for i in mine if i.first_alert is not None]
        latency = (min(alerts) - start).total_seconds() / 60 if alerts else None
        if latency is None:
            s.missed_alerts += 1
        else:
            s.latencies.append(latency)
        named = set().union(*(i.criteria for i in mine)) if mine else set()
        truth_criteria = set(episode["criteria"])
        s.criteria_tp += len(named & truth_criteria)
        s.criteria_named += len(named)
        s.criteria_truth += len(truth_criteria)
        stored = set().union(*(output.stored_criteria.get(i.id, set()) for i in mine)) if mine else set()
        s.stored_tp += len(stored & truth_criteria)
        s.stored_named += len(stored)
        s.notes.append(
            f"{episode['id']} crisis, expected {episode['expected_level']}: "
            + (
                ", ".join(
                    f"#{i.id} opened {i.opened:%m-%d %H:%M} reached {i.top} criteria {sorted(i.criteria)}"
                    for i in mine
                )
                or "no incident"
            )
            + f"; latency {latency:.1f} min" * (latency is not None)
            + ("" if hit else " <- MISSED LEVEL")
        )
    for incident in output.incidents.values():
        if incident.id not in matched and incident.top != "watch":
            s.false_incidents.append(
                f"#{incident.id} {incident.top} at {incident.opened:%m-%d %H:%M}: {incident.subject}"
            )
    expected = {
        "mentions": truth["mentions"],
        "new": truth["unique"],
        "duplicates": truth["duplicates"],
        "rejected": truth["invalid"],
    }
    for key, want_count in expected.items():
        if output.summary.get(key) != want_count:
            s.counts_equal = False
            s.count_diffs.append(f"{key} {output.summary.get(key)} != {want_count}")
    return s


def report(name: str, output: Output, s: Score, verbose: bool) -> bool:
    median = statistics.median(s.latencies) if s.latencies else None
    recall = s.criteria_tp / s.criteria_truth if s.criteria_truth else 1.0
    precision = s.criteria_tp / s.criteria_named if s.criteria_named else 1.0
    lines = output.summary["mentions"]
    print(f"{name}:")
    print(f"  crisis episodes detected at their level  {s.detected}/{s.crisis_episodes}   (target: all)")
    latencies = ", ".join(f"{x:.1f}" for x in s.latencies)
    median_text = "n/a" if median is None else f"{median:.1f}"
    print(f"  median latency to first alert (min)      {median_text}   [{latencies}]   (target: <= 15)")
    print(f"  episodes without an alert line           {s.missed_alerts}")
    print(f"  duplicate incidents                      {s.duplicates}   (target: 0)")
    print(f"  false incidents                          {len(s.false_incidents)}   (target: 0)")
    for false in s.false_incidents:
        print(f"    {false}")
    print(f"  criteria recall / precision (lines)      {recall:.2f} / {precision:.2f}")
    stored_recall = s.stored_tp / s.criteria_truth if s.criteria_truth else 1.0
    stored_precision = s.stored_tp / s.stored_named if s.stored_named else 1.0
    print(f"  criteria recall / precision (incidents)  {stored_recall:.2f} / {stored_precision:.2f}")
    summary = {k: output.summary[k] for k in ("mentions", "new", "duplicates", "rejected", "queue_items")}
    print(f"  summary counts equal the truth           {'yes' if s.counts_equal else 'NO'}   {summary}")
    for diff in s.count_diffs:
        print(f"    {diff}")
    made = f"{output.summary['incidents']} / {output.summary['alerts']}"
    print(f"  incidents / alert lines                  {made}")
    print(f"  rejected lines reported on stderr        {output.stderr_lines}")
    rate = f"{lines / output.seconds:,.0f} lines/s wall ({output.seconds:.1f} s)"
    if output.cpu_seconds:
        rate += f", {lines / output.cpu_seconds:,.0f} lines per CPU second ({output.cpu_seconds:.1f} s)"
    print(f"  throughput                               {rate}")
    if verbose:
        for note in s.notes:
            print(f"    {note}")
    return (
        s.detected == s.crisis_episodes
        and median is not None
        and median <= TARGET_LATENCY_MINUTES
        and s.duplicates == 0
        and not s.false_incidents
        and s.counts_equal
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("streams", nargs="*", help="stream files (default: every streams-dev/*.jsonl)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show each episode's incidents")
    args = parser.parse_args()
    data = os.environ.get("BENCH_DATA")
    if args.streams:
        streams = [Path(p) for p in args.streams]
    elif data:
        streams = sorted((Path(data) / "streams-dev").glob("*.jsonl"))
        if not streams:
            print(f"skipped: no streams in {Path(data) / 'streams-dev'}")
            return 0
    else:
        print("skipped: set BENCH_DATA to the folder holding streams-dev/ (e.g. BENCH_DATA=../shared/data)")
        return 0
    all_met = True
    for stream in streams:
        truth = json.loads(stream.with_suffix(".truth.json").read_text(encoding="utf-8"))
        with tempfile.TemporaryDirectory(prefix="replay-score-") as folder:
            output = run_replay(stream, Path(folder) / "replay.db")
        all_met &= report(stream.stem, output, score(output, truth), args.verbose)
    print("targets met" if all_met else "targets NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
