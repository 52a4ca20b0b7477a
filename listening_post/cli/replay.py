"""`listening-post replay FILE`: a mention stream through the whole pipeline on a simulated clock.

Without ``--db`` the replay runs in a temporary SQLite database that is removed afterwards:
a test stream never lands in the live database by accident (neither the environment's nor
the config file's database URL is used). Give ``--db URL`` to keep the result, or to replay
into a database on purpose. Alerts are "sent" by printing their line unless
``--send-alerts`` hands them to the channels configured in ``[alerts]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from listener.errors import UserError
from listener.intake.pipeline import build_stage
from listener.intake.replay import Replay, write_line
from listener.settings import load_settings
from listener.store.db import make_engine
from listener.store.migrate import upgrade
from listening_post.cli.common import add_config_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        help="Replay a JSON-lines mention stream through the whole pipeline on a simulated clock",
        description=(
            "Store, score and queue each mention, run the crisis monitor on the stream's own clock, "
            "and print incidents, alerts and a summary as JSON lines."
        ),
    )
    p.add_argument("file", metavar="FILE", help="JSON lines, one mention a line; - reads standard input")
    p.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database to replay into; default: a temporary SQLite database, removed afterwards",
    )
    add_config_option(p)
    p.add_argument(
        "--send-alerts",
        action="store_true",
        help="hand alerts to the [alerts] channels of the config (default: print them only)",
    )
    p.set_defaults(func=run)


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="listening-post-replay-") as folder:
        yield f"sqlite:///{Path(folder) / 'replay.db'}"


@contextmanager
def _lines(name: str) -> Iterator[BinaryIO]:
    # Bytes: a line that is not UTF-8 is rejected by the parser, never "repaired".
    if name == "-":
        yield sys.stdin.buffer
        return
    try:
        fh = open(name, "rb")  # noqa: SIM115
    except FileNotFoundError as exc:
        raise UserError(f"{name}: file not found") from exc
    except OSError as exc:
        raise UserError(f"{name}: cannot read: {exc.strerror}") from exc
    with fh:
        yield fh


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    stage = build_stage(settings)
    with _lines(args.file) as lines, _database(args.db) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            Replay(
                engine,
                settings,
                stage,
                emit=write_line(sys.stdout),
                warn=lambda message: print(f"listening-post replay: {message}", file=sys.stderr),
                send_alerts=args.send_alerts,
            ).run(line.rstrip(b"\r\n") for line in lines)
        finally:
            engine.dispose()
    return 0
