"""Twenty agents working the queue over HTTP while the worker ingests 50 mentions a second.

    .venv/bin/python -m bench.load [--minutes 5] [--agents 20] [--rate 50] [--db sqlite,postgres]

The product runs as in production, in two processes: ``listening-post run --worker`` polling
a local fake of the X API every 10 seconds, and ``listening-post run --ui`` serving the web
UI. This process publishes ``--rate`` new mentions a second on the fake, and runs
``--agents`` simulated agents (one thread each, a real HTTP client with its own session):
each signs in, then loops — open the queue, open one of the first items, claim it, send a
reply — with a second or so of thinking between pages, like a person.

Printed per database: requests and errors (a 5xx, a refused connection, an unexpected
status; losing a claim race to another agent is a 409 and counted apart), p50/p95 time per
kind of page, mentions published on the fake against mentions ingested (after the worker has
had a last poll to catch up), the delay from a post to its queue item, and replies queued
against replies the worker posted to the fake.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select

from bench.common import figure, fresh_store, machine_note, percentile, postgres_reachable, ratio_of
from connectors.x.fake import FakeXApi
from listener.accounts.users import add_user
from listener.scheduler import OUTBOX_SECONDS
from listener.store.db import write_transaction
from listener.store.migrate import upgrade
from listener.store.models import Mention, Reply
from listener.worker import OUTBOX_BATCH

TARGET_QUEUE_MS = 150.0  # issue 21: the queue page under 20 agents + 50 mentions/s
TARGET_MS = 1000.0
POLL_SECONDS = 10  # the shortest source interval the settings allow
CATCH_UP_SECONDS = 90  # after publishing stops: time for the worker's last polls
STOP_SECONDS = 120  # SIGTERM lets running jobs finish their unit of work
BEARER = "AAAAAAAAAAAAAAAAAAAAAloadBenchBearer000001"
PASSWORD = "load bench password 0001"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ITEM_LINK = re.compile(r'href="/items/(\d+)"')
COMPLAINTS = (
    "waited 3 hours at the walk-in centre and nobody told us anything",
    "is the vaccination centre in Rugby open on Saturday?",
    "my GP appointment was cancelled again, this is the third time",
    "thank you to the staff at George Eliot, brilliant care",
    "how do I get a repeat prescription over the bank holiday?",
)


@dataclass
class Tally:
    """What the agents saw: request times by page, errors, lost claim races."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    conflicts: int = 0
    replies: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(
        self, client: httpx.Client, page: str, method: str, url: str, ok: tuple[int, ...], **kw: object
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = client.request(method, url, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            with self.lock:
                self.errors.append(f"{page}: {type(exc).__name__}")
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.times[page].append(elapsed)
            if response.status_code == 409:
                self.conflicts += 1
            elif response.status_code not in ok:
                self.errors.append(f"{page}: HTTP {response.status_code}")
        return response


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, fake_url: str, port: int) -> Path:
    config = folder / "load.toml"
    config.write_text(
        f"""
[general]
data_dir = "{folder}"

[ui]
port = {port}

[[accounts]]
platform = "x"
handle = "NHSCovWarks"

[[sources]]
key = "x:mentions:@NHSCovWarks"
interval_seconds = {POLL_SECONDS}
api_base_url = "{fake_url}"

[polling]
jitter_seconds = 0

[media]
include_default_list = false
"""
    )
    return config


def make_agents(engine: Engine, count: int) -> list[tuple[str, str]]:
    """``count`` agent accounts: (email, initials)."""
    people = []
    with write_transaction(engine) as session:
        for n in range(count):
            initials = chr(ord("A") + n // 26) + chr(ord("A") + n % 26)
            email = f"agent{n}@example.nhs.uk"
            add_user(
                session,
                email=email,
                name=f"Agent {initials}",
                initials=initials,
                role="agent",
                password=PASSWORD,
            )
            people.append((email, initials))
    return people


def agent_loop(base: str, email: str, initials: str, tally: Tally, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
        page = tally.timed(client, "sign-in page", "GET", "/sign-in", (200,))
        if page is None:
            return
        token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        signed = tally.timed(
            client,
            "sign in",
            "POST",
            "/sign-in",
            (303,),
            data={"email": email, "password": PASSWORD, "csrf_token": token},
        )
        if signed is None or signed.status_code != 303:
            return
        while not stop.is_set():
            queue = tally.timed(client, "queue", "GET", "/queue", (200,))
            if queue is None:
                stop.wait(1)
                continue
            ids = ITEM_LINK.findall(queue.text)[:10]
            if not ids:
                stop.wait(1)
                continue
            item_id = rng.choice(ids)
            stop.wait(rng.uniform(0.5, 1.5))  # reading the queue
            item = tally.timed(client, "item", "GET", f"/items/{item_id}", (200,))
            if item is None or item.status_code != 200:
                continue
            token = CSRF.search(item.text).group(1)  # type: ignore[union-attr]
            claim = tally.timed(
                client, "claim", "POST", f"/items/{item_id}/claim", (303,), data={"csrf_token": token}
            )
            if claim is None or claim.status_code != 303:
                continue
            stop.wait(rng.uniform(1.0, 2.0))  # writing the reply
            text = (
                "Thanks for getting in touch. We are sorry about this and are looking into it. ^" + initials
            )
            sent = tally.timed(
                client,
                "send reply",
                "POST",
                f"/items/{item_id}/reply",
                (303,),
                data={"text": text, "action": "send", "csrf_token": token},
            )
            if sent is not None and sent.status_code == 303:
                with tally.lock:
                    tally.replies += 1


def probe(base: str, tally: Tally, stop: threading.Event) -> None:
    """The baseline beside the pages: ``/healthz`` (one small query, no template) once a second,
    through the same server at the same moments, so the machine's load weighs on both alike."""
    with httpx.Client(base_url=base, timeout=60) as client:
        while not stop.is_set():
            tally.timed(client, "healthz (baseline)", "GET", "/healthz", (200, 503))
            stop.wait(1.0)


def publish(fake: FakeXApi, rate: float, stop: threading.Event, published: list[int]) -> None:
    """``rate`` mentions a second, in small batches, on schedule whatever the machine's load."""
    started = time.monotonic()
    sent = 0
    while not stop.is_set():
        due = int((time.monotonic() - started) * rate)
        for n in range(sent, due):
            fake.add_tweet(
                author=f"resident{n % 997}", text=f"@NHSCovWarks {COMPLAINTS[n % len(COMPLAINTS)]} ({n})"
            )
        sent = max(sent, due)
        published[0] = sent
        stop.wait(0.1)


def count(engine: Engine, model: type) -> int:
    with write_transaction(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def outbox_backlog(engine: Engine) -> int:
    statuses = reply_statuses(engine)
    return statuses.get("approved", 0) + statuses.get("sending", 0)


def reply_statuses(engine: Engine) -> dict[str, int]:
    with write_transaction(engine) as session:
        rows = session.execute(select(Reply.status, func.count()).group_by(Reply.status)).all()
    return {status: int(n) for status, n in rows}


def delays(engine: Engine) -> list[float]:
    """Seconds from each post's creation to its arrival in the store."""
    with write_transaction(engine) as session:
        rows = session.execute(select(Mention.created_at, Mention.received_at)).all()
    return [(received - created).total_seconds() for created, received in rows]


def start_side(
    side: str, config: Path, db_url: str, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "listening_post",
                "run",
                side,
                "--config",
                str(config),
                "--db",
                db_url,
                "--worker-id",
                "bench",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def stop_side(proc: subprocess.Popen[bytes], log: Path) -> int | str:
    """SIGTERM, and the exit status; if it has not finished its work within two minutes, why not."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        print(f"  {log.stem} still running {STOP_SECONDS} s after SIGTERM; the end of its log:\n{tail}")
        return "did not stop"


def wait_for_ui(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"the UI exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the UI did not start within a minute")


def run_once(kind: str, engine: Engine, minutes: float, agents: int, rate: float) -> bool:
    db_url = engine.url.render_as_string(hide_password=False)
    upgrade(engine)
    people = make_agents(engine, agents)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="lp-load-") as tmp, FakeXApi(me="NHSCovWarks") as fake:
        folder = Path(tmp)
        config = write_config(folder, fake.base_url, port)
        env = {
            **os.environ,
            "LISTENING_POST_SESSION_SECRET": secrets.token_urlsafe(32),
            "LISTENING_POST_X_BEARER_TOKEN": BEARER,
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("LISTENING_POST_DATABASE_URL", None)
        worker = start_side("--worker", config, db_url, env, folder / "worker.log")
        ui = start_side("--ui", config, db_url, env, folder / "ui.log")
        try:
            wait_for_ui(base, ui, folder / "ui.log")
            tally, stop, published = Tally(), threading.Event(), [0]
            threads = [
                threading.Thread(target=publish, args=(fake, rate, stop, published), daemon=True),
                threading.Thread(target=probe, args=(base, tally, stop), daemon=True),
            ]
            threads += [
                threading.Thread(target=agent_loop, args=(base, email, initials, tally, stop, n), daemon=True)
                for n, (email, initials) in enumerate(people)
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            stop.wait(minutes * 60)
            stop.set()
            for thread in threads:
                thread.join()
            ran = time.monotonic() - started
            posted_while_working = len(fake.replies)
            # The worker's last polls: everything published must arrive.
            end = time.monotonic() + CATCH_UP_SECONDS
            while count(engine, Mention) < published[0] and time.monotonic() < end:
                time.sleep(1)
            ingested = count(engine, Mention)
            # The outbox sends OUTBOX_BATCH replies a tick; give it the time its backlog needs, and a minute.
            backlog = outbox_backlog(engine)
            drain_started = time.monotonic()
            end = drain_started + 60 + backlog * OUTBOX_SECONDS / OUTBOX_BATCH
            while outbox_backlog(engine) and time.monotonic() < end:
                time.sleep(1)
            drained = time.monotonic() - drain_started
            stopping = time.monotonic()
            exits = [
                stop_side(proc, folder / f"{name}.log") for proc, name in ((worker, "worker"), (ui, "ui"))
            ]
            stop_seconds = time.monotonic() - stopping
        finally:
            for proc in (worker, ui):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        outcome = Outcome(
            kind=kind,
            minutes=ran / 60,
            agents=agents,
            rate=rate,
            tally=tally,
            published=published[0],
            ingested=ingested,
            delays=delays(engine),
            posted_while_working=posted_while_working,
            posted=len(fake.replies),
            backlog=backlog,
            drained_seconds=drained,
            statuses=reply_statuses(engine),
            exits=exits,
            stop_seconds=stop_seconds,
        )
    outcome.report()
    return outcome.ok


@dataclass
class Outcome:
    kind: str
    minutes: float
    agents: int
    rate: float
    tally: Tally
    published: int
    ingested: int
    delays: list[float]
    posted_while_working: int
    posted: int
    backlog: int  # replies waiting in the outbox when the agents stopped
    drained_seconds: float
    statuses: dict[str, int]
    exits: list[int | str]
    stop_seconds: float  # from SIGTERM until both processes had exited

    @property
    def waiting_for_a_lead(self) -> int:
        # A flood of complaints can open an incident: replies to its items wait for a lead's approval.
        return self.statuses.get("pending_approval", 0)

    @property
    def ok(self) -> bool:
        to_post = self.tally.replies - self.waiting_for_a_lead
        return (
            not self.tally.errors
            and self.ingested == self.published
            and self.posted == to_post
            and not self.statuses.get("failed")
            and self.exits == [0, 0]
        )

    def report(self) -> None:
        tally = self.tally
        requests = sum(len(v) for page, v in tally.times.items() if page != "healthz (baseline)")
        print(
            f"\n{self.kind}: {self.agents} agents, {self.rate:g} mentions/s for {self.minutes:.1f} min"
            f" — {machine_note()}",
            flush=True,
        )
        figure("requests by the agents", f"{requests:,}")
        figure("errors (5xx, refused, unexpected status)", f"{len(tally.errors):,}", "0", not tally.errors)
        figure("claims lost to another agent (409)", f"{tally.conflicts:,}")
        probe_times = tally.times.get("healthz (baseline)", [])
        base_p95 = percentile(probe_times, 95) * 1000 if probe_times else float("nan")
        if probe_times:
            figure(
                "healthz (baseline): p50 / p95",
                f"{percentile(probe_times, 50) * 1000:.0f} / {base_p95:.0f} ms",
            )
        for page in ("queue", "item", "claim", "send reply"):
            times = tally.times.get(page, [])
            if times:
                p50, p95 = percentile(times, 50) * 1000, percentile(times, 95) * 1000
                target = TARGET_QUEUE_MS if page == "queue" else TARGET_MS
                figure(
                    f"{page}: p50 / p95",
                    f"{p50:.0f} / {p95:.0f} ms",
                    f"p95 < {target:.0f} ms",
                    p95 < target,
                    baseline=f"healthz p95 {base_p95:.0f} ms",
                    ratio=ratio_of(p95, base_p95),
                )
        figure("mentions published on the fake", f"{self.published:,}")
        figure("mentions ingested", f"{self.ingested:,}", "all of them", self.ingested == self.published)
        if self.delays:
            p50, p95 = percentile(self.delays, 50), percentile(self.delays, 95)
            figure("post to queue: p50 / p95", f"{p50:.1f} / {p95:.1f} s")
        to_post = tally.replies - self.waiting_for_a_lead
        figure("replies sent by the agents", f"{tally.replies:,}")
        figure("  of which wait for a lead (open incident)", f"{self.waiting_for_a_lead:,}")
        figure("replies posted while the agents worked", f"{self.posted_while_working:,}")
        figure("outbox backlog when they stopped", f"{self.backlog:,}")
        figure("  drained in", f"{self.drained_seconds:.0f} s")
        figure(
            "replies posted to the fake in all",
            f"{self.posted:,}",
            f"all {to_post:,}",
            self.posted == to_post,
        )
        figure("replies failed", f"{self.statuses.get('failed', 0):,}", "0", not self.statuses.get("failed"))
        figure("clean exit on SIGTERM (worker, UI)", f"{self.exits}", "[0, 0]", self.exits == [0, 0])
        figure("  in", f"{self.stop_seconds:.1f} s")
        for error in sorted(set(tally.errors))[:10]:
            print(f"    error: {error} (x{tally.errors.count(error)})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long the agents work (default 5)")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50.0, help="mentions published per second (default 50)")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both (default both)")
    args = parser.parse_args(argv)
    ok = True
    for kind in [k.strip() for k in args.db.split(",") if k.strip()]:
        if kind == "postgres" and (why := postgres_reachable()) is not None:
            print(f"\npostgres: skipped, the server does not answer ({why})")
            continue
        with fresh_store(kind) as engine:
            ok = run_once(kind, engine, args.minutes, args.agents, args.rate) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
