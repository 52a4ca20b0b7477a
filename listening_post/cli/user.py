"""`listening-post user add|list|disable|enable|reset-password`: the people who sign in to the queue."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from sqlalchemy import select

from listener.accounts import users
from listener.errors import UserError
from listener.store.db import write_transaction
from listener.store.models import ROLES, User
from listening_post.cli.common import add_store_options, open_store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("user", help="Add, list, disable or enable users; reset a password")
    usub = p.add_subparsers(dest="user_command", metavar="ACTION")
    usub.required = True

    add = usub.add_parser(
        "add", help="Add a user (password prompted, or read from stdin with --password-stdin)"
    )
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", required=True)
    add.add_argument("--initials", required=True, help="used to sign replies, e.g. JB")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    add_store_options(add)
    add.set_defaults(func=run_add)

    lst = usub.add_parser("list", help="List users as JSON lines")
    add_store_options(lst)
    lst.set_defaults(func=run_list)

    reset = usub.add_parser(
        "reset-password",
        help="Give a user a one-time password (printed once) that they must change at sign-in",
        description="Ends every session of the user. Prints the one-time password as JSON.",
    )
    reset.add_argument("email")
    add_store_options(reset)
    reset.set_defaults(func=run_reset_password)

    for name, active in (("disable", False), ("enable", True)):
        q = usub.add_parser(name, help=f"{name.capitalize()} a user's sign-in")
        q.add_argument("email")
        add_store_options(q)
        q.set_defaults(func=run_set_active, active=active)


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise UserError("no password on stdin")
        return line
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise UserError("the passwords do not match")
    return first


def run_add(args: argparse.Namespace) -> int:
    password = _read_password(args.password_stdin)
    store = open_store(args)
    with write_transaction(store.engine) as session:
        user = users.add_user(
            session,
            email=args.email,
            name=args.name,
            initials=args.initials,
            role=args.role,
            password=password,
        )
        print(json.dumps({"id": user.id, "email": user.email, "role": user.role}))
    return 0


def run_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    with write_transaction(store.engine) as session:
        for user in session.scalars(select(User).order_by(User.email)):
            print(
                json.dumps(
                    {
                        "email": user.email,
                        "name": user.name,
                        "initials": user.initials,
                        "role": user.role,
                        "active": user.active,
                    }
                )
            )
    return 0


def run_set_active(args: argparse.Namespace) -> int:
    store = open_store(args)
    with write_transaction(store.engine) as session:
        user = users.set_active(session, email=args.email, active=args.active)
        print(json.dumps({"email": user.email, "active": user.active}))
    return 0


def run_reset_password(args: argparse.Namespace) -> int:
    store = open_store(args)
    with write_transaction(store.engine) as session:
        user = users.find_user(session, args.email)
        temporary = users.reset_password(session, user=user, actor="cli")
        print(json.dumps({"email": user.email, "one_time_password": temporary, "must_change": True}))
    return 0
