"""Errors that end a command with one clear line instead of a traceback."""


class UserError(Exception):
    """Something the person running the command can fix (bad file, bad option, missing secret)."""
