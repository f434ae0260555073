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


def fetch_hub_upload(address) -> Path:
    """A Hub dataset split (``hf://datasets/OWNER/NAME[/CONFIG][@REVISION][:SPLIT]``) saved as a parquet file in a
    fresh temporary folder, so the Import tab previews and imports it as an uploaded file."""
    import tempfile

    from sparse_feedback.errors import InputError
    from sparse_feedback.formats.hub import FORM, fetch_table, is_hub

    address = str(address or "").strip()
    if not is_hub(address):
        raise InputError(address or "address", f"not a Hub dataset address: write {FORM}")
    return fetch_table(address, tempfile.mkdtemp(prefix="sf-hub-"))
