"""The demo: the whole product on this computer, playing a scripted day through the real code paths.

``DemoRunner.start()`` makes a temporary folder with a SQLite database, one user per role,
a week of ordinary history, the loopback fakes of X, the Graph API and a news site, a mail
server for the alerts, the worker (the same ``Worker`` as ``listening-post run``) and the
web UI. Then it publishes each post of the script into the fakes at its time, and says in
plain words what happens: where to sign in, when the story starts, when the crisis watch
opens an incident and when the alert email arrives. Nothing in the product knows it is a
demo: the worker polls the fakes with the real connectors, triage scores the posts, the
crisis watch decides.

``stop()`` undoes everything that started, in reverse order, and removes the folder.
"""

from __future__ import annotations

import errno
import re
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine

from listener.accounts.users import add_user
from listener.errors import UserError
from listener.intake.ingest import TriageStage
from listener.paths import CONFIG_DIR
from listener.settings import Secrets, Settings, load_settings
from listener.store.db import make_engine, write_transaction
from listener.store.migrate import upgrade
from listener.store.types import utcnow
from listening_post.demo.mailbox import DemoMailbox
from listening_post.demo.narration import Console, Narrator, describe_beat
from listening_post.demo.platforms import NEWS_TITLE, Credentials, DemoPlatforms
from listening_post.demo.script import DAY, DAY_MINUTES, STORY
from listening_post.demo.seeding import SeedSources, seed_history

HOST = "127.0.0.1"
DEMO_TEMPLATE = CONFIG_DIR / "demo.toml"
# How often the narrator looks at the database and the mailbox for news to tell.
WATCH_SECONDS = 0.5


@dataclass(frozen=True)
class DemoPerson:
    role: str
    name: str
    initials: str

    @property
    def email(self) -> str:
        return f"{self.role}@demo.test"


PEOPLE = (
    DemoPerson("agent", "Asha Patel", "AP"),
    DemoPerson("lead", "Chris Moore", "CM"),
    DemoPerson("manager", "Morgan Price", "MP"),
    DemoPerson("admin", "Dana Reid", "DR"),
)


@dataclass(frozen=True)
class SignIn:
    role: str
    email: str
    password: str


def bind_ui_socket(port: int) -> socket.socket:
    """Take the UI's port now, so a port in use is one clear line before anything else starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} is in use: stop what uses it, or pick another with --port") from exc
        raise UserError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from exc
    sock.listen(128)
    return sock


def demo_settings(
    folder: Path, *, addresses: Mapping[str, str], ui_port: int, credentials: Credentials
) -> Settings:
    """config/demo.toml with this run's addresses filled in, written to the folder and loaded from there.

    ``addresses``: the value of each ``@NAME@`` marker but ``@UI_PORT@`` (X_API, GRAPH_API,
    INSTAGRAM_API, BLUESKY_API, NEWS_FEED, SMTP_PORT).
    """
    text = DEMO_TEMPLATE.read_text(encoding="utf-8")
    for name, value in {**addresses, "UI_PORT": str(ui_port)}.items():
        text = text.replace(f"@{name}@", value)
    if leftover := re.search(r"@[A-Z_]+@", text):
        raise ValueError(f"{DEMO_TEMPLATE}: no value for {leftover.group(0)}")
    path = folder / "settings.toml"
    path.write_text(text, encoding="utf-8")
    settings = load_settings(path, environ={})  # the environment's secrets are for real accounts
    settings.ui.port = ui_port
    settings.database.url = f"sqlite:///{folder / 'listening-post.db'}"
    creds = credentials
    settings.secrets = Secrets.model_validate(
        {
            "session_secret": secrets.token_urlsafe(32),
            "x_bearer_token": creds.x_bearer_token,
            "x_consumer_key": creds.x_consumer_key,
            "x_consumer_secret": creds.x_consumer_secret,
            "x_access_token": creds.x_access_token,
            "x_access_token_secret": creds.x_access_token_secret,
            "facebook_page_token": creds.facebook_page_token,
            "facebook_app_secret": creds.facebook_app_secret,
            "bluesky_app_password": creds.bluesky_app_password,
        }
    )
    return settings


def add_people(engine: Engine) -> list[SignIn]:
    """One user per role, each with a password made up for this run."""
    sign_ins = []
    with write_transaction(engine) as session:
        for person in PEOPLE:
            password = secrets.token_urlsafe(12)
            add_user(
                session,
                email=person.email,
                name=person.name,
                initials=person.initials,
                role=person.role,
                password=password,
                actor="demo",
            )
            sign_ins.append(SignIn(person.role, person.email, password))
    return sign_ins


class DemoRunner:
    """Starts the demo, plays the day, and stops it all. ``speed``: scripted minutes per real second."""

    def __init__(
        self,
        *,
        speed: float = 1.0,
        port: int = 8000,
        out: TextIO = sys.stdout,
        browser_hint: bool = True,
    ) -> None:
        if not speed > 0:
            raise UserError("--speed must be more than 0")
        if not 0 <= port <= 65535:
            raise UserError("--port must be between 0 (any free port) and 65535")
        self.speed = speed
        self.requested_port = port
        self.console = Console(out)
        self.browser_hint = browser_hint
        self.stop_requested = threading.Event()
        self._stack = ExitStack()
        self.folder: Path | None = None
        self.port: int | None = None
        self.settings: Settings | None = None
        self.engine: Engine | None = None
        self.mailbox: DemoMailbox | None = None
        self.platforms: DemoPlatforms | None = None
        self.sign_ins: list[SignIn] = []

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start everything and begin the day; on any failure, stop what had started and re-raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def wait(self) -> None:
        """Until ``request_stop`` (the CLI's Ctrl-C and SIGTERM handlers call it)."""
        self.stop_requested.wait()

    def request_stop(self) -> None:
        self.stop_requested.set()

    def stop(self) -> None:
        """Stop the player, the UI, the worker, the fakes and the mail server, then remove the folder."""
        self.stop_requested.set()
        self._stack.close()

    # start-up ----------------------------------------------------------------------------

    def _start(self) -> None:
        say = self.console.say
        ui_socket = bind_ui_socket(self.requested_port)
        self._stack.callback(ui_socket.close)
        self.port = ui_socket.getsockname()[1]

        folder = Path(tempfile.mkdtemp(prefix="listening-post-demo-"))
        self._stack.callback(shutil.rmtree, folder, ignore_errors=True)
        self.folder = folder
        say("Listening Post demo")
        say(f"  Working folder: {folder} (removed when the demo stops)")

        self._start_fakes(folder)
        settings, engine = self._start_database(folder, ui_port=self.port)

        from listener.intake.pipeline import build_stage  # loads the lexicons: once, shared with the worker

        stage = build_stage(settings)
        stored = self._seed(engine, stage)
        say(f"  A week of ordinary history for the detectors' baseline: {stored} posts")

        from listener.worker import Worker

        worker = Worker(settings, engine, stage=stage, worker_id="demo-worker")
        worker.start()
        self._stack.callback(worker.stop)

        self._start_ui(settings, engine, ui_socket)
        self._print_sign_ins()
        self._begin_day()

    def _start_fakes(self, folder: Path) -> None:
        """The mail server for the alerts and the platform fakes, on loopback."""
        say = self.console.say
        self.mailbox = DemoMailbox(folder / "mailbox").start()
        self._stack.callback(self.mailbox.stop)
        self.platforms = DemoPlatforms(
            x_handle="NHSCovWarks",
            page_id="104729318865221",
            page_name="NHS Coventry and Warwickshire",
            credentials=Credentials(),
        ).start()
        self._stack.callback(self.platforms.stop)
        say(
            f"  Local fakes: X API {self.platforms.x.base_url}, Graph API {self.platforms.graph.base_url}, "
            f"Instagram {self.platforms.instagram.base_url}, Bluesky {self.platforms.bluesky.base_url}, "
            f"news feed {self.platforms.news_feed_url}"
        )
        say(f"  Mail server for the alerts: smtp://{HOST}:{self.mailbox.port}")

    def _start_database(self, folder: Path, *, ui_port: int) -> tuple[Settings, Engine]:
        """The demo's settings (pointing at the fakes), its database migrated, and the people in it."""
        assert self.platforms is not None and self.mailbox is not None
        addresses = {
            "X_API": self.platforms.x.base_url,
            "GRAPH_API": self.platforms.graph.base_url,
            "INSTAGRAM_API": self.platforms.instagram.base_url,
            "BLUESKY_API": self.platforms.bluesky.base_url,
            "NEWS_FEED": self.platforms.news_feed_url,
            "SMTP_PORT": str(self.mailbox.port),
        }
        settings = demo_settings(
            folder, addresses=addresses, ui_port=ui_port, credentials=self.platforms.credentials
        )
        self.settings = settings
        engine = make_engine(settings.database_url(settings.database.url))
        self._stack.callback(engine.dispose)
        self.engine = engine
        upgrade(engine)
        self.sign_ins = add_people(engine)
        return settings, engine

    def _seed(self, engine: Engine, stage: TriageStage) -> int:
        assert self.settings is not None and self.platforms is not None
        sources = [s.key for s in self.settings.sources]
        return seed_history(
            engine,
            stage,
            now=utcnow(),
            timezone=self.settings.general.timezone,
            x_handle=self.platforms.x.me["username"],
            sources=SeedSources(
                x=next(k for k in sources if k.startswith("x:")),
                facebook=next(k for k in sources if k.startswith("facebook:")),
                news=next(k for k in sources if k.startswith("rss:")),
                news_outlet=NEWS_TITLE,
            ),
        )

    def _start_ui(self, settings: Settings, engine: Engine, ui_socket: socket.socket) -> None:
        import uvicorn

        from queue_ui.app import create_app
        from queue_ui.routes import demo_mailbox

        assert settings.secrets.session_secret is not None
        app = create_app(settings, engine, session_secret=settings.secrets.session_secret.get_secret_value())
        app.include_router(demo_mailbox.router)
        app.state.demo_mailbox = self.mailbox
        config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
        server = uvicorn.Server(config)
        # The socket already listens: a browser's first request waits in the kernel until uvicorn accepts it.
        thread = threading.Thread(target=server.run, kwargs={"sockets": [ui_socket]}, name="demo-ui")
        thread.start()

        def stop_ui() -> None:
            server.should_exit = True
            thread.join()

        self._stack.callback(stop_ui)

    def _print_sign_ins(self) -> None:
        say = self.console.say
        say()
        say(f"The web UI is at {self.url}" + (" (open it in your browser)" if self.browser_hint else ""))
        say("Sign in with any of these (the passwords are made up for this run and shown only here):")
        for sign_in in self.sign_ins:
            say(f"  {sign_in.role:<8} {sign_in.email:<20} password: {sign_in.password}")
        say(f"Alert emails arrive in the demo mailbox: {self.url}/demo/mailbox")
        say()

    # the day -----------------------------------------------------------------------------

    def _begin_day(self) -> None:
        seconds = DAY_MINUTES / self.speed
        self.console.say(
            f"Playing the scripted day: {int(DAY_MINUTES)} minutes of posts in {seconds:.0f} seconds "
            f"(--speed {self.speed:g}). Press Ctrl-C to stop."
        )
        self.console.day_started = time.monotonic()
        assert self.engine is not None and self.mailbox is not None
        narrator = Narrator(self.engine, self.mailbox, self.console, url=self.url)
        self._spawn("demo-player", self._play)
        self._spawn("demo-narrator", lambda: self._every(WATCH_SECONDS, narrator.look))

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name)
        thread.start()
        # Registered after the worker and UI: closed first, so nothing publishes into a stopped fake.
        self._stack.callback(thread.join)

    def _every(self, seconds: float, fn: Callable[[], None]) -> None:
        while not self.stop_requested.wait(seconds):
            fn()

    def _play(self) -> None:
        assert self.platforms is not None
        started = time.monotonic()
        for beat in DAY:
            due = started + beat.minute / self.speed
            if self.stop_requested.wait(max(0.0, due - time.monotonic())):
                return
            self.platforms.publish(beat)
            if beat.note:
                self.console.say(f">>> {beat.note}")
            self.console.say(f"    {describe_beat(beat)}")
        if self.stop_requested.wait(max(0.0, started + DAY_MINUTES / self.speed - time.monotonic())):
            return
        self.console.say(
            f"The scripted day is over ({len(DAY)} posts, {len(STORY)} of them the story). Everything keeps "
            f"running: explore {self.url}. Press Ctrl-C to stop."
        )
