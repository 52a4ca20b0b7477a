"""What goes wrong with the machine ends a command with one line, never a traceback, never a hang."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from listening_post.cli.main import main


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("listening-post: ")
    return err


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word (a wedged PostgreSQL)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()
    for conn in accepted:
        conn.close()


def test_a_postgresql_that_accepts_but_never_answers_ends_the_command(tmp_path, silent_server, capsys):
    config = tmp_path / "lp.toml"
    config.write_text("[database]\nconnect_timeout_seconds = 1\n")
    url = f"postgresql://lp@127.0.0.1:{silent_server}/lp"
    assert main(["user", "list", "--config", str(config), "--db", url]) == 1
    assert "database:" in _one_line(capsys)


def test_an_unreachable_database_is_one_line(tmp_path, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    assert main(["user", "list", "--db", f"postgresql://lp@127.0.0.1:{port}/lp"]) == 1
    assert "database:" in _one_line(capsys)


def test_a_corrupt_database_file_is_one_line(tmp_path, capsys):
    db = tmp_path / "lp.db"
    db.write_bytes(b"this is not a database, just some bytes " * 100)
    assert main(["user", "list", "--db", f"sqlite:///{db}"]) == 1
    assert "file is not a database" in _one_line(capsys)


def test_a_data_folder_that_cannot_be_written_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    assert main(["user", "list", "--db", f"sqlite:///{blocker / 'lp.db'}"]) == 1
    assert str(blocker) in _one_line(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_data_folder_is_one_line(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir(mode=0o500)
    assert main(["user", "list", "--db", f"sqlite:///{folder / 'lp.db'}"]) == 1
    assert "Permission denied" in _one_line(capsys) or "unable to open" in capsys.readouterr().err


def test_a_settings_file_in_another_encoding_is_one_line(tmp_path, capsys):
    config = tmp_path / "lp.toml"
    config.write_bytes('[general]\norganisation = "Caf\u00e9 ICB"\n'.encode("latin-1"))
    assert main(["config", "check", str(config)]) == 2
    assert "not UTF-8 text" in _one_line(capsys)


def test_a_bad_time_zone_fails_config_check_not_the_worker(tmp_path: Path, capsys):
    config = tmp_path / "lp.toml"
    config.write_text('[general]\ntimezone = "Europe/Londn"\n')
    assert main(["config", "check", str(config)]) == 2
    err = _one_line(capsys)
    assert "general.timezone" in err and "Europe/Londn" in err
