import io
import json

import pytest
from sqlalchemy import select

from listener.store.db import make_engine, write_transaction
from listener.store.models import AuditEvent, User
from listening_post.cli.main import main


def _run(argv, monkeypatch, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv)


def test_add_list_disable(sqlite_url, monkeypatch, capsys):
    db = ["--db", sqlite_url]
    assert (
        _run(
            [
                "user",
                "add",
                "Jo.Bloggs@example.nhs.uk",
                "--role",
                "lead",
                "--name",
                "Jo Bloggs",
                "--initials",
                "JB",
                "--password-stdin",
                *db,
            ],
            monkeypatch,
            "a long enough password\n",
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["role"] == "lead"
    assert _run(["user", "list", *db], monkeypatch) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == {
        "email": "jo.bloggs@example.nhs.uk",
        "name": "Jo Bloggs",
        "initials": "JB",
        "role": "lead",
        "active": True,
    }
    assert _run(["user", "disable", "jo.bloggs@example.nhs.uk", *db], monkeypatch) == 0
    with write_transaction(make_engine(sqlite_url)) as session:
        user = session.scalar(select(User))
        assert user.active is False
        assert user.password_hash.startswith("$argon2")
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["user.add", "user.disable"]


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["--role", "agent"], "short", "at least 12 characters"),
        (["--role", "agent", "--initials", "TOOLONGINITIALS"], "a long enough password", "initials"),
    ],
)
def test_bad_user_input_is_one_clear_line(sqlite_url, monkeypatch, capsys, argv, stdin, message):
    base = ["user", "add", "a@example.nhs.uk", "--name", "A B", "--password-stdin", "--db", sqlite_url]
    if "--initials" not in argv:
        argv = [*argv, "--initials", "AB"]
    assert _run([*base, *argv], monkeypatch, stdin + "\n") == 2
    assert message in capsys.readouterr().err


def test_a_duplicate_email_is_refused(sqlite_url, monkeypatch, capsys):
    args = [
        "user",
        "add",
        "a@example.nhs.uk",
        "--role",
        "agent",
        "--name",
        "A",
        "--initials",
        "A",
        "--password-stdin",
        "--db",
        sqlite_url,
    ]
    assert _run(args, monkeypatch, "a long enough password\n") == 0
    assert _run(args, monkeypatch, "a long enough password\n") == 2
    assert "already exists" in capsys.readouterr().err


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("demo", "run", "score", "spikes", "replay", "import", "lint", "db", "user", "config"):
        assert command in out
