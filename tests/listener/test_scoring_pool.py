"""Scoring on several processes: the same scores in the same order, and who decides how many."""

from __future__ import annotations

import io
import json
import os
import signal
from pathlib import Path

import pytest
from pydantic import ValidationError

from listener.intake import scoring_pool
from listener.intake.pipeline import build_stage
from listener.intake.scoring_pool import ScoringPool
from listener.intake.triage_setup import load_resources
from listener.settings import Settings
from listening_post.cli.score import parse_line, score_stream
from triage.scoring import Scorer

INPUTS = Path(__file__).resolve().parents[1] / "triage" / "fixtures" / "score_inputs.jsonl"


@pytest.fixture(scope="module")
def pool() -> ScoringPool:
    pool = ScoringPool(load_resources(media_domains=["coventrytelegraph.net"]), 2, min_batch=1)
    yield pool
    pool.close()


def test_a_pool_scores_as_one_process_does_in_the_batchs_order(pool: ScoringPool) -> None:
    mentions = [parse_line(line)[1] for line in INPUTS.read_text(encoding="utf-8").splitlines()]
    here = Scorer(load_resources(media_domains=["coventrytelegraph.net"]))
    assert pool.score_all(mentions) == [here.score(m) for m in mentions]
    assert pool.score_all([]) == []


def test_the_score_command_on_a_pool_writes_what_one_process_writes(pool: ScoringPool) -> None:
    lines = [
        *INPUTS.read_bytes().splitlines(keepends=True),
        b"not json\n",
        b'{"id": 7, "text": "Rude staff"}\n',
    ]
    scorer = Scorer(load_resources(media_domains=["coventrytelegraph.net"]))
    one, many, err_one, err_many = io.StringIO(), io.StringIO(), io.StringIO(), io.StringIO()
    assert score_stream(lines, one, err_one, scorer) == 1
    assert score_stream(lines, many, err_many, scorer, pool) == 1
    assert many.getvalue() == one.getvalue()
    assert (
        err_many.getvalue()
        == err_one.getvalue()
        == f"line {len(lines) - 1}: not valid JSON (Expecting value)\n"
    )
    assert json.loads(many.getvalue().splitlines()[-1])["id"] == 7


def test_one_process_by_default_on_a_one_core_box(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scoring_pool.os, "cpu_count", lambda: 1)
    assert build_stage(Settings()).pool is None
    monkeypatch.setattr(scoring_pool.os, "cpu_count", lambda: 4)
    assert build_stage(Settings()).pool.processes == 3  # the spare cores
    assert build_stage(Settings.model_validate({"triage": {"scoring_processes": 1}})).pool is None
    stage = build_stage(Settings.model_validate({"triage": {"scoring_processes": 2}}))
    assert stage.pool.processes == 2


def test_a_small_batch_is_scored_in_process() -> None:
    stage = build_stage(Settings.model_validate({"triage": {"scoring_processes": 2}}))
    stage.score_all([parse_line('{"id": 1, "text": "Thank you"}')[1]] * (stage.pool.min_batch - 1))
    assert stage.pool._executor is None  # no processes started


def test_the_pool_size_is_checked() -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({"triage": {"scoring_processes": 0}})
    with pytest.raises(ValueError, match="at least two"):
        ScoringPool(load_resources(), 1)


def test_a_scoring_process_that_dies_costs_no_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    stage = build_stage(Settings.model_validate({"triage": {"scoring_processes": 2}}))
    mentions = [parse_line(line)[1] for line in INPUTS.read_text(encoding="utf-8").splitlines()]
    expected = [stage.scorer.score(m) for m in mentions]
    try:
        assert stage.score_all(mentions) == expected
        for pid in stage.pool.pids():
            os.kill(pid, signal.SIGKILL)
        assert stage.score_all(mentions) == expected  # scored in-process this time
        assert stage.score_all(mentions) == expected  # and on a new pool the next
        assert len(stage.pool.pids()) == 2
    finally:
        stage.pool.close()
