"""`listening-post run`: the worker and the web UI for real accounts (both by default).

SIGTERM (or Ctrl-C) lets the jobs that are running finish their unit of work — one poll,
one reply — then hands back the worker's leases and exits with status 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

import uvicorn

from listener.worker import Worker
from listening_post.cli.common import Store, add_store_options, open_store

log = logging.getLogger("listener.run")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="Run the worker (polling, outbox, alerts) and the web UI for real accounts",
        description="Runs the worker and the web UI together unless --worker or --ui picks one side. "
        "Several `run --worker` processes may share one PostgreSQL database; SQLite runs one worker.",
    )
    add_store_options(p)
    side = p.add_mutually_exclusive_group()
    side.add_argument("--worker", action="store_true", help="run only the worker")
    side.add_argument("--ui", action="store_true", help="run only the web UI")
    p.add_argument(
        "--worker-id",
        metavar="ID",
        help="name of this worker in leases and on the admin page (default host:pid:start time)",
    )
    p.set_defaults(func=run)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Every request the connectors make is not news; the worker logs what each poll found.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def run(args: argparse.Namespace) -> int:
    _configure_logging()
    store = open_store(args)
    stop = _stop_on_signals()
    # The UI is built first: a missing session secret stops the command before anything runs.
    ui = None if args.worker else _ui_server(store)
    if ui is not None and args.ui:
        ui.run()
        return 0
    worker = Worker(store.file_settings, store.engine, worker_id=args.worker_id)
    worker.start()
    try:
        if ui is None:
            stop.wait()
        elif not stop.is_set():  # a signal during start-up means: do not start serving
            ui.run()  # returns when uvicorn has handled SIGTERM/SIGINT
    finally:
        worker.stop()
    return 0


def _stop_on_signals() -> threading.Event:
    """SIGTERM and SIGINT set the returned event instead of ending the process.

    uvicorn captures both while it serves, then restores these handlers and raises the
    signal again: with Python's default SIGTERM handler that would end the process before
    the worker could finish its current unit of work.
    """
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            log.info("%s received: finishing the current work", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    return stop


def _ui_server(store: Store) -> uvicorn.Server:
    from queue_ui import access_log
    from queue_ui.app import create_app  # the web side is only loaded when it runs

    settings = store.file_settings
    app = create_app(settings, store.engine)
    config = uvicorn.Config(app, host=settings.ui.host, port=settings.ui.port, log_level="info")
    access_log.install()  # after Config: it sets up uvicorn's loggers
    return uvicorn.Server(config)
