"""`listening-post demo`: the whole product on SQLite, with local fakes of the platforms and a scripted day.

Ctrl-C (SIGINT) or SIGTERM stops everything — the day's player, the web UI, the worker, the
fakes and the mail server — and removes the demo's temporary folder.
"""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType

from listening_post.demo.runner import DemoRunner
from listening_post.demo.script import DAY_MINUTES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="Run the whole product on this computer: fake platforms, a scripted day with a crisis, the UI",
        description="Starts a SQLite database in a temporary folder, one user per role (their sign-ins are "
        "printed), local fakes of the X API, the Graph API and a news feed that the real connectors poll, a "
        "mail server for the alerts, the worker and the web UI, then plays a scripted day with a crisis. "
        "Ctrl-C stops everything and removes the folder.",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="N",
        help=f"scripted minutes per second (default 1: the {DAY_MINUTES:.0f}-minute day takes about "
        f"{DAY_MINUTES:.0f} seconds; 2 takes half as long)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port of the web UI on 127.0.0.1 (default 8000; 0 picks a free one)",
    )
    p.add_argument(
        "--no-browser-hint", action="store_true", help="do not suggest opening the web UI in a browser"
    )
    p.set_defaults(func=run)


def _quiet_logging() -> None:
    # The demo says what happens in plain words; only problems come through the log.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def run(args: argparse.Namespace) -> int:
    _quiet_logging()
    runner = DemoRunner(speed=args.speed, port=args.port, browser_hint=not args.no_browser_hint)

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        runner.request_stop()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        runner.start()
        runner.wait()
        runner.console.say("Stopping: the player, the web UI, the worker, the fakes and the mail server ...")
    finally:
        runner.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    runner.console.say("Stopped, and the demo's folder is removed.")
    return 0
