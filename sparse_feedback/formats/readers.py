"""Read any supported file into a validated DataFrame of one kind.

Supported containers: CSV (headerless, as the original writes, or with a header row), JSON (a list of
objects), JSONL, parquet, a saved Hugging Face ``datasets`` directory, and a dataset on the Hub
(``hf://datasets/OWNER/NAME[@REVISION][:SPLIT]``, see :mod:`sparse_feedback.formats.hub`). Every problem raises
:class:`~sparse_feedback.errors.InputError` naming the file, the row and the column.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from sparse_feedback.errors import InputError
from sparse_feedback.formats.schema import (
    KNOWN_HEADER_NAMES, LABELS, RATING_MAX, RATING_MIN, Kind,
)

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

_MISSING_INPUT = {"", "nan", "NaN", "None", "null"}
_LABEL_ALIASES = {
    "(a)": "(a)", "a": "(a)", "output (a)": "(a)",
    "(b)": "(b)", "b": "(b)", "output (b)": "(b)",
    "equal": "equal", "tie": "equal",
}


@dataclass
class RawTable:
    """Rows as read, before any kind is applied. ``label(i)`` names row i for error messages."""

    path: Path
    frame: pd.DataFrame
    has_header: bool
    label: Callable[[int], str]
    undecodable: bool = False  # the file had bytes that are not UTF-8 (kept as surrogates in ``text``)
    text: str = ""


def _show(value, limit: int = 40) -> str:
    """A value as quoted in an error message: repr, cut short so a huge field keeps the message one line."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------- containers

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _decode(path: Path, data: bytes) -> tuple[str, bool]:
    """UTF-8 text (a BOM is dropped). Undecodable bytes survive as surrogates so the reader can still
    parse the file and name the row and column that holds them; the flag says whether there were any."""
    if data.startswith(_UTF16_BOMS):
        raise InputError(path, "the file is UTF-16; save it as UTF-8", where="line 1")
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("utf-8-sig", errors="surrogateescape"), True


def _encoding_error(path: Path, text: str) -> InputError:
    """The error for undecodable bytes that no field could be blamed for: name the line."""
    pos = next(i for i, ch in enumerate(text) if "\udc80" <= ch <= "\udcff")
    byte = ord(text[pos]) - 0xDC00
    return InputError(path, f"not valid UTF-8 (byte 0x{byte:02x}); save the file as UTF-8",
                      where=f"line {text.count(chr(10), 0, pos) + 1}")


def _columns(path: Path, names, where: str) -> list[str]:
    """Normalised column names (stripped, lower case); a name given twice is an error."""
    out = [str(c).strip().lower() for c in names]
    seen = set()
    for name in out:
        if name in seen:
            raise InputError(path, f"column {name!r} appears twice", where=where, column=name)
        if not valid_utf8(name):
            raise InputError(path, "column name is not valid UTF-8", where=where)
        seen.add(name)
    return out


def _looks_like_header(cells: list[str], kind: Kind | None) -> bool:
    """A first CSV row is a header when it names only known columns (a pandas index column allowed), at
    least two known columns beside unknown ones (data rarely holds two cells spelled like column names),
    or every column the kind needs."""
    names = [c.strip().lower() for c in cells]
    index_col = [n == "" or n.startswith("unnamed:") for n in names]
    known = [n in KNOWN_HEADER_NAMES for n in names]
    if (any(known) and all(k or i for k, i in zip(known, index_col))) or sum(known) >= 2:
        return True
    if kind is None:
        return False
    required = [c for c in kind.columns if c not in kind.optional]
    return all(any(n in names for n in kind.names_for(c)) for c in required)


def _read_csv(path: Path, text: str, kind: Kind | None) -> RawTable:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows, lines = [], []
    start = 1
    try:
        for row in reader:
            if row:  # a blank line is no row
                rows.append(row)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as err:
        raise InputError(path, f"malformed CSV ({err})", where=f"line {reader.line_num}") from None
    if not rows:
        raise InputError(path, "file is empty")
    has_header = _looks_like_header(rows[0], kind)
    width = len(rows[0])
    for row, line in zip(rows, lines):
        if len(row) != width:
            first = "the header" if has_header else "the first row"
            raise InputError(path, f"expected {width} columns (as in {first}), found {len(row)}",
                             where=f"line {line}")
    if has_header:
        frame = pd.DataFrame(rows[1:], columns=_columns(path, rows[0], f"line {lines[0]}"), dtype=object)
        lines = lines[1:]
    else:
        frame = pd.DataFrame(rows, columns=list(range(width)), dtype=object)
    return RawTable(path, frame, has_header, lambda i: f"line {lines[i]}")


def _records_frame(path: Path, records: list, label: Callable[[int], str]) -> pd.DataFrame:
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise InputError(path, f"expected an object with named fields, found {type(rec).__name__}",
                             where=label(i))
    # dtype=object: pandas would otherwise build arrow strings, which refuse undecodable bytes (surrogates).
    frame = pd.DataFrame(records, dtype=object) if records else pd.DataFrame()
    names = list(frame.columns)
    frame.columns = _columns(path, names, label(0) if records else "line 1")
    return frame.astype(object)


def _record_lines(text: str) -> list[int] | None:
    """Line number where each element of a top-level JSON list starts (None when the list is wrapped)."""
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if text[pos:pos + 1] != "[":
        return None
    lines, pos = [], pos + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return lines
        lines.append(text.count("\n", 0, pos) + 1)
        _, pos = decoder.raw_decode(text, pos)


def _read_json(path: Path, text: str) -> RawTable:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        if err.msg == "Extra data":  # JSON lines saved as .json
            return _read_jsonl(path, text)
        raise InputError(path, f"invalid JSON ({err.msg})", where=f"line {err.lineno}") from None
    except RecursionError:
        raise InputError(path, "invalid JSON (nested too deeply)") from None
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(data) == 1 and lists:  # {"data": [...]}
            data = lists[0]
        else:
            raise InputError(path, "expected a JSON list of objects")
    if not isinstance(data, list):
        raise InputError(path, "expected a JSON list of objects")
    if not data:
        raise InputError(path, "file holds no rows")
    starts: list = []

    def label(i: int) -> str:  # line numbers are only worked out when an error needs one
        if not starts:
            starts.append(_record_lines(text))
        return f"record {i + 1}" + (f" (line {starts[0][i]})" if starts[0] else "")

    return RawTable(path, _records_frame(path, data, label), True, label)


def _read_jsonl(path: Path, text: str) -> RawTable:
    records, lines = [], []
    # Split on newlines only: str.splitlines would also break at U+2028 and friends inside JSON strings.
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise InputError(path, f"invalid JSON ({err.msg})", where=f"line {n}") from None
        except RecursionError:
            raise InputError(path, "invalid JSON (nested too deeply)", where=f"line {n}") from None
        lines.append(n)
    if not records:
        raise InputError(path, "file is empty")
    label = lambda i: f"line {lines[i]}"  # noqa: E731
    return RawTable(path, _records_frame(path, records, label), True, label)


def _frame_table(path: Path, frame: pd.DataFrame) -> RawTable:
    frame.columns = _columns(path, frame.columns, "the schema")
    return RawTable(path, frame.astype(object), True, lambda i: f"row {i + 1}")


def _read_parquet(path: Path) -> RawTable:
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises many types for a corrupt file
        raise InputError(path, f"not a readable parquet file ({type(err).__name__}: {_show(str(err), 200)})") from None
    return _frame_table(path, frame)


def _read_hf_dataset(path: Path) -> RawTable:
    if not any((path / f).exists() for f in ("dataset_info.json", "state.json", "dataset_dict.json")):
        raise InputError(path, "a directory, but not a saved Hugging Face dataset (datasets.save_to_disk)")
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
        if isinstance(ds, datasets.DatasetDict):
            split = "train" if "train" in ds else next(iter(ds))
            ds = ds[split]
        frame = ds.to_pandas()
    except Exception as err:
        raise InputError(path, f"could not load the dataset ({type(err).__name__}: {_show(str(err), 200)})") from None
    return _frame_table(path, frame)


def _read_hub(address: str) -> RawTable:
    from sparse_feedback.formats.hub import read_frame

    frame = read_frame(address)
    return _frame_table(frame.attrs.get("address", address), frame)


def read_raw(path, kind: Kind | None = None) -> RawTable:
    """Read rows from any supported container, without applying a kind (``kind`` helps spot a CSV header)."""
    if isinstance(path, str) and path.strip().startswith("hf://"):
        return _read_hub(path.strip())
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        return _read_hf_dataset(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(path, f"cannot read the file ({err.strerror or err})") from None
    if not data.strip():
        raise InputError(path, "file is empty")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(path)
    text, undecodable = _decode(path, data)
    if not text.strip():
        raise InputError(path, "file is empty")
    try:
        if suffix == ".jsonl":
            raw = _read_jsonl(path, text)
        elif suffix == ".json" or (suffix not in (".csv", ".tsv") and text.lstrip()[:1] in "[{"):
            raw = _read_json(path, text)
        else:
            raw = _read_csv(path, text, kind)
    except InputError:
        if undecodable:  # the bad bytes are the likelier cause
            raise _encoding_error(path, text) from None
        raise
    if undecodable:
        raw.undecodable = True
        raw.text = text
    return raw


# ---------------------------------------------------------------- kinds

def _map_columns(raw: RawTable, kind: Kind) -> pd.DataFrame:
    frame = raw.frame
    if not raw.has_header:
        width = frame.shape[1]
        allowed = {len(kind.columns), len(kind.columns) + len(kind.extra_positional)}
        if width not in allowed:
            raise InputError(raw.path, f"expected {len(kind.columns)} columns for {kind.name} "
                             f"({', '.join(kind.columns)}), found {width}", where=raw.label(0))
        names = (*kind.columns, *kind.extra_positional)[:width]
        return frame.set_axis(list(names), axis=1)
    rename, present = {}, set(frame.columns)
    for col in kind.columns:
        found = next((n for n in kind.names_for(col) if n in present), None)
        if found is None:
            if col in kind.optional:
                continue
            found_names = ", ".join(map(str, frame.columns)) or "none"
            raise InputError(raw.path, f"missing column '{col}' for {kind.name} (found: {_show(found_names, 200)})",
                             column=col)
        rename[found] = col
    frame = frame.rename(columns=rename)
    for col in kind.optional:
        if col in kind.columns and col not in frame.columns:
            frame[col] = ""
    extras = [c for c in frame.columns if c not in kind.columns]
    return frame[[*kind.columns, *extras]]


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def valid_utf8(text: str) -> bool:
    """False for text holding lone surrogates: undecodable bytes, or a JSON ``\\udc80`` escape."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_encoding(raw: RawTable, frame: pd.DataFrame) -> None:
    """Blame the first row (then the first column) whose text is not valid UTF-8."""
    first = None
    for col in frame.columns:
        values = frame[col].tolist()
        limit = len(values) if first is None else first[0]
        for i in range(limit):
            v = values[i]
            if isinstance(v, str) and not valid_utf8(v):
                first = (i, col, v)
                break
    if first is not None:
        i, col, v = first
        bad = next(ch for ch in v if "\ud800" <= ch <= "\udfff")
        what = f"byte 0x{ord(bad) - 0xDC00:02x}" if "\udc80" <= bad <= "\udcff" else f"lone surrogate U+{ord(bad):04X}"
        raise InputError(raw.path, f"not valid UTF-8 ({what}); save the file as UTF-8", where=raw.label(i),
                         column=str(col))
    if raw.undecodable:  # bad bytes outside any field (a blank line, say)
        raise _encoding_error(raw.path, raw.text)


def _text(value) -> str | None:
    """A cell as text; None when it is not text-like (a list, a mapping, ...)."""
    if _is_missing(value):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(value, (dict, list, tuple, set, np.ndarray)):
        return None
    return str(value)


def _text_column(raw: RawTable, frame: pd.DataFrame, col: str, required: bool) -> None:
    out = []
    for i, v in enumerate(frame[col].tolist()):
        text = _text(v)
        if text is None:
            raise InputError(raw.path, f"expected text, found {type(v).__name__}", where=raw.label(i), column=col)
        if col == "input" and text.strip() in _MISSING_INPUT:
            text = ""
        if required and not text.strip():
            raise InputError(raw.path, "is empty", where=raw.label(i), column=col)
        out.append(text)
    frame[col] = pd.Series(out, index=frame.index, dtype=object)


def _as_rating(value) -> float:
    """A rating cell as a number (NaN when it is not one); booleans and text like "5 stars" are not."""
    if isinstance(value, (bool, np.bool_)) or _is_missing(value):
        return math.nan
    if isinstance(value, str):
        value = value.strip()
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return number


def _rating_column(raw: RawTable, frame: pd.DataFrame) -> None:
    values = frame["rating"]
    numeric = np.fromiter(map(_as_rating, values.tolist()), dtype=float, count=len(values))
    with np.errstate(invalid="ignore"):
        bad = np.isnan(numeric) | (numeric != np.floor(numeric)) | (numeric < RATING_MIN) | (numeric > RATING_MAX)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(raw.path, f"{_show(values.iloc[i])} is not an integer rating in {RATING_MIN}-{RATING_MAX}",
                         where=raw.label(i), column="rating")
    frame["rating"] = numeric.astype(np.int64)


def normalize_label(value) -> str | None:
    """Map a feedback label to ``(a)``, ``(b)`` or ``equal``; None when unknown.

    >>> [normalize_label(v) for v in ["(a)", " B ", "Equal", "tie", "(c)"]]
    ['(a)', '(b)', 'equal', 'equal', None]
    """
    return _LABEL_ALIASES.get(str(value).strip().lower()) if not _is_missing(value) else None


def _label_column(raw: RawTable, frame: pd.DataFrame) -> None:
    labels = frame["feedback"].map(normalize_label)
    bad = labels.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(raw.path, f"unknown feedback label {_show(frame['feedback'].iloc[i])} "
                         f"(expected one of {', '.join(LABELS)})", where=raw.label(i), column="feedback")
    frame["feedback"] = labels.astype(object)


def apply_kind(raw: RawTable, kind: Kind, dedupe: bool = True, warn=None) -> pd.DataFrame:
    """Validate raw rows as ``kind``: canonical columns first, extras after, duplicates dropped (first counts)."""
    frame = _map_columns(raw, kind).reset_index(drop=True)
    if frame.empty:
        raise InputError(raw.path, "file holds no rows")
    _check_encoding(raw, frame)
    for col in kind.columns:
        if col == "rating":
            _rating_column(raw, frame)
        elif col == "feedback":
            _label_column(raw, frame)
        else:
            _text_column(raw, frame, col, required=col == "instruction")
    if "feedback" in frame.columns and "feedback" not in kind.columns:  # tasks read from feedback files
        frame["feedback"] = frame["feedback"].map(normalize_label)
    dropped = 0
    if dedupe:
        dup = frame.duplicated(subset=list(kind.key), keep="first")
        dropped = int(dup.sum())
        if dropped:
            frame = frame[~dup].reset_index(drop=True)
            (warn or _stderr)(f"note: {raw.path}: dropped {dropped} duplicate row(s); the first of each counts")
    frame.attrs.update(source=str(raw.path), duplicates_dropped=dropped)
    return frame


def read_table(path, kind: Kind, dedupe: bool = True, warn=None) -> pd.DataFrame:
    """Read ``path`` as ``kind``: canonical columns first, extras after, validated and deduplicated.

    Duplicate rows (same key) keep the first; ``frame.attrs["duplicates_dropped"]`` counts the rest and
    ``warn`` (default: print to stderr) reports them.
    """
    return apply_kind(read_raw(path, kind), kind, dedupe=dedupe, warn=warn)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)
