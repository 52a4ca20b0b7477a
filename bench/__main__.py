"""`make bench`: run every benchmark in turn, then list every figure that has a target, in one place.

Accuracy benchmarks need the public data sets: set BENCH_DATA to the folder holding
nab-realtweets-dev/, nhs-feedback-dev/, streams-dev/ and vader-tweets/
(for example `make bench BENCH_DATA=../shared/data`); without it they say so and skip.

A new benchmark is a module ``bench/<name>.py`` with a ``main()``, printing its figures with
``bench.common.figure`` (figure, value, target, baseline and ratio): add its name to
``BENCHES``. A module in bench/ that is neither listed nor a helper is reported, so none is
forgotten.
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
    "crisis_burst",
    "alert_latency",
    "queue",
    "claims",
    "memory",
    "load",
)
HELPERS = ("__init__", "__main__", "common", "seed", "nab_score", "crisis_streams")
TARGET_MARK = "   target "  # how bench.common.figure sets a target beside a figure


def unlisted(folder: Path) -> list[str]:
    """Modules in bench/ that are neither benchmarks in ``BENCHES`` nor helpers."""
    return sorted(p.stem for p in folder.glob("*.py") if p.stem not in BENCHES + HELPERS)


def run(name: str, cwd: Path) -> tuple[int, list[str]]:
    """Run ``bench.<name>``, echoing its output; returns its exit status and its figures with a target."""
    targeted = []
    with subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}"], cwd=cwd, stdout=subprocess.PIPE, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if TARGET_MARK in line:
                targeted.append(line.rstrip())
    return proc.returncode, targeted


def main() -> int:
    here = Path(__file__).parent
    failed, summary = [], []
    for name in BENCHES:
        if not (here / f"{name}.py").exists():
            print(f"\n=== bench/{name}.py: not in this checkout, skipped ===", flush=True)
            continue
        print(f"\n=== bench/{name}.py ===", flush=True)
        rc, targeted = run(name, here.parent)
        summary += [f"[{name}] {line.strip()}" for line in targeted]
        if rc != 0:
            failed.append(name)
    print("\n=== every figure with its target ===")
    for line in summary:
        print(f"  {line}")
    for name in unlisted(here):
        print(f"\nbench/{name}.py is not in bench/__main__.py BENCHES: it did not run")
    if failed:
        print(f"\nbenchmarks that failed to run: {', '.join(failed)}")
    return 1 if failed or unlisted(here) else 0


if __name__ == "__main__":
    sys.exit(main())
