"""Write tables atomically: a file appears whole, or not at all; nothing the project did not write is replaced."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd

from sparse_feedback.errors import InputError
from sparse_feedback.formats.schema import RANKING_FEEDBACK, RANKING_TASKS, RATING_FEEDBACK, RATING_TASKS

FORMATS = ("csv", "seed", "json", "jsonl", "parquet", "hf")
SEED_KINDS = (RANKING_FEEDBACK, RATING_FEEDBACK, RANKING_TASKS, RATING_TASKS)


MARKER = ".sparse-feedback-output"  # in every folder this project writes: {"kind": ...}


def _marker_kind(directory: Path) -> str | None:
    try:
        return json.loads((directory / MARKER).read_text("utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        return None


def check_output(path, kind: str | None = None) -> Path:
    """Refuse (:class:`InputError`, exit 2) to write over what this project did not make.

    ``kind=None`` means a file: an existing file may be replaced, a folder never. A folder output of
    ``kind`` may replace an empty folder or this project's earlier output of the same kind (its marker
    file says so), nothing else. The current folder and those above it are never replaced.
    """
    path = Path(path)
    here = Path.cwd().resolve()
    if path.exists() and (path.resolve() == here or path.resolve() in here.parents):
        raise InputError(path, "is the current folder (or one above it); refusing to write over it: name a new path")
    if path.is_dir():
        if kind is None:
            raise InputError(path, "is a folder; refusing to replace it with a file: name a file")
        if any(path.iterdir()) and _marker_kind(path) != kind:
            raise InputError(path, f"is a folder this project did not write as a {kind} (no {MARKER} saying so); "
                             "refusing to touch it: name a new or empty folder")
    elif path.exists() and kind is not None:
        raise InputError(path, f"is a file; refusing to replace it with a {kind} folder")
    parent = next(p for p in path.absolute().parents if p.exists())  # the folder it will be made in
    if not parent.is_dir():
        raise InputError(path, f"cannot be written: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(path, f"cannot be written: {parent} is not writable")
    return path


def claim_dir(path, kind: str) -> Path:
    """Make ``path`` a folder of this project's ``kind`` (after :func:`check_output`), marked as such, so a later
    run may write into it, resume in it or replace it."""
    path = check_output(path, kind)
    path.mkdir(parents=True, exist_ok=True)
    if _marker_kind(path) != kind:
        (path / MARKER).write_text(json.dumps({"kind": kind}), "utf-8")
    return path


@contextlib.contextmanager
def atomic_path(path, directory: str | None = None) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; move it into place only if the block succeeds.

    ``directory`` names the kind of a folder output (see :func:`check_output`, which is applied first);
    the folder gets the marker that lets a later run replace it.
    """
    path = check_output(path, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        shutil.rmtree(tmp)
    else:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
    old = None
    try:
        yield tmp
        if directory:
            (tmp / MARKER).write_text(json.dumps({"kind": directory}), "utf-8")
            if path.exists():  # checked above: empty, or our own output of this kind
                old = path.with_name(f".{path.name}.old.{os.getpid()}")
                os.replace(path, old)
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
        if old is not None and path.exists():
            shutil.rmtree(old, ignore_errors=True)
        elif old is not None:  # the new folder never arrived: the earlier output goes back
            os.replace(old, path)


def infer_format(path) -> str:
    """Format from the file name: ``.csv``, ``.json``, ``.jsonl``, ``.parquet``; no suffix = HF dataset dir."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"tsv": "csv", "": "hf"}.get(suffix, suffix if suffix in FORMATS else "csv")


def check_table_output(path, fmt: str | None = None) -> Path:
    """:func:`check_output` for what :func:`write_table` will write there (an HF dataset is a folder), so a
    command refuses before it does any work."""
    return check_output(path, "dataset" if (fmt or infer_format(path)) == "hf" else None)


def seed_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns the original's headerless layout holds: its kind's only, in order (others are dropped)."""
    kind = next((k for k in SEED_KINDS if set(k.columns) <= set(frame.columns)), None)
    return frame[list(kind.columns)] if kind else frame


def write_table(frame: pd.DataFrame, path, fmt: str | None = None) -> Path:
    """Write ``frame``; ``fmt="seed"`` is the original headerless CSV layout."""
    path = Path(path)
    fmt = fmt or infer_format(path)
    if fmt == "hf":
        import datasets

        with atomic_path(path, directory="dataset") as tmp:
            datasets.Dataset.from_pandas(frame.reset_index(drop=True), preserve_index=False).save_to_disk(str(tmp))
        return path
    if fmt == "seed":
        frame = seed_columns(frame)
    with atomic_path(path) as tmp:
        if fmt in ("csv", "seed"):
            sep = "\t" if path.suffix.lower() == ".tsv" else ","  # the readers split .tsv on tabs
            frame.to_csv(tmp, index=False, header=fmt == "csv", sep=sep)
        elif fmt == "json":
            tmp.write_text(json.dumps(frame.to_dict(orient="records"), ensure_ascii=False, indent=2), "utf-8")
        elif fmt == "jsonl":
            frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
        elif fmt == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return path


def write_json(obj, path) -> Path:
    """Write any JSON-serialisable object atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2), "utf-8")
    return Path(path)
