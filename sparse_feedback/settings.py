"""Where the project keeps its data and caches (one place, read from the environment)."""

from __future__ import annotations

import os
from pathlib import Path


SPACE_STORAGE = Path("/data")  # where a Hugging Face Space mounts its persistent storage


def _space_storage() -> bool:
    return SPACE_STORAGE.is_dir() and os.access(SPACE_STORAGE, os.W_OK)


def home() -> Path:
    """``$SPARSE_FEEDBACK_HOME``, else ``/data`` on a Hugging Face Space with persistent storage (mounted and
    writable), else ``./data``."""
    env = os.environ.get("SPARSE_FEEDBACK_HOME")
    if env:
        return Path(env)
    if os.environ.get("SPACE_ID") and _space_storage():
        return SPACE_STORAGE
    return Path("data")


def space_storage_note() -> tuple[str, bool] | None:
    """On a Hugging Face Space: (where the data lives, whether it is lost when the Space restarts); None elsewhere.
    Only a data home on the Space's mounted, writable persistent storage survives a restart."""
    if not os.environ.get("SPACE_ID"):
        return None
    where = home().resolve()
    storage = SPACE_STORAGE.resolve()
    if _space_storage() and (where == storage or storage in where.parents):
        return f"data home: {where} (the Space's persistent storage)", False
    return (f"data home: {where}, not on persistent storage ({SPACE_STORAGE} is not mounted or not used): "
            "annotations are lost when the Space restarts. Turn on persistent storage in the Space's settings, or "
            "back up (`backup`) and push exports to the Hub (Export tab) regularly.", True)


def cache_dir() -> Path:
    """Downloaded model files and other reusable artefacts."""
    env = os.environ.get("SPARSE_FEEDBACK_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "sparse_feedback"
