"""The demo's mail server: a real SMTP sink on 127.0.0.1 that keeps every message it receives.

The alert leads' apprise URL points here (``mailto://127.0.0.1:<port>?...``), so an alert
travels the same road as in production (apprise, SMTP) and lands as an ``.eml`` file in the
demo's temporary folder, where the demo's mailbox page reads it back.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass(frozen=True)
class MailMessage:
    """One received message, as the mailbox page shows it."""

    number: int
    sender: str
    recipients: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str


class _Handler:
    """aiosmtpd calls ``handle_DATA`` once per message: write it to the folder, numbered in order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            number = len(list(self.folder.glob("*.eml"))) + 1
            # Written then renamed: a reader never sees half a message.
            partial = self.folder / f"{number:05d}.part"
            partial.write_bytes(envelope.content)
            partial.rename(self.folder / f"{number:05d}.eml")
        return "250 Message accepted"


class _SocketController(Controller):
    """aiosmtpd's threaded controller, serving a socket we bound ourselves.

    ``Controller`` needs a fixed port (it connects to it to check the server is up), so the
    port-0 "any free port" trick would not work; binding first gives a free port with no race.
    """

    def __init__(self, handler: _Handler, sock: socket.socket) -> None:
        super().__init__(handler, hostname=HOST, port=sock.getsockname()[1])
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class DemoMailbox:
    """Start, read, stop. Alerts reach it through an apprise ``mailto://127.0.0.1:<port>`` URL."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._controller: _SocketController | None = None
        self._port: int | None = None

    def start(self) -> DemoMailbox:
        self.folder.mkdir(parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        self._port = sock.getsockname()[1]
        self._controller = _SocketController(_Handler(self.folder), sock)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the demo mailbox is not running")
        return self._port

    def count(self) -> int:
        return sum(1 for _ in self.folder.glob("*.eml"))

    def messages(self) -> list[MailMessage]:
        """Every message received so far, newest first."""
        found = []
        for path in sorted(self.folder.glob("*.eml"), reverse=True):
            found.append(read_message(int(path.stem), path.read_bytes()))
        return found


def read_message(number: int, raw: bytes) -> MailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    try:
        date = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        date = None
    recipients = tuple(a.strip() for a in str(message.get("To", "")).split(",") if a.strip())
    return MailMessage(
        number=number,
        sender=str(message.get("From", "")),
        recipients=recipients,
        subject=str(message.get("Subject", "")),
        date=date,
        text=text,
    )
