"""One error type for bad input: it names the file, the row and the column, and maps to exit 2."""

from __future__ import annotations

EXIT_BAD_INPUT = 2


class InputError(Exception):
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
