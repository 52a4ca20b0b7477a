"""Twenty agents claiming from the same queue at once: claims per second, and never a double claim.

    .venv/bin/python -m bench.claims [--agents 20] [--claims-each 40] [--db sqlite,postgres]

Each agent is a thread with its own connection, doing what a person at the queue page does:
read the top of the "new" tab (``listener.queue.items.list_items``), pick one of the first five
items (everyone sees the same top of the queue, so they collide), and claim it
(``listener.queue.items.claim``) in its own write transaction. A claim that loses the race gets
``ClaimConflict`` and the agent goes back to the list.

Afterwards the store is checked: every item an agent was told it won is assigned to that
agent, no item has more than one ``item.claim`` audit event, and the audit log holds
exactly one event per win. Target: zero double claims.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bench.common import figure, fresh_store, machine_note, postgres_reachable
from bench.seed import seed_store
from listener.queue.items import ClaimConflict, NotOpen, QueueFilters, claim, list_items
from listener.store.db import write_transaction
from listener.store.models import AuditEvent, QueueItem, User

NOW = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
PICK_FROM = 5


@dataclass
class Agent:
    user_id: int
    wins: list[int] = field(default_factory=list)
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)


def work(engine: Engine, agent: Agent, claims: int, start: threading.Barrier, seed: int) -> None:
    rng = random.Random(seed)
    start.wait()
    try:
        while len(agent.wins) < claims:
            with Session(engine) as session:
                me = session.get_one(User, agent.user_id)
                page = list_items(
                    session, tab="new", user=me, filters=QueueFilters(), now=NOW, limit=PICK_FROM
                )
                if not page.rows:
                    return  # the queue is empty
                item_id = rng.choice(page.rows).item.id
            try:
                with write_transaction(engine) as session:
                    me = session.get_one(User, agent.user_id)
                    claim(session, item_id=item_id, user=me, now=NOW)
            except (ClaimConflict, NotOpen):
                agent.conflicts += 1
            else:
                agent.wins.append(item_id)
    except Exception as exc:  # reported with the figures: a crashed agent must not pass silently
        agent.errors.append(f"{type(exc).__name__}: {exc}")


@dataclass
class Outcome:
    seconds: float
    wins: int
    conflicts: int
    double_claims: int  # items claimed by more than one agent, or with more than one claim event
    wrong_holder: int  # items an agent won that the store gives to someone else
    audit_events: int
    errors: list[str]


def check(engine: Engine, agents: list[Agent]) -> tuple[int, int, int]:
    winners: dict[int, list[int]] = {}
    for agent in agents:
        for item_id in agent.wins:
            winners.setdefault(item_id, []).append(agent.user_id)
    with Session(engine) as session:
        holders = {
            item_id: holder
            for item_id, holder in session.execute(
                select(QueueItem.id, QueueItem.assignee_id).where(QueueItem.id.in_(list(winners)))
            ).all()
        }
        events = Counter(
            session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "item.claim")).all()
        )
        audit_total = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "item.claim")
        )
    doubles = sum(len(users) > 1 for users in winners.values()) + sum(n > 1 for n in events.values())
    wrong = sum(holders.get(item_id) != users[0] for item_id, users in winners.items())
    return doubles, wrong, int(audit_total or 0)


def measure(kind: str, agents_n: int, claims_each: int) -> Outcome:
    # One connection per agent: the default pool (5 + 10 overflow) would make agents queue for one.
    with fresh_store(kind, pool_size=agents_n + 2, max_overflow=0) as engine:
        seeded = seed_store(engine, 10_000, now=NOW, open_items=agents_n * claims_each * 3, progress=False)
        agents = [Agent(user_id) for user_id, _ in seeded.agents[1 : agents_n + 1]]
        start = threading.Barrier(agents_n + 1)
        threads = [
            threading.Thread(target=work, args=(engine, agent, claims_each, start, i), daemon=True)
            for i, agent in enumerate(agents)
        ]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
        doubles, wrong, audit_total = check(engine, agents)
    return Outcome(
        seconds=seconds,
        wins=sum(len(a.wins) for a in agents),
        conflicts=sum(a.conflicts for a in agents),
        double_claims=doubles,
        wrong_holder=wrong,
        audit_events=audit_total,
        errors=[e for a in agents for e in a.errors],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--claims-each", type=int, default=40)
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    args = parser.parse_args(argv)
    print(machine_note())
    for kind in [k for k in args.db.split(",") if k]:
        if kind == "postgres" and (why := postgres_reachable()) is not None:
            print(f"{kind}: skipped, the server does not answer ({why})")
            continue
        out = measure(kind, args.agents, args.claims_each)
        print(
            f"{kind}: {args.agents} agents, {args.claims_each} claims each, picking among the top {PICK_FROM}"
        )
        figure("claims per second", f"{out.wins / out.seconds:,.0f} /s")
        figure("lost races (ClaimConflict, back to the list)", f"{out.conflicts:,}")
        figure("claims won / audit item.claim events", f"{out.wins:,} / {out.audit_events:,}")
        figure("double claims", f"{out.double_claims}", "0", out.double_claims == 0)
        figure("won items held by someone else", f"{out.wrong_holder}", "0", out.wrong_holder == 0)
        figure(
            "audit events = claims won",
            f"{out.audit_events == out.wins}",
            "True",
            out.audit_events == out.wins,
        )
        for error in out.errors[:5]:
            print(f"  agent error: {error}")
        if out.errors:
            figure("agents that crashed", f"{len(out.errors)}", "0", False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
