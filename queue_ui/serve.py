"""Serve the app from a background thread on a loopback port (browser tests, screenshots, the load bench).

The socket is bound and listening before the server thread starts, so a client can
connect at once: the kernel queues the connection until uvicorn accepts it. No polling
for readiness, no sleeps.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


@contextmanager
def serve_in_thread(app: FastAPI, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:PORT``) while the app is served; stop cleanly after."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="queue-ui", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
