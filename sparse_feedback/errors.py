"""User errors: what the user can fix, shown as one clean line (CLI: exit 2; app: a message, no traceback).

:class:`UserError` is the one base class; :class:`InputError` (bad input, naming file, row and column),
``store.StoreError`` (a request the store refuses) and :class:`SettingsError` (a job's settings out of
range) are its kinds.
"""

from __future__ import annotations

import re

EXIT_BAD_INPUT = 2


class UserError(Exception):
    """Anything the user can fix; its message is one line, safe to show."""


class SettingsError(UserError, ValueError):
    """Settings a job or command refuses (a value out of range, a missing model)."""


class InputError(UserError):
    """Bad user input. ``where`` is a row label such as ``"line 12"`` or ``"record 3"``.

    >>> str(InputError("a.csv", "rating '9' is not an integer in 1-7", where="line 4", column="rating"))
    "a.csv: line 4, column 'rating': rating '9' is not an integer in 1-7"
    """

    def __init__(self, path, message: str, where: str | None = None, column: str | None = None):
        self.path = str(path)
        self.message = message
        self.where = where
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        loc = ", ".join(p for p in (self.where, f"column '{self.column}'" if self.column else None) if p)
        text = f"{self.path}: {loc + ': ' if loc else ''}{self.message}"
        # One printable line: undecodable bytes (surrogates) are escaped, newlines in quoted values flattened.
        return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\r", "\\r").replace("\n", "\\n")


_DISK_ERRORS = {28: "the disk is full", 30: "the output is on a read-only file system", 122: "the disk quota is exceeded"}
_DISK_TEXTS = {"No space left on device": 28, "Read-only file system": 30, "Disk quota exceeded": 122}


def disk_error(err_or_text) -> str | None:
    """A plain sentence when ``err_or_text`` (an exception, or a log's text) says the output could not be
    written for lack of space or a read-only disk; None otherwise.

    >>> disk_error(OSError(28, "No space left on device", "/data/jobs/job-3/best_of_n_1.json"))
    'the disk is full (writing /data/jobs/job-3/best_of_n_1.json): nothing half-written was kept; free some space, then Resume'
    >>> disk_error("sqlite3.OperationalError: database or disk is full") is None
    True
    """
    code, where = None, ""
    if isinstance(err_or_text, OSError):
        code, where = err_or_text.errno, f" (writing {err_or_text.filename})" if err_or_text.filename else ""
    else:
        text = str(err_or_text)
        code = next((c for t, c in _DISK_TEXTS.items() if t in text), None)
    if code not in _DISK_ERRORS:
        return None
    return f"{_DISK_ERRORS[code]}{where}: nothing half-written was kept; free some space, then Resume"


_STORE_TEXTS = {"readonly database": "the store is read-only", "database or disk is full": "the store's disk is full",
                "disk I/O error": "the store's disk could not be written", "read-only transaction": "the store is read-only"}


def store_write_error(err) -> str | None:
    """A plain phrase when a database error means the store cannot be written (read-only, full, I/O error);
    None for any other error. The SQL and driver text stay out of it.

    >>> store_write_error(Exception("(sqlite3.OperationalError) attempt to write a readonly database [SQL: UPDATE"))
    'the store is read-only'
    >>> store_write_error(ValueError("bad")) is None
    True
    """
    text = str(err)
    return next((phrase for needle, phrase in _STORE_TEXTS.items() if needle in text), None)


# The last line of a traceback ("ValueError: ...", "torch.OutOfMemoryError: ..."), or a line the project prints as
# its own one-line refusal ("error: ...").
_ERROR_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b.*|error: .+)$")


def last_error_line(text: str) -> str | None:
    r"""The last error line of a process's output: a traceback's final line or an ``error: ...`` line.

    >>> last_error_line("step 1/4\nTraceback (most recent call last):\n  File x\nValueError: bad length\nbye\n")
    'ValueError: bad length'
    >>> last_error_line("UserWarning: careful\nstep 2/4\n") is None
    True
    """
    lines = [line.strip() for line in str(text).replace("\r", "\n").splitlines()]
    return next((line for line in reversed(lines) if _ERROR_LINE.match(line)), None)


def exit_reason(code: int | None, output: str = "", step: str | None = None) -> str:
    r"""Why a process ended, in one line: the signal that killed it (SIGKILL most often means the system ran out of
    memory) or its exit status, where it was (``step``, e.g. ``"step 3/40"``), and its last error line.

    >>> exit_reason(-9, "loading\n", step="step 0/4")
    'killed by the system (out of memory?) at step 0/4'
    >>> exit_reason(1, "Traceback ...\nRuntimeError: shapes differ\n")
    'exit status 1: RuntimeError: shapes differ'
    >>> exit_reason(-15)
    'ended by signal SIGTERM'
    >>> exit_reason(1, "OSError: [Errno 28] No space left on device", step="step 0")[:40]
    'the disk is full: nothing half-written w'
    """
    import signal

    where = f" at {step}" if step else ""
    if code is not None and code < 0:  # killed: what it printed last is not why it ended
        if -code == signal.SIGKILL:
            return f"killed by the system (out of memory?){where}"
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"ended by signal {name}{where}"
    head = f"exit status {code}{where}"
    disk = disk_error(output)
    if disk:  # the cause the user can act on comes first
        return f"{disk} ({head})"
    detail = last_error_line(output)
    return f"{head}: {detail}" if detail else head
