"""Score a batch of mentions on several cores.

Scoring is pure (``triage.scoring.Scorer`` keeps no state), so each process of the pool
builds its own Scorer once, from the same parsed lexicons, and scores a share of the
batch; results come back in the batch's order. Processes start from a fork server (not
a fork of the worker, whose scheduler threads a fork would copy mid-step).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from triage.model import MentionInput, Score
from triage.scoring import Scorer, TriageResources

MAX_AUTO_PROCESSES = 4
_scorer: Scorer | None = None  # the pool process's own Scorer


def auto_processes() -> int:
    """The spare cores (one is the worker's own), at least one, at most ``MAX_AUTO_PROCESSES``."""
    return max(1, min(MAX_AUTO_PROCESSES, (os.cpu_count() or 1) - 1))


def _start(resources: TriageResources) -> None:
    global _scorer
    _scorer = Scorer(resources)


def _score_share(mentions: list[MentionInput]) -> list[Score]:
    assert _scorer is not None, "the pool's initializer builds the scorer"
    return [_scorer.score(m) for m in mentions]


class ScoringPool:
    """``processes`` processes that score; ``score_all`` hands each a share of a batch.

    The processes start at the first batch of at least ``min_batch`` mentions (a smaller
    one costs more to hand over than to score where it is), and stop at ``close`` or exit.
    """

    def __init__(self, resources: TriageResources, processes: int, min_batch: int = 20) -> None:
        if processes < 2:
            raise ValueError("a scoring pool needs at least two processes; score in-process instead")
        self.processes = processes
        self.min_batch = min_batch
        self._resources = resources
        self._executor: ProcessPoolExecutor | None = None

    def score_all(self, mentions: Sequence[MentionInput]) -> list[Score]:
        if not mentions:
            return []
        if self._executor is None:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            self._executor = ProcessPoolExecutor(
                self.processes, mp_context=context, initializer=_start, initargs=(self._resources,)
            )
        share = -(-len(mentions) // self.processes)
        shares = [list(mentions[i : i + share]) for i in range(0, len(mentions), share)]
        try:
            return [score for scored in self._executor.map(_score_share, shares) for score in scored]
        except BrokenProcessPool:
            self.close()  # a process died (killed, out of memory): the next batch starts a new pool
            raise

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def pids(self) -> list[int]:
        """The pool's running processes (none before the first batch)."""
        return [] if self._executor is None else [p.pid for p in self._executor._processes.values() if p.pid]
