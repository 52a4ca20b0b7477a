"""A small threaded HTTP server on 127.0.0.1 with a programmable script of failures.

The platform fakes (:mod:`connectors.x.fake`, :mod:`connectors.facebook.fake`,
:mod:`connectors.rss.fake`) build on it. Each is a real HTTP server, so the real
client libraries (tweepy, facebook-sdk, requests) talk to it exactly as they talk to the
platform once the connector's base URL points here.

Usage::

    with FakeXApi() as fake:                # port 0: the OS picks a free port
        fake.base_url                       # "http://127.0.0.1:54321"
        fake.inject(Failure(status=503), path=r"/mentions$")   # next matching request fails
        fake.inject(Failure(hang=True))     # next request gets no answer (client times out)
        fake.requests                       # what was asked, in order

Everything here is safe to call from any thread while the server runs.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Failure:
    """One scripted misbehaviour.

    By default the fake answers with ``status``, ``headers`` and ``body`` (a dict or list is
    sent as JSON, ``str``/``bytes`` as they are, so malformed JSON is just a string) instead of
    doing the request. ``hang`` sends nothing until :meth:`FakeServer.release` or ``stop()``,
    so the client's read timeout fires. ``drop`` closes the connection with no response at
    all. ``after_apply`` first does what the request asked (posts the reply, hides the
    comment), then misbehaves: the platform accepted it but the client never learnt so.
    """

    status: int = 500
    body: dict[str, Any] | list[Any] | str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"
    hang: bool = False
    drop: bool = False
    after_apply: bool = False


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)


@dataclass
class Response:
    status: int
    body: dict[str, Any] | list[Any] | str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


Handler = Callable[[RecordedRequest, re.Match[str]], Response]


@dataclass
class _Injection:
    failure: Failure
    method: str | None
    path: re.Pattern[str] | None
    remaining: int
    skip: int


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: tests and the demo read the fake's ``requests`` instead of stderr."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        self.server.fake._serve(self, request)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def send(self, response: Response) -> None:
        payload = response.body
        if isinstance(payload, dict | list):
            # Escaped as the platforms do: a lone surrogate in a post's text is valid JSON only as "\\ud800".
            data = json.dumps(payload).encode("utf-8")
        elif isinstance(payload, str):
            data = payload.encode("utf-8")
        else:
            data = payload or b""
        self.send_response(response.status)
        if response.content_type and response.status != 304:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer


class FakeServer:
    """Base of the fakes: routing, the failure script, the request log, start/stop."""

    service = "fake"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, clock: Clock = utc_now) -> None:
        self.host = host
        self._requested_port = port
        self.clock = clock
        self.lock = threading.RLock()
        self._requested = threading.Condition(self.lock)
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._injections: list[_Injection] = []
        self._requests: list[RecordedRequest] = []
        self._hung: list[threading.Event] = []
        self._stopping = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeServer:
        server = _Server((self.host, self._requested_port), _RequestHandler)
        server.fake = self
        self._server = server
        self._stopping = False
        # A short poll interval: stop() waits for the serving loop to notice, up to one interval.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"{self.service}-fake",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        self.release()  # wake any hung request so its thread can end
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"the {self.service} fake is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # script ------------------------------------------------------------------------------

    def inject(
        self,
        failure: Failure,
        *,
        method: str | None = None,
        path: str | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make ``times`` requests matching ``method`` and the ``path`` regex misbehave, once ``after``
        matching requests have been answered normally (``after=1``: the second page fails)."""
        pattern = re.compile(path) if path else None
        with self.lock:
            self._injections.append(
                _Injection(failure, method.upper() if method else None, pattern, times, after)
            )

    def clear_failures(self) -> None:
        with self.lock:
            self._injections.clear()

    def release(self) -> None:
        """Let the requests hung so far end (their clients have usually timed out by then)."""
        with self.lock:
            hung, self._hung = self._hung, []
        for event in hung:
            event.set()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self.lock:
            return list(self._requests)

    def wait_for_requests(self, count: int, *, path: str | None = None, timeout: float | None = None) -> bool:
        """Block until ``count`` requests (matching the ``path`` regex, if given) have arrived.

        For tests and crash drills that must act while a request is in flight, e.g. kill a
        worker once the fake has received its reply. Returns False if ``timeout`` passed first.
        """
        pattern = re.compile(path) if path else None

        def arrived() -> bool:
            return sum(1 for r in self._requests if pattern is None or pattern.search(r.path)) >= count

        with self._requested:
            return self._requested.wait_for(arrived, timeout=timeout)

    def requests_to(self, path_pattern: str, method: str | None = None) -> list[RecordedRequest]:
        pattern = re.compile(path_pattern)
        return [
            r
            for r in self.requests
            if pattern.search(r.path) and (method is None or r.method == method.upper())
        ]

    # routing -----------------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def _take_injection(self, request: RecordedRequest) -> Failure | None:
        with self.lock:
            for injection in self._injections:
                if injection.method and injection.method != request.method:
                    continue
                if injection.path and not injection.path.search(request.path):
                    continue
                if injection.skip > 0:
                    injection.skip -= 1
                    return None
                injection.remaining -= 1
                if injection.remaining <= 0:
                    self._injections.remove(injection)
                return injection.failure
        return None

    def _answer(self, request: RecordedRequest) -> Response:
        """What the fake says to a request: a bug in a fake's handler is a 500, as on a real server."""
        try:
            return self._dispatch(request)
        except Exception as exc:  # a server answers every request, even when its handler is wrong
            return Response(500, {"error": f"the {self.service} fake failed: {exc!r}"})

    def _dispatch(self, request: RecordedRequest) -> Response:
        for method, pattern, handler in self._routes:
            if method != request.method:
                continue
            match = pattern.fullmatch(request.path)
            if match:
                with self.lock:
                    return handler(request, match)
        return self.not_found(request)

    def not_found(self, request: RecordedRequest) -> Response:
        return Response(404, {"error": f"no route for {request.method} {request.path}"})

    def _serve(self, handler: _RequestHandler, request: RecordedRequest) -> None:
        with self._requested:
            self._requests.append(request)
            self._requested.notify_all()
        failure = self._take_injection(request)
        if failure is None:
            handler.send(self._answer(request))
            return
        if failure.after_apply:
            self._answer(request)
        if failure.hang:
            event = threading.Event()
            with self.lock:
                if self._stopping:
                    event.set()
                self._hung.append(event)
            event.wait()
            handler.close_connection = True
            return
        if failure.drop:
            handler.close_connection = True
            return
        handler.send(Response(failure.status, failure.body, dict(failure.headers), failure.content_type))
