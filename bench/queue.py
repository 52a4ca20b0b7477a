"""Queue page and item page latency with 10,000 to 1,000,000 mentions, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.queue [--sizes 10000,100000,1000000] [--db sqlite,postgres] [--requests 200]

Each store is seeded by ``bench.seed.seed_store`` (a year of mentions with scores, queue
items — 2% of them open — sent replies, threads and a long tail of authors), then the
real app (``queue_ui.app.create_app``) serves a signed-in agent in-process through
Starlette's TestClient (httpx over ASGI: routing, dependencies, the queries and the
templates all run; only the socket is missing). Each page is asked for ``--requests``
times after a few warm-up requests; the item page cycles through 200 open items.

PostgreSQL: ``BENCH_PG`` or ``LISTENING_POST_TEST_PG`` (default
postgresql+psycopg://postgres@127.0.0.1:5432/test), in a new schema dropped afterwards.
Target: p95 under 100 ms at 1,000,000 mentions, on both.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bench.common import figure, fresh_store, machine_note, percentile, postgres_reachable, ratio_of
from bench.seed import BENCH_PASSWORD, Seeded, seed_store
from listener.settings import Settings
from queue_ui.app import create_app

NOW = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)  # a Wednesday morning: the queue is busy
SECRET = "bench-session-secret-0123456789-abcdef"
TARGET_MS = 100.0
TARGET_SIZE = 1_000_000
WARM_UP = 5
PAGES: dict[str, Callable[[Seeded, int], str]] = {
    "queue page": lambda seeded, i: "/queue",
    "queue page, negative on X": lambda seeded, i: "/queue?sentiment=negative&platform=x",
    "item page": lambda seeded, i: f"/items/{seeded.open_item_ids[i % len(seeded.open_item_ids)]}",
}


@dataclass
class Latency:
    page: str
    p50: float
    p95: float
    cpu_p95: float  # this process's CPU time per request: what other work on the machine cannot inflate


def signed_in_client(settings: Settings, engine: Engine, email: str) -> TestClient:
    app = create_app(settings, engine, clock=lambda: NOW, session_secret=SECRET)
    client = TestClient(app)
    form = client.get("/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    if token is None:
        raise RuntimeError("the sign-in page has no CSRF token")
    response = client.post(
        "/sign-in",
        data={"email": email, "password": BENCH_PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    if response.status_code != 303:
        raise RuntimeError(f"sign-in failed: HTTP {response.status_code}")
    return client


def time_page(
    client: TestClient, path_for: Callable[[int], str], requests: int
) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each request (CPU: all this process's threads; for SQLite that
    includes the database's work, for PostgreSQL not the server's)."""
    for i in range(WARM_UP):
        client.get(path_for(i))
    wall, cpu = [], []
    for i in range(requests):
        path = path_for(i)
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path, follow_redirects=False)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status_code}")
    return wall, cpu


def measure(kind: str, size: int, requests: int, open_items: int | None = None) -> list[Latency]:
    with fresh_store(kind) as engine:
        started = time.perf_counter()
        seeded = seed_store(engine, size, now=NOW, open_items=open_items)
        print(
            f"  seeded {size:,} mentions ({seeded.queue_items:,} queue items, {seeded.open_items:,} open) "
            f"in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        agent_email = seeded.agents[1][1]
        client = signed_in_client(Settings(), engine, agent_email)
        results = []
        for page, path in PAGES.items():
            wall, cpu = time_page(client, partial(path, seeded), requests)
            results.append(Latency(page, percentile(wall, 50), percentile(wall, 95), percentile(cpu, 95)))
        client.close()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="mention counts, comma separated")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--open-items",
        type=int,
        default=None,
        help="open queue items (default 2%%; bench.load leaves ~15,000)",
    )
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    kinds = [k for k in args.db.split(",") if k]

    print(machine_note())
    for kind in kinds:
        if kind == "postgres" and (why := postgres_reachable()) is not None:
            print(f"{kind}: skipped, the server does not answer ({why})")
            continue
        smallest: dict[str, Latency] = {}  # the baseline: each page at the first size, same run
        for size in sizes:
            print(f"{kind}, {size:,} mentions:", flush=True)
            for r in measure(kind, size, args.requests, args.open_items):
                judged = size >= TARGET_SIZE
                met = r.p95 < TARGET_MS if judged else None
                base = smallest.setdefault(r.page, r)
                figure(
                    f"{r.page}: p50 / p95 (CPU p95)",
                    f"{r.p50:5.1f} / {r.p95:5.1f} ({r.cpu_p95:5.1f}) ms",
                    f"p95 < {TARGET_MS:.0f} ms at {TARGET_SIZE:,}" if judged else "",
                    met,
                    baseline=f"p95 {base.p95:.1f} ms at {sizes[0]:,}" if base is not r else "",
                    ratio=ratio_of(r.p95, base.p95),
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
