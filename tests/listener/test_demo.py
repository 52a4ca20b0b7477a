"""`listening-post demo` end to end: start it, wait for the crisis, check the UI, stop it with Ctrl-C.

The demo runs as its own process, exactly as a newcomer runs it. The test follows what the
demo prints (reading its output blocks until the next line; nothing sleeps), then checks
through the web UI, signed in as the comms lead, that the incident and the alert email are
there. The deadline only ends a wait that would otherwise never end; it asserts nothing.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

import httpx
import pytest

from listening_post.cli.main import main
from listening_post.demo.mailbox import read_message
from queue_ui.routes.demo_mailbox import paragraphs

pytestmark = pytest.mark.slow

# Generous: on a loaded machine the worker's crisis watch (every 30 s) may need a few rounds.
DEADLINE_SECONDS = 600
SPEED = "20"


@dataclass
class DemoProcess:
    proc: subprocess.Popen[str]
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def next_line(self, deadline: float) -> str | None:
        """The next line the demo prints; None when it has exited or the deadline passed."""
        try:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None
        if line is not None:
            self.seen.append(line)
        return line

    def wait_for(self, pattern: str, deadline: float) -> re.Match[str]:
        """Read on until a line matches ``pattern``."""
        compiled = re.compile(pattern)
        for earlier in self.seen:
            if match := compiled.search(earlier):
                return match
        while (line := self.next_line(deadline)) is not None:
            if match := compiled.search(line):
                return match
        pytest.fail(f"the demo never printed /{pattern}/; its output:\n" + "\n".join(self.seen))

    @property
    def output(self) -> str:
        return "\n".join(self.seen)


@pytest.fixture
def demo() -> Iterator[DemoProcess]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("LISTENING_POST_DATABASE_URL", None)  # the demo must not care: it always uses its own SQLite
    proc = subprocess.Popen(
        [sys.executable, "-m", "listening_post", "demo", "--speed", SPEED, "--port", "0", "--no-browser-hint"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    running = DemoProcess(proc)

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            running.lines.put(line.rstrip("\n"))
        running.lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        yield running
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def sign_in(client: httpx.Client, email: str, password: str) -> None:
    page = client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    done = client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": token.group(1), "next": "/queue"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/queue", done.text


def test_demo_plays_the_day_opens_a_crisis_and_emails_the_leads(demo: DemoProcess) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    folder = Path(demo.wait_for(r"Working folder: (\S+)", deadline).group(1))
    url = demo.wait_for(r"The web UI is at (http://127\.0\.0\.1:\d+)", deadline).group(1)
    lead = demo.wait_for(r"lead\s+(\S+@\S+)\s+password: (\S+)", deadline)
    assert folder.is_dir()

    # The crisis watch raises the story to crisis level, and the alert email reaches the mail server.
    crisis = demo.wait_for(
        r"(?:an incident at|rose to) level CRISIS: (.+) \(criteria met: ([^)]*)\) \S+/incidents/(\d+)",
        deadline,
    )
    subject, incident_id = crisis.group(1), crisis.group(3)
    assert "sole_subject" in crisis.group(2).split(", "), demo.output
    demo.wait_for(r"Alert sent to the leads: Crisis: ", deadline)
    demo.wait_for(r"The mail server has received \d+ email", deadline)

    with httpx.Client(base_url=url, follow_redirects=False) as client:
        sign_in(client, lead.group(1), lead.group(2))

        incidents = client.get("/incidents")
        assert incidents.status_code == 200
        assert f'href="/incidents/{incident_id}"' in incidents.text
        assert subject in unescape(incidents.text) and "Crisis" in incidents.text

        incident = client.get(f"/incidents/{incident_id}")
        assert incident.status_code == 200 and subject in unescape(incident.text)

        mailbox = client.get("/demo/mailbox")
        assert mailbox.status_code == 200
        assert f"Crisis: {subject}" in unescape(mailbox.text)
        assert f'<a href="{url}/incidents/{incident_id}">' in mailbox.text  # the alert links to the incident

        # The ordinary day is in the queue too, with the story's posts.
        queue_page = client.get("/queue?tab=new")
        assert queue_page.status_code == 200
        assert "where can I get my flu jab" in queue_page.text and "Riverside" in queue_page.text

    # Ctrl-C stops everything and removes the folder.
    demo.proc.send_signal(signal.SIGINT)
    demo.wait_for(r"Stopped, and the demo's folder is removed", deadline)
    while demo.next_line(deadline) is not None:
        pass  # to the end of its output: the process has exited
    assert demo.proc.wait() == 0, demo.output
    assert not folder.exists()


def test_sigterm_stops_the_demo_and_removes_its_folder(demo: DemoProcess) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    folder = Path(demo.wait_for(r"Working folder: (\S+)", deadline).group(1))
    demo.wait_for(r"Playing the scripted day", deadline)
    demo.proc.send_signal(signal.SIGTERM)
    demo.wait_for(r"Stopped, and the demo's folder is removed", deadline)
    while demo.next_line(deadline) is not None:
        pass
    assert demo.proc.wait() == 0, demo.output
    assert not folder.exists()


def test_a_port_in_use_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["demo", "--port", str(port), "--no-browser-hint"]) == 2
    err = capsys.readouterr().err
    assert f"port {port} is in use" in err and "--port" in err and "Traceback" not in err


def test_mailbox_links_only_this_sites_addresses() -> None:
    raw = (
        b"From: listening-post@demo.test\r\nTo: comms-leads@demo.test\r\nSubject: Crisis: scans\r\n"
        b"Date: Tue, 11 Jun 2024 09:00:00 +0000\r\n\r\n"
        b"Level: CRISIS\r\n    e.g. @someone: see http://evil.example/x\r\n\r\n"
        b"Incident page: http://127.0.0.1:8000/incidents/1\r\n"
    )
    message = read_message(1, raw)
    assert message.subject == "Crisis: scans" and message.recipients == ("comms-leads@demo.test",)
    body = paragraphs(message.text, site="http://127.0.0.1:8000")
    links = [part.text for block in body for line in block for part in line if part.link]
    assert links == ["http://127.0.0.1:8000/incidents/1"]
    assert len(body) == 2 and len(body[0]) == 2  # paragraphs and their lines survive
