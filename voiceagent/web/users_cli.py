"""``voiceagent users add|list|disable|enable|password``: workspace accounts from the shell.

The first admin is made here (``voiceagent users add alice --role admin``). Passwords are
read from the terminal (twice) or, with ``--password-stdin``, from one line of standard
input; never from the command line, where ``ps`` and shell history would keep them.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from voiceagent.clinic.db import Store, open_store
from voiceagent.config.pipeline import load_pipeline
from voiceagent.web.accounts import AccountError, add_user, list_users, set_active, set_password
from voiceagent.web.roles import Role


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from one line of standard input")
    actions.add_parser("list", help="show accounts, roles and status")
    for name, text in (("disable", "disable an account (its sessions end at once)"),
                       ("enable", "re-enable an account and clear a lockout")):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("username")
    password = actions.add_parser("password", help="set a new password")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true")


def _password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def _store(args: argparse.Namespace) -> Store:
    return open_store(load_pipeline(args.config).database_url())


def run(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        action = args.users_command
        if action == "add":
            member = add_user(store, username=args.username, role=args.role,
                              password=_password(args.password_stdin), display_name=args.name)
            print(f"added {member.username} ({member.role.value})")
        elif action == "list":
            print(f"{'username':20} {'role':11} {'status':9} name")
            for m in list_users(store):
                status = "active" if m.active else "disabled"
                print(f"{m.username:20} {m.role.value:11} {status:9} {m.display_name}")
        elif action in ("disable", "enable"):
            member = set_active(store, args.username, action == "enable")
            print(f"{member.username} {'enabled' if member.active else 'disabled'}")
        elif action == "password":
            set_password(store, args.username, _password(args.password_stdin))
            print(f"password of {args.username} changed")
        return 0
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
