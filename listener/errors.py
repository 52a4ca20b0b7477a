"""Errors that end a command with one clear line instead of a traceback."""


class UserError(Exception):
    """Something the person running the command can fix (bad file, bad option, missing secret)."""


def describe_failure(exc: BaseException) -> str | None:
    """One line for a failure of the machine rather than of the command: the database (unreachable,
    corrupt, timed out), the file system (read-only, missing folder) or a file's encoding. None for
    anything else, which is a bug and keeps its traceback."""
    from sqlalchemy.exc import SQLAlchemyError  # only when something failed

    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        text = str(orig if orig is not None else exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        return f"database: {first}"
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not UTF-8 text (byte {exc.start}): save it as UTF-8"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or type(exc).__name__}"
    return None
