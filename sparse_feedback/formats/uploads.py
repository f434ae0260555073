"""Uploaded files: the size limit, and zipped Hugging Face dataset folders unpacked for the readers."""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator

from sparse_feedback.errors import InputError


def max_upload_bytes() -> int:
    """``$SPARSE_FEEDBACK_MAX_UPLOAD_MB`` (default 200) in bytes."""
    raw = os.environ.get("SPARSE_FEEDBACK_MAX_UPLOAD_MB", "").strip() or "200"
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = -1.0
    if not 0 < megabytes < float("inf"):
        raise InputError("SPARSE_FEEDBACK_MAX_UPLOAD_MB", f"expected a number of megabytes above 0, not {raw!r}")
    return int(megabytes * 1024 * 1024)


def limit_text() -> str:
    """The upload limit for messages.

    >>> import os; os.environ["SPARSE_FEEDBACK_MAX_UPLOAD_MB"] = "0.05"; limit_text()
    '51 KB'
    >>> del os.environ["SPARSE_FEEDBACK_MAX_UPLOAD_MB"]; limit_text()
    '200 MB'
    """
    n = max_upload_bytes()
    return f"{n / 2**20:g} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


@contextlib.contextmanager
def upload_path(path) -> Iterator[Path]:
    """The path to read: the file itself, or the dataset folder inside a ``.zip`` (unpacked to a temp dir)."""
    path = Path(path if isinstance(path, (str, os.PathLike)) else path.name)  # a path, or a file object
    if path.stat().st_size > max_upload_bytes():
        raise InputError(path.name, f"larger than the upload limit of {limit_text()} "
                                    "(set SPARSE_FEEDBACK_MAX_UPLOAD_MB to change it)")
    if path.suffix.lower() != ".zip":
        yield path
        return
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with zipfile.ZipFile(path) as zf:
                if sum(i.file_size for i in zf.infolist()) > 4 * max_upload_bytes():
                    raise InputError(path.name, "unpacks to more than the upload limit allows")
                for info in zf.infolist():
                    target = (Path(tmp) / info.filename).resolve()
                    if not str(target).startswith(str(Path(tmp).resolve())):
                        raise InputError(path.name, f"unsafe path in zip: {info.filename!r}")
                zf.extractall(tmp)
        except zipfile.BadZipFile:
            raise InputError(path.name, "not a readable zip file") from None
        root = Path(tmp)
        entries = [p for p in root.iterdir() if not p.name.startswith(("__MACOSX", "."))]
        yield entries[0] if len(entries) == 1 and entries[0].is_dir() else root
