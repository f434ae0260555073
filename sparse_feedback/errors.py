"""User errors: what the user can fix, shown as one clean line (CLI: exit 2; app: a message, no traceback).

:class:`UserError` is the one base class; :class:`InputError` (bad input, naming file, row and column),
``store.StoreError`` (a request the store refuses) and :class:`SettingsError` (a job's settings out of
range) are its kinds.
"""

from __future__ import annotations

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
