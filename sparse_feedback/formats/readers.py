"""Read any supported file into a validated DataFrame of one kind.

Supported containers: CSV (headerless, as the original writes, or with a header row), JSON (a list of
objects), JSONL, parquet and a saved Hugging Face ``datasets`` directory. Every problem raises
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


# ---------------------------------------------------------------- containers

def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(path, f"not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start}); "
                         "save the file as UTF-8", where=f"line {line}") from None


def _read_csv(path: Path, text: str) -> RawTable:
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
    first = [c.strip().lower() for c in rows[0]]
    has_header = all(c in KNOWN_HEADER_NAMES for c in first)
    width = len(rows[0])
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise InputError(path, f"expected {width} columns (as in the first row), found {len(row)}",
                             where=f"line {line}")
    if has_header:
        frame = pd.DataFrame(rows[1:], columns=first, dtype=object)
        lines = lines[1:]
    else:
        frame = pd.DataFrame(rows, columns=list(range(width)), dtype=object)
    return RawTable(path, frame, has_header, lambda i: f"line {lines[i]}")


def _records_frame(path: Path, records: list, label: Callable[[int], str]) -> pd.DataFrame:
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise InputError(path, f"expected an object with named fields, found {type(rec).__name__}",
                             where=label(i))
    frame = pd.DataFrame.from_records(records)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame.astype(object)


def _read_json(path: Path, text: str) -> RawTable:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        if err.msg == "Extra data":  # JSON lines saved as .json
            return _read_jsonl(path, text)
        raise InputError(path, f"invalid JSON ({err.msg})", where=f"line {err.lineno}") from None
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
    label = lambda i: f"record {i + 1}"  # noqa: E731
    return RawTable(path, _records_frame(path, data, label), True, label)


def _read_jsonl(path: Path, text: str) -> RawTable:
    records, lines = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise InputError(path, f"invalid JSON ({err.msg})", where=f"line {n}") from None
        lines.append(n)
    if not records:
        raise InputError(path, "file is empty")
    label = lambda i: f"line {lines[i]}"  # noqa: E731
    return RawTable(path, _records_frame(path, records, label), True, label)


def _read_parquet(path: Path) -> RawTable:
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises many types for a corrupt file
        raise InputError(path, f"not a readable parquet file ({type(err).__name__}: {err})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return RawTable(path, frame.astype(object), True, lambda i: f"row {i + 1}")


def _read_hf_dataset(path: Path) -> RawTable:
    if not any((path / f).exists() for f in ("dataset_info.json", "state.json", "dataset_dict.json")):
        raise InputError(path, "a directory, but not a saved Hugging Face dataset (datasets.save_to_disk)")
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as err:
        raise InputError(path, f"could not load the dataset ({type(err).__name__}: {err})") from None
    if isinstance(ds, datasets.DatasetDict):
        split = "train" if "train" in ds else next(iter(ds))
        ds = ds[split]
    frame = ds.to_pandas()
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return RawTable(path, frame.astype(object), True, lambda i: f"row {i + 1}")


def read_raw(path) -> RawTable:
    """Read rows from any supported container, without applying a kind."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        return _read_hf_dataset(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(path)
    data = path.read_bytes()
    if not data.strip():
        raise InputError(path, "file is empty")
    text = _decode(path, data)
    if suffix == ".jsonl":
        return _read_jsonl(path, text)
    if suffix == ".json" or (suffix not in (".csv", ".tsv") and text.lstrip()[:1] in "[{"):
        return _read_json(path, text)
    return _read_csv(path, text)


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
            raise InputError(raw.path, f"missing column '{col}' for {kind.name} "
                             f"(found: {', '.join(map(str, frame.columns)) or 'none'})", column=col)
        rename[found] = col
    frame = frame.rename(columns=rename)
    for col in kind.optional:
        if col in kind.columns and col not in frame.columns:
            frame[col] = ""
    extras = [c for c in frame.columns if c not in kind.columns]
    return frame[[*kind.columns, *extras]]


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _text_column(raw: RawTable, frame: pd.DataFrame, col: str, required: bool) -> None:
    values = frame[col].tolist()
    out = []
    for i, v in enumerate(values):
        if _is_missing(v):
            v = ""
        elif isinstance(v, (dict, list, tuple, np.ndarray)):
            raise InputError(raw.path, f"expected text, found {type(v).__name__}", where=raw.label(i), column=col)
        elif not isinstance(v, str):
            v = str(v)
        if col == "input" and v.strip() in _MISSING_INPUT:
            v = ""
        if required and not v.strip():
            raise InputError(raw.path, "is empty", where=raw.label(i), column=col)
        out.append(v)
    frame[col] = pd.Series(out, index=frame.index, dtype=object)


def _rating_column(raw: RawTable, frame: pd.DataFrame) -> None:
    values = frame["rating"]
    numeric = pd.to_numeric(values.map(lambda v: v.strip() if isinstance(v, str) else v), errors="coerce")
    numeric = numeric.astype(float)
    bad = numeric.isna() | (numeric != np.floor(numeric)) | (numeric < RATING_MIN) | (numeric > RATING_MAX)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(raw.path, f"{values.iloc[i]!r} is not an integer rating in {RATING_MIN}-{RATING_MAX}",
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
        raise InputError(raw.path, f"unknown feedback label {frame['feedback'].iloc[i]!r} "
                         f"(expected one of {', '.join(LABELS)})", where=raw.label(i), column="feedback")
    frame["feedback"] = labels.astype(object)


def read_table(path, kind: Kind, dedupe: bool = True, warn=None) -> pd.DataFrame:
    """Read ``path`` as ``kind``: canonical columns first, extras after, validated and deduplicated.

    Duplicate rows (same key) keep the first; ``frame.attrs["duplicates_dropped"]`` counts the rest and
    ``warn`` (default: print to stderr) reports them.
    """
    raw = read_raw(path)
    frame = _map_columns(raw, kind).reset_index(drop=True)
    if frame.empty:
        raise InputError(raw.path, "file holds no rows")
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


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)
