"""Exactly one wins, on the real PostgreSQL: sends, approvals and sign-offs fired at once at one object.

SQLite's write lock serialises these and would hide a race, so these tests run on
PostgreSQL only. Every round makes fresh rows in the one schema the test shares, releases
the contenders together (threads behind a barrier, or two worker processes), and checks
both what they were told (one "won", the rest a clear refusal, never an error) and what
the database holds (one queued reply, one approval, one sign-off by the lead).
"""

from __future__ import annotations

import multiprocessing

import pytest

from listener.store.db import make_engine
from listener.store.migrate import upgrade
from tests.listener.concurrency_support import (
    KINDS,
    attempt,
    contender_process,
    new_round,
    people,
    race_in_threads,
    winners_on_record,
)
from tests.queue_ui.conftest import cheap_password_hashing  # noqa: F401 (autouse: argon2 at test cost)

pytestmark = pytest.mark.postgres
ROUNDS = 50
THREADS = 4


@pytest.fixture
def pg_engine(pg_url):
    engine = make_engine(pg_url, pool_size=THREADS + 1)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("kind", KINDS)
def test_of_simultaneous_tries_from_threads_exactly_one_wins_every_round(pg_engine, kind):
    who = people(pg_engine)
    for round_number in range(ROUNDS):
        target = new_round(pg_engine, kind, who)
        results = race_in_threads(pg_engine, target, who, THREADS)
        assert sorted(results) == ["refused"] * (THREADS - 1) + ["won"], (round_number, results)
        assert winners_on_record(pg_engine, target) == 1, round_number


@pytest.mark.slow
def test_of_simultaneous_tries_from_two_processes_exactly_one_wins_every_round(pg_engine, pg_url):
    """Two worker processes (started once) and this one, ``ROUNDS`` rounds of each kind."""
    who = people(pg_engine)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3)  # the two processes and this one, which joins with its own try
    results = context.Queue()
    tasks = [context.Queue() for _ in range(2)]
    processes = [
        context.Process(target=contender_process, args=(pg_url, i, who, tasks[i], results, barrier))
        for i in range(2)
    ]
    for process in processes:
        process.start()
    try:
        for kind in KINDS:
            for round_number in range(ROUNDS):
                target = new_round(pg_engine, kind, who)
                for queue in tasks:
                    queue.put(target)
                barrier.wait()
                mine = attempt(pg_engine, target, who, 2)
                outcomes = sorted([mine, results.get(), results.get()])
                assert outcomes == ["refused", "refused", "won"], (kind, round_number, outcomes)
                assert winners_on_record(pg_engine, target) == 1, (kind, round_number)
    finally:
        for queue in tasks:
            queue.put(None)
        for process in processes:
            process.join()
    assert [p.exitcode for p in processes] == [0, 0]
