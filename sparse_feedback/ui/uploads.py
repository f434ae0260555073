"""Uploaded files: reading them is :mod:`sparse_feedback.formats.uploads` (the import job reads them too);
zipping an exported dataset folder for download."""

from __future__ import annotations

import zipfile
from pathlib import Path

from sparse_feedback.formats.uploads import limit_text, max_upload_bytes, upload_path  # noqa: F401


def zip_dir(directory, output) -> Path:
    """Zip a folder (an exported HF dataset) for download."""
    directory, output = Path(directory), Path(output)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(directory.rglob("*")):
            if p.is_file():
                zf.write(p, Path(directory.name) / p.relative_to(directory))
    return output
