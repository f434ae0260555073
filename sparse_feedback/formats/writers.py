"""Write tables atomically: a file appears whole, or not at all."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd

from sparse_feedback.formats.schema import RANKING_FEEDBACK, RANKING_TASKS, RATING_FEEDBACK, RATING_TASKS

FORMATS = ("csv", "seed", "json", "jsonl", "parquet", "hf")
SEED_KINDS = (RANKING_FEEDBACK, RATING_FEEDBACK, RANKING_TASKS, RATING_TASKS)


@contextlib.contextmanager
def atomic_path(path, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        shutil.rmtree(tmp)
    else:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        if directory and path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def infer_format(path) -> str:
    """Format from the file name: ``.csv``, ``.json``, ``.jsonl``, ``.parquet``; no suffix = HF dataset dir."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"tsv": "csv", "": "hf"}.get(suffix, suffix if suffix in FORMATS else "csv")


def write_table(frame: pd.DataFrame, path, fmt: str | None = None) -> Path:
    """Write ``frame``; ``fmt="seed"`` is the original headerless CSV layout."""
    path = Path(path)
    fmt = fmt or infer_format(path)
    if fmt == "hf":
        import datasets

        with atomic_path(path, directory=True) as tmp:
            datasets.Dataset.from_pandas(frame.reset_index(drop=True), preserve_index=False).save_to_disk(str(tmp))
        return path
    if fmt == "seed":  # the original's headerless layout holds its kind's columns only, in order
        kind = next((k for k in SEED_KINDS if set(k.columns) <= set(frame.columns)), None)
        frame = frame[list(kind.columns)] if kind else frame
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
