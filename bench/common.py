"""What the performance benchmarks share: throwaway stores, and printing a figure beside its target."""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, text

from connectors.base import PermanentError
from listener.store.db import make_engine

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_base_url() -> str:
    """The PostgreSQL server the benchmarks may use (a fresh schema each time, dropped after)."""
    return os.environ.get("BENCH_PG") or os.environ.get("LISTENING_POST_TEST_PG") or DEFAULT_PG


def postgres_reachable(url: str | None = None) -> str | None:
    """None when the server answers, else why not (the benchmark prints it and skips PostgreSQL)."""
    engine = make_engine(url or pg_base_url())
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means: skip, and say why
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    finally:
        engine.dispose()
    return None


@contextmanager
def fresh_store(kind: str, **engine_options: object) -> Iterator[Engine]:
    """An empty database: a SQLite file in a temporary folder, or a new PostgreSQL schema.

    Nothing is left behind: the folder is removed and the schema dropped afterwards.
    """
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="lp-bench-") as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}", **engine_options)
            try:
                yield engine
            finally:
                engine.dispose()
        return
    if kind != "postgres":
        raise ValueError(f"unknown store kind {kind!r}")
    base = pg_base_url()
    schema = f"lp_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    engine = make_engine(f"{base}{sep}options=-csearch_path%3D{schema}", **engine_options)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 200 samples is the 190th smallest)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "NOT MET")


def figure(
    label: str,
    value: str,
    target: str = "",
    met: bool | None = None,
    width: int = 46,
    *,
    baseline: str = "",
    ratio: float | None = None,
) -> None:
    """One line: what was measured, the figure, the target beside it, and the baseline of the same run.

    ``ratio`` is the figure over the baseline's (below 1: less time than the baseline took).
    """
    tail = f"   target {target}: {verdict(met)}" if target else ""
    if baseline:
        tail += f"   baseline {baseline}" + (f", ratio {ratio:.2f}" if ratio is not None else "")
    print(f"  {label:<{width}} {value:>14}{tail}", flush=True)


def ratio_of(value: float, baseline: float) -> float | None:
    """``value / baseline``, or None when the baseline is zero or not a number."""
    if not baseline or math.isnan(baseline) or math.isinf(baseline):
        return None
    return value / baseline


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine_note() -> str:
    """CPUs and load: figures from a machine busy with other work are slower than they should be."""
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    busy = " — busy with other work: every time below is inflated" if load > cpus * 0.75 else ""
    return f"machine: {cpus} CPUs, load average {load:.1f}{busy}"


class ListenOnlyConnector:
    """Base of the benchmarks' stream connectors: they hand over mentions and cannot post anything."""

    slug = "x"
    max_reply_length = 280

    def reply(self, *, source: str, in_reply_to: str, text: str, idempotency_key: str) -> str:
        raise PermanentError("a benchmark stream cannot take replies")

    def find_reply(
        self, *, source: str, in_reply_to: str, text: str, since: datetime | None = None
    ) -> str | None:
        return None

    def hide(self, *, source: str, external_id: str, hidden: bool = True) -> None:
        raise PermanentError("a benchmark stream cannot hide comments")
