"""The `listening-post` command line: one module per subcommand, registered here."""

from __future__ import annotations

import argparse
import importlib
import sys

from listener.errors import UserError, describe_failure

# Each module exposes ``register(subparsers)``; it adds its parser and sets ``func``.
COMMAND_MODULES = (
    "demo",
    "run",
    "score",
    "spikes",
    "replay",
    "import_cmd",
    "lint",
    "export",
    "report",
    "retention",
    "db",
    "user",
    "config_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="listening-post",
        description="Social listening and reply queue for an NHS Integrated Care Board's comms team.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"listening_post.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"listening-post: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        message = describe_failure(exc)
        if message is None:
            raise
        print(f"listening-post: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
