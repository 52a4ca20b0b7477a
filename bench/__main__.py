"""`make bench`: run every benchmark in turn and print its figures beside its target.

Accuracy benchmarks need the public data sets: set BENCH_DATA to the folder holding
nab-realtweets-dev/, nhs-feedback-dev/, streams-dev/ and vader-tweets/
(for example `make bench BENCH_DATA=../shared/data`); without it they say so and skip.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = (
    "triage_accuracy",
    "spikes_accuracy",
    "crisis_accuracy",
    "crisis_burst",
    "replay_score",
    "pipeline",
    "queue",
    "claims",
    "alert_latency",
    "memory",
    "load",
)


def main() -> int:
    here = Path(__file__).parent
    failed = []
    for name in BENCHES:
        if not (here / f"{name}.py").exists():
            continue
        print(f"\n=== bench/{name}.py ===", flush=True)
        rc = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=here.parent)
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that failed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
