"""`listening-post spikes`: CSV in, a scored row out for every input row, causal, bad rows reported."""

from __future__ import annotations

import io
import math
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from listening_post.cli.main import main
from listening_post.cli.spikes import detect_rows

START = datetime(2026, 3, 2)


def series_csv(values: list[int], *, header: bool = True) -> str:
    lines = ["timestamp,value"] if header else []
    lines += [f"{(START + timedelta(minutes=5 * i)):%Y-%m-%d %H:%M:%S},{v}" for i, v in enumerate(values)]
    return "\n".join(lines) + "\n"


def daily_values(days: int) -> list[int]:
    """Deterministic counts with a daily cycle (no randomness needed for these checks)."""
    return [round(20 + 15 * math.sin(2 * math.pi * i / 288) + (i * 7919 % 5)) for i in range(days * 288)]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code = main(["spikes", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_every_row_is_scored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = daily_values(2)
    path = tmp_path / "counts.csv"
    path.write_text(series_csv(values))
    code, out, err = run_cli([str(path)], capsys)
    assert code == 0 and err == ""
    assert out[0] == "timestamp,value,expected,score,alert"
    assert len(out) == len(values) + 1
    first = out[1].split(",")
    assert first[0] == "2026-03-02 00:00:00" and first[1] == str(values[0])
    for row in out[1:]:
        ts, value, expected, score, alert = row.split(",")
        assert float(expected) >= 0 and 0 <= float(score) <= 1 and alert in ("0", "1")


def test_a_spike_alerts_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = daily_values(3)
    spike = 2 * 288 + 144
    for i in range(spike, spike + 12):
        values[i] *= 15
    path = tmp_path / "counts.csv"
    path.write_text(series_csv(values))
    _, out, _ = run_cli([str(path)], capsys)
    alerts = [i for i, row in enumerate(out[1:]) if row.endswith(",1")]
    assert alerts == [spike]


def test_output_is_causal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = daily_values(3)
    values[500] = 900
    full, prefix = tmp_path / "full.csv", tmp_path / "prefix.csv"
    full.write_text(series_csv(values))
    prefix.write_text(series_csv(values[:600]))
    _, full_out, _ = run_cli([str(full)], capsys)
    _, prefix_out, _ = run_cli([str(prefix)], capsys)
    assert full_out[: len(prefix_out)] == prefix_out


def test_reads_standard_input(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(series_csv([3, 4, 5], header=False)))
    code, out, _ = run_cli(["-"], capsys)
    assert code == 0
    assert [row.split(",")[1] for row in out[1:]] == ["3", "4", "5"]


def test_bad_rows_are_reported_by_line_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "timestamp,value\n"
        "2026-03-02 00:00:00,3\n"
        "2026-03-02 00:05:00,lots\n"
        "yesterday,4\n"
        "2026-03-02 00:10:00,-2\n"
        "2026-03-02 00:10:00,4,extra\n"
        "2026-03-02 00:10:00,4\n"
        "2026-03-02 00:05:00,4\n"
        "2026-03-02 00:15:00,6.5\n"
    )
    path = tmp_path / "bad.csv"
    path.write_text(text)
    code, out, err = run_cli([str(path)], capsys)
    assert code == 1
    assert [row.split(",")[0] for row in out[1:]] == [
        "2026-03-02 00:00:00",
        "2026-03-02 00:10:00",
        "2026-03-02 00:15:00",
    ]
    assert out[-1].split(",")[1] == "6.5"
    for line in (3, 4, 5, 6, 8):
        assert f"line {line}:" in err
    assert "'lots' is not a number" in err
    assert "not after the previous row" in err
    assert "5 row(s) skipped" in err


def test_a_missing_file_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli([str(tmp_path / "nope.csv")], capsys)
    assert code == 2 and out == []
    assert err.strip() == f"listening-post: {tmp_path / 'nope.csv'}: file not found"


def test_options_reach_the_detector(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = daily_values(3)
    values[2 * 288 + 100] = 60  # a modest burst: about three times the usual
    path = tmp_path / "counts.csv"
    path.write_text(series_csv(values))
    _, default_out, _ = run_cli([str(path)], capsys)
    _, sensitive_out, _ = run_cli([str(path), "--threshold", "2", "--min-volume", "1"], capsys)
    assert not any(row.endswith(",1") for row in default_out[1:])
    assert any(row.endswith(",1") for row in sensitive_out[1:])
    code, _, err = run_cli([str(path), "--threshold", "0"], capsys)
    assert code == 2 and "--threshold" in err


@pytest.mark.parametrize(
    "values", [("1e-310", "1e308", "3"), ("5e-324", "1e-310", "3"), ("inf", "1e-310", "1e308")]
)
def test_values_near_the_float_limits_give_rows_not_a_crash(values):
    """Found by the property test: the unit of a series of measures could underflow (log of 0) and
    the expected value overflow (exp); each row still gets an output row or a row error."""
    rows = [f"2026-03-02T09:{5 * i:02d}:00Z,{v}" for i, v in enumerate(values)]
    out = list(detect_rows(rows))
    assert len(out) == len(values)
