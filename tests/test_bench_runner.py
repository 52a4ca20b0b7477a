"""`make bench` runs every benchmark module in bench/: a new one must be added to its list."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import BENCHES, HELPERS, unlisted

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_every_module_in_bench_is_a_listed_benchmark_or_a_helper():
    assert unlisted(BENCH) == []


def test_a_module_nobody_listed_is_reported(tmp_path):
    for name in (*HELPERS, BENCHES[0], "new_bench"):
        (tmp_path / f"{name}.py").write_text("")
    assert unlisted(tmp_path) == ["new_bench"]
