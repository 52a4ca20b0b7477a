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


def _add(sqlite_url, monkeypatch, *extra, name="Jo Bloggs", password="a long enough password"):
    argv = ["user", "add", "jo@example.nhs.uk", "--role", "agent", "--name", name, "--initials", "JB"]
    return _run([*argv, "--password-stdin", "--db", sqlite_url, *extra], monkeypatch, password + "\n")


def test_reset_password_prints_a_one_time_password_that_must_be_changed(sqlite_url, monkeypatch, capsys):
    from listener.accounts import users

    assert _add(sqlite_url, monkeypatch) == 0
    capsys.readouterr()
    assert _run(["user", "reset-password", "jo@example.nhs.uk", "--db", sqlite_url], monkeypatch) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["must_change"] is True and len(out["one_time_password"]) >= 12
    with write_transaction(make_engine(sqlite_url)) as session:
        user = session.scalar(select(User))
        assert user.must_change_password and users.verify_password(user, out["one_time_password"])
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_reset"))
    assert _run(["user", "reset-password", "nobody@example.nhs.uk", "--db", sqlite_url], monkeypatch) == 2
    assert "no user with email" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["Jo\nBloggs", "Jo\rBloggs", "Jo\x1b[2JBloggs", "Jo\u2028Bloggs", "Jo\x00"])
def test_names_with_line_breaks_or_control_characters_are_refused(sqlite_url, monkeypatch, capsys, name):
    assert _add(sqlite_url, monkeypatch, name=name) == 2
    assert "line breaks or control characters" in capsys.readouterr().err


def test_a_common_password_is_refused_in_one_line(sqlite_url, monkeypatch, capsys):
    assert _add(sqlite_url, monkeypatch, password="Password12345!") == 2
    err = capsys.readouterr().err
    assert "most common" in err and err.count("\n") == 1
